"""Ribs traced from their vertebrae (issue 11, item 1): rib length per level on a real chest CT,
rib pairs counted on a synthetic column with 11, 12 and 13 pairs."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.planner.rib_phantom import rib_column


@pytest.mark.parametrize("pairs", [11, 12, 13])
def test_rib_pairs_counted_and_11_or_13_reported(pairs: int) -> None:
    from planner.vertebra.ribs import name_by_ribs, rib_traces_of

    ribs = [False, False] + [True] * pairs + [False, False]
    vol, bodies = rib_column(ribs)
    traces = rib_traces_of(vol, bodies)
    assert [t.bears_ribs for t in traces] == ribs
    for t, rib in zip(traces, ribs, strict=True):
        if not rib:  # the straight transverse process: 23 mm long, 38 mm from the mid-line
            assert max(t.length_mm) < 30.0 and max(t.reach_mm) < 45.0, t
    names, notes = name_by_ribs([t.bears_ribs for t in traces])
    assert names is not None and names[2 + pairs - 1] == "T12" and names[-2] == "L1"
    flagged = [n for n in notes if "12 expected" in n]
    if pairs == 12:
        assert not flagged and names[2] == "T1" and names[1] == "C7"
    else:
        assert len(flagged) == 1 and f"{pairs} rib pairs" in flagged[0], notes


def test_a_rib_passing_a_lower_vertebra_stays_with_its_own() -> None:
    """A rib glued to the next vertebra's process on its way down counts for its own body."""
    from planner.vertebra.rib_trace import _owned_seeds

    comp = np.array([7, 7, 7, 7, 3, 3])
    seeds = np.zeros((4, 6), bool)  # rows: body 0 left, right, body 1 left, right
    seeds[0, [0, 1]] = True  # body 0 leaves the column into piece 7 over 2 voxels
    seeds[2, [2, 4, 5]] = True  # body 1 touches piece 7 over 1 voxel, its own piece 3 over 2
    out = _owned_seeds(seeds, comp)
    assert out[0].tolist() == seeds[0].tolist()
    assert out[2].tolist() == [False, False, False, False, True, True]
    seeds[2, 3] = True  # two glued ribs: 2 and 2 voxels, both bodies keep the piece
    assert _owned_seeds(seeds, comp)[2, [2, 3]].all()


@lru_cache(maxsize=1)
def _cptac_traces(root: str) -> dict[str, Any]:
    """Ribs traced from the centres read by eye (the column axis through them)."""
    from planner.loading import load_path
    from planner.vertebra.rib_trace import trace_ribs

    d = Path(root) / "cptac_chest_ct"
    vol = load_path(str(d / "dicom")).volume
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    centres = np.array([t["centre_lps"] for t in truth])
    heights = np.array([t["heights_mm"]["middle"] or 20.0 for t in truth])
    up = np.tile([0.0, 0.0, 1.0], (len(truth), 1))
    traces = trace_ribs(vol, centres, up, heights)
    return {t["level"]: r for t, r in zip(truth, traces, strict=True)}


def test_cptac_rib_length_per_level(shared_data: Path) -> None:
    """Measured: T1-T11 ≥ 77 mm both sides (most traced to the 120 mm limit), T12 92 / 77 mm,
    L1 2 / 23 mm (its transverse processes, 26 / 40 mm from the mid-line; the left 12th rib
    touches L1's articular process on its way down and stays T12's), L2 20 / 0 mm."""
    traces = _cptac_traces(str(shared_data))
    for level in ("T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"):
        assert traces[level].bears_ribs, (level, traces[level])
    assert min(traces["T12"].length_mm) >= 38.0, traces["T12"]
    assert max(traces["L1"].length_mm) < 30.0, traces["L1"]
    assert not traces["L1"].side_bears_rib(0) and not traces["L1"].side_bears_rib(1)
    assert not traces["L2"].bears_ribs


def test_cptac_twelve_rib_bearing_bodies_named_from_the_last_rib(shared_data: Path) -> None:
    """The automatic analysis names T1-L1 from the last rib, 12 rib-bearing bodies on the
    profile and no false 11- or 13-pair report (no rib-free C7 in view: no first-rib
    anchor)."""
    from tests.planner.test_vertebra_real_anatomy import _cptac

    analysis, _ = _cptac(str(shared_data))
    assert any("last rib-bearing vertebra (T12)" in w and "12 rib-bearing" in w
               for w in analysis.warnings), analysis.warnings
    assert not any("12 expected" in w for w in analysis.warnings)
    assert analysis.names()[-2:] == ["T12", "L1"]


def test_ribs_traced_on_a_grid_running_right_to_left() -> None:
    """Voxel i running towards the patient's right (as in ../shared/data/totalseg_example):
    the cut and the attachment test follow LPS, not the voxel axes."""
    from planner.vertebra.ribs import rib_traces_of
    from planner.volume import CTVolume

    ribs = [False, False] + [True] * 12 + [False, False]
    vol, bodies = rib_column(ribs)
    affine = vol.grid.ijk_to_lps.copy()
    affine[:3, 3] += affine[:3, 0] * (vol.shape_kji[2] - 1)
    affine[:3, 0] *= -1.0
    flipped = CTVolume.from_array(np.ascontiguousarray(vol.hu[:, :, ::-1]), affine, "2.25.43")
    traces = rib_traces_of(flipped, bodies)
    assert [t.bears_ribs for t in traces] == ribs
    assert all(min(t.length_mm) >= 100.0 for t, r in zip(traces, ribs, strict=True) if r)


@pytest.mark.parametrize(("ribs", "expected"), [
    ([True, True, False, False, False, False, False, False], None),
    ([True, True, True, False, False, False, False, False], "13 rib pairs or a sacralised L5"),
    ([True, False, False, False, False, False, False, False],
     "11 rib pairs or a lumbarised S1"),
])
def test_sacrum_and_last_rib_cross_checked(monkeypatch: pytest.MonkeyPatch, ribs: list[bool],
                                           expected: str | None) -> None:
    """Bodies T11-S1 as the hopping path finds them: 5 rib-free bodies between the last rib
    and the sacrum agree; 4 or 6 are reported, names follow the sacrum."""
    from planner.vertebra import anchors
    from planner.vertebra.rib_trace import RibTrace

    traces = [RibTrace((90.0, 85.0), (80.0, 80.0)) if r else RibTrace((20.0, 15.0),
                                                                      (40.0, 38.0))
              for r in ribs]
    monkeypatch.setattr(anchors, "is_sacrum", lambda volume, fit: True)
    monkeypatch.setattr(anchors, "rib_traces", lambda volume, fits: traces)
    names, warnings = anchors.name_fits(None, [None] * len(ribs))  # type: ignore[arg-type]
    assert names == ["T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    flagged = [w for w in warnings if "disagree" in w]
    if expected is None:
        assert not flagged, warnings
    else:
        assert len(flagged) == 1 and expected in flagged[0], warnings


def test_rib_anchor_note_gives_the_traced_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.vertebra import anchors
    from planner.vertebra.rib_trace import RibTrace

    traces = [RibTrace((120.0, 118.0), (90.0, 90.0)), RibTrace((92.0, 77.0), (69.0, 70.0)),
              RibTrace((2.0, 23.0), (26.0, 40.0)), RibTrace((20.0, 0.0), (29.0, 0.0))]
    monkeypatch.setattr(anchors, "is_sacrum", lambda volume, fit: False)
    monkeypatch.setattr(anchors, "rib_traces", lambda volume, fits: traces)
    names, warnings = anchors.name_fits(None, [None] * 4)  # type: ignore[arg-type]
    assert names == ["T11", "T12", "L1", "L2"]
    assert any("ribs traced 92 / 77 mm" in w and "≤ 23 mm" in w for w in warnings), warnings


def test_demo_with_a_13th_rib_pair_on_l1_moves_the_last_rib() -> None:
    """The demo drawn with ribs on L1 too (13 pairs): L1's ribs are traced (≥ 38 mm) and it
    becomes the last rib-bearing body. With neither the sacrum nor the first rib in view a
    13th pair cannot be told from the 12th, so every name moves one level up (measured: the
    proposal reads T10-L2 instead of T11-L3), as it would for a radiologist counting from the
    last rib alone (Forseen et al.)."""
    from unittest import mock

    from planner.demo import ribs as demo_ribs
    from planner.demo.case import generate_demo
    from planner.vertebra.anchors import rib_traces
    from planner.vertebra.levels import propose_levels_with_warnings

    with mock.patch.dict(demo_ribs._N_POINTS, {"L1": 5}), \
            mock.patch.dict(demo_ribs._RADIUS_MM, {"L1": 3.4}):
        case = generate_demo()
    cands, warnings = propose_levels_with_warnings(case.volume)
    truth = {lv.name: np.asarray(lv.centroid_lps) for lv in case.truth.levels}
    l1 = min(cands, key=lambda c: float(np.linalg.norm(np.asarray(c.centroid_lps)
                                                       - truth["L1"])))
    assert l1.level == "T12"
    trace = rib_traces(case.volume, [c.fit_cache for c in cands])[cands.index(l1)]
    assert trace.bears_ribs and min(trace.length_mm) >= 38.0, trace
    assert [c.level for c in cands] == ["T10", "T11", "T12", "L1", "L2"], warnings
