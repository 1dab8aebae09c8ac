"""The document: the single owner of the case shown in the window and of its undo history.

Holds the current volume and ONE :class:`planner.session.Case` (series binding, analysis,
multi-level plan) plus the on-screen measurements and the ``QUndoStack``. Views and panels read
from it and listen to its signals; they change it only through commands
(:mod:`ui.document.commands`): one :class:`~ui.document.commands.SetCaseCommand` per gesture,
built from the pure edits of :mod:`planner.session.edit`. The modified flag is the undo stack's
clean state. Window/level, camera and layout are view settings, not document state.

``plan`` is the *active* level as a single-level ``planner.plan.model.Plan`` (the needle tools
and views draw one level at a time); ``push_plan`` edits that level of the case.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from planner.plan.model import Plan, SeriesBinding
from planner.session import Case, LevelPlan, edit
from planner.volume import CTVolume, LoadWarning
from ui.document.level_analysis import synced_confirmations
from ui.tools.measurement import Measurement

if TYPE_CHECKING:
    from planner.vertebra.types import LevelResult, SpineAnalysis
    from planner.volume import StudyScan  # noqa: F401

log = logging.getLogger(__name__)


class Document(QObject):
    """Current study and case with their undo stack.

    Signals
    -------
    volume_changed(volume)
        A new study was opened (or closed: None). Case and measurements were reset.
    case_changed(old, new)
        The case changed (``planner.session.Case`` or None); compare parts with ``is``.
    plan_changed(old, new)
        The active level's plan (``Plan`` or None) changed.
    measurements_changed(old, new)
        The tuple of measurements changed.
    modified_changed(bool)
        The document has (or no longer has) unsaved changes.
    analysis_changed(old, new)
        The vertebra analysis (``planner.vertebra.SpineAnalysis`` or None) changed.
    gesture_changed(bool)
        A correction gesture (a drag whose pushes merge into one undo step) started or ended.
        During it the document changes every push; what costs much and is not where the
        user looks (the 3D view's body and balloons) may wait for its end
        (:attr:`in_gesture`).
    """

    volume_changed = Signal(object)
    case_changed = Signal(object, object)
    plan_changed = Signal(object, object)
    measurements_changed = Signal(object, object)
    modified_changed = Signal(bool)
    analysis_changed = Signal(object, object)
    gesture_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self._volume: CTVolume | None = None
        self._case: Case | None = None
        self._plan: Plan | None = None  # the active level as a Plan (derived from _case)
        #: (level plan, the Plan it shows as) pairs, newest first: a level keeps the Plan object
        #: it was pushed as, also across undo/redo (strong references, compared by identity)
        self._legacy_memo: list[tuple[LevelPlan, Plan]] = []
        self._measurements: tuple[Measurement, ...] = ()
        self.warnings: tuple[LoadWarning, ...] = ()
        self.source_path = ""
        self.scan: object | None = None  # the loader's StudyScan, when from a folder
        #: (case, its corrected analysis): read by every panel on each push, and the memo
        #: of corrected analyses may have dropped the current one during a drag
        self._analysis_of: tuple[Case | None, object | None] = (None, None)
        self._gesture = False

    # --- read -----------------------------------------------------------------------------
    @property
    def volume(self) -> CTVolume | None:
        return self._volume

    @property
    def case(self) -> Case | None:
        return self._case

    @property
    def plan(self) -> Plan | None:
        """The active level as a single-level plan (None: no level chosen)."""
        return self._plan

    @property
    def active_level(self) -> str | None:
        return None if self._case is None else self._case.plan.active_level

    @property
    def analysis(self) -> SpineAnalysis | None:
        if self._case is None:  # the surgeon's corrections applied (planner.session.corrections)
            return None
        if self._analysis_of[0] is not self._case:
            self._analysis_of = (self._case, self._case.corrected_analysis())
        return self._analysis_of[1]  # type: ignore[return-value]

    @property
    def in_gesture(self) -> bool:
        """A correction drag is in progress (see ``gesture_changed``)."""
        return self._gesture

    def set_gesture(self, on: bool) -> None:
        """A correction tool starts (True) or ends (False, after its last push) a drag."""
        if on != self._gesture:
            self._gesture = on
            self.gesture_changed.emit(on)

    def level_result(self, level: str | None) -> LevelResult | None:
        """The analysis result (``LevelResult``) for a level name, or None."""
        an = self.analysis
        if an is None or level is None:
            return None
        return next((r for r in an.levels if r.candidate.level == level), None)

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        return self._measurements

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    # --- write ----------------------------------------------------------------------------
    def set_study(
        self,
        volume: CTVolume | None,
        warnings: tuple[LoadWarning, ...] = (),
        source_path: str = "",
        scan: object | None = None,
    ) -> None:
        """Replace the study; a new empty case, no measurements, no undo history."""
        old_case, old_plan, old_meas = self._case, self._plan, self._measurements
        old_analysis = self.analysis
        self._volume = volume
        self.warnings = tuple(warnings)
        self.source_path = source_path
        self.scan = scan
        self._case = (
            None
            if volume is None
            else Case(SeriesBinding(volume.series_uid, volume.grid.fingerprint()))
        )
        self._plan = None
        self._legacy_memo.clear()
        self._measurements = ()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        log.info("study set: %s", volume.summary_json()["shape_kji"] if volume else None)
        self.volume_changed.emit(volume)
        self.case_changed.emit(old_case, self._case)
        if old_plan is not None:
            self.plan_changed.emit(old_plan, None)
        if old_meas:
            self.measurements_changed.emit(old_meas, ())
        if old_analysis is not None:
            self.analysis_changed.emit(old_analysis, None)

    def push_case(self, new: Case, text: str, merge_key: int = -1) -> None:
        """Make ``new`` the case through one undoable command (nothing if unchanged)."""
        from ui.document.commands import SetCaseCommand

        if self._case is None or new is self._case:
            return
        self.undo_stack.push(SetCaseCommand(self, self._case, new, text, merge_key))

    def edited_case(self) -> Case:
        """The case to edit (raises with a message for the user when no study is open)."""
        if self._case is None:
            from planner.errors import InputError

            raise InputError("open a study first")
        return self._case

    def with_analysis(self, analysis: object | None) -> Case:
        """The case with another analysis; planned levels follow its confirmations."""
        return synced_confirmations(replace(self.edited_case(), analysis=analysis))  # type: ignore[arg-type]

    @staticmethod
    def synced(case: Case) -> Case:
        """``case`` with its planned levels' confirmations taken from its analysis."""
        return synced_confirmations(case)

    def push_plan(self, new_plan: Plan | None, text: str, merge_key: int = -1) -> None:
        """Edit the active level through a single-level ``Plan`` (one undoable command).

        With no active level, ``new_plan.level`` is added (or chosen) explicitly by the caller
        handing a plan for it; None removes the active level.
        """
        case = self.edited_case()
        active = case.plan.active
        if new_plan is None:
            if active is not None:
                self.push_case(edit.remove_level(case, active.level), text, merge_key)
            return
        base = active if active is not None else case.plan.level(new_plan.level)
        lp = LevelPlan.from_legacy(
            new_plan,
            confirmed=base is not None and base.level == new_plan.level and base.confirmed,
            unipedicular=base.unipedicular if base is not None else None,
        )
        if base is None:
            new = edit.add_level(case, lp.level, lp.procedure)
            new = edit.set_plan(new, replace(new.plan, levels=(*case.plan.levels, lp)))
        else:
            levels = tuple(lp if x is base else x for x in case.plan.levels)
            new = edit.set_plan(case, replace(case.plan, levels=levels, active_level=lp.level))
        new = synced_confirmations(new)
        shown = new.plan.level(lp.level)
        if shown is not None and not new_plan.measurements:
            self._remember(shown, new_plan)  # the level shows as the Plan pushed
        self.push_case(new, text, merge_key)

    def push_measurements(self, new: tuple[Measurement, ...], text: str) -> None:
        from ui.document.commands import SetMeasurementsCommand

        self.undo_stack.push(SetMeasurementsCommand(self, self._measurements, tuple(new), text))

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    # Called by commands only.
    def _apply_case(self, case: Case) -> None:
        old = self._case
        if old is case:
            return
        old_plan, old_analysis = self._plan, self.analysis
        self._case = case
        self._plan = self._legacy(old, case)
        self.case_changed.emit(old, case)
        if self.analysis is not old_analysis:
            self.analysis_changed.emit(old_analysis, self.analysis)
        if self._plan is not old_plan:
            self.plan_changed.emit(old_plan, self._plan)

    def _legacy(self, old: Case | None, new: Case) -> Plan | None:
        lp = new.plan.active
        if lp is None:
            return None
        if old is not None and old.plan.active is lp and old.series == new.series:
            return self._plan
        for known, plan in self._legacy_memo:
            if known is lp and plan.series == new.series:
                return plan
        plan = lp.legacy(new.series)
        self._remember(lp, plan)
        return plan

    def _remember(self, lp: LevelPlan, plan: Plan | None) -> None:
        if plan is not None:
            self._legacy_memo.insert(0, (lp, plan))
            del self._legacy_memo[32:]

    def _apply_analysis(self, analysis: object | None) -> None:
        """Set the analysis without an undo step (kept for callers outside the stack)."""
        if self._case is not None:
            self._apply_case(self.with_analysis(analysis))

    def _apply_measurements(self, meas: tuple[Measurement, ...]) -> None:
        old = self._measurements
        if old is meas:
            return
        self._measurements = meas
        self.measurements_changed.emit(old, meas)

    def _on_undo_stack_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)
