"""Needle views: two oblique planes containing the needle, a needle's-eye view across it, and
the depth slider that advances the needle along its path."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.trajectory_helpers import truth_trajectory  # noqa: F401
from ui.render.oblique import needle_planes

pytestmark = pytest.mark.gui


def test_oblique_planes_contain_the_needle_and_the_eye_view_follows_the_depth(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    nv = win.trajectory.needle_views
    traj = truth_trajectory(demo_case, "left")
    win.trajectory.service.set_selected_side("left")
    win.doc.push_plan(win.trajectory.service.base_plan().with_trajectory(traj), "plan")
    nv.refresh()
    skin, tip = np.asarray(traj.skin_entry_lps), np.asarray(traj.target_lps)
    length = float(np.linalg.norm(tip - skin))
    d = (tip - skin) / length
    for kind in ("along_cc", "along_tr"):
        focal, normal, _half = nv.views[kind].pipeline.plane()
        assert abs(normal @ d) < 1e-9, kind  # the plane contains the needle direction...
        assert (
            abs((skin - focal) @ normal) < 1e-6 and abs((tip - focal) @ normal) < 1e-6
        )  # ...and its points
    n_cc = nv.views["along_cc"].pipeline.plane()[1]
    n_tr = nv.views["along_tr"].pipeline.plane()[1]
    assert abs(n_cc @ n_tr) < 1e-9  # two different planes, at right angles
    # craniocaudal plane seen like a sagittal view: superior up, anterior on the left
    letters = nv.views["along_cc"].pipeline.letters
    assert letters["top"].GetInput().startswith("S") and letters["left"].GetInput().startswith("A")
    # the eye view looks down the needle at the planned tip
    focal, normal, _ = nv.views["eye"].pipeline.plane()
    assert np.allclose(normal, d) and np.allclose(focal, tip, atol=1e-6)
    # advance the needle to 40 mm with the slider: the eye plane moves there, the fluoroscopy
    # and the overlay draw the needle up to that depth
    nv.slider.setValue(80)  # 0.5 mm steps
    nv.refresh()
    focal, _, _ = nv.views["eye"].pipeline.plane()
    assert np.allclose(focal, skin + 40.0 * d, atol=1e-6)
    assert win.trajectory.service.advance_mm["left"] == pytest.approx(40.0)
    assert nv.views["eye"].adapter.value.depth_mm == pytest.approx(40.0)
    assert "40.0 / " in nv.depth_label.text() and "short of the target" in nv.depth_label.text()
    # wheel steps 1 mm, and the slider range ends 10 mm beyond the target
    nv.step_depth(-1.0)
    assert nv.depth_mm == pytest.approx(39.0)
    assert nv.slider.maximum() == int(round((length + 10.0) * 2))
    # switching needle resets the depth to the planned tip
    win.trajectory.service.set_selected_side("right")
    QApplication.processEvents()
    assert nv.depth_mm is None and win.trajectory.service.advance_mm["left"] is None


def test_needle_planes_for_a_vertical_needle_are_defined() -> None:
    planes = needle_planes([0.0, 0.0, 1.0])  # along the spine's axis: no sagittal-like plane
    for dop, up in planes.values():
        assert np.isclose(np.linalg.norm(dop), 1.0) and np.isclose(np.linalg.norm(up), 1.0)
        assert abs(dop @ up) < 1e-9


def test_drag_the_target_in_the_craniocaudal_needle_plane_moves_it_on_the_frozen_plane(
    planning_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF

    from tests.ui.trajectory_helpers import send_mouse

    win = planning_window
    svc = win.trajectory.service
    nv = win.trajectory.needle_views
    before = truth_trajectory(demo_case, "left")
    svc.set_selected_side("left")
    win.doc.push_plan(svc.base_plan().with_trajectory(before), "plan")
    nv.refresh()
    QApplication.processEvents()
    view = nv.views["along_cc"]
    assert view.vtk.height() > 50, "the needle views must be on screen for this test"
    focal0, normal0, _ = view.pipeline.plane()
    cam = view.pipeline.renderer.GetActiveCamera()
    right, up = view.pipeline.screen_axes()
    mm_per_px = 2.0 * cam.GetParallelScale() / view.vtk.GetRenderWindow().GetSize()[1]
    mm_per_px *= view.vtk.devicePixelRatioF()  # per widget (logical) pixel
    tip0 = np.asarray(before.target_lps)
    start = view.widget_point(tip0)
    n0 = win.doc.undo_stack.count()
    send_mouse(view.vtk, "press", start)
    assert svc.dragging
    dx, dy = 12.0, -9.0  # widget pixels: right and up
    for k in range(1, 5):
        send_mouse(view.vtk, "move", start + QPointF(dx * k / 4, dy * k / 4))
        nv.refresh()  # the throttled redraw: the plane must not follow the preview
        focal, normal, _ = view.pipeline.plane()
        assert np.allclose(focal, focal0, atol=1e-9) and np.allclose(normal, normal0, atol=1e-9)
    assert win.doc.undo_stack.count() == n0 and svc.preview is not None
    send_mouse(view.vtk, "release", start + QPointF(dx, dy))
    assert win.doc.undo_stack.count() == n0 + 1  # one gesture, one undo step
    assert svc.preview is None and not svc.dragging
    after = win.doc.plan.trajectory("left")
    # the LPS point under the mouse on the frozen plane (screen right/up, scale from the camera)
    expected = tip0 + mm_per_px * (dx * right - dy * up)
    half_voxel = 0.5 * float(demo_case.volume.spacing_mm.min())
    assert np.linalg.norm(np.subtract(after.target_lps, expected)) <= half_voxel
    assert abs((np.asarray(after.target_lps) - focal0) @ normal0) < 1e-6  # on the frozen plane
    assert np.linalg.norm(np.subtract(after.target_lps, tip0)) > 2.0  # it really moved
    assert after.skin_entry_lps == before.skin_entry_lps
    # after the release the planes follow the new needle again
    nv.refresh()
    d = np.subtract(after.target_lps, after.skin_entry_lps)
    assert abs(view.pipeline.plane()[1] @ d) < 1e-6 * np.linalg.norm(d)
    win.doc.undo_stack.undo()
    assert win.doc.plan.trajectory("left") == before


def test_a_press_away_from_the_needle_ends_in_the_needle_view_pushes_nothing(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF

    from tests.ui.trajectory_helpers import send_mouse

    win = planning_window
    svc = win.trajectory.service
    nv = win.trajectory.needle_views
    traj = truth_trajectory(demo_case, "left")
    win.doc.push_plan(svc.base_plan().with_trajectory(traj), "plan")
    nv.refresh()
    view = nv.views["along_tr"]
    start = view.widget_point(np.asarray(traj.target_lps)) + QPointF(25.0, 25.0)
    n0 = win.doc.undo_stack.count()
    send_mouse(view.vtk, "press", start)
    send_mouse(view.vtk, "move", start + QPointF(10.0, 0.0))
    send_mouse(view.vtk, "release", start + QPointF(10.0, 0.0))
    assert not svc.dragging and svc.preview is None
    assert win.doc.undo_stack.count() == n0


def test_drag_the_tip_in_the_needles_eye_view_and_escape_cancels(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF, Qt

    from tests.ui.trajectory_helpers import send_key, send_mouse

    win = planning_window
    svc = win.trajectory.service
    nv = win.trajectory.needle_views
    before = truth_trajectory(demo_case, "left")
    win.doc.push_plan(svc.base_plan().with_trajectory(before), "plan")
    nv.refresh()
    view = nv.views["eye"]
    tip0 = np.asarray(before.target_lps)
    focal0, normal0, _ = view.pipeline.plane()  # across the needle, through the planned tip
    up = view.pipeline.screen_axes()[1]  # superior-ish: the eye view is shown superior up
    start = view.widget_point(tip0)
    n0 = win.doc.undo_stack.count()
    # Esc during a drag cancels it: nothing pushed, the preview is gone
    send_mouse(view.vtk, "press", start)
    send_mouse(view.vtk, "move", start + QPointF(15.0, 0.0))
    assert svc.preview is not None
    send_key(view.vtk, Qt.Key.Key_Escape)
    assert svc.preview is None and not svc.dragging
    send_mouse(view.vtk, "release", start + QPointF(15.0, 0.0))
    assert win.doc.undo_stack.count() == n0
    # a drag steers the tip across the needle: it stays on the eye plane (same depth)
    send_mouse(view.vtk, "press", start)
    send_mouse(view.vtk, "move", start + QPointF(0.0, -15.0))
    send_mouse(view.vtk, "release", start + QPointF(0.0, -15.0))
    assert win.doc.undo_stack.count() == n0 + 1
    tip1 = np.asarray(win.doc.plan.trajectory("left").target_lps)
    assert abs((tip1 - focal0) @ normal0) < 1e-6
    assert (tip1 - tip0) @ up > 2.0 and up[2] > 0.5
    win.doc.undo_stack.undo()
    assert win.doc.plan.trajectory("left") == before
