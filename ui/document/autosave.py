"""Crash recovery: the unsaved plan is kept in a recovery file and offered back.

At most ``AUTOSAVE_DELAY_MS`` after the first unsaved change (the timer starts at that change
and is not restarted by later ones, so a user who edits every second is still saved every
2 s), the plan with its measurements is written, atomically, by the planner's plan writer to
``<recovery folder>/<series>.json``, bound to its series like any plan file. A kill at any
moment loses at most the last 2 s of edits. Temporary files left by a save that was killed
half-way (``.<name>.*.tmp``) are removed when the recovery folder is next opened. The file holds
no study folder path (folder names often carry the patient's name): it is matched by series.
The file is removed as soon as nothing is unsaved: the plan was saved, undone back to the saved
state, or discarded (another study opened, the window closed after "Discard"). So a file that is
still there when a study is opened is work lost by a crash or a killed process: the user is asked
whether to restore it (every level, as one undo step, the analysis re-run in the background
when needed; the plan stays marked unsaved) or to throw it away.

The recovery folder sits next to the settings file (``recovery/``).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from planner.errors import PlannerError

log = logging.getLogger(__name__)
AUTOSAVE_DELAY_MS = 2000


STALE_TMP_AGE_S = 60.0  # a save takes milliseconds: a temporary file this old was abandoned


def remove_stale_temporaries(folder: Path, max_age_s: float = STALE_TMP_AGE_S) -> list[Path]:
    """Delete temporary files of killed atomic saves (``.*.tmp``) older than ``max_age_s``;
    younger ones may belong to a save in progress in another window and are kept."""
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = list(folder.glob(".*.tmp"))
    except OSError:
        return removed
    for path in candidates:
        try:
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    if removed:
        log.info("removed %d stale temporary file(s) in %s", len(removed), folder)
    return removed


def recovery_dir(settings_file: str) -> Path:
    """The recovery folder for a settings file (a QSettings ``fileName()``)."""
    return Path(settings_file).resolve().parent / "recovery"


def ask_restore(parent: QWidget | None, summary: str) -> bool:
    """Ask whether to restore an unsaved plan; True to restore. Tests replace this function."""
    answer = QMessageBox.question(
        parent,
        "Restore unsaved plan?",
        f"{summary}\n\nIt was not saved before the planner stopped. Restore it? "
        "(Discard deletes it.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


class AutoSaver(QObject):
    """Keeps the recovery file of one main window's document (see the module docstring)."""

    def __init__(self, window: Any, folder: Path) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.folder = Path(folder)
        self.written: Path | None = None  # the file this window's unsaved plan is in
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        self.doc.undo_stack.indexChanged.connect(self._on_document_changed)
        self.doc.undo_stack.cleanChanged.connect(self._on_document_changed)
        self.doc.volume_changed.connect(self._on_document_volume_changed)
        window.opener.study_opened.connect(self._on_study_opened)
        remove_stale_temporaries(self.folder)

    def path_for(self, series_uid: str, fingerprint: str) -> Path:
        safe = re.sub(r"[^0-9A-Za-z.]", "_", series_uid)
        return self.folder / f"{safe}_{fingerprint[:16]}.json"

    # --- writing -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the recovery file now if there is unsaved plan work, else remove it."""
        self._timer.stop()
        from ui.document.case_restore import document_case_plan

        plan, case = document_case_plan(self.doc), self.doc.case
        vol = self.doc.volume
        if not self.doc.is_modified or plan is None or vol is None or case is None:
            self.discard()
            return
        from planner.plan.file import save_case_plan

        path = self.path_for(vol.identity.series_uid, vol.grid.fingerprint())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # no study folder in the recovery file (folder names often carry the patient's
            # name): it is found again by series UID and geometry when the study is reopened
            demo = "demo:" if self.doc.source_path == "demo:" else None
            save_case_plan(case.series, plan, path, source_path=demo)
        except OSError as exc:  # recovery is a safety net: never interrupt the user's work
            log.warning("could not write the recovery file %s: %s", path, exc)
            return
        self.written = path

    def discard(self) -> None:
        """Remove this window's recovery file (nothing unsaved any more)."""
        self._timer.stop()
        path, self.written = self.written, None
        if path is not None:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop listening (the window is closing; its undo stack goes away with it)."""
        self._timer.stop()
        self.doc.undo_stack.indexChanged.disconnect(self._on_document_changed)
        self.doc.undo_stack.cleanChanged.disconnect(self._on_document_changed)
        self.doc.volume_changed.disconnect(self._on_document_volume_changed)
        self.window.opener.study_opened.disconnect(self._on_study_opened)

    def _on_document_changed(self, *_: Any) -> None:
        case = self.doc.case
        if self.doc.is_modified and case is not None and case.plan.levels:
            if not self._timer.isActive():  # counted from the first unsaved change
                self._timer.start()
        else:
            self.discard()

    def _on_document_volume_changed(self, _volume: Any) -> None:
        self.discard()  # the previous study's changes were saved or discarded by the user

    # --- offering it back --------------------------------------------------------------------
    def _on_study_opened(self, _source: str) -> None:
        vol = self.doc.volume
        if vol is None:
            return
        path = self.path_for(vol.identity.series_uid, vol.grid.fingerprint())
        if not path.is_file() or path == self.written:
            return
        from planner.plan.file import load_case_plan

        try:
            plan = load_case_plan(path, vol.identity.series_uid, vol.grid.fingerprint()).plan
        except PlannerError as exc:
            log.warning("recovery file %s not usable (%s); left in place", path, exc)
            return
        if not ask_restore(self.window, _summary(plan, path)):
            path.unlink(missing_ok=True)
            return
        from ui.document.case_restore import restore

        self.written = path  # still unsaved: the file stays until saved or discarded
        restore(
            self.window,
            plan,
            "Restore unsaved plan",
            lambda _n: self.window.statusBar().showMessage("Unsaved plan restored", 5000),
        )


def _summary(plan: Any, path: Path) -> str:
    when = _dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    levels = "; ".join(
        f"{lp.level} {lp.procedure} "
        f"({', '.join(t.side for t in lp.trajectories) or 'no needles'})"
        for lp in plan.levels
    )
    extra = f", {len(plan.measurements)} measurement(s)" if plan.measurements else ""
    return (
        f"An unsaved plan — {levels or 'no level'}{extra} — from {when} was found for this "
        "series."
    )
