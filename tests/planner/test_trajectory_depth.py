"""Tip depth from the body's own outline: a notch in the mask does not move the cortex."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, suggest
from tests.planner.trajectory_phantom import Phantom

SMALL = dict(box_lo=(-50.3, -25.17, -20.41), box_mm=(110.0, 105.0, 40.0))


def test_a_notch_in_the_body_mask_does_not_change_the_depth() -> None:
    ph = Phantom(spacing=0.7, with_vertebra=True, **SMALL)  # type: ignore[arg-type]
    vol, an = ph.build()
    g = an.grid
    k, j, i = np.meshgrid(*(np.arange(n) for n in g.shape_kji), indexing="ij")
    b = ph.frame().to_body(g.voxel_to_lps(np.stack([i, j, k], -1).astype(float)))
    # a 2 mm slot cut through the front of the mask across the whole height, at p = -9..-7
    slot = (b[..., 1] > -9.0) & (b[..., 1] < -7.0) & (np.abs(b[..., 0]) < 30)
    notched = replace(an, body=an.body & ~slot)
    skin, entry, tip = ph.axis_trajectory_points("left", 0.6)
    traj = Trajectory("left", "transpedicular", ph.lps(skin), ph.lps(entry), ph.lps(tip))
    ref = evaluate(TrajectoryContext.build(vol, an), traj, "11G").metrics
    got = evaluate(TrajectoryContext.build(vol, notched), traj, "11G").metrics
    assert got.tip_depth_frac == pytest.approx(ref.tip_depth_frac, abs=0.02)
    assert got.tip_to_anterior_cortex_mm == pytest.approx(ref.tip_to_anterior_cortex_mm, abs=0.5)
    half = ph.body_b * np.sqrt(1 - (tip[0] / ph.body_a) ** 2)  # the ellipse on the tip's line
    assert ref.tip_depth_frac == pytest.approx((half - tip[1]) / (2 * half), abs=0.03)


def _label_depth(labels: np.ndarray, grid, frame, tip: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """Depth fraction of ``tip`` on a label mask, along the body's AP axis through it."""
    s = np.arange(-60.0, 60.0, 0.25)
    pts = tip[None] + s[:, None] * frame.posterior[None]
    ijk = np.rint(grid.lps_to_voxel(pts)).astype(int)
    ok = grid.contains_voxel(ijk)
    inside = np.zeros(len(s), dtype=bool)
    inside[ok] = labels[ijk[ok, 2], ijk[ok, 1], ijk[ok, 0]]
    idx = np.flatnonzero(inside)
    p_ant, p_post = s[idx[0]], s[idx[-1]]
    return float(p_post / (p_post - p_ant))


def test_totalseg_tips_reported_at_the_depth_the_labels_show(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = shared_data / "totalseg_example"
    ct, _ = load_nifti_ct(d / "example_ct.nii.gz")
    labels = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    bodies = load_nifti_labels(d / "vertebral_bodies_and_discs.nii.gz").labels
    an = analyze_spine(ct)
    for name in ("L1", "L2", "L3", "L4"):
        r = an.level(name)
        key = next(k for k, n in labels.names.items() if n == f"vertebrae_{name}")
        truth = (labels.labels == key) & (bodies == 1)
        ctx = TrajectoryContext.build(ct, r.anatomy, r.morphometry)
        for side in ("left", "right"):
            s = suggest(ctx, side, "11G")
            tip = np.asarray(s.trajectory.target_lps)
            on_labels = _label_depth(truth, ct.grid, ctx.frame, tip)
            # the analysis' body mask stops ~7 mm short of the anterior cortex at L2: the depth
            # follows the CT's cortex beyond it (tip at 0.65 on the labels, 0.75 reported, before;
            # measured on the labels 0.76-0.83, L2 right 0.828 the closest to the bound: the
            # refined body outline runs 2.7-3.5 mm past the label anterolaterally)
            assert s.result.metrics.tip_depth_frac == pytest.approx(on_labels, abs=0.08), side
