"""Correction modes: plane drag, outline brush, pedicle axis clicks — one gesture, one undo step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import open_truth_demo
from tests.ui.trajectory_helpers import send_mouse

pytestmark = pytest.mark.gui


def _settle(n: int = 5) -> None:
    for _ in range(n):
        QApplication.processEvents()


@pytest.fixture
def win(make_window: Any, demo_case: Any) -> Any:
    w = make_window()
    open_truth_demo(w, demo_case)
    return w


def _drag(view: Any, start: QPointF, delta: QPointF, steps: int = 8) -> None:
    send_mouse(view.vtk, "press", start)
    for k in range(1, steps + 1):
        send_mouse(view.vtk, "move", start + delta * (k / steps))
        _settle(1)
    send_mouse(view.vtk, "release", start + delta)
    _settle()


def test_modes_are_actions_with_shortcuts_in_help_and_esc_leaves(win: Any) -> None:
    from ui.shell.help_dialogs import shortcut_rows

    reg = win.action_registry
    modes = win.corrections
    want = {"correct_plane": "M", "correct_brush_add": "B", "correct_brush_erase": "E",
            "correct_pedicle": "P", "correct_radius_down": "[", "correct_radius_up": "]",
            "correct_leave": "Esc"}
    for aid, key in want.items():
        assert reg.action(aid).shortcut().toString() == key
        assert reg.action(aid) in reg.menu("analysis/correct").actions()
    from ui.shell.help_dialogs import MOUSE_GESTURES

    assert any(k.startswith("Brush (B)") for k, _ in MOUSE_GESTURES)
    rows = dict((t, k) for k, t in shortcut_rows(win.actions()))
    assert rows["Move / turn mid-sagittal plane"] == "M"
    assert rows["Set pedicle axis (two clicks)"] == "P"
    toolbar = win.toolbar.actions()
    assert all(reg.action(f"correct_{m}") in toolbar for m in ("plane", "brush_add", "pedicle"))
    assert not reg.action("correct_leave").isEnabled()  # Esc stays free outside a mode
    reg.action("correct_brush_add").trigger()
    assert modes.mode == "brush_add" and reg.action("correct_leave").isEnabled()
    r0 = modes.radius_mm
    reg.action("correct_radius_up").trigger()
    assert modes.radius_mm == pytest.approx(r0 + 0.5)
    reg.action("correct_leave").trigger()
    assert modes.mode == "" and not reg.action("correct_brush_add").isChecked()
    reg.action("correct_pedicle").trigger()
    reg.action("tool_distance").trigger()  # a view tool leaves the correction mode
    assert modes.mode == ""


def test_the_keys_enter_and_leave_the_modes(win: Any, qtbot: Any) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view = win.slice_views["axial"]
    win.show()
    win.activateWindow()
    view.vtk.setFocus()
    try:
        qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    except Exception:
        pytest.skip("the window manager of this display does not activate windows")
    QTest.keyClick(view.vtk, Qt.Key.Key_B)
    assert win.corrections.mode == "brush_add"
    QTest.keyClick(view.vtk, Qt.Key.Key_BracketRight)
    assert win.corrections.radius_mm > 3.0
    QTest.keyClick(view.vtk, Qt.Key.Key_Escape)
    assert win.corrections.mode == ""
    QTest.keyClick(view.vtk, Qt.Key.Key_P)
    assert win.corrections.mode == "pedicle"
    QTest.keyClick(view.vtk, Qt.Key.Key_Escape)
    assert win.corrections.mode == ""


def test_dragging_the_plane_centre_is_one_undo_step_and_remeasures(win: Any) -> None:
    view = win.slice_views["axial"]
    win.corrections.set_mode("plane")
    _settle()
    handles = {(lv, h): p for lv, h, p in win.corrections.plane.visible}
    assert ("L1", "centre") in handles
    q0 = view.widget_point(handles[("L1", "centre")])
    assert win.corrections.hit_plane(view, q0) == ("L1", "centre")
    before = win.doc.analysis.level("L1")
    steps = win.doc.undo_stack.count()
    _drag(view, q0, QPointF(8.0, 0.0))
    assert win.doc.undo_stack.count() == steps + 1
    (c,) = win.doc.case.plan.corrections
    assert (c.level, c.kind) == ("L1", "midsagittal_plane")
    assert abs(c.value["shift_mm"]) > 1.0 and c.value["turn_deg"] == pytest.approx(0.0, abs=0.5)
    after = win.doc.analysis.level("L1")
    assert after.edited["mid_sagittal_plane"] is True
    assert not np.allclose(after.anatomy.frame.origin_lps, before.anatomy.frame.origin_lps)
    row = [r.level for r in win.doc.analysis.levels].index("L1")
    assert "edited" in win.planning.levels.table.item(row, 3).text()
    win.doc.undo_stack.undo()
    _settle()
    assert win.doc.case.plan.corrections == ()
    assert "edited" not in win.planning.levels.table.item(row, 3).text()
    # dragging an end turns the plane about its centre
    handles = {(lv, h): p for lv, h, p in win.corrections.plane.visible}
    q1 = view.widget_point(handles[("L1", "posterior")])
    _drag(view, q1, QPointF(6.0, 0.0))
    (c,) = win.doc.case.plan.corrections
    assert abs(c.value["turn_deg"]) > 2.0 and abs(c.value["shift_mm"]) < 0.5


def test_an_eraser_stroke_is_one_undo_step_and_the_volume_follows(win: Any) -> None:
    view = win.slice_views["axial"]
    l1 = win.doc.analysis.level("L1")
    fr = l1.anatomy.frame
    win.corrections.set_mode("brush_erase")
    win.corrections.radius_mm = 4.0
    start = view.widget_point(fr.origin_lps - 8.0 * fr.posterior - 8.0 * fr.left)
    end = view.widget_point(fr.origin_lps - 8.0 * fr.posterior + 8.0 * fr.left)
    steps = win.doc.undo_stack.count()
    _drag(view, start, end - start, steps=10)
    assert win.doc.undo_stack.count() == steps + 1
    (c,) = win.doc.case.plan.corrections
    assert (c.level, c.kind, c.key) == ("L1", "body_outline", "body")
    after = win.doc.analysis.level("L1")
    assert after.morphometry.body_volume_ml < l1.morphometry.body_volume_ml - 0.1
    assert after.anatomy.body.sum() < l1.anatomy.body.sum()
    removed = l1.anatomy.body & ~after.anatomy.body
    k = np.unique(np.argwhere(removed)[:, 0])
    assert len(k) == 1  # only the slice on screen
    win.doc.undo_stack.undo()
    _settle()
    assert win.doc.analysis.level("L1").morphometry.body_volume_ml == l1.morphometry.body_volume_ml


def test_two_clicks_set_a_pedicle_axis_and_the_plan_file_keeps_it(
    win: Any, tmp_path: Any, qtbot: Any
) -> None:
    from planner.plan.file import load_case_plan, save_case_plan

    view = win.slice_views["axial"]
    fr = win.doc.analysis.level("L1").anatomy.frame
    entry, exit_ = fr.to_lps([13.0, 32.0, 0.0]), fr.to_lps([10.0, 12.0, 0.0])
    win.corrections.set_mode("pedicle")
    steps = win.doc.undo_stack.count()
    for p in (entry, exit_):
        q = view.widget_point(p)
        send_mouse(view.vtk, "press", q)
        send_mouse(view.vtk, "release", q)
        _settle()
    assert win.doc.undo_stack.count() == steps + 1
    (c,) = win.doc.case.plan.corrections
    assert (c.level, c.kind, c.key) == ("L1", "pedicle_axis", "left")
    got = win.doc.analysis.level("L1").anatomy.pedicle_axes_lps["left"]
    assert np.allclose(got[0], view.lps_at(view.widget_point(entry)), atol=1e-3)
    from planner.session import edit
    from ui.shell.report import build_report_html

    html = build_report_html(win.doc.volume, edit.add_level(win.doc.case, "L1"))
    assert "Corrections by the user" in html and "left pedicle axis" in html
    assert html.count("— edited") == 1  # the corrected level is marked edited, only it
    path = save_case_plan(win.doc.case.series, win.doc.case.plan, tmp_path / "p.json")
    assert load_case_plan(path).plan.corrections == win.doc.case.plan.corrections
    win.doc.undo_stack.undo()
    _settle()
    assert win.doc.case.plan.corrections == ()
    assert win.doc.analysis.level("L1").anatomy.pedicle_axes_lps == {}
    assert win.trajectory.plan_io.open(str(path))  # reopening the plan keeps the axis
    qtbot.waitUntil(lambda: bool(win.doc.case.plan.corrections), timeout=30000)
    assert win.doc.case.plan.corrections == (c,)
    assert np.allclose(win.doc.analysis.level("L1").anatomy.pedicle_axes_lps["left"], got)
    assert win.doc.analysis.level("L1").edited["pedicle_axis"] is True


def test_reopening_names_an_outline_made_on_another_analysis(
    win: Any, tmp_path: Any, qtbot: Any, dialogs: Any
) -> None:
    from dataclasses import replace

    from planner.plan.file import save_case_plan
    from planner.session import Correction
    from planner.session.corrections_outline import brush, outline_correction

    l2 = win.doc.analysis.level("L2").anatomy
    delta = outline_correction(
        l2, brush(l2, l2.body, [l2.frame.origin_lps], 3.0, [0.0, 0.0, 1.0], add=False)
    )
    bad = Correction.make("L1", delta.kind, delta.key, delta.automatic, delta.value)
    plan = replace(win.doc.case.plan, corrections=(bad,))
    path = save_case_plan(win.doc.case.series, plan, tmp_path / "stale.json")
    assert win.trajectory.plan_io.open(str(path))
    qtbot.waitUntil(lambda: bool(win.doc.case.plan.corrections), timeout=30000)
    body = win.doc.analysis.level("L1").anatomy.body
    assert body.sum() == win.doc.case.analysis.level("L1").anatomy.body.sum()  # not applied
    assert any("L1" in text and "not applied" in text for _lvl, text in dialogs["errors"])
    dialogs["errors"].clear()  # the expected warning


@pytest.mark.parametrize("planned", [False, True])
def test_renaming_levels_keeps_a_correction_on_its_body(win: Any, planned: bool) -> None:
    from planner.session.corrections import add_checked_correction
    from planner.session.corrections_geometry import pedicle_correction

    if planned:  # a planned level's corrections must follow once, not be renamed twice
        win.planning.levels.set_target("L1")
        _settle()
    before = win.doc.analysis.level("L1")
    fr = before.anatomy.frame
    c = pedicle_correction("L1", "left", fr.to_lps([13, 32, 0]), fr.to_lps([10, 12, 0]))
    win.doc.push_case(add_checked_correction(win.doc.case, c), "axis")
    row = [r.level for r in win.doc.analysis.levels].index("L1")
    win.planning.levels.rename(row, "L2", renumber=True)  # every body one level down
    _settle()
    moved = next(r for r in win.doc.analysis.levels if r.anatomy.pedicle_axes_lps)
    assert np.allclose(moved.anatomy.frame.origin_lps, fr.origin_lps)  # the same body
    assert moved.level == "L2"
    assert {c.level for c in win.doc.case.plan.corrections if c.kind != "level_name"} == {"L2"}
