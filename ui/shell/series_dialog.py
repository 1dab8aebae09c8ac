"""Series chooser: the series the loader found, with their warnings; the loader's choice
preselected."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = (
    "#",
    "Description",
    "Modality",
    "Images",
    "Matrix",
    "Pixel mm",
    "Slice mm",
    "Kernel",
    "Notes",
)


def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, tuple):
        return " × ".join(format(x, spec) for x in v)
    return format(v, spec)


def series_row(s: Any) -> list[str]:
    notes = [getattr(s, "reason", "") or ""] + [w.message for w in getattr(s, "warnings", ())]
    return [
        _fmt(getattr(s, "series_number", None)),
        getattr(s, "description", "") or "(no description)",
        getattr(s, "modality", ""),
        str(getattr(s, "n_images", "")),
        f"{getattr(s, 'columns', '?')}×{getattr(s, 'rows', '?')}",
        _fmt(getattr(s, "pixel_spacing_mm", None), ".2f"),
        _fmt(getattr(s, "slice_spacing_mm", None), ".2f"),
        getattr(s, "kernel", "") or "",
        "; ".join(n for n in notes if n),
    ]


class SeriesDialog(QDialog):
    """Lets the user pick one series of a scanned study (``StudyScan``)."""

    def __init__(self, scan: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.resize(900, 420)
        self.scan = scan
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                "The study holds several series. Choose the CT series to plan on "
                "(thin axial reconstructions in a bone kernel are best)."
            )
        )
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        default = getattr(scan, "default_key", None)
        for s in scan.series:
            row = series_row(s)
            item = QTreeWidgetItem(row)
            item.setToolTip(len(COLUMNS) - 1, row[-1])
            item.setToolTip(1, row[1])
            item.setData(0, Qt.ItemDataRole.UserRole, s.key)
            if not getattr(s, "is_candidate", True):
                item.setForeground(1, self.palette().placeholderText())
            self.tree.addTopLevelItem(item)
            if s.key == default:
                self.tree.setCurrentItem(item)
        for c in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(c)
        self.tree.itemDoubleClicked.connect(lambda *_: self.accept())
        lay.addWidget(self.tree, 1)
        warnings = [w.message for w in getattr(scan, "warnings", ())]
        if warnings:
            box = QPlainTextEdit("\n".join(warnings))
            box.setReadOnly(True)
            box.setMaximumHeight(90)
            lay.addWidget(QLabel("Warnings from the scan:"))
            lay.addWidget(box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def selected_key(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)


def choose_series(parent: QWidget | None, scan: Any) -> str | None:
    """Modal chooser; returns the chosen key or None. Tests replace this function."""
    dlg = SeriesDialog(scan, parent)
    try:
        return dlg.selected_key() if dlg.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dlg.deleteLater()
