"""The document: the single owner of the study shown in the window and of its undo history.

Holds the current volume, the plan (``planner.plan.model.Plan`` or None), the measurements and
the ``QUndoStack``. Views and panels read from it and listen to its signals; they change it only
through commands (:mod:`ui.document.commands`), so every edit is undoable and the modified flag is the
undo stack's clean state. Window/level, camera and layout are view settings, not document state.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from planner.volume import CTVolume, LoadWarning
from ui.tools.measurement import Measurement

log = logging.getLogger(__name__)


class Document(QObject):
    """Current study, plan and measurements with their undo stack.

    Signals
    -------
    volume_changed(volume)
        A new study was opened (or closed: None). Plan and measurements were reset.
    plan_changed(old, new)
        The plan changed; compare parts with ``is`` to know what to redraw.
    measurements_changed(old, new)
        The tuple of measurements changed.
    modified_changed(bool)
        The document has (or no longer has) unsaved changes.
    analysis_changed(old, new)
        The vertebra analysis (``planner.vertebra.SpineAnalysis`` or None) changed: a new run,
        or a level renamed/confirmed (through an undoable command).
    """

    volume_changed = Signal(object)
    plan_changed = Signal(object, object)
    measurements_changed = Signal(object, object)
    modified_changed = Signal(bool)
    analysis_changed = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self._volume: CTVolume | None = None
        self._plan: Any = None
        self._measurements: tuple[Measurement, ...] = ()
        self.warnings: tuple[LoadWarning, ...] = ()
        self.source_path = ""
        self.scan: Any = None  # the loader's StudyScan, when the study came from a folder
        self._analysis: Any = None  # planner.vertebra.SpineAnalysis of the current volume

    # --- read -----------------------------------------------------------------------------
    @property
    def volume(self) -> CTVolume | None:
        return self._volume

    @property
    def plan(self) -> Any:
        return self._plan

    @property
    def analysis(self) -> Any:
        return self._analysis

    def level_result(self, level: str) -> Any:
        """The analysis result (``LevelResult``) for a level name, or None."""
        if self._analysis is None:
            return None
        return next((r for r in self._analysis.levels if r.candidate.level == level), None)

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
        scan: Any = None,
    ) -> None:
        """Replace the study; clears plan, measurements and undo history (not undoable)."""
        old_plan, old_meas = self._plan, self._measurements
        self._volume = volume
        self.warnings = tuple(warnings)
        self.source_path = source_path
        self.scan = scan
        old_analysis = self._analysis
        self._plan = None
        self._measurements = ()
        self._analysis = None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        log.info("study set: %s", volume.summary_json()["shape_kji"] if volume else None)
        self.volume_changed.emit(volume)
        if old_plan is not None:
            self.plan_changed.emit(old_plan, None)
        if old_meas:
            self.measurements_changed.emit(old_meas, ())
        if old_analysis is not None:
            self.analysis_changed.emit(old_analysis, None)

    def push_plan(self, new_plan: Any, text: str, merge_key: int = -1) -> None:
        """Make ``new_plan`` current through one undoable command."""
        from ui.document.commands import SetPlanCommand

        self.undo_stack.push(SetPlanCommand(self, self._plan, new_plan, text, merge_key))

    def push_measurements(self, new: tuple[Measurement, ...], text: str) -> None:
        from ui.document.commands import SetMeasurementsCommand

        self.undo_stack.push(SetMeasurementsCommand(self, self._measurements, tuple(new), text))

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    # Called by commands only.
    def _apply_plan(self, plan: Any) -> None:
        old = self._plan
        if old is plan:
            return
        self._plan = plan
        self.plan_changed.emit(old, plan)

    def _apply_analysis(self, analysis: Any) -> None:
        """Set the analysis (called by a worker's result handler or an undoable command)."""
        old = self._analysis
        if old is analysis:
            return
        self._analysis = analysis
        self.analysis_changed.emit(old, analysis)

    def _apply_measurements(self, meas: tuple[Measurement, ...]) -> None:
        old = self._measurements
        if old is meas:
            return
        self._measurements = meas
        self.measurements_changed.emit(old, meas)

    def _on_undo_stack_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)
