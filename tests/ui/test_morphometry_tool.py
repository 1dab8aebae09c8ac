"""Dragging a morphometry point on the sagittal view: one drag = one undo step, "edited" shown."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import truth_analysis, with_points
from tests.ui.trajectory_helpers import send_mouse

pytestmark = pytest.mark.gui


def _settle(n: int = 5) -> None:
    for _ in range(n):
        QApplication.processEvents()


def test_one_drag_moves_a_point_in_one_undo_step(
    make_window: Any, demo_case: Any, qtbot: Any
) -> None:
    win = make_window()
    if not hasattr(win.doc, "case_changed"):
        pytest.skip("the morphometry tool needs the document's Case (session UI branch)")
    win.doc.set_study(demo_case.volume, (), "demo:")
    analysis = with_points(truth_analysis(demo_case))
    win.doc._apply_analysis(analysis)
    l1 = analysis.level("L1")
    win.state.set_cursor(np.asarray(l1.anatomy.frame.origin_lps))
    _settle()
    view = win.slice_views["sagittal"]
    tool = view.morphometry_tool
    handles = {(lv, k): p for lv, k, p in tool.adapter.visible}
    assert ("L1", "anterior_superior") in handles and len(handles) >= 6
    q0 = view.widget_point(handles[("L1", "anterior_superior")])
    assert tool.hit(q0) == ("L1", "anterior_superior")
    before_h = win.doc.analysis.level("L1").morphometry.heights_mm.anterior
    steps = win.doc.undo_stack.count()
    send_mouse(view.vtk, "press", q0)
    for k in range(1, 9):  # drag downwards on screen: the anterior height shrinks
        send_mouse(view.vtk, "move", q0 + QPointF(0.0, float(k)))
        _settle(1)
    send_mouse(view.vtk, "release", q0 + QPointF(0.0, 8.0))
    _settle()
    assert win.doc.undo_stack.count() == steps + 1
    (c,) = win.doc.case.plan.corrections
    assert (c.level, c.kind, c.key) == ("L1", "morphometry_point", "anterior_superior")
    after = win.doc.analysis.level("L1").morphometry
    assert after.heights_mm.anterior < before_h - 1.0
    table = win.planning.measurements.table
    row = [r.level for r in win.doc.analysis.levels].index("L1")
    assert "edited" in table.item(row, 1).text()
    assert "edited" not in table.item(row - 1, 1).text()
    win.doc.undo_stack.undo()
    _settle()
    assert win.doc.case.plan.corrections == ()
    assert win.doc.analysis.level("L1").morphometry.heights_mm.anterior == before_h
    assert "edited" not in table.item(row, 1).text()
    # a press off the handles is left to the view (no correction)
    send_mouse(view.vtk, "press", q0 + QPointF(60.0, 60.0))
    send_mouse(view.vtk, "release", q0 + QPointF(60.0, 60.0))
    assert win.doc.case.plan.corrections == ()
