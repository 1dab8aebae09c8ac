"""Level names T13 and L6: accepted by the plan, kept in plan files, counted only when named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.commands.plan import parse_level
from planner.errors import InputError
from planner.plan.file import load_plan, save_plan
from planner.plan.levels import LEVEL_NAMES, THORACOLUMBAR_NAMES, counting_order, renumbered
from planner.plan.model import Plan, SeriesBinding

UID, FP = "1.2.826.0.1.3680043.8.498.7", "fedcba9876543210"


def test_variants_sit_in_their_place_and_the_dialog_list_is_thoracolumbar() -> None:
    assert LEVEL_NAMES.index("T13") == LEVEL_NAMES.index("T12") + 1 == LEVEL_NAMES.index("L1") - 1
    assert LEVEL_NAMES.index("L6") == LEVEL_NAMES.index("L5") + 1 == LEVEL_NAMES.index("S1") - 1
    assert len(LEVEL_NAMES) == 7 + 13 + 6 + 1
    assert THORACOLUMBAR_NAMES[0] == "T1" and THORACOLUMBAR_NAMES[-1] == "S1"
    assert len(THORACOLUMBAR_NAMES) == 13 + 6 + 1
    assert "T13" not in counting_order() and "L6" not in counting_order()
    assert counting_order(["L6"])[-3:] == ("L5", "L6", "S1")


@pytest.mark.parametrize(
    ("names", "index", "new", "expected"),
    [
        # the body the analysis called L1 is a thirteenth thoracic one
        (["T11", "T12", "L1", "L2"], 2, "T13", ["T11", "T12", "T13", "L1"]),
        # ... and back: without T13 the count is the usual one again
        (["T11", "T12", "T13", "L1"], 2, "T12", ["T10", "T11", "T12", "L1"]),
        # a sixth lumbar vertebra above the sacrum
        (["L3", "L4", "L5", "S1"], 2, "L6", ["L4", "L5", "L6", "S1"]),
        # a variant another level already bears is counted
        (["T12", "T13", "L1"], 2, "L2", ["T13", "L1", "L2"]),
        # a gap (a body the analysis skipped) stays a gap
        (["T11", "L1", "L2"], 2, "L3", ["T12", "L2", "L3"]),
    ],
)
def test_renumbering_counts_variants_only_when_named(
    names: list[str], index: int, new: str, expected: list[str]
) -> None:
    mapping = renumbered(names, index, new)
    assert mapping is not None
    assert [mapping[n] for n in names] == expected


def test_renumbering_past_the_sacrum_is_refused() -> None:
    assert renumbered(["L5", "S1"], 0, "S1") is None
    with pytest.raises(ValueError, match="T1–T13"):
        renumbered(["L1"], 0, "T14")


@pytest.mark.parametrize("level", ["T13", "L6"])
def test_plan_files_keep_variant_names(tmp_path: Path, level: str) -> None:
    plan = Plan(SeriesBinding(UID, FP), level=level, procedure="kyphoplasty")
    path = save_plan(plan, tmp_path / "plan.json")
    assert '"level": "' + level + '"' in path.read_text(encoding="utf-8")
    assert load_plan(path, UID, FP).level == level


def test_cli_accepts_variant_levels_and_names_the_accepted_ones() -> None:
    assert parse_level("t13:kp", "vertebroplasty") == ("T13", "kyphoplasty")
    assert parse_level("L6", "vertebroplasty") == ("L6", "vertebroplasty")
    with pytest.raises(InputError, match="T1–T13, L1–L6"):
        parse_level("L7", "vertebroplasty")


def test_a_seed_named_t13_counts_its_neighbours_from_it() -> None:
    from planner.session.level_variants import analyze_spine_named
    from tests.planner.vertebra_cases import demo_case

    case = demo_case()
    # the demo's L1 body named T13 by the user: the body above stays T12, the one below is L1
    seed = np.add(case.truth.level("L1").centroid_lps, [3.0, -2.0, 3.0])
    result = analyze_spine_named(case.volume, seed_lps=seed, level="T13")
    assert result.names() == ["T11", "T12", "T13", "L1", "L2"]
    seeded = result.level("T13")
    assert seeded.candidate.confirmed
    assert (seeded.anatomy.level, seeded.morphometry.level) == ("T13", "T13")
    assert [r.candidate.confirmed for r in result.levels].count(True) == 1
    truth = case.truth.level("L1").centroid_lps
    assert np.linalg.norm(np.subtract(seeded.candidate.centroid_lps, truth)) < 1.5
