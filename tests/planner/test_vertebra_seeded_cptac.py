"""A click names one body of the real chest CT; its neighbours are counted from it (issue #11).

On ../shared/data/cptac_chest_ct (3 mm, B70f) the hops from body to body ran through thin
thoracic discs: a click at T8 gave bodies 33 mm tall spanning discs, neighbours 10-12 mm off
their centres and a false grade 3 at T7; a click at T4 gave T4 alone, 30 mm tall; a click at
T1 fitted T2. The bodies split at the discs on the column profile are now counted from the
click when the hopped chain's pitches do not fit its names or it stops short
(planner.vertebra.seeded).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest


@lru_cache(maxsize=1)
def _ct(root: str) -> tuple[Any, dict[str, np.ndarray]]:
    from planner.loading import load_path

    d = Path(root) / "cptac_chest_ct"
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    return (load_path(str(d / "dicom")).volume,
            {t["level"]: np.asarray(t["centre_lps"], float) for t in truth})


@lru_cache(maxsize=5)
def _seeded(root: str, clicked: str, named: str) -> Any:
    from planner.vertebra import analyze_spine

    vol, truth = _ct(root)
    return analyze_spine(vol, seed_lps=truth[clicked], level=named)


@pytest.mark.parametrize("clicked", ["T1", "T4", "T8", "L1"])
def test_a_click_names_every_thoracic_body_right(shared_data: Path, clicked: str) -> None:
    analysis = _seeded(str(shared_data), clicked, clicked)
    _, truth = _ct(str(shared_data))
    assert {f"T{n}" for n in range(2, 13)} | {"L1"} <= set(analysis.names()), analysis.warnings
    for r in analysis.levels:
        c = np.asarray(r.morphometry.centroid_lps)
        nearest = min(truth, key=lambda k: float(np.linalg.norm(truth[k] - c)))
        assert nearest == r.level and np.linalg.norm(c - truth[r.level]) <= 5.0, (
            r.level, nearest, np.round(c, 1).tolist())
        assert r.candidate.confirmed == (r.level == clicked)
        assert r.morphometry.heights_mm.middle <= 28.0, r.level  # no body spans a disc
        assert r.morphometry.genant_grade == 0, (r.level, r.morphometry.height_loss_pct)
    assert any("counted from the click instead" in w for w in analysis.warnings)


def test_a_click_named_one_level_off_is_reported_against_the_rib_count(
        shared_data: Path) -> None:
    # the user calls T8 "T9": the name is used (a surgeon's decision), the rib count is quoted
    analysis = _seeded(str(shared_data), "T8", "T9")
    assert "T9" in analysis.names() and analysis.level("T9").candidate.confirmed
    assert any("the rib count names the clicked body T8, not T9" in w
               for w in analysis.warnings), analysis.warnings


def test_a_click_in_front_of_the_body_is_still_refused(shared_data: Path) -> None:
    # 20 mm in front of T8's centre (the anterior cortex lies ~15 mm in front): no hopped fit
    # there, and the profile body of that height does not hold the click either
    from planner.errors import AnalysisError
    from planner.vertebra import analyze_spine

    vol, truth = _ct(str(shared_data))
    with pytest.raises(AnalysisError, match="click inside the body"):
        analyze_spine(vol, seed_lps=truth["T8"] + np.array([0.0, -20.0, 0.0]), level="T8")
