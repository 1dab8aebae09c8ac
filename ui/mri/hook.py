"""File → Open MRI… and the MRI dock: the one place the main window reaches the MRI feature."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from ui.mri.panel import MRIPanel
from ui.mri.tables import valid_answers
from ui.shell.errors import error_display, report_exception


def mri_panel(win: Any, create: bool = True) -> MRIPanel | None:
    """The window's MRI panel (docked on first use)."""
    panel = win.findChild(MRIPanel)
    if panel is None and create:
        panel = MRIPanel(win.doc, win.state, win)
        dock = win.add_panel(panel, "MRI", Qt.DockWidgetArea.RightDockWidgetArea)
        dock.setFloating(False)
        levels = getattr(getattr(win, "planning", None), "levels", None)
        if levels is not None:
            def mark() -> None:
                levels.set_marks(level_marks(panel))

            panel.result_changed.connect(lambda *_: mark())
            panel.indication_changed.connect(mark)
            win.doc.plan_changed.connect(lambda *_: mark())
    return panel


def level_marks(panel: MRIPanel) -> dict[str, tuple[str, bool]]:
    """Level -> (MRI finding, red?) for the levels table."""
    if panel.result is None:
        return {}
    flagged = panel.indication().flagged_levels()
    return {f.level: (f.classification, f.level in flagged) for f in panel.result.levels}


def show_indication(win: Any) -> None:
    """Tools → Indication check: show the checklist (in the MRI panel)."""
    panel = mri_panel(win)
    assert panel is not None
    panel.parentWidget().show()
    panel.checklist.setFocus()


def open_mri(win: Any, path: str | None = None, wait: bool = False) -> None:
    """Ask for an MRI study (folder, DICOM file or NIfTI) and show it in the MRI panel."""
    with error_display(win, "open the MRI"):
        if path is None:
            path = QFileDialog.getExistingDirectory(win, "Open MRI study folder")
            if not path:
                path, _ = QFileDialog.getOpenFileName(
                    win, "Open MRI file", "", "Images (*.dcm *.nii *.nii.gz);;All files (*)")
            if not path:
                return
        _load(win, path, wait)


def _load(win: Any, path: str, wait: bool) -> None:
    from planner.mri.loading import load_mr_study
    from ui.document.workers import Task

    panel = mri_panel(win)
    assert panel is not None

    def work(_progress: Any) -> Any:
        return load_mr_study(path)

    def done(study: Any) -> None:
        panel.set_mri({k: r.volume for k, r in study.items()})
        panel.parentWidget().show()
        notes = [f"{k.upper()}: {w.message}" for k, r in study.items() for w in r.warnings]
        win.statusBar().showMessage("MRI opened" + (f" ({'; '.join(notes)})" if notes else ""),
                                    6000)

    task = Task(win, "Opening the MRI", work, show_dialog=not wait)
    task.succeeded.connect(done)
    task.failed.connect(lambda exc: report_exception(win, exc, "open the MRI"))
    task.start()
    panel.task = task
    if wait:
        from PySide6.QtCore import QCoreApplication

        task.wait(120000)
        while task.running:
            QCoreApplication.processEvents()


def report_indication(win: Any, level: str) -> tuple[Any, Any]:
    """(IndicationCheck, MRIResult or None) for the report of a plan at ``level``."""
    from planner.indication import evaluate, findings_from

    panel = mri_panel(win, create=False)
    if panel is not None:
        return panel.indication(), panel.result
    case = win.doc.case
    answers = () if case is None else valid_answers(tuple(case.plan.indication))
    return evaluate(answers, findings_from([level], win.doc.analysis, None)), None
