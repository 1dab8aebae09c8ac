"""Training → Start exercise…: choose the trainee and an exercise (library or file), prepare
it in the background (the planner analyses the study as for any plan), then the attempt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from planner.progress import Progress
from planner.training.library import LIBRARY, VARIANTS


def history_root(settings: QSettings | None = None) -> Path:
    """Trainee data lives next to the settings file (``training/``), on this machine only."""
    s = settings if settings is not None else QSettings("VAPlanner", "Workstation")
    return Path(s.fileName()).resolve().parent / "training"


class StartDialog(QDialog):
    """Trainee name and the exercise: a library entry or an exercise file."""

    def __init__(self, parent: QWidget | None = None, trainee: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Start exercise")
        self.file: str | None = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.trainee = QLineEdit(trainee or "trainee")
        form.addRow("Trainee", self.trainee)
        lay.addLayout(form)
        lay.addWidget(QLabel("Built-in library (synthetic cases, T6–L5):"))
        self.list = QListWidget()
        for level, variant, side in LIBRARY:
            text = " ".join(VARIANTS[p][1] for p in variant.split("+"))
            self.list.addItem(f"{level} · {variant} · {side} — {text}")
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept())
        lay.addWidget(self.list)
        open_file = QPushButton("Open exercise file (.vaex)…")
        open_file.clicked.connect(self._open_file)
        lay.addWidget(open_file)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                              | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)
        self.resize(560, 460)

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open exercise", "",
                                              "Exercise (*.vaex)")
        if path:
            self.file = path
            self.accept()

    def choice(self) -> tuple[str, str, str] | None:
        return LIBRARY[max(0, self.list.currentRow())] if self.file is None else None


def prepare(choice: tuple[str, str, str] | None, file: str | None,
            progress: Progress | None = None) -> Any:
    """The scoring session of the chosen exercise (runs in a worker thread)."""
    from planner.training.session import ScoringSession

    if file is not None:
        from planner.training.exercise_file import load_exercise

        loaded = load_exercise(file)
        vol = loaded.open_study()
        return ScoringSession.build(loaded.exercise, vol)
    from planner.training.library import build_exercise

    assert choice is not None
    level, variant, side = choice
    built = build_exercise(level, variant, 0, side, progress=progress)
    return ScoringSession(built.exercise, built.volume, built.context)


def open_attempt(parent: QWidget | None, session: Any, trainee: str,
                 root: Path | None = None) -> Any:
    from ui.training.attempt_window import AttemptWindow

    w = AttemptWindow(session, trainee, root or history_root(), parent)
    w.show()
    return w


def start_exercise(win: Any) -> None:
    """The menu action: dialog, background preparation, then the attempt window."""
    from ui.document.workers import start_task

    qs = getattr(getattr(win, "settings", None), "q", None)
    settings = qs if isinstance(qs, QSettings) else QSettings("VAPlanner", "Workstation")
    dlg = StartDialog(win, str(settings.value("training/trainee", "")))
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    trainee = dlg.trainee.text().strip() or "trainee"
    settings.setValue("training/trainee", trainee)
    choice, file = dlg.choice(), dlg.file
    task = start_task(win, "Preparing the exercise", lambda p: prepare(choice, file, p))
    root = history_root(settings)
    task.succeeded.connect(lambda s: setattr(win, "_training_window",
                                             open_attempt(win, s, trainee, root)))
    task.failed.connect(lambda exc: QMessageBox.warning(win, "Exercise", str(exc)))
    win._training_task = task  # keep a reference while it runs
