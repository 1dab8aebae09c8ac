"""Chains of named bodies checked against the pitch their levels allow (planner.vertebra.levels).

The column-profile proposal replaces a rib-named chain of hopped bodies only when the chain's
pitches are implausible for its names (a hop across a disc on a chest CT) and the profile's
are not; a profile split twice per body must not rename a right chain."""

from __future__ import annotations

from planner.vertebra.levels import implausible_pitches
from planner.vertebra.types import LevelCandidate


def _chain(names: list[str], z_mm: list[float]) -> list[LevelCandidate]:
    return [LevelCandidate(n, (0.0, 0.0, z)) for n, z in zip(names, z_mm, strict=True)]


def test_a_thoracic_chain_at_its_pitch_is_plausible() -> None:
    assert implausible_pitches(_chain(["T5", "T6", "T7", "T8"], [0, -19, -40, -62])) == 0


def test_hops_spanning_two_thoracic_bodies_are_counted() -> None:
    # ../shared/data/cptac_chest_ct at 0.70 mm pixels: hops 35-43 mm apart named T7-T11
    chain = _chain(["T7", "T8", "T9", "T10", "T11"], [-24.9, -59.9, -101.2, -144.6, -181.3])
    assert implausible_pitches(chain) == 4


def test_lumbar_pitch_is_not_thoracic_pitch() -> None:
    # the training library's T11-L3: 28-35 mm, right for these levels
    chain = _chain(["T11", "T12", "L1", "L2", "L3"], [60.2, 32.0, -0.1, -33.0, -68.1])
    assert implausible_pitches(chain) == 0
    # the profile over-split on that case: 9-22 mm between lumbar bodies
    split = _chain(["T12", "L1", "L2", "L3", "L4"], [25.2, 6.7, -5.7, -27.5, -36.2])
    assert implausible_pitches(split) == 3


def test_gaps_in_the_names_and_order_are_handled() -> None:
    # unordered input, and T9 missing: T8-T10 is not a consecutive pair
    chain = _chain(["T10", "T8", "T7"], [-60.0, -20.0, 0.0])
    assert implausible_pitches(chain) == 0
    # a T13 counts between T12 and L1
    assert implausible_pitches(_chain(["T12", "T13", "L1"], [0.0, -26.0, -54.0])) == 0
