"""Needle views and radiographs enlarge on double-click (alone, in a taller panel) and go back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ui.shell.panel_layout import panel_docks

pytestmark = pytest.mark.gui


def _double_click(widget) -> None:  # type: ignore[no-untyped-def]
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QMouseEvent(
        QEvent.Type.MouseButtonDblClick,
        pos,
        widget.mapToGlobal(pos),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, ev)
    QApplication.processEvents()


@pytest.mark.parametrize("panel", ["needle_views", "fluoroscopy"])
def test_double_click_enlarges_a_small_view_and_restores_it(make_window, qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    win = make_window((1920, 1080))
    dock = panel_docks(win)[panel]
    dock.raise_()
    qtbot.wait(50)
    if panel == "needle_views":
        views = list(win.trajectory.needle_views.views.values())
        targets = [v.vtk for v in views]
    else:
        views = list(win.trajectory.fluoro.views.values())
        targets = views
    h0, w0 = dock.height(), views[1].width()
    _double_click(targets[1])
    qtbot.wait(50)
    assert views[1].isVisible() and not views[0].isVisible() and not views[2].isVisible()
    assert dock.height() >= min(int(0.5 * win.height()), h0 + 100), (h0, dock.height())
    assert views[1].width() > 1.8 * w0
    _double_click(targets[1])
    qtbot.wait(50)
    assert all(v.isVisible() for v in views)
    assert abs(dock.height() - h0) <= 2
