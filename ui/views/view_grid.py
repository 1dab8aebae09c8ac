"""Arranges the four views: 2×2; 1+3 (the active view large above the other three); 1×3 (the
three slice views side by side, 3D hidden); or one view maximised."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

LAYOUTS = ("2x2", "1+3", "1x3")
ORDER = ("axial", "3d", "coronal", "sagittal")  # 2×2: axial top-left, 3D top-right
ROW = ("axial", "coronal", "sagittal")  # 1×3, left to right


class ViewGrid(QWidget):
    layout_changed = Signal(str)

    def __init__(self, views: dict[str, QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("view_grid")
        self.views = views
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.layout_name = "2x2"
        self.maximised: str | None = None
        self.main_view = "axial"
        self._apply()

    def set_layout(self, name: str, main_view: str | None = None) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {name!r}")
        self.layout_name = name
        if main_view is not None:
            self.main_view = main_view
        self.maximised = None
        self._apply()

    def toggle_maximised(self, name: str) -> None:
        self.maximised = None if self.maximised == name else name
        self._apply()

    def _stretch(self, rows: int, cols: int) -> None:
        for r in range(rows):
            self._grid.setRowStretch(r, 1)
        for c in range(cols):
            self._grid.setColumnStretch(c, 1)

    def _apply(self) -> None:
        for view in self.views.values():
            self._grid.removeWidget(view)
        for r in range(3):
            self._grid.setRowStretch(r, 0)
        for c in range(3):
            self._grid.setColumnStretch(c, 0)
        if self.maximised is not None:
            shown: tuple[str, ...] = (self.maximised,)
            self._grid.addWidget(self.views[self.maximised], 0, 0)
            self._stretch(rows=1, cols=1)
        elif self.layout_name == "2x2":
            shown = ORDER
            for idx, name in enumerate(ORDER):
                self._grid.addWidget(self.views[name], idx // 2, idx % 2)
            self._stretch(rows=2, cols=2)
        elif self.layout_name == "1x3":
            shown = tuple(n for n in ROW if n in self.views)
            for c, name in enumerate(shown):
                self._grid.addWidget(self.views[name], 0, c)
            self._stretch(rows=1, cols=len(shown))
        else:
            shown = ORDER
            others = [n for n in ORDER if n != self.main_view]
            self._grid.addWidget(self.views[self.main_view], 0, 0, 1, 3)
            for c, name in enumerate(others):
                self._grid.addWidget(self.views[name], 1, c)
            self._stretch(rows=0, cols=3)
            self._grid.setRowStretch(0, 2)
            self._grid.setRowStretch(1, 1)
        for name, view in self.views.items():
            view.setVisible(name in shown)
        self._grid.activate()
        self.layout_changed.emit(self.maximised or self.layout_name)
