"""Keeps the estimates of the current plan up to date (derived data, never plan data).

The estimates are a function of (volume, case) and come from :mod:`planner.session.derive`
(the code path of the report and the ``estimate`` command, with each level's unipedicular
decision). On every change:

- the closed-form parts of the active level (cement volume, expected restoration, VP/BKP
  comparison: ``derive.level_closed_form``) are recomputed at once on the GUI thread;
- the full run (``derive.case_estimates``: every planned level's balloons, cement spread and
  the case's total cement with its band) is debounced and runs off the GUI thread.

Panels and actors read :attr:`EstimatesController.current` and listen to ``changed``. The
injected-volume slider position (``injected_ml``) is a view setting of the spread animation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ui.document.document import Document

log = logging.getLogger(__name__)
DEBOUNCE_MS = 250


@dataclass(frozen=True, eq=False)
class EstimateView:
    """What the estimate panels show for one (plan, level result) pair."""

    plan: Any
    result: Any  # planner.vertebra LevelResult of the plan's level
    cement: Any
    restoration: Any
    comparison: Any
    full: Any = None  # planner.estimate.PlanEstimates once the full run matches these inputs
    pending: bool = True
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def balloons(self) -> tuple[Any, ...]:
        return self.full.balloons if self.full is not None else ()

    @property
    def spread(self) -> Any:
        return self.full.spread if self.full is not None else None


def closed_form(
    case: Any, level: str, fine: Any, balloons: tuple[Any, ...] | None
) -> tuple[Any, Any, Any, tuple[str, ...], tuple[str, ...]]:
    """Cement, restoration, comparison, flags and notes of ``level``:
    :func:`planner.session.derive.level_closed_form` (the closed form the full run uses).

    ``fine`` (the body's FineBody) gives the geometric flags; without it only the clinical and
    posterior-wall flags are known. ``balloons`` are inflated results for the level's balloons
    (None → the planned inflation volumes stand in for the cavity until the model has run).
    """
    from planner.session import level_closed_form

    cavity = None if balloons is None else sum(b.volume_ml for b in balloons)
    cf = level_closed_form(case, level, fine, cavity)
    if cf is None:
        raise ValueError(f"{level} is not planned or not analysed")
    return cf.cement, cf.restoration, cf.comparison, cf.flags, cf.notes


class EstimatesController(QObject):
    """Signals: ``changed()`` (``current`` replaced), ``injected_changed(ml)``,
    ``busy_changed(bool)``, ``failed(message)``."""

    changed = Signal()
    injected_changed = Signal(float)
    busy_changed = Signal(bool)
    failed = Signal(str)

    def __init__(self, doc: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.current: EstimateView | None = None
        self.injected_ml: float | None = None  # None = the whole planned volume
        self.error = ""
        self._fine: tuple[Any, Any] | None = None  # (anatomy, FineBody)
        self._task: Any = None
        self._rerun = False
        self.enabled = True
        #: every planned level's estimates and the case's cement total, once the full run
        #: matched ``totals_levels`` (the case's levels it was computed for)
        self.totals: Any = None
        self.totals_levels: Any = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start_full)
        doc.case_changed.connect(self._on_document_changed)
        doc.volume_changed.connect(self._on_document_volume_changed)
        self.refresh()

    # --- public -----------------------------------------------------------------------------
    def level_result(self) -> Any:
        plan = self.doc.plan
        return None if plan is None else self.doc.level_result(plan.level)

    def set_injected(self, ml: float | None) -> None:
        if ml != self.injected_ml:
            self.injected_ml = ml
            self.injected_changed.emit(-1.0 if ml is None else float(ml))

    @property
    def busy(self) -> bool:
        return self._task is not None

    def refresh(self) -> None:
        """Recompute the closed-form parts now and schedule the full run."""
        plan, result, case = self.doc.plan, self.level_result(), self.doc.case
        cur = self.current
        if case is not None and case.plan.levels != self.totals_levels and self.enabled:
            self._timer.start()  # another level changed: the total is out of date
        if plan is None or result is None or self.doc.volume is None or case is None:
            self._set(None)
            return
        if cur is not None and cur.plan is plan and cur.result is result:
            return
        fine = self._fine[1] if self._fine is not None and self._fine[0] is result.anatomy else None
        full = cur.full if cur is not None and cur.result is result else None
        balloons = (
            full.balloons
            if full is not None
            and cur is not None
            and cur.plan.balloons is plan.balloons
            and cur.plan.trajectories is plan.trajectories
            and cur.plan.procedure == plan.procedure
            else None
        )
        try:
            cement, rest, comp, flags, notes = closed_form(case, plan.level, fine, balloons)
        except ValueError as exc:
            self.error = str(exc)
            self._set(None)
            self.failed.emit(self.error)
            return
        self.error = ""
        self._set(EstimateView(plan, result, cement, rest, comp, None, True, flags, notes))
        if self.enabled:
            self._timer.start()

    def wait_idle(self, ms: int = 30000) -> None:
        """Tests and the report: run the debounced full run now and wait for it."""
        if self._timer.isActive():
            self._timer.stop()
            self._start_full()
        if self._task is not None:
            self._task.wait(ms)

    def close(self) -> None:
        self.enabled = False
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
            self._task.wait(10000)

    # --- internals --------------------------------------------------------------------------
    def _set(self, view: EstimateView | None) -> None:
        if view is self.current:
            return
        self.current = view
        if view is None or view.spread is None:
            self.injected_ml = None
        self.changed.emit()

    def _on_document_changed(self, old: Any, new: Any) -> None:
        if old is not new:
            self.refresh()

    def _on_document_volume_changed(self, _volume: Any) -> None:
        self.totals = self.totals_levels = None
        self._fine = None
        self.refresh()

    def _start_full(self) -> None:
        cur, case = self.current, self.doc.case
        stale = case is not None and case.plan.levels != self.totals_levels
        if (cur is None or not cur.pending) and not stale:
            return
        if self._task is not None:
            self._rerun = True
            self._task.cancel()
            return
        from planner.session import case_estimates
        from ui.document.workers import start_task

        volume = self.doc.volume
        plan, result = (cur.plan, cur.result) if cur is not None else (None, None)
        if volume is None or case is None:
            return

        def work(progress: Any) -> Any:
            progress.update(0.1, "Estimating every planned level")
            return case_estimates(volume, case)

        self._task = start_task(None, "Estimating", work, show_dialog=False)
        self._task.succeeded.connect(lambda out: self._on_case_done(case, plan, result, out))
        self._task.failed.connect(self._on_full_failed)
        self._task.finished.connect(self._on_task_finished)
        self.busy_changed.emit(True)

    def _on_case_done(self, case: Any, plan: Any, result: Any, out: Any) -> None:
        per, _total = out
        cur = self.doc.case
        if cur is not None and cur.plan.levels == case.plan.levels:
            self.totals, self.totals_levels = out, case.plan.levels
        est = per.get(plan.level) if plan is not None else None
        if est is not None:
            self._on_full_done(plan, result, est)
        else:
            self.changed.emit()

    def _on_full_done(self, plan: Any, result: Any, est: Any) -> None:
        self._fine = (result.anatomy, est.fine)
        cur = self.current
        if cur is None or cur.plan is not plan or cur.result is not result:
            return
        self._set(
            EstimateView(
                plan,
                result,
                est.cement,
                est.restoration,
                est.comparison,
                est,
                False,
                tuple(est.cement.flags),
                est.notes,
            )
        )

    def _on_full_failed(self, exc: BaseException) -> None:
        log.warning("estimates failed: %s", exc)
        self.error = str(exc)
        cur = self.current
        if cur is not None:
            self._set(
                EstimateView(
                    cur.plan,
                    cur.result,
                    cur.cement,
                    cur.restoration,
                    cur.comparison,
                    None,
                    False,
                    cur.flags,
                    (*cur.notes, f"Balloon / spread model: {exc}"),
                )
            )
        self.failed.emit(self.error)

    def _on_task_finished(self) -> None:
        self._task = None
        self.busy_changed.emit(False)
        if self._rerun or (self.current is not None and self.current.pending):
            self._rerun = False
            if self.enabled:
                self._timer.start()
