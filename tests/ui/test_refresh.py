"""A correction refreshes only what it changed (issue 11: a dragged point updates in <= 50 ms).

A morphometry point push renders the sagittal view only (not the 3D, ~200 ms under software
OpenGL, nor axial/coronal), keeps every body outline's cut pipeline, and rewrites table cells
in place; an outline edit still rebuilds that level's outline in every view.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import open_truth_demo
from tests.ui.trajectory_helpers import select_row, send_mouse

pytestmark = pytest.mark.gui


def _settle(n: int = 5) -> None:
    for _ in range(n):
        QApplication.processEvents()


def _count_renders(win: Any, monkeypatch: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for name, view in win.views().items():
        orig = view.render_now

        def counted(orig: Any = orig, name: str = name) -> None:
            counts[name] += 1
            orig()

        monkeypatch.setattr(view, "render_now", counted)
        view._render_timer.timeout.disconnect()
        view._render_timer.timeout.connect(counted)
        view._follow_timer.timeout.disconnect()
        view._follow_timer.timeout.connect(counted)
    return counts


def _open(make_window: Any, demo_case: Any) -> Any:
    win = make_window()
    open_truth_demo(win, demo_case, settle=10)
    return win


def test_a_point_push_renders_the_sagittal_view_only_and_keeps_outlines(
    make_window: Any, demo_case: Any, qtbot: Any, monkeypatch: Any
) -> None:
    win = _open(make_window, demo_case)
    ov = win.planning.overlays
    layers_before = {
        name: [id(layer) for _r, layer, _l in a._layers] for name, a in ov.outlines.items()
    }
    table = win.planning.measurements.table
    row = [r.level for r in win.doc.analysis.levels].index("L1")
    items_before = [table.item(row, c) for c in range(table.columnCount())]
    view = win.slice_views["sagittal"]
    tool = view.morphometry_tool
    handles = {(lv, k): p for lv, k, p in tool.adapter.visible}
    q0 = view.widget_point(handles[("L1", "anterior_superior")])
    h0 = win.doc.analysis.level("L1").morphometry.heights_mm.anterior
    counts = _count_renders(win, monkeypatch)
    send_mouse(view.vtk, "press", q0)
    for k in range(1, 9):
        send_mouse(view.vtk, "move", q0 + QPointF(0.0, float(k)))
    tool.flush()  # one document push, as the drag timer does
    _settle()
    assert win.doc.analysis.level("L1").morphometry.heights_mm.anterior < h0 - 1.0
    assert counts["sagittal"] >= 1
    assert counts["3d"] == 0 and counts["axial"] == 0 and counts["coronal"] == 0
    for name, a in ov.outlines.items():  # same masks: every outline's pipeline kept
        assert [id(layer) for _r, layer, _l in a._layers] == layers_before[name]
    # the table's cells were rewritten in place, with the new height
    assert [table.item(row, c) for c in range(table.columnCount())] == items_before
    new_h = win.doc.analysis.level("L1").morphometry.heights_mm.anterior
    assert f"{new_h:.1f}" in table.item(row, 1).text()
    assert "edited" in table.item(row, 1).text()
    send_mouse(view.vtk, "release", q0 + QPointF(0.0, 8.0))
    _settle()
    counts.clear()
    win.doc.undo_stack.undo()  # back to the automatic point: still no 3D render
    _settle()
    assert counts["3d"] == 0
    assert "edited" not in table.item(row, 1).text()


def test_a_point_push_on_the_planned_level_leaves_the_3d_view_once_estimates_settled(
    make_window: Any, demo_case: Any, qtbot: Any, monkeypatch: Any
) -> None:
    win = _open(make_window, demo_case)
    panel = win.planning.levels
    select_row(panel.table, [r.level for r in win.doc.analysis.levels].index("L1"))
    panel.buttons["add"].click()
    assert win.doc.plan is not None and win.doc.plan.level == "L1"
    _settle(10)
    ctrl = win.planning.overlays.ctrl
    assert ctrl.current is not None
    view = win.slice_views["sagittal"]
    tool = view.morphometry_tool
    handles = {(lv, k): p for lv, k, p in tool.adapter.visible}
    q0 = view.widget_point(handles[("L1", "anterior_superior")])
    counts = _count_renders(win, monkeypatch)
    send_mouse(view.vtk, "press", q0)
    for step in range(3):  # three pushes of one drag, as the drag timer makes them
        for k in range(1, 4):
            send_mouse(view.vtk, "move", q0 + QPointF(0.0, float(3 * step + k)))
        tool.flush()
        _settle()
        if step == 0:
            counts.clear()  # the first push may drop the previous full estimate (balloons)
    assert counts["sagittal"] >= 1
    assert counts["3d"] == 0 and counts["axial"] == 0 and counts["coronal"] == 0
    assert ctrl.current is not None and ctrl.current.result is win.doc.level_result("L1")
    send_mouse(view.vtk, "release", q0 + QPointF(0.0, 9.0))
    _settle()


def test_an_outline_edit_rebuilds_that_level_in_every_view(
    make_window: Any, demo_case: Any, qtbot: Any, monkeypatch: Any
) -> None:
    win = _open(make_window, demo_case)
    ov = win.planning.overlays
    before = {
        name: {r.level: layer for r, layer, _l in a._layers} for name, a in ov.outlines.items()
    }
    modes, view = win.corrections, win.slice_views["axial"]
    fr = win.doc.analysis.level("L1").anatomy.frame
    modes.set_mode("brush_erase")
    _settle()
    counts = _count_renders(win, monkeypatch)
    start = view.widget_point(fr.origin_lps - 8.0 * fr.posterior - 8.0 * fr.left)
    end = view.widget_point(fr.origin_lps - 8.0 * fr.posterior + 8.0 * fr.left)
    v0 = win.doc.analysis.level("L1").morphometry.body_volume_ml
    send_mouse(view.vtk, "press", start)
    for k in range(1, 11):
        send_mouse(view.vtk, "move", start + (end - start) * (k / 10))
    send_mouse(view.vtk, "release", end)
    modes.flush()
    _settle()
    assert win.doc.analysis.level("L1").morphometry.body_volume_ml < v0
    for name, a in ov.outlines.items():
        after = {r.level: layer for r, layer, _l in a._layers}
        if "L1" in before[name]:  # the 3D view shows the target only
            assert after["L1"] is not before[name]["L1"], name  # L1's new mask drawn
        for lv in set(after) & set(before[name]) - {"L1"}:
            assert after[lv] is before[name][lv], (name, lv)  # the others kept
    for name in ("axial", "sagittal"):  # the stroke crosses these slices
        assert counts[name] >= 1, name
    # the coronal slice through the centre is 8 mm behind the stroke (radius 3 mm): its L1
    # layer is rebuilt on the new mask but cuts the same outline, so it does not render
    assert counts["coronal"] == 0
    modes.set_mode("")
    _settle()
    # then a point drag: the erased outline is applied again on each push (a new mask array
    # of the same content): every outline kept, the axial, coronal and 3D views not rendered
    edited = {name: [id(layer) for _r, layer, _l in a._layers] for name, a in ov.outlines.items()}
    sag = win.slice_views["sagittal"]
    tool = sag.morphometry_tool
    handles = {(lv, k): p for lv, k, p in tool.adapter.visible}
    q0 = sag.widget_point(handles[("L1", "anterior_superior")])
    counts.clear()
    send_mouse(sag.vtk, "press", q0)
    for k in range(1, 9):
        send_mouse(sag.vtk, "move", q0 + QPointF(0.0, float(k)))
    tool.flush()
    _settle()
    assert len(win.doc.case.plan.corrections) == 2
    assert counts["sagittal"] >= 1
    assert counts["3d"] == 0 and counts["axial"] == 0 and counts["coronal"] == 0
    for name, a in ov.outlines.items():
        assert [id(layer) for _r, layer, _l in a._layers] == edited[name], name
    send_mouse(sag.vtk, "release", q0 + QPointF(0.0, 8.0))
    _settle()


def test_set_cell_changes_items_in_place() -> None:
    from PySide6.QtGui import QColor

    from ui.panels.fitting_table import FittingTable, set_cell

    t = FittingTable(1, 2)
    assert set_cell(t, 0, 0, "L1", "tip", QColor(1, 2, 3), True)
    item = t.item(0, 0)
    assert not set_cell(t, 0, 0, "L1", "tip", QColor(1, 2, 3), True)
    assert set_cell(t, 0, 0, "L1 · 20.1", "tip", QColor(1, 2, 3), True)
    assert t.item(0, 0) is item and item.text() == "L1 · 20.1"
    assert set_cell(t, 0, 0, "L1 · 20.1", "tip", None, False)
    assert item.foreground().color() != QColor(1, 2, 3) and not item.font().bold()


def test_values_equal_compares_arrays_inside_tuples() -> None:
    from ui.render.adapters import values_equal

    a = ((np.array([1.0, 2.0, 3.0]), None), (np.array([0.0, 0.0, 1.0]), np.array([1.0, 1, 1])))
    b = ((np.array([1.0, 2.0, 3.0]), None), (np.array([0.0, 0.0, 1.0]), np.array([1.0, 1, 1])))
    assert values_equal(a, b)
    c = ((np.array([1.0, 2.0, 3.5]), None), b[1])
    assert not values_equal(a, c)
    assert not values_equal(a, a[:1])
    assert not values_equal((np.zeros(3), None), (np.zeros(3), np.zeros(3)))
