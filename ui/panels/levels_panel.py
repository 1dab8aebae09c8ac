"""Levels panel: the vertebral levels found in the study, their names, and the planned levels.

Mirrors ``doc.analysis`` (a ``planner.vertebra.SpineAnalysis``) and the case's plan (its
levels and active level); keeps no copy of either. Every edit is one undoable command: a new
analysis run, a rename (with the neighbours renumbered by counting, optionally), a
confirmation, adding a level to the plan, removing it, making it the active level (explicit:
never a default) and its procedure (VP or KP). Proposals stay marked "proposed" until the user
confirms them, and a planned level is flagged while unconfirmed (a wrong-level procedure is
what this guards against).

Ways to get levels: Analyse (automatic proposal anchored on the sacrum), Name level at
crosshair (the user puts the crosshair inside a body and names it; the neighbours are counted
from there), Import label map (a NIfTI segmentation: TotalSegmentator names or VerSe ids).
All run ``planner.vertebra.analyze_spine`` off the GUI thread with progress and cancel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from planner.errors import AnalysisError, InputError
from planner.session import edit
from planner.vertebra.grading import grade_text, grading_notes, outline_suspect
from ui.document.document import Document
from ui.document.workers import Task, start_task
from ui.panels import level_dialogs
from ui.panels.common import push_analysis
from ui.panels.fitting_table import FittingTable, set_cell
from ui.panels.level_ops import confirm_levels, rename_level
from ui.shell.errors import guarded
from ui.views.view_state import ViewState

log = logging.getLogger(__name__)
COLUMNS = ("Level", "Source", "Status", "Genant", "Plan")
PROCEDURE_SHORT = {"vertebroplasty": "VP", "kyphoplasty": "KP"}
SOURCE_TEXT = {"auto": "automatic", "seed": "counted from seed", "labels": "label map"}
PROPOSED_COLOUR = QColor(240, 190, 90)
CONFIRMED_COLOUR = QColor(120, 210, 130)


def _renamed_corrections(analysis: Any, mapping: dict[str, str], corrections: Any) -> Any:
    """The case's corrections after a rename: each anatomy correction follows its body, and
    the ``level_name`` ones are rebuilt.

    A ``level_name`` correction records the automatic name of a body and the user's name for
    it, so reopening a plan names a fresh analysis the same way.
    """
    from planner.session import Correction

    auto = {c.level: str(c.automatic) for c in corrections if c.kind == "level_name"}
    kept = tuple(
        replace(c, level=mapping.get(c.level, c.level))
        for c in corrections
        if c.kind != "level_name"
    )
    out = []
    for r in analysis.levels:
        name = mapping.get(r.level, r.level)
        first = auto.get(r.level, r.level)
        if first != name:
            out.append(Correction.make(name, "level_name", "name", first, name))
    return kept + tuple(out)


class LevelsPanel(QWidget):
    """Signals: ``centre_requested(lps)`` when the user asks to look at a level."""

    centre_requested = Signal(object)

    def __init__(self, doc: Document, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levels_panel")
        self.doc = doc
        self.state = state
        self.task: Task | None = None
        #: level -> (text appended to its name, shown in red); set by the MRI step
        self.marks: dict[str, tuple[str, bool]] = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        # fits the 390 px side column: cells wrap between words, no sideways scrolling
        self.table = FittingTable(0, len(COLUMNS))
        self.table.stretch_column = 1
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda row, _c: self.centre_on(row))
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for n, (key, text, tip, slot) in enumerate(self._button_specs()):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda *_, s=slot: s())
            self.buttons[key] = b
            grid.addWidget(b, n // 3, n % 3)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(grid)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #f0be5a;")
        lay.addWidget(self.warning)
        doc.analysis_changed.connect(self._on_document_analysis_changed)
        doc.case_changed.connect(self._on_document_case_changed)
        doc.volume_changed.connect(self._on_document_volume_changed)
        self.refresh()

    def _button_specs(self) -> list[tuple[str, str, str, Callable[[], object]]]:
        return [
            (
                "analyse",
                "Analyse",
                "Find every vertebral body in view and propose names, anchored "
                "on the sacrum (runs in the background; Cancel stops it)",
                self.analyse,
            ),
            (
                "seed",
                "Name at crosshair…",
                "Put the crosshair inside a vertebral body, then name "
                "its level: the neighbours are found and named by counting",
                self.name_at_crosshair,
            ),
            (
                "labels",
                "Import labels…",
                "Levels from a NIfTI label map (TotalSegmentator names or VerSe ids)",
                self.import_labels,
            ),
            (
                "rename",
                "Rename…",
                "Rename the selected level (it becomes confirmed)",
                self.rename_selected,
            ),
            (
                "confirm",
                "Confirm",
                "Confirm the selected level's name after checking it on the images "
                "(count from the sacrum / the 12th rib)",
                self.confirm_selected,
            ),
            (
                "add",
                "Add to plan",
                "Plan the selected level too (it becomes the active level; the other planned "
                "levels keep their needles)",
                self.add_selected,
            ),
            (
                "remove",
                "Remove from plan",
                "Remove the selected level and its needles from the plan",
                self.remove_selected,
            ),
            (
                "active",
                "Set active",
                "Work on the selected planned level (needles, estimates)",
                self.set_target_selected,
            ),
            (
                "procedure",
                "VP ⇄ KP",
                "Switch the selected planned level between vertebroplasty and kyphoplasty",
                self.toggle_procedure_selected,
            ),
        ]

    # --- mirror -----------------------------------------------------------------------------
    def refresh(self) -> None:
        analysis = self.doc.analysis
        levels = analysis.levels if analysis is not None else ()
        target = self.doc.active_level
        selected = self.selected_row()
        changed = self.table.rowCount() != len(levels)
        self.table.setRowCount(len(levels))
        for row, r in enumerate(levels):
            changed |= self._fill_row(row, r, r.level == target)
        self._planned_text = self._plan_text()
        if selected is not None and selected < len(levels) and self.selected_row() != selected:
            # the selection model, not selectRow: that honours held modifiers (Ctrl toggles)
            flags = (
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.selectionModel().select(self.table.model().index(selected, 0), flags)
        if changed:  # a dragged point rewrites a cell or none: no refit then
            self.table.fit_columns()
        self._update_summary(levels, target)
        self._update_buttons()

    def _fill_row(self, row: int, r: Any, is_target: bool) -> bool:
        """Show one level's row (cells changed in place); returns whether a cell changed."""
        c = r.candidate
        m = r.morphometry
        status = "confirmed" if c.confirmed else "proposed"
        grade = grade_text(m)  # "0 (short)": a short vertebra, graded 0 (see grading notes)
        if outline_suspect(m):  # heights implausible for the neighbours: check the outline
            grade += " · check"
        edits = [n.split(":", 1)[1].strip() for n in m.notes if n.startswith("edited:")]
        if edits:  # the surgeon corrected this level's anatomy (points, plane, outline, axis)
            grade += " · edited"
        texts = (
            c.level,
            SOURCE_TEXT.get(c.source, c.source),
            status,
            grade,
            self._plan_cell(c.level, is_target),
        )
        tips = (
            "Centre LPS ({:.1f}, {:.1f}, {:.1f}) mm; ".format(*c.centroid_lps)
            + "double-click to centre the views on it",
            "automatic = counted from the sacrum; seed = counted from the body you named; "
            "label map = from an imported segmentation",
            "A proposal stays 'proposed' until you confirm it; "
            "the report lists which were confirmed",
            "Genant semiquantitative grade from the worst wall's height loss against the "
            "neighbours (Genant et al. 1993, J Bone Miner Res 8:1137)"
            + "".join(f"\n{n}" for n in grading_notes(m))
            + "".join(f"\nEdited: {e}" for e in edits),
            "",
        )
        mark = self.marks.get(c.level)
        changed = False
        for col, (text, tip) in enumerate(zip(texts, tips, strict=True)):
            colour = (CONFIRMED_COLOUR if c.confirmed else PROPOSED_COLOUR) if col == 2 else None
            if mark is not None and col == 0:
                text = f"{c.level} · {mark[0]}"
            if mark is not None and mark[1]:
                colour = QColor(235, 60, 60)
            changed |= set_cell(self.table, row, col, text, tip, colour, is_target)
        return changed

    def set_marks(self, marks: dict[str, tuple[str, bool]]) -> None:
        """Mark levels (e.g. MRI oedema; red for a flagged level) and redraw."""
        if marks != self.marks:
            self.marks = dict(marks)
            self.refresh()

    def _plan_cell(self, level: str, is_active: bool) -> str:
        case = self.doc.case
        lp = case.plan.level(level) if case is not None else None
        if lp is None:
            return ""
        proc = PROCEDURE_SHORT.get(lp.procedure, lp.procedure)
        return f"◉ active · {proc}" if is_active else f"planned · {proc}"

    def _plan_text(self) -> str:
        case = self.doc.case
        if case is None or not case.plan.levels:
            return "Plan: no level"
        parts = [
            f"{lp.level} ({PROCEDURE_SHORT.get(lp.procedure, lp.procedure)})"
            for lp in case.plan.levels
        ]
        return "Plan: " + ", ".join(parts)

    def _update_summary(self, levels: Any, target: str | None) -> None:
        if self.doc.volume is None:
            self.summary.setText("No study open.")
        elif not levels:
            self.summary.setText(
                "No levels yet: Analyse, or put the crosshair in a body and name it."
            )
        else:
            n_conf = sum(1 for r in levels if r.candidate.confirmed)
            first, last = levels[0].level, levels[-1].level
            many = f"{len(levels)} levels ({first}–{last})"
            found = f"1 level ({first})" if len(levels) == 1 else many
            self.summary.setText(
                f"{found}, {n_conf} confirmed. {self._plan_text()}. "
                f"Active level: {target or 'not chosen'}."
            )
        warn = []
        case = self.doc.case
        planned = case.plan.level_names() if case is not None else ()
        for name in planned if levels else ():
            r = next((x for x in levels if x.level == name), None)
            if r is None:
                warn.append(f"The planned level {name} is not among the analysed levels.")
            elif not r.candidate.confirmed:
                warn.append(
                    f"The planned level {name} is a proposal: confirm its name on the "
                    "images before planning (wrong-level risk)."
                )
        if self.doc.analysis is not None:
            warn.extend(self.doc.analysis.warnings)
        self.warning.setText("\n".join(warn))
        self.warning.setVisible(bool(warn))

    def _update_buttons(self) -> None:
        has_vol = self.doc.volume is not None
        busy = self.task is not None
        row = self.selected_row()
        for k in ("analyse", "seed", "labels"):
            self.buttons[k].setEnabled(has_vol and not busy)
        for k in ("rename", "confirm", "add"):
            self.buttons[k].setEnabled(row is not None and not busy)
        name = self._row_level(row)
        case = self.doc.case
        planned = name is not None and case is not None and case.plan.level(name) is not None
        for k in ("remove", "active", "procedure"):
            self.buttons[k].setEnabled(planned and not busy)
        self.buttons["add"].setEnabled(row is not None and not busy and not planned)

    def _row_level(self, row: int | None) -> str | None:
        an = self.doc.analysis
        if row is None or an is None or row >= len(an.levels):
            return None
        return str(an.levels[row].level)

    def selected_row(self) -> int | None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return rows[0] if rows else None

    def _on_document_analysis_changed(self, old: Any, new: Any) -> None:
        if old is not new:
            self.refresh()

    def _on_document_case_changed(self, old: Any, new: Any) -> None:
        if old is None or new is None or old.plan.levels != new.plan.levels or (
            old.plan.active_level != new.plan.active_level
        ):
            self.refresh()

    def _on_document_volume_changed(self, _volume: Any) -> None:
        if self.task is not None:
            self.task.cancel()
        self.refresh()

    # --- analysis runs ---------------------------------------------------------------------
    @guarded("analyse the spine")
    def analyse(self) -> None:
        self._run("Analysing the spine…", "Analyse spine", {})

    @guarded("name the level at the crosshair")
    def name_at_crosshair(self) -> None:
        vol = self.doc.volume
        if vol is None:
            return
        seed = self.state.cursor_lps
        if vol.value_at_lps(seed) is None:
            raise InputError(
                "the crosshair is outside the scan; click inside a vertebral body first"
            )
        name = level_dialogs.ask_seed_name(self)
        if name:
            self._run(
                f"Finding the levels around {name}…",
                f"Name {name} at crosshair",
                {"seed_lps": seed, "level": name},
            )

    @guarded("import the label map")
    def import_labels(self, path: str | None = None) -> None:
        path = path or level_dialogs.ask_label_file(self)
        if not path:
            return
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(path)
        self._run(
            "Reading levels from the label map…", "Import levels from labels", {"labels": labels}
        )

    def _run(self, title: str, undo_text: str, kwargs: dict[str, Any]) -> Task | None:
        vol = self.doc.volume
        if vol is None or self.task is not None:
            return None
        try:
            from planner.session.level_variants import analyze_spine_named as analyze_spine
        except ImportError as exc:
            raise AnalysisError(
                f"the vertebra analysis is not available in this build ({exc})"
            ) from exc

        def work(progress: Any) -> Any:
            return analyze_spine(vol, progress=progress, **kwargs)

        task = start_task(self, title, work)
        self.task = task
        task.succeeded.connect(lambda result: self._on_task_succeeded(vol, result, undo_text))
        task.failed.connect(self._on_task_failed)
        task.finished.connect(self._on_task_finished)
        self._update_buttons()
        return task

    def _on_task_succeeded(self, vol: Any, result: Any, undo_text: str) -> None:
        if vol is not self.doc.volume:
            log.info("analysis finished for a study that is no longer open; dropped")
            return
        push_analysis(self.doc, result, undo_text)

    def _on_task_failed(self, exc: BaseException) -> None:
        from ui.shell.errors import report_exception, show_message

        plain = level_dialogs.plain_no_anchor_message(str(exc))
        if plain is not None:
            show_message(self, "warning", "Name one level to continue", plain, "")
            return
        report_exception(self, exc, "analyse the spine")

    def _on_task_finished(self) -> None:
        self.task = None
        self._update_buttons()

    # --- edits -----------------------------------------------------------------------------
    @guarded("rename the level")
    def rename_selected(self) -> None:
        row = self.selected_row()
        if row is None or self.doc.analysis is None:
            return
        current = self.doc.analysis.levels[row].level
        got = level_dialogs.ask_level_name(self, f"Rename {current}", current)
        if got is not None:
            self.rename(row, *got)

    def rename(self, row: int, new_name: str, renumber: bool) -> None:
        """Rename level ``row`` as one undo step; the plan follows its body."""
        analysis = self.doc.analysis
        old_name = analysis.levels[row].level
        new_analysis, mapping = rename_level(analysis, row, new_name, renumber)
        text = f"Rename {old_name} → {new_name}" + (
            " (renumbered)" if renumber and len(mapping) > 1 else ""
        )
        case = self.doc.with_analysis(new_analysis)
        case = replace(
            case,
            plan=replace(
                case.plan,
                corrections=_renamed_corrections(analysis, mapping, case.plan.corrections),
            ),
        )
        if any(lp.level in mapping for lp in case.plan.levels):  # the plan follows its bodies
            p = case.plan
            plan = replace(
                p,
                levels=tuple(replace(lp, level=mapping.get(lp.level, lp.level)) for lp in p.levels),
                active_level=None if p.active_level is None
                else mapping.get(p.active_level, p.active_level),
            )
            case = self.doc.synced(replace(case, plan=plan))
        self.doc.push_case(case, text)

    @guarded("confirm the level")
    def confirm_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if rows and self.doc.analysis is not None:
            self.confirm(rows)

    def confirm(self, rows: list[int]) -> None:
        analysis = self.doc.analysis
        todo = [r for r in rows if not analysis.levels[r].candidate.confirmed]
        if todo:
            names = ", ".join(analysis.levels[r].level for r in todo)
            push_analysis(self.doc, confirm_levels(analysis, todo), f"Confirm {names}")

    @guarded("set the active level")
    def set_target_selected(self) -> None:
        name = self._row_level(self.selected_row())
        if name is not None:
            self.set_target(name)

    def set_target(self, level: str) -> None:
        """Make ``level`` the active level, adding it to the plan if needed (one undo step).

        The other planned levels keep their needles.
        """
        case = self.doc.edited_case()
        if case.plan.level(level) is None:
            self.doc.push_case(
                self.doc.synced(edit.add_level(case, level)), f"Add {level} to the plan"
            )
        elif case.plan.active_level != level:
            self.doc.push_case(edit.set_active_level(case, level), f"Active level {level}")
        r = self.doc.level_result(level)
        if r is not None:
            self.centre_requested.emit(np.asarray(r.morphometry.centroid_lps, float))

    @guarded("add the level to the plan")
    def add_selected(self) -> None:
        name = self._row_level(self.selected_row())
        if name is not None:
            self.set_target(name)

    @guarded("remove the level from the plan")
    def remove_selected(self) -> None:
        name = self._row_level(self.selected_row())
        if name is not None:
            self.remove_level(name)

    def remove_level(self, level: str) -> None:
        """Remove ``level`` and its needles from the plan (one undo step)."""
        case = self.doc.edited_case()
        if case.plan.level(level) is not None:
            self.doc.push_case(edit.remove_level(case, level), f"Remove {level} from the plan")

    @guarded("change the procedure")
    def toggle_procedure_selected(self) -> None:
        name = self._row_level(self.selected_row())
        case = self.doc.case
        lp = case.plan.level(name) if case is not None and name is not None else None
        if lp is not None:
            other = "vertebroplasty" if lp.procedure == "kyphoplasty" else "kyphoplasty"
            self.set_procedure(lp.level, other)

    def set_procedure(self, level: str, procedure: str) -> None:
        """VP or KP for one planned level (one undo step)."""
        case = self.doc.edited_case()
        self.doc.push_case(
            edit.set_procedure(case, level, procedure),
            f"{level}: {PROCEDURE_SHORT.get(procedure, procedure)}",
        )

    def centre_on(self, row: int) -> None:
        if self.doc.analysis is None or row >= len(self.doc.analysis.levels):
            return
        c = np.asarray(self.doc.analysis.levels[row].morphometry.centroid_lps, float)
        self.state.set_cursor(c)
        self.centre_requested.emit(c)

    def close_panel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task.wait(10000)
