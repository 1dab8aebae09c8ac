"""Estimates that follow the anatomy: disruption flags only where the CT's cortex is missing,
no restoration or wedge change where no height is lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.estimate.geometry import fine_body
from planner.estimate.restoration import restoration_estimate
from planner.estimate.spread import _crop_hu

LEVELS = ("T11", "T12", "L1", "L2", "L3")


@pytest.fixture(scope="module")
def demos():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo

    return {v: generate_demo(variant=v) for v in ("standard", "cortical_gap")}


def _gap_mm3(volume, anatomy) -> float:  # type: ignore[no-untyped-def]
    fine = fine_body(anatomy, _crop_hu(volume, anatomy))
    return float(fine.gap.sum()) * float(np.prod(fine.grid.spacing_mm))


def test_demo_gaps_only_at_the_cortical_defect(demos) -> None:  # type: ignore[no-untyped-def]
    for variant, case in demos.items():
        for lev in LEVELS:
            gap = _gap_mm3(case.volume, case.truth.level_anatomy(lev, case.volume.grid))
            if variant == "cortical_gap" and lev == "L1":
                assert gap >= 5.0, "the 4 mm cortical defect must be found"
                fine = fine_body(
                    case.truth.level_anatomy(lev, case.volume.grid),
                    _crop_hu(case.volume, case.truth.level_anatomy(lev, case.volume.grid)),
                )
                centre = np.asarray(case.truth.cortical_gap[0])
                pts = fine.grid.voxel_to_lps(np.argwhere(fine.gap)[:, ::-1].astype(float))
                assert np.linalg.norm(pts.mean(axis=0) - centre) < 4.0
            else:
                assert gap == 0.0, (variant, lev, gap)


def test_no_gaps_on_the_intact_real_bodies(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = shared_data / "tptbox_l3"
    vol, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    labels = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz")
    an = analyze_spine(vol, labels=labels)
    assert _gap_mm3(vol, an.level("L3").anatomy) == 0.0
    ct, _ = load_nifti_ct(shared_data / "totalseg_example" / "example_ct.nii.gz")
    for r in analyze_spine(ct).levels:
        fine = fine_body(r.anatomy, _crop_hu(ct, r.anatomy))
        assert not fine.gap.any(), r.level
        assert any("not assessed" in n for n in fine.notes)  # 3 mm: said, not guessed


@pytest.mark.parametrize("procedure", ["vertebroplasty", "kyphoplasty"])
def test_no_restoration_where_no_height_is_lost(procedure: str) -> None:
    for lost in ({"anterior": 0.0, "middle": 0.0}, {"anterior": -1.2, "middle": -0.3}):
        r = restoration_estimate(lost, procedure, "acute")
        for band in (*r.immediate_mm.values(), *r.follow_up_mm.values(),
                     r.wedge_angle_change_deg, r.wedge_angle_follow_up_deg):
            assert (band.median, band.p10, band.p90) == (0.0, 0.0, 0.0)
        assert any("no height restoration" in n for n in r.notes)
    graded0 = restoration_estimate({"anterior": 1.5, "middle": 0.8}, procedure, intact=True)
    assert graded0.wedge_angle_change_deg.p90 == 0.0
    assert any("Genant 0" in n for n in graded0.notes)
    fractured = restoration_estimate({"anterior": 6.0, "middle": 3.0}, procedure, "acute")
    assert fractured.immediate_mm["anterior"].p90 > 0.5
    assert fractured.wedge_angle_change_deg.p90 > 0.5
