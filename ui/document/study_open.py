"""Opening studies: folder/file paths, the demo case, the series chooser, threaded loading.

Every way of opening a study (File → Open folder/file/DICOMDIR, drag and drop, Open recent, the
command line) ends in :meth:`StudyOpener.open_path`, so all go through the same validation: the
planner's facade (``planner.loading``: scan_path, resolve_key, load_series) in worker threads
(:mod:`ui.document.workers`). The document is replaced only when a load succeeds and the volume
passes :func:`check_displayable`, so a refused, cancelled or failed load (expected or not) leaves
the previous study on screen with a message. A path with nothing to open (not DICOM, not NIfTI)
gives the loader's message, never an empty series chooser.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from planner.errors import GeometryError
from planner.progress import Progress
from planner.volume import CTVolume, LoadWarning
from ui.document.document import Document
from ui.document.workers import Task, start_task
from ui.shell import series_dialog
from ui.shell.errors import error_display, report_exception
from ui.shell.settings import Settings

log = logging.getLogger(__name__)


def confirm_discard(parent: QWidget | None, doc: Document) -> bool:
    """Ask before throwing away unsaved changes. Tests replace this function."""
    if not doc.is_modified:
        return True
    b = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent,
        "Save changes?",
        "The current plan has unsaved changes. Save them first?",
        b.Save | b.Discard | b.Cancel,
        b.Save,
    )
    if answer == b.Save:  # saved (or the save dialog cancelled: keep the plan open)
        plan_io = getattr(getattr(parent, "trajectory", None), "plan_io", None)
        return bool(plan_io is not None and plan_io.save())
    return answer == b.Discard


def show_load_warnings(parent: QWidget | None, warnings: tuple[LoadWarning, ...]) -> None:
    """Non-modal note listing recoverable load problems. Tests replace this function."""
    if not warnings:
        return
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Study opened with warnings")
    box.setText("The study was opened, but check these points before planning:")
    box.setInformativeText("\n".join(f"• {w.message}" for w in warnings))
    box.setModal(False)
    box.show()


def _facade() -> Any:
    """The planner's loading facade (a function so tests can put a slow or failing one in)."""
    from planner import loading

    return loading


def make_demo_volume(progress: Progress) -> CTVolume:
    from ui.document import demo_prefetch

    progress.update(0.05, "Building the demo case")
    prefetched = demo_prefetch.take()  # built since start-up (python main.py)
    if prefetched is not None:
        return prefetched  # type: ignore[no-any-return]
    from planner.demo import generate_demo

    return generate_demo().volume


def check_displayable(volume: CTVolume, source: str) -> None:
    """Last check before a volume reaches the views (VTK aborts the process on NaN spacing).

    The loaders already refuse such input; this keeps a bad volume from any other source
    (a plugin, a future loader) from taking the window down.
    """
    m = np.asarray(volume.ijk_to_lps, dtype=np.float64)
    spacing = np.asarray(volume.spacing_mm, dtype=np.float64)
    if (
        not np.all(np.isfinite(m))
        or np.any(spacing < 1e-3)
        or np.any(spacing > 100)
        or min(volume.shape_kji) < 1
    ):
        raise GeometryError(
            f"the volume's geometry cannot be displayed (voxel size "
            f"{', '.join(f'{v:.3g}' for v in spacing)} mm, shape {volume.shape_kji})",
            path=source or None,
        )


class StudyOpener(QObject):
    """Runs the open-study flows for a main window. ``task`` is the load in progress, if any.

    Signals: study_opened(source) after the document holds the new study.
    """

    study_opened = Signal(str)

    def __init__(self, parent_widget: QWidget, doc: Document, settings: Settings) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.doc = doc
        self.settings = settings
        self.task: Task | None = None

    def _busy(self) -> bool:
        if self.task is not None and self.task.running:
            log.info("a load is already running")
            return True
        return False

    def _start(self, title: str, fn: Any, on_success: Any) -> Task:
        task = start_task(self.parent_widget, title, fn)
        task.succeeded.connect(on_success)
        task.failed.connect(
            lambda exc: report_exception(self.parent_widget, exc, title.lower().rstrip("…"))
        )
        task.finished.connect(self._on_task_finished)
        self.task = task
        return task

    def _on_task_finished(self) -> None:
        self.task = None

    # --- flows ----------------------------------------------------------------------------
    def open_demo(self) -> Task | None:
        if self._busy() or not confirm_discard(self.parent_widget, self.doc):
            return None
        return self._start(
            "Open demo case…", make_demo_volume, lambda vol: self._install(vol, (), "demo:", None)
        )

    def open_path(self, path: str | Path, series_key: str | None = None) -> Task | None:
        path = str(path)
        if path == "demo:":
            return self.open_demo()
        if self._busy() or not confirm_discard(self.parent_widget, self.doc):
            return None
        loading = _facade()
        return self._start(
            "Scan study…",
            lambda p: loading.scan_path(path, p),
            lambda scan: self._on_scanned(path, scan, series_key),
        )

    def _on_scanned(self, path: str, scan: Any, series_key: str | None) -> None:
        with error_display(self.parent_widget, "open the study"):
            self._choose_and_load(path, scan, series_key)

    def _choose_and_load(self, path: str, scan: Any, series_key: str | None) -> None:
        loading = _facade()
        candidates = [s for s in scan.series if getattr(s, "is_candidate", True)]
        if not candidates:
            # nothing to choose from: the loader's message (not DICOM, refused geometry...),
            # exactly as the command line gives it; a usable non-CT series goes on to the chooser
            loading.resolve_key(scan, series_key)
        key = series_key or getattr(scan, "default_key", None)
        if series_key is None and (len(scan.series) > 1 or not candidates):
            key = series_dialog.choose_series(self.parent_widget, scan)
            if key is None:
                log.info("series choice cancelled; study unchanged")
                return
        self._start(
            "Load series…",
            lambda p: loading.load_series(scan, key, p),
            lambda res: self._install(res.volume, tuple(res.warnings), path, scan),
        )

    def _install(
        self, volume: CTVolume, warnings: tuple[LoadWarning, ...], source: str, scan: Any
    ) -> None:
        with error_display(self.parent_widget, "show the study"):
            check_displayable(volume, source)
            self._replace_study(volume, warnings, source, scan)

    def _replace_study(
        self, volume: CTVolume, warnings: tuple[LoadWarning, ...], source: str, scan: Any
    ) -> None:
        self.doc.set_study(volume, warnings, source, scan)
        self.settings.add_recent(source)
        self.study_opened.emit(source)
        show_load_warnings(self.parent_widget, warnings)
