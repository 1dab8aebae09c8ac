"""Auto-suggest never proposes a path its own checks flag as a danger while a candidate
without one exists, and says so when none exists (review: cptac L1 left parapedicular crossed
2.5 mm of "air", tptbox L3 left passed 1.7 mm from the canal)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from planner.trajectory import TrajectoryContext, suggest
from planner.trajectory.suggest import AIR_HU, _skin_index


def test_a_gown_on_the_back_is_outside_the_patient() -> None:
    """Tissue, a 1.5 mm air gap, a 1 mm gown, then the room's air: the skin is the body's
    surface, not the gown (the gap under it was reported as "path crosses air")."""
    hu = np.r_[np.full(40, 40.0), np.full(3, -950.0), np.full(2, -100.0), np.full(60, -1000.0)]
    k, note = _skin_index(hu)
    assert k == 39 and note == ""
    # a lung pocket with tissue beyond is passed: the checks report it
    hu = np.r_[np.full(40, 40.0), np.full(8, -900.0), np.full(40, 40.0), np.full(60, -1000.0)]
    assert _skin_index(hu)[0] == 87
    assert AIR_HU < -100.0


@lru_cache(maxsize=1)
def _cptac(root: str) -> tuple[Any, Any]:
    from planner.loading import load_path
    from planner.vertebra import analyze_spine

    vol = load_path(str(Path(root) / "cptac_chest_ct" / "dicom")).volume
    return vol, analyze_spine(vol)


def _dangers(s: Any) -> list[str]:
    return [f.message for f in s.result.findings if f.severity == "danger"]


def test_cptac_suggestions_carry_no_danger_or_say_no_safe_path(shared_data: Path) -> None:
    """T1-L1 (3 mm, chest CT): every suggestion is free of danger findings, or marked unsafe
    with "no safe path" in its reason. Measured: 25 of 26 free (before: 8 with a danger —
    air under a gown on the back read as lung at T8-T10 and L1 left, a parapedicular path
    through a rib head at T1 right and T6 left); T12 right (the needle leaves the body 5.2 mm
    before the tip on every candidate) is marked unsafe."""
    vol, an = _cptac(str(shared_data))
    unsafe = []
    for r in an.levels:
        ctx = TrajectoryContext.build(vol, r.anatomy, r.morphometry)
        for side in ("left", "right"):
            s = suggest(ctx, side, "11G")
            if _dangers(s):
                assert not s.safe and "no safe path" in s.reason, (r.level, side, _dangers(s))
                unsafe.append((r.level, side))
            else:
                assert s.safe, (r.level, side)
            if (r.level, side) in {("L1", "left"), ("T8", "left"), ("T8", "right")}:
                assert not _dangers(s), (r.level, side, _dangers(s))
    assert len(unsafe) <= 1, unsafe


def test_tptbox_l3_suggestions_keep_the_canal_margin(shared_data: Path) -> None:
    """tptbox L3 (porotic): both suggestions without a warning (left passed 1.7 mm from the
    canal while the CT pedicle was refused and the mask's was used)."""
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = shared_data / "tptbox_l3"
    vol, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    labels = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz")
    an = analyze_spine(vol, labels=labels).level("L3").anatomy
    ctx = TrajectoryContext.build(vol, an)
    for side in ("left", "right"):
        s = suggest(ctx, side, "11G")
        assert s.safe and s.trajectory.approach == "transpedicular", (side, s.reason)
        assert not [f for f in s.result.findings if f.severity != "info"], s.result.findings
        assert s.result.metrics.canal_clearance_mm >= 2.0, side
