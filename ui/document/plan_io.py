"""File → Save plan / Save plan as / Open plan, and ``python main.py PLAN.json``.

Saving goes through the planner (:func:`planner.plan.file.save_case_plan`: format 4 JSON in
LPS mm with every level, its confirmation, procedure and unipedicular intent, the active level,
corrections, series binding; atomic temp file + rename) and records where the study came from
(relative to the plan file). The document's measurements are saved with the plan.
Opening reads the file with the planner and refuses a plan made on another series (or on a
differently resampled copy) with the planner's message naming the plan's series; a plan is
never silently applied to another series (DESIGN.md §2). Opening restores the case exactly
(:mod:`ui.document.case_restore`: the analysis re-run in the background when needed, then the
plan's names and confirmations, as one undo step).

At start-up with a plan file the plan's study is opened first when the file records it
(``source_path``) or when the plan belongs to the built-in demo; otherwise the user is told to
open the plan's series and then the plan.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from planner.errors import InputError, PlanMismatchError
from ui.document.case_restore import document_case_plan, restore
from ui.shell.dialog_paths import start_path
from ui.shell.errors import guarded, show_message

log = logging.getLogger(__name__)
FILTER = "Plan files (*.json);;All files (*)"


def ask_save_path(parent: QWidget | None, start: str) -> str:
    """Ask where to save; tests replace this function."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save plan", start, FILTER)
    if path and not path.lower().endswith(".json"):
        path += ".json"
    return path


def ask_open_path(parent: QWidget | None, start: str) -> str:
    """Ask which plan to open; tests replace this function."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open plan", start, FILTER)
    return path


def document_plan(doc: Any) -> Any:
    """The active level with the document's measurements, as a single-level ``Plan``."""
    from ui.tools.measurement import to_plan_measurement

    if doc.plan is None:
        return None
    return replace(doc.plan, measurements=tuple(map(to_plan_measurement, doc.measurements)))


def refuse(parent: QWidget | None, text: str) -> None:
    """The 'plan belongs to another series' dialog, with the planner's message."""
    QMessageBox.warning(parent, "Plan not opened", f"The plan was not opened.\n\n{text}")


class PlanIO(QObject):
    """Plan file actions of a main window. ``path`` is the file the plan was last saved to /
    opened from (a view setting: not undoable, cleared when another study opens)."""

    plan_file_changed = Signal(str)
    plan_opened = Signal(object)  # the Plan just opened from a file

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.parent_widget = window
        self.doc = window.doc
        self.path = ""
        self._pending_plan_path = ""
        self.doc.volume_changed.connect(self._on_document_volume_changed)

    # --- save --------------------------------------------------------------------------------
    @guarded("save the plan")
    def save(self) -> str:
        if not self.path:
            return self.save_as()
        return self._write(self.path)

    @guarded("save the plan")
    def save_as(self, path: str | None = None) -> str:
        if document_case_plan(self.doc) is None:
            raise InputError("there is no plan to save yet: add a level to the plan first")
        path = path or ask_save_path(
            self.parent_widget, self.path or start_path(self.doc, "plan.json")
        )
        if not path:
            return ""
        return self._write(path)

    def _write(self, path: str) -> str:
        from planner.plan.file import save_case_plan

        plan, case = document_case_plan(self.doc), self.doc.case
        if plan is None or case is None:
            raise InputError("there is no plan to save yet: add a level to the plan first")
        src = (
            self.doc.source_path
            if self.doc.source_path and self.doc.source_path != "test:"
            else None
        )
        save_case_plan(case.series, plan, path, source_path=src)
        self.path = str(path)
        self.doc.mark_saved()
        self.plan_file_changed.emit(self.path)
        self.window.statusBar().showMessage(f"Plan saved to {Path(path).name}", 5000)
        log.info("plan saved to %s", path)
        return self.path

    # --- open --------------------------------------------------------------------------------
    @guarded("open the plan")
    def open(self, path: str | None = None) -> bool:
        path = path or ask_open_path(
            self.parent_widget,
            str(Path(self.path).parent) if self.path else start_path(self.doc, ""),
        )
        if not path:
            return False
        vol = self.doc.volume
        if vol is None:
            raise InputError(
                f"{path}: open the study the plan was made on first, then open the plan"
            )
        from planner.plan.file import load_case_plan

        try:
            loaded = load_case_plan(path, volume=vol)
        except PlanMismatchError as exc:
            refuse(self.parent_widget, str(exc))
            return False
        from ui.document import study_open

        case = self.doc.case
        if (
            case is not None
            and case.plan.levels
            and not study_open.confirm_discard(self.parent_widget, self.doc)
        ):
            return False
        self.path = str(path)
        self.plan_file_changed.emit(self.path)

        def done(_notes: list[str]) -> None:
            if self.doc.volume is vol:
                self.doc.mark_saved()
                self.plan_opened.emit(self.doc.plan)
                self.window.statusBar().showMessage(
                    f"Plan opened from {Path(path).name}", 5000
                )

        restore(self.window, loaded.plan, f"Open plan {Path(path).name}", done)
        return True

    @guarded("open the plan")
    def open_at_startup(self, path: str) -> None:
        """``python main.py PLAN.json``: open the plan's study (if known), then the plan."""
        from planner.plan.file import load_case_plan

        plan = load_case_plan(path)
        source = _recorded_source(path)
        if not source and _is_demo_series(plan.series.series_uid):
            source = "demo:"
        if not source:
            show_message(
                self.parent_widget,
                "warning",
                "Open the plan's study first",
                f"{path} belongs to series {plan.series.series_uid} and does not record "
                "where that study is. Open the study (File → Open folder/file), then "
                "File → Open plan.",
                "",
            )
            return
        self._pending_plan_path = str(path)
        self.window.opener.study_opened.connect(self._on_study_opened_for_plan)
        self.window.open_path(source)

    def _on_study_opened_for_plan(self, _source: str) -> None:
        self.window.opener.study_opened.disconnect(self._on_study_opened_for_plan)
        path, self._pending_plan_path = self._pending_plan_path, ""
        if path:
            self.open(path)

    def _on_document_volume_changed(self, _v: Any) -> None:
        self.path = ""
        self.plan_file_changed.emit("")


def _recorded_source(path: str) -> str:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    src = data.get("source_path") if isinstance(data, dict) else None
    if not isinstance(src, str) or not src:
        return ""
    if src == "demo:":
        return src
    from planner.plan.file import resolve_source_path

    src = resolve_source_path(path, src)  # stored relative to the plan file (privacy)
    return src if Path(src).exists() else ""


def _is_demo_series(uid: str) -> bool:
    try:
        from planner.demo import demo_uid
    except ImportError:
        return False
    return any(uid == demo_uid(0, v, "series") for v in ("standard", "cortical_gap"))
