"""Run planner functions off the GUI thread with progress and cancel.

``start_task(parent, title, fn)`` runs ``fn(progress)`` in a QThread while a QProgressDialog
shows the planner's progress messages; Cancel calls ``progress.cancel()`` and the function stops
at its next ``progress.update`` with :class:`~planner.errors.Cancelled`. The returned
:class:`Task` emits exactly one of ``succeeded(result)``, ``failed(exception)`` or
``cancelled()``, always on the GUI thread, then ``finished()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from planner.errors import Cancelled
from planner.progress import Progress

log = logging.getLogger(__name__)


class _Thread(QThread):
    progressed = Signal(float, str)
    done = Signal(object, object)  # (result, exception)

    def __init__(self, fn: Callable[[Progress], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.progress = Progress(lambda f, m: self.progressed.emit(f, m))

    def run(self) -> None:
        try:
            result = self.fn(self.progress)
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            self.done.emit(None, exc)
        else:
            self.done.emit(result, None)


class Task(QObject):
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        title: str,
        fn: Callable[[Progress], Any],
        show_dialog: bool = True,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self._thread = _Thread(fn, self)
        self._thread.done.connect(self._on_thread_done)
        self.dialog: QProgressDialog | None = None
        if show_dialog:
            dlg = QProgressDialog(title, "Cancel", 0, 1000, parent)
            dlg.setWindowTitle(title)
            dlg.setWindowModality(Qt.WindowModality.WindowModal)
            dlg.setMinimumDuration(300)
            dlg.setAutoClose(False)
            dlg.setAutoReset(False)
            dlg.canceled.connect(self.cancel)
            self._thread.progressed.connect(self._on_progress)
            self.dialog = dlg
        self.running = False

    @property
    def progress(self) -> Progress:
        return self._thread.progress

    def start(self) -> Task:
        self.running = True
        self._thread.start()
        return self

    def cancel(self) -> None:
        log.info("%s: cancel requested", self.title)
        self._thread.progress.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def _on_progress(self, fraction: float, message: str) -> None:
        dlg = self.dialog
        if dlg is not None and self.running and not self._thread.progress.cancelled:
            if message:
                dlg.setLabelText(message)
            # a window-modal QProgressDialog processes events in setValue; the task may finish there
            dlg.setValue(int(fraction * 1000))

    def _on_thread_done(self, result: Any, exc: BaseException | None) -> None:
        self._thread.wait()
        self.running = False
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        if isinstance(exc, Cancelled) or (exc is None and self._thread.progress.cancelled):
            self.cancelled.emit()
        elif exc is not None:
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        self.finished.emit()
        self.deleteLater()


def start_task(
    parent: QWidget | None, title: str, fn: Callable[[Progress], Any], show_dialog: bool = True
) -> Task:
    return Task(parent, title, fn, show_dialog).start()
