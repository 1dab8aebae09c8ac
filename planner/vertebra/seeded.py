"""Levels named from the user's click: the clicked body and its neighbours.

Why
---
The click names one body; its neighbours are counted from it. Counting by hops from body to
body (:func:`planner.vertebra.levels.neighbours_from_seed`) works on lumbar and synthetic
spines, but on a thick-sliced sharp chest CT a shell fit runs through a thin thoracic disc: on
../shared/data/cptac_chest_ct (3 mm, B70f) a click at T8 gave bodies 33 mm tall spanning
discs, neighbours 10-12 mm off their centres and a false grade 3 at T7. When the hopped
chain's pitches do not fit its names (:func:`planner.vertebra.levels.implausible_pitches`),
the bodies split at the discs on the column's core profile are counted from the click
instead (the automatic analysis' bodies), if their pitches fit better.
"""

from __future__ import annotations

import numpy as np

from planner.errors import AnalysisError
from planner.grid import FloatArray
from planner.progress import Progress
from planner.vertebra.common import shift_level
from planner.vertebra.profile import ProfileBody
from planner.vertebra.types import LevelCandidate
from planner.volume import CTVolume

#: A hopped chain shorter than this (bodies) is checked against the column profile too: the
#: hops stopped, possibly at a body spanning a disc (a click at T4 of cptac_chest_ct gave T4
#: alone, 30 mm tall) **[engineering choice]**.
MIN_CHAIN = 3
#: A click may lie this far outside the outline of the profile body named after it (on its
#: cortex), mm.
SEED_OUTSIDE_MM = 2.0


def seeded_levels(volume: CTVolume, seed_lps: FloatArray, level_name: str,
                  progress: Progress | None = None,
                  ) -> tuple[tuple[LevelCandidate, ...], list[str]]:
    """The clicked body (named ``level_name``, confirmed) and its neighbours, with notes.

    Parameters
    ----------
    volume : CTVolume
        The CT.
    seed_lps : ndarray, shape (3,)
        The click, LPS mm, inside the body.
    level_name : str
        The name the user gave the clicked body.

    Returns
    -------
    tuple
        Candidates cranial first (``source="seed"``) and notes on how they were counted.
    """
    from planner.vertebra.levels import implausible_pitches, neighbours_from_seed

    seed = np.asarray(seed_lps, float).reshape(3)
    failed: AnalysisError | None = None
    try:
        hopped = neighbours_from_seed(volume, seed, level_name, progress)
    except AnalysisError as exc:  # no body fitted at the click: the profile may hold it
        if volume.value_at_lps(seed) is None:
            raise
        failed, hopped = exc, ()
    bad = implausible_pitches(hopped)
    if len(hopped) >= MIN_CHAIN and bad == 0:
        return hopped, []
    try:
        profiled, notes = _profiled_from_seed(volume, seed, level_name.strip().upper())
    except AnalysisError:
        profiled, notes = (), []
    worse = implausible_pitches(profiled) >= bad if bad else implausible_pitches(profiled) > 0
    if len(profiled) < MIN_CHAIN or worse:
        if failed is not None:
            raise failed
        return hopped, []
    why = (f"lie {bad} time(s) closer or further apart than their levels allow (a hop through "
           "a disc)" if bad else f"stopped after {len(hopped)}" if hopped else
           "found no body at the click")
    return profiled, [
        f"the bodies counted by hops from the click {why}: the bodies split at the discs on "
        "the column profile are counted from the click instead", *notes]


def _profiled_from_seed(volume: CTVolume, seed: FloatArray, level: str,
                        ) -> tuple[tuple[LevelCandidate, ...], list[str]]:
    from planner.vertebra.corners import outside_star_mm
    from planner.vertebra.ribs import _rib_flags, column_bodies, name_by_ribs, named_candidates

    bodies = column_bodies(volume)
    k = None if bodies is None else _body_of(bodies, seed)
    if bodies is None or k is None:
        return (), []
    names = [_name(level, i - k) for i in range(len(bodies))]
    notes: list[str] = []
    ribs, _ = name_by_ribs(_rib_flags(volume, bodies))
    ribs_name = None if ribs is None else _name(ribs[min(max(k, 0), len(ribs) - 1)],
                                                k - min(max(k, 0), len(ribs) - 1))
    if ribs_name is not None and ribs_name != level:
        notes.append(f"the rib count names the clicked body {ribs_name}, not {level}: your "
                     "name is used; check the level on a whole-spine view")
    cands, notes = named_candidates(volume, bodies, names, notes, "seed", level)
    clicked = next((c for c in cands if c.level == level), None)
    if clicked is None or clicked.fit_cache is None or float(outside_star_mm(
            clicked.fit_cache.star, seed[None, :])[0]) > SEED_OUTSIDE_MM:
        return (), notes  # the click is not in the body named after it
    return cands, notes


def _body_of(bodies: list[ProfileBody], seed: FloatArray) -> int | None:
    """Index of the profile body whose bounding planes hold the click (nearest centre if
    several), else whose centre lies within half a pitch of it; -1 or ``len(bodies)`` for a
    click within one pitch beyond the first or last body (the profile's end bodies are looked
    for there, see :func:`planner.vertebra.ribs.check_ends`); None otherwise."""
    inside = [i for i, b in enumerate(bodies) if b.contains(seed)]
    if inside:
        return min(inside, key=lambda i: float(np.linalg.norm(bodies[i].centre_lps - seed)))
    centres = np.array([b.centre_lps for b in bodies])
    dist = np.linalg.norm(centres - seed, axis=1)
    near = int(np.argmin(dist))
    pitch = min(float(np.linalg.norm(centres[near] - centres[j]))
                for j in (near - 1, near + 1) if 0 <= j < len(bodies))
    if dist[near] <= 0.5 * pitch:  # in the disc gap, nearer this body than half a pitch
        return near
    for k, (end, inner) in {-1: (bodies[0], bodies[1]),
                            len(bodies): (bodies[-1], bodies[-2])}.items():
        step = end.centre_lps - inner.centre_lps
        along = float((seed - end.centre_lps) @ step) / float(step @ step)
        if 0.5 < along < 1.5:
            return k
    return None


def _name(level: str, steps: int) -> str | None:
    name = shift_level(level, steps)
    return None if name == "S1" and steps != 0 else name
