"""Auto-suggested trajectories: phantom, the demo case's analytic anatomy, and a real L3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, suggest
from planner.trajectory.geometry import needle_angles_deg
from tests.planner.trajectory_phantom import Phantom

SMALL = dict(box_lo=(-50.3, -25.17, -20.41), box_mm=(110.0, 105.0, 40.0))


def test_phantom_auto_paths_are_transpedicular_and_clear() -> None:
    ph = Phantom(spacing=0.7, yaw_deg=10.0, with_vertebra=True, **SMALL)
    vol, an = ph.build()
    ctx = TrajectoryContext.build(vol, an)
    for side in ("left", "right"):
        s = suggest(ctx, side, "11G")
        m = s.result.metrics
        assert s.transpedicular_feasible and s.trajectory.approach == "transpedicular"
        assert s.alternative is None
        assert m.breach_grade == 0
        assert m.min_cortical_clearance_mm >= 1.0
        assert m.tip_depth_frac == pytest.approx(0.75, abs=0.05)
        assert not any(f.severity != "info" for f in s.result.findings)
        tip_b = ctx.frame.to_body(s.trajectory.target_lps)
        assert np.sign(tip_b[0]) == (1 if side == "left" else -1)  # stays in its half (bipedicular)
        skin_b = ctx.frame.to_body(s.trajectory.skin_entry_lps)
        assert skin_b[1] == pytest.approx(ph.skin_p, abs=1.0)  # skin found where the air starts


def test_narrow_pedicle_gets_a_parapedicular_alternative() -> None:
    ph = Phantom(spacing=0.7, ped_r=2.2, **SMALL)
    vol, an = ph.build()
    ctx = TrajectoryContext.build(vol, an)
    s = suggest(ctx, "left", "11G")
    assert not s.transpedicular_feasible
    assert s.transpedicular_result.metrics.min_cortical_clearance_mm < 0.5
    assert s.alternative is not None and s.trajectory is s.alternative
    assert s.trajectory.approach == "parapedicular"
    m = s.result.metrics
    assert m.breach_grade == 0 and m.canal_clearance_mm >= 2.0 and m.air_path_mm == 0.0
    assert m.min_cortical_clearance_mm >= 1.0
    assert m.medial_angle_deg > s.transpedicular_result.metrics.medial_angle_deg
    assert "parapedicular" in s.reason


def test_unipedicular_aims_at_the_midline() -> None:
    ph = Phantom(spacing=0.7, ped_angle_deg=25.0, ped_l=16.0, **SMALL)
    vol, an = ph.build()
    ctx = TrajectoryContext.build(vol, an)
    s = suggest(ctx, "right", "11G", unipedicular=True)
    m = s.result.metrics
    assert m.tip_reaches_midline
    assert abs(ctx.frame.to_body(s.trajectory.target_lps)[0]) <= 1.5
    assert m.breach_grade == 0


# --- the demo case: analytic masks, so the numbers test the planner, not the segmentation ------


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo

    return generate_demo()


@pytest.fixture(scope="module")
def demo_ctx(demo):  # type: ignore[no-untyped-def]
    return {
        lv.name: TrajectoryContext.build(
            demo.volume, demo.truth.level_anatomy(lv.name, demo.volume.grid)
        )
        for lv in demo.truth.levels
    }


def test_demo_auto_plan_has_no_breach_and_1mm_clearance_everywhere(demo, demo_ctx) -> None:  # type: ignore[no-untyped-def]
    assert len(demo_ctx) >= 5
    for name, ctx in demo_ctx.items():
        for side in ("left", "right"):
            m = suggest(ctx, side, "11G").result.metrics
            assert m.breach_grade == 0, (name, side)
            assert m.min_cortical_clearance_mm >= 1.0, (name, side, m.min_cortical_clearance_mm)
            assert m.canal_clearance_mm >= 1.0, (name, side)


def test_demo_metrics_match_the_ground_truth(demo, demo_ctx) -> None:  # type: ignore[no-untyped-def]
    for lv in demo.truth.levels:
        ctx = demo_ctx[lv.name]
        assert ctx.body.depth_mm == pytest.approx(lv.depth_mm, abs=0.3), lv.name
        for side, pt in lv.pedicles.items():
            sign = 1.0 if side == "left" else -1.0
            e, d = np.array(pt.entry_lps), np.array(pt.axis_dir_lps)
            ahead = 8.0
            tip = e + d * (pt.length_to_anterior_cortex_mm - ahead)
            traj = Trajectory(side, "transpedicular", e - 40 * d, e, tip)
            m = evaluate(ctx, traj, "11G").metrics
            med, cc = needle_angles_deg(d, lv.frame.rotation, sign)
            assert m.medial_angle_deg == pytest.approx(med, abs=0.5)
            assert m.craniocaudal_angle_deg == pytest.approx(cc, abs=0.5)
            assert m.length_bone_to_tip_mm == pytest.approx(
                pt.length_to_anterior_cortex_mm - ahead, abs=0.3
            )
            assert m.tip_to_anterior_cortex_mm == pytest.approx(ahead, abs=0.3), (lv.name, side)
            # a width read off a voxel mask (0.7 x 0.7 x 1 mm) is good to about half a voxel
            assert m.isthmus_width_mm == pytest.approx(pt.isthmus_width_mm, abs=0.5), (
                lv.name,
                side,
            )
            assert m.breach_grade == 0


def test_demo_bad_trajectories_are_graded(demo, demo_ctx) -> None:  # type: ignore[no-untyped-def]
    lv = demo.truth.level("L1")
    ctx = demo_ctx["L1"]
    pt = lv.pedicles["left"]
    c, d = np.array(pt.isthmus_centre_lps), np.array(pt.axis_dir_lps)
    medial = -lv.frame.left - float(-lv.frame.left @ d) * d
    medial /= np.linalg.norm(medial)
    r = 3.048 / 2
    for breach, grade in ((1.0, 1), (3.0, 2), (5.0, 3)):
        shift = medial * (pt.isthmus_width_mm / 2 - r + breach)
        e = np.array(pt.entry_lps) + shift
        traj = Trajectory("left", "transpedicular", e - 40 * d, e, c + shift + d * 25)
        m = evaluate(ctx, traj, "11G").metrics
        assert m.breach_direction == "medial"
        assert m.breach_grade == grade
        assert m.breach_mm == pytest.approx(breach, abs=0.5)


# --- real CT: tptbox L3 --------------------------------------------------------------------


def test_tptbox_l3_auto_paths_stay_in_the_vertebra_and_out_of_the_canal(shared_data: Path) -> None:
    """Uses the vertebra analysis (planner.vertebra) with the VerSe vertebra label map."""
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    folder = shared_data / "tptbox_l3"
    vol, _ = load_nifti_ct(folder / "sub-ct_label-22_ct.nii.gz")
    labels = load_nifti_labels(folder / "sub-ct_seg-vert_label-22_msk.nii.gz")
    an = analyze_spine(vol, labels=labels).level("L3").anatomy
    ctx = TrajectoryContext.build(vol, an)
    l3 = np.asarray(labels.labels) == 22
    for side in ("left", "right"):
        s = suggest(ctx, side, "11G")
        t = s.trajectory
        assert t.approach == "transpedicular", s.reason
        assert s.result.metrics.breach_grade == 0
        be, tip = np.array(t.bone_entry_lps), np.array(t.target_lps)
        n = int(np.linalg.norm(tip - be) / 0.5)
        pts = be + np.linspace(0, 1, n)[:, None] * (tip - be)
        # the entry sits on the CT's bone surface (HU edge, 1.5 mm voxels), the label's surface
        # up to a voxel inside it: the label is entered within 3 mm of the bone entry (measured
        # 2.5 mm on the left: the cranially tilted path meets the superior articular process'
        # posterior tip obliquely, 400 HU bone outside the label) and never left to the tip
        ijk = np.rint(vol.grid.lps_to_voxel(pts)).astype(int)
        inside = l3[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
        assert inside.any(), side
        first = int(np.argmax(inside))
        assert first * np.linalg.norm(pts[1] - pts[0]) <= 3.0, (side, first)
        assert inside[first:].all(), (
            f"{side}: {int((~inside[first:]).sum())} of {len(inside)} samples leave the L3 label"
        )
        cijk = np.rint(an.grid.lps_to_voxel(pts)).astype(int)
        ok = an.grid.contains_voxel(cijk)
        assert not an.canal[cijk[ok, 2], cijk[ok, 1], cijk[ok, 0]].any()
        assert s.result.metrics.canal_clearance_mm > 0


def test_missing_pedicle_is_a_clear_error() -> None:
    from dataclasses import replace

    from planner.errors import AnalysisError

    ph = Phantom(spacing=1.0, **SMALL)
    vol, an = ph.build()
    an = replace(an, pedicle_right=np.zeros_like(an.pedicle_right))
    ctx = TrajectoryContext.build(vol, an)
    assert suggest(ctx, "left", "11G").result.metrics.breach_grade == 0
    with pytest.raises(AnalysisError, match="no right pedicle"):
        suggest(ctx, "right", "11G")
