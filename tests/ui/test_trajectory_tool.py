"""Placing, dragging and nudging needles in the workstation's views (one gesture = one step)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from planner.session import edit
from tests.ui.trajectory_helpers import send_key, send_mouse, truth_trajectory  # noqa: F401
from ui.render.needle_actors import TARGET_COLOUR
from ui.shell.screenshot import vtk_pixels

pytestmark = pytest.mark.gui


def _with_plan(win, case):  # type: ignore[no-untyped-def]
    svc = win.trajectory.service
    plan = svc.base_plan().with_trajectory(truth_trajectory(case, "left"))
    win.doc.push_plan(plan, "test plan")
    QApplication.processEvents()
    return plan


def test_clicking_target_then_entry_in_a_2d_view_places_the_needle_there(
    demo_window, demo_case, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import ui.panels.trajectory_panel as tp

    offered = []
    monkeypatch.setattr(
        tp, "ask_run_analysis", lambda parent, level: offered.append(level) or False
    )
    win = demo_window
    vol = demo_case.volume
    target = np.asarray(demo_case.truth.level("L1").centroid_lps) + np.array([6.0, -4.0, 0.0])
    entry = target + np.array([30.0, 75.0, 0.0])  # posterolateral left, same axial slice
    win.state.set_cursor(target)
    view = win.slice_views["axial"]
    win.doc.push_case(edit.add_level(win.doc.case, "L1"), "Add L1")  # the user's choice
    QApplication.processEvents()
    win.trajectory.panel.sides["left"].place.click()
    assert win.trajectory.tool.armed == "left"
    assert offered == ["L1"]  # no analysis yet: the user was offered to run it (declined here)
    n0 = win.doc.undo_stack.count()
    for p in (target, entry):
        pos = view.widget_point(p)
        send_mouse(view.vtk, "press", pos)
        send_mouse(view.vtk, "release", pos)
    assert win.doc.undo_stack.count() == n0 + 1  # the placement is one undo step
    traj = win.doc.plan.trajectory("left")
    half_voxel = 0.5 * float(vol.spacing_mm.min())
    assert np.linalg.norm(np.subtract(traj.target_lps, target)) <= half_voxel
    assert np.linalg.norm(np.subtract(traj.skin_entry_lps, entry)) <= half_voxel
    # the plan is bound to the open series
    assert win.doc.plan.series.series_uid == vol.identity.series_uid
    assert win.doc.plan.series.geometry_fingerprint == vol.grid.fingerprint()
    # the bone entry lies on the line, between skin and target, where the HU says bone
    s, b, t = (np.asarray(p) for p in (traj.skin_entry_lps, traj.bone_entry_lps, traj.target_lps))
    assert np.linalg.norm(np.cross(b - s, t - s)) / np.linalg.norm(t - s) < 1e-6
    assert 0 < np.linalg.norm(b - s) < np.linalg.norm(t - s)
    assert vol.sample_lps(b[None])[0] >= 250
    win.doc.undo_stack.undo()
    assert not win.doc.plan.trajectories


def test_drag_in_a_2d_view_pushes_one_command_and_undo_restores(
    planning_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    plan = _with_plan(win, demo_case)
    before = plan.trajectory("left")
    win.state.set_cursor(np.asarray(before.target_lps))
    view = win.slice_views["sagittal"]
    QApplication.processEvents()
    n0 = win.doc.undo_stack.count()
    start = view.widget_point(np.asarray(before.target_lps))
    send_mouse(view.vtk, "press", start)
    previews = []
    win.trajectory.service.preview_changed.connect(previews.append)
    for k in range(1, 6):
        send_mouse(view.vtk, "move", start + QPointF(0, -4.0 * k))  # up = superior in sagittal
    assert win.doc.undo_stack.count() == n0  # nothing pushed during the drag
    assert win.doc.plan is plan
    assert any(p is not None for p in previews)
    # the panel follows the preview live (synchronously, or throttled when the planner is slow)
    preview = win.trajectory.service.preview.trajectory("left")
    expected = f"{np.linalg.norm(np.subtract(preview.target_lps, preview.skin_entry_lps)):.1f}"
    qtbot.waitUntil(lambda: win.trajectory.panel.table.item(0, 0).text() == expected, timeout=2000)
    live = win.trajectory.panel.table.item(0, 0).text()
    send_mouse(view.vtk, "release", start + QPointF(0, -20.0))
    assert win.doc.undo_stack.count() == n0 + 1
    after = win.doc.plan.trajectory("left")
    moved = np.subtract(after.target_lps, before.target_lps)
    assert moved[2] > 3.0 and abs(moved[0]) < 1e-6  # superior, within the sagittal plane
    assert np.allclose(after.skin_entry_lps, before.skin_entry_lps)
    assert live == win.trajectory.panel.table.item(0, 0).text()
    assert win.trajectory.service.preview is None
    win.doc.undo_stack.undo()
    assert win.doc.plan.trajectory("left") is before


def test_drag_in_3d_pushes_one_command(planning_window, demo_case) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    plan = _with_plan(win, demo_case)
    before = plan.trajectory("left")
    v3 = win.view_3d
    v3.set_camera_preset("lateral")
    tool = win.trajectory.tool
    QApplication.processEvents()
    start = tool._widget_point(v3, np.asarray(before.skin_entry_lps))
    n0 = win.doc.undo_stack.count()
    send_mouse(v3.vtk, "press", start)
    assert tool._drag is not None and tool._drag["handle"] == "skin"
    send_mouse(v3.vtk, "move", start + QPointF(0, -15.0))
    send_mouse(v3.vtk, "release", start + QPointF(0, -15.0))
    assert win.doc.undo_stack.count() == n0 + 1
    after = win.doc.plan.trajectory("left")
    assert after.skin_entry_lps[2] > before.skin_entry_lps[2] + 1.0  # dragged up = superior
    assert after.target_lps == before.target_lps
    win.doc.undo_stack.undo()
    assert win.doc.plan.trajectory("left") is before


def test_keyboard_nudges_merge_into_one_command(planning_window, demo_case) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    plan = _with_plan(win, demo_case)
    before = plan.trajectory("left")
    win.trajectory.tool.select("left", "target")
    view = win.slice_views["axial"]
    n0 = win.doc.undo_stack.count()
    for _ in range(5):
        send_key(view.vtk, Qt.Key.Key_Right)
    send_key(view.vtk, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.undo_stack.count() == n0 + 1
    after = win.doc.plan.trajectory("left")
    # axial: screen right = patient left (+x), screen up = anterior (-y)
    assert np.allclose(
        np.subtract(after.target_lps, before.target_lps), [2.5, -2.0, 0.0], atol=1e-9
    )
    win.doc.undo_stack.undo()
    assert win.doc.plan.trajectory("left") is before


def test_needle_appears_at_the_same_lps_position_in_every_view(planning_window, demo_case) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    plan = _with_plan(win, demo_case)
    tip = np.asarray(plan.trajectory("left").target_lps)
    win.state.set_cursor(tip + np.array([0.0, 0.0, 0.0]))
    for v in win.slice_views.values():
        v.pipeline.set_crosshair_visible(False)
    mine = {id(p) for a in win.trajectory.overlays.adapters.values() for p in a._props}
    rs3 = win.view_3d.render_window().GetRenderers()
    rs3.InitTraversal()
    renderers = [v.pipeline.overlay for v in win.slice_views.values()]
    renderers += [rs3.GetNextItem() for _ in range(rs3.GetNumberOfItems())]
    for r in renderers:  # other panels' annotations and surfaces may cover the tip
        props = r.GetViewProps()
        props.InitTraversal()
        for _ in range(props.GetNumberOfItems()):
            p = props.GetNextProp()
            if id(p) not in mine:
                p.VisibilityOff()
    QApplication.processEvents()
    target_rgb = np.array(TARGET_COLOUR) * 255
    win.view_3d.pipeline.prop.VisibilityOff()  # the tip lies inside bone: look at the overlay alone
    for side in ("left", "right"):  # and at the target sphere alone (the tube ends inside it)
        a3 = win.trajectory.overlays.adapters[("3d", side)]
        a3.tube_actor.VisibilityOff()
        a3.spheres["bone"][1].VisibilityOff()
    for name, view in win.views().items():
        rw = view.render_window()
        rgb = vtk_pixels(rw).astype(float)
        q = win.trajectory.tool._widget_point(view, tip)
        ratio = view.vtk.devicePixelRatioF()
        col, row = int(round(q.x() * ratio)), int(round(q.y() * ratio))
        patch = rgb[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3)
        dist = np.linalg.norm(patch - target_rgb, axis=1).min()
        assert dist < 90, f"{name}: target handle not drawn at its LPS position ({patch.mean(0)})"
        if name != "3d":
            # and the picked LPS under that pixel is the tip (in-plane)
            back = view.lps_at(q)
            n = view.pipeline.normal
            inplane = (back - tip) - n * float((back - tip) @ n)
            assert np.linalg.norm(inplane) < 0.5
            # mirror check: nothing magenta at the patient's right-side mirror of the tip
            mirror = tip * np.array([-1.0, 1.0, 1.0]) + np.array(
                [2 * demo_case.truth.level("L1").centroid_lps[0], 0, 0]
            )
            qm = view.widget_point(mirror)
            if name != "sagittal":
                pm = rgb[
                    int(qm.y() * ratio) - 2 : int(qm.y() * ratio) + 3,
                    int(qm.x() * ratio) - 2 : int(qm.x() * ratio) + 3,
                ].reshape(-1, 3)
                assert np.linalg.norm(pm - target_rgb, axis=1).min() > 60, name
