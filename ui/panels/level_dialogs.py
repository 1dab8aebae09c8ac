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

from planner.plan.levels import LEVEL_NAMES, THORACOLUMBAR_NAMES

#: Placeholder shown until a name is chosen (OK stays disabled).
CHOOSE = "choose…"


def offered_names(current: str = "") -> list[str]:
    """Names offered for a level of a thoracolumbar CT: T1–T13, L1–L6, S1 (and ``current``).

    T13 and L6 are the numerical variants (a thirteenth rib-bearing, a sixth lumbar vertebra)."""
    names = list(THORACOLUMBAR_NAMES)
    if current in LEVEL_NAMES and current not in names:
        names.insert(0, current)
    return names


def plain_no_anchor_message(text: str) -> str | None:
    """The analysis' "no anchor" error in plain words for the workstation, or None."""
    if "anchor their names" not in text:
        return None
    import re

    m = re.search(r"found (\d+) vertebral bodies", text)
    if m is None:
        n, which = "the vertebral bodies", "which level each one is"
    elif m.group(1) == "1":
        n, which = "one vertebral body", "which level it is"
    else:
        n, which = f"{m.group(1)} vertebral bodies", "which level each one is"
    return (
        f"The analysis found {n} but cannot tell {which}: neither the sacrum "
        "nor the last rib-bearing vertebra (T12) is clear in this scan.\n\n"
        "Put the crosshair inside one body whose level you know, click “Name at "
        "crosshair…” and choose its name; the other bodies are named by counting from it. "
        "Or import a label map (Import labels…)."
    )


def ask_level_name(parent: QWidget | None, title: str, current: str) -> tuple[str, bool] | None:
    """Ask for a level name and whether to renumber the others; None if cancelled.

    Replaced in tests (module attribute)."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(title)
    combo = QComboBox()
    names = offered_names(current)
    combo.addItem(CHOOSE)
    combo.addItems(names)
    combo.setCurrentText(current if current in names else CHOOSE)
    renumber = QCheckBox("Renumber the other levels by counting from this one")
    renumber.setChecked(True)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setEnabled(combo.currentText() != CHOOSE)
    combo.currentTextChanged.connect(lambda t: ok.setEnabled(t != CHOOSE))
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
    """Ask the level name of the body under the crosshair (replaced in tests).

    Nothing is preselected: a default such as L1 would be wrong on a chest CT."""
    got = ask_level_name(parent, "Name the level at the crosshair", "")
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
