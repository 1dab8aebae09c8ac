"""3D view: thick-slice data smoothed for rendering, the target body centred and the posterior
elements cut away behind it, needles drawn over the bone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.trajectory_helpers import truth_trajectory
from ui.render.volume_pipeline import smooth_for_3d

pytestmark = pytest.mark.gui


def test_thick_slices_are_resampled_and_smoothed_for_3d() -> None:
    # a sloping bone edge sampled at 3 mm slices: stair-steps along k
    k, j, i = np.mgrid[0:20, 0:30, 0:30]
    hu = np.where(i * 1.0 + k * 3.0 > 40, 800, 0).astype(np.int16)
    out, sp = smooth_for_3d(hu, (3.0, 1.0, 1.0))
    assert np.allclose(sp, 1.0, atol=0.05) and out.shape[0] > 2.5 * hu.shape[0]
    # between original slices the edge moves gradually (no step of a whole slice)
    row = out[:, 15, 20].astype(float)
    steps = np.abs(np.diff(row))
    assert steps.max() < 0.6 * 800
    # a single slice is left alone (nothing to interpolate)
    one, sp1 = smooth_for_3d(hu[:1], (3.0, 1.0, 1.0))
    assert one.shape == (1, 30, 30) and np.allclose(sp1, (3.0, 1.0, 1.0))
    # fine data is left alone
    same, sp2 = smooth_for_3d(hu, (1.0, 1.0, 1.0))
    assert same is hu and np.allclose(sp2, 1.0)


def test_target_is_centred_posterior_cut_and_needles_on_top(planning_window, demo_case) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    v3 = win.view_3d
    svc = win.trajectory.service
    plan = svc.base_plan().with_trajectory(truth_trajectory(demo_case, "left"))
    assert plan.level == "L1"
    win.doc.push_plan(plan, "plan")
    m = win.doc.analysis.level("L1").morphometry
    c = np.asarray(m.centroid_lps)
    assert np.allclose(v3.pipeline.roi_centre_lps, c)
    cam = v3.pipeline.renderer.GetActiveCamera()
    assert np.allclose(cam.GetFocalPoint(), c, atol=1e-6)
    planes = v3.pipeline.prop.GetMapper().GetClippingPlanes()
    assert planes is not None and planes.GetNumberOfItems() == 1
    p = planes.GetItem(0)
    assert np.allclose(p.GetNormal(), (0, -1, 0))
    assert p.GetOrigin()[1] == pytest.approx(c[1] + m.depth_mm / 2 + 3.0)
    # the needle's axis is drawn on the layer over the bone
    ghosts = [a for a in v3.on_top.GetActors()] if hasattr(v3.on_top, "GetActors") else []
    assert any(a.GetVisibility() for a in ghosts)
    win.actions_by_name["cut_posterior"].trigger()  # off
    assert v3.pipeline.prop.GetMapper().GetClippingPlanes().GetNumberOfItems() == 0
