"""Help → Shortcuts (built from the window's actions, so it cannot drift) and About."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MOUSE_GESTURES = (
    ("Left click / drag (Navigate tool)", "Move the linked crosshair"),
    ("Ctrl + left drag, or Window/level tool", "Window (horizontal) and level (vertical)"),
    ("Mouse wheel / Shift + wheel", "Next or previous slice / 5 slices"),
    ("Right drag, or Ctrl + wheel", "Zoom"),
    ("Middle drag, or Shift + left drag", "Pan"),
    ("Double-click a view", "Maximise / restore that view"),
    ("3D view: left / middle / right drag", "Rotate / pan / zoom"),
    ("Distance tool: drag", "Measure a distance (mm)"),
    ("Angle tool: three clicks", "Measure an angle (degrees), vertex second"),
    ("Plane mode (M), axial view: drag the line's centre / an end",
     "Move / turn a level's mid-sagittal plane (heights re-measured)"),
    ("Brush (B) / eraser (E): left drag in a 2D view", "Add to / remove from a body outline"),
    ("Pedicle axis mode (P): two clicks", "Entry (posterior), then exit at the body"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    rows = []
    for a in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
        if keys:
            label = a.property("shortcut_label") or a.text()  # undo/redo texts name the command
            rows.append((" or ".join(keys), str(label).replace("&", "").rstrip(".…")))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shortcuts")
        self.resize(620, 640)
        rows = shortcut_rows(actions) + list(MOUSE_GESTURES)
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys / mouse", "Action"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (keys, text) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.table = table


ABOUT_TEXT = """<h3>Vertebral Augmentation Planner</h3>
<p>Planning workstation for percutaneous vertebroplasty and balloon kyphoplasty on patient CT.</p>
<p>All coordinates are patient LPS millimetres. Axial and coronal views are shown in radiological
convention (the patient's left on the screen's right); orientation letters are computed from the
view geometry.</p>
<p><b>Not a medical device.</b> For planning research and education; verify every measurement on the
original images.</p>
<p>Built with Qt (PySide6), VTK, NumPy and pydicom. Licence: BSD-3-Clause.</p>"""


def show_about(parent: QWidget | None, version: str) -> None:
    QMessageBox.about(parent, "About", ABOUT_TEXT.replace("</h3>", f" {version}</h3>", 1))
