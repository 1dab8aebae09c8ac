"""Arranges the four views: 2×2, 1+3 (one large view above three small ones), or one maximised."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

LAYOUTS = ("2x2", "1x3")
ORDER = ("axial", "3d", "coronal", "sagittal")  # 2×2: axial top-left, 3D top-right


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

    def _apply(self) -> None:
        for view in self.views.values():
            self._grid.removeWidget(view)
        for r in range(3):
            self._grid.setRowStretch(r, 0)
        for c in range(3):
            self._grid.setColumnStretch(c, 0)
        if self.maximised is not None:
            for name, view in self.views.items():
                view.setVisible(name == self.maximised)
            self._grid.addWidget(self.views[self.maximised], 0, 0)
            self._grid.setRowStretch(0, 1)
            self._grid.setColumnStretch(0, 1)
        elif self.layout_name == "2x2":
            for idx, name in enumerate(ORDER):
                self._grid.addWidget(self.views[name], idx // 2, idx % 2)
            for i in range(2):
                self._grid.setRowStretch(i, 1)
                self._grid.setColumnStretch(i, 1)
        else:
            others = [n for n in ORDER if n != self.main_view]
            self._grid.addWidget(self.views[self.main_view], 0, 0, 1, 3)
            for c, name in enumerate(others):
                self._grid.addWidget(self.views[name], 1, c)
                self._grid.setColumnStretch(c, 1)
            self._grid.setRowStretch(0, 2)
            self._grid.setRowStretch(1, 1)
        if self.maximised is None:
            for view in self.views.values():
                view.setVisible(True)
        self._grid.activate()
        self.layout_changed.emit(self.maximised or self.layout_name)
