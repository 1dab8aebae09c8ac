"""What a correction drag updates on each push, and what waits for its end (issue 11, speed).

During a drag the 2D outlines, tables and status follow every push; the 3D view's translucent
body and balloons wait for the release (``Document.gesture_changed``). When the drag ends,
every view and value is the final case's.
"""

from __future__ import annotations

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


@pytest.fixture
def win(make_window: Any, demo_case: Any) -> Any:
    """The demo with L1 planned (the 3D view shows its body)."""
    w = make_window()
    analysis = open_truth_demo(w, demo_case, centre=None, settle=0)
    panel = w.planning.levels
    select_row(panel.table, [r.level for r in analysis.levels].index("L1"))
    panel.buttons["add"].click()
    _settle()
    assert w.doc.plan is not None and w.doc.plan.level == "L1"
    w.state.set_cursor(np.asarray(analysis.level("L1").anatomy.frame.origin_lps))
    _settle()
    return w



def test_an_eraser_stroke_defers_the_3d_body_and_ends_exact(win: Any) -> None:
    from planner.session.corrections_edit import corrected_analysis
    from ui.render.vertebra_actors import body_key

    overlays = _overlays(win)
    o3d, o2d = overlays.outlines["3d"], overlays.outlines["axial"]
    before = win.doc.analysis
    assert o3d.value is before
    modes, view = win.corrections, win.slice_views["axial"]
    fr = before.level("L1").anatomy.frame
    modes.set_mode("brush_erase")
    start = view.widget_point(fr.origin_lps - 8.0 * fr.posterior - 8.0 * fr.left)
    end = view.widget_point(fr.origin_lps - 8.0 * fr.posterior + 8.0 * fr.left)
    seen: list[bool] = []
    win.doc.gesture_changed.connect(seen.append)
    send_mouse(view.vtk, "press", start)
    for k in range(1, 9):
        send_mouse(view.vtk, "move", start + (end - start) * (k / 8))
        _settle(1)
    modes.flush()  # what the push timer does during the drag
    _settle()
    assert win.doc.in_gesture and seen == [True]
    mid = win.doc.analysis
    assert mid is not before
    assert o2d.value is mid  # the 2D outlines follow the push
    # the stroke (8 mm in front of the centre, 3 mm radius) misses the coronal slice through
    # the centre: its rebuilt L1 outline cuts the same line, so that view does not render
    cor = overlays.outlines["coronal"]
    assert cor.value is mid
    (cor_l1,) = [x[1] for x in cor._layers if x[0].level == "L1"]
    assert cor_l1.key[0] == body_key(mid.level("L1").anatomy) != body_key(
        before.level("L1").anatomy
    )
    assert o2d.changed and not cor.changed
    assert o3d.value is before  # the 3D body waits
    send_mouse(view.vtk, "release", end)
    _settle()
    assert not win.doc.in_gesture and seen == [True, False]
    final = win.doc.analysis
    assert o3d.value is final and o2d.value is final
    # exact at the end: the shown analysis is the case's corrections applied afresh
    fresh = corrected_analysis(win.doc.case.analysis, win.doc.case.plan.corrections)
    l1 = final.level("L1")
    assert l1.morphometry.body_volume_ml == fresh.level("L1").morphometry.body_volume_ml
    assert l1.morphometry.body_volume_ml < before.level("L1").morphometry.body_volume_ml
    (layer3,) = [x[1] for x in o3d._layers]
    assert layer3.key[0] == body_key(l1.anatomy)  # the 3D body is the edited one
    assert layer3.surface.GetPointData().GetNormals() is not None  # shaded in 3D
    layers2 = [x[1] for x in o2d._layers if x[0].level == "L1"]
    assert layers2 and layers2[0].key[0] == body_key(l1.anatomy)
    assert layers2[0].surface.GetPointData().GetNormals() is None  # 2D: cut only
    win.doc.undo_stack.undo()
    _settle()
    assert win.doc.analysis is before or (
        win.doc.analysis.level("L1").morphometry.body_volume_ml
        == before.level("L1").morphometry.body_volume_ml
    )
    modes.set_mode("")


def test_a_plane_drag_ends_with_the_heights_measured_in_its_plane(win: Any) -> None:
    from dataclasses import replace

    from planner.session.corrections_geometry import body_crop, stored_plane
    from planner.vertebra.morphometry import heights_and_geometry

    modes, view = win.corrections, win.slice_views["axial"]
    modes.set_mode("plane")
    _settle()
    handles = {(lv, h): p for lv, h, p in modes.plane.visible}
    q0 = view.widget_point(handles[("L1", "posterior")])
    steps = win.doc.undo_stack.count()
    send_mouse(view.vtk, "press", q0)
    assert win.doc.in_gesture
    for k in range(1, 9):
        send_mouse(view.vtk, "move", q0 + QPointF(2.5 * k, 0.0))
        _settle(1)
        if k % 4 == 0:
            modes.flush()
            _settle()
    send_mouse(view.vtk, "release", q0 + QPointF(20.0, 0.0))
    _settle()
    assert not win.doc.in_gesture
    assert win.doc.undo_stack.count() == steps + 1
    (c,) = [c for c in win.doc.case.plan.corrections if c.kind == "midsagittal_plane"]
    auto = win.doc.case.analysis.level("L1")
    frame, _pts, depth, _width = stored_plane(auto.anatomy, c)
    g = heights_and_geometry(win.doc.volume, replace(body_crop(auto.anatomy), frame=frame))
    shown = win.doc.analysis.level("L1").morphometry
    for wall in ("anterior", "middle", "posterior"):  # points stored to 1e-4 mm
        assert shown.heights_mm.get(wall) == pytest.approx(g["heights"].get(wall), abs=1e-3)
    assert depth == pytest.approx(float(g["depth"]), abs=1e-3)
    modes.set_mode("")


def _overlays(win: Any) -> Any:
    from ui.panels.overlays import PlanningOverlays

    found = win.findChildren(PlanningOverlays)
    assert found, "the window's planning overlays"
    return found[0]
