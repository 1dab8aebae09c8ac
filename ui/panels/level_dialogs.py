"""The Levels panel's dialogs: level name, seed name, target change, label file.

Module functions, so tests replace them (``monkeypatch.setattr(level_dialogs, ...)``).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from planner.plan.model import LEVEL_NAMES


def ask_level_name(parent: QWidget | None, title: str, current: str) -> tuple[str, bool] | None:
    """Ask for a level name and whether to renumber the others; None if cancelled.

    Replaced in tests (module attribute)."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(title)
    combo = QComboBox()
    combo.addItems(list(LEVEL_NAMES))
    if current in LEVEL_NAMES:
        combo.setCurrentText(current)
    renumber = QCheckBox("Renumber the other levels by counting from this one")
    renumber.setChecked(True)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(
        QLabel("Level name (count from the sacrum or from the last rib-bearing vertebra):")
    )
    lay.addWidget(combo)
    lay.addWidget(renumber)
    lay.addWidget(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return combo.currentText(), renumber.isChecked()


def ask_seed_name(parent: QWidget | None) -> str | None:
    """Ask the level name of the body under the crosshair (replaced in tests)."""
    got = ask_level_name(parent, "Name the level at the crosshair", "L1")
    return None if got is None else got[0]


def confirm_drop_trajectories(parent: QWidget | None, old: str, new: str, n: int) -> bool:
    """Ask before a target-level change removes ``n`` trajectories (replaced in tests)."""
    return (
        QMessageBox.question(
            parent,
            "Change the target level",
            f"The plan has {n} trajectory(ies) at {old}. Changing the target level to {new} "
            "removes "
            "them and their balloons (Edit → Undo brings them back).",
        )
        == QMessageBox.StandardButton.Yes
    )


def ask_label_file(parent: QWidget | None) -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Import label map", "", "NIfTI label map (*.nii *.nii.gz);;All files (*)"
    )
    return path
