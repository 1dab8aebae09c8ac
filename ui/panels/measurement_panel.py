"""Dock listing the measurements: select to jump there, Delete to remove (undoable)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.document.document import Document
from ui.views.view_state import ViewState


class MeasurementPanel(QWidget):
    def __init__(self, doc: Document, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.state = state
        self.list = QListWidget()
        self.list.setToolTip("Measurements drawn in the 2D views. Select one to go to its slice.")
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected measurement (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button = QPushButton("Delete all")
        self.clear_button.clicked.connect(self.delete_all)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list)
        lay.addLayout(buttons)
        doc.measurements_changed.connect(self._on_document_measurements_changed)
        self._refresh()

    def _refresh(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for m in self.doc.measurements:
            item = QListWidgetItem(m.describe())
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        has = bool(self.doc.measurements)
        self.delete_button.setEnabled(has)
        self.clear_button.setEnabled(has)

    def _on_document_measurements_changed(self, old, new) -> None:  # type: ignore[no-untyped-def]
        self._refresh()

    def _on_list_current_changed(self, item: QListWidgetItem | None, _prev) -> None:  # type: ignore[no-untyped-def]
        if item is None:
            return
        mid = item.data(Qt.ItemDataRole.UserRole)
        for m in self.doc.measurements:
            if m.id == mid:
                self.state.set_cursor(np.mean(np.asarray(m.points_lps), axis=0))

    def delete_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        mid = item.data(Qt.ItemDataRole.UserRole)
        gone = [m for m in self.doc.measurements if m.id == mid]
        rest = tuple(m for m in self.doc.measurements if m.id != mid)
        if gone:
            self.doc.push_measurements(rest, f"Delete {gone[0].kind} {gone[0].label}")

    def delete_all(self) -> None:
        if self.doc.measurements:
            self.doc.push_measurements((), "Delete all measurements")
