"""Enlarge one small view (needle view, radiograph) to the whole of its panel and give the
panel room below the main views; the same double-click puts everything back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

#: Share of the main window's height an enlarged panel takes.
ENLARGED_SHARE = 0.55


def _dock_of(w: QWidget) -> QDockWidget | None:
    p = w.parentWidget()
    while p is not None and not isinstance(p, QDockWidget):
        p = p.parentWidget()
    return p


class Enlarger:
    """Shows one of ``views`` alone, in a taller panel, and restores the previous state."""

    def __init__(self, panel: QWidget, views: list[QWidget]) -> None:
        self.panel = panel
        self.views = views
        self.enlarged: QWidget | None = None
        self._height: int | None = None

    def toggle(self, view: QWidget) -> None:
        target = None if self.enlarged is view else view
        for v in self.views:
            v.setVisible(target is None or v is target)
        dock = _dock_of(self.panel)
        win = dock.parentWidget() if dock is not None else None
        if dock is not None and isinstance(win, QMainWindow) and not dock.isFloating():
            if target is not None and self.enlarged is None:
                self._height = dock.height()
                want = max(dock.height(), int(win.height() * ENLARGED_SHARE))
                win.resizeDocks([dock], [want], Qt.Orientation.Vertical)
            elif target is None and self._height is not None:
                win.resizeDocks([dock], [self._height], Qt.Orientation.Vertical)
                self._height = None
        self.enlarged = target
