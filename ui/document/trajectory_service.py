"""Background scheduling and transient previews of the needle planning (no domain state).

The document's :class:`planner.session.Case` holds the plan, the active level and the user's
unipedicular intent; :mod:`planner.session.derive` computes findings and contexts (cached by
content). This object only

- schedules the per-level trajectory context (``derive.level_context``, ~0.3 s) off the GUI
  thread and says when it is ready;
- holds the drag *preview*: a plan shown while a gesture is in progress (``display_plan()`` is
  the preview when there is one, else ``doc.plan``); the gesture pushes one command on release;
- holds auto-suggestions waiting to be accepted (one undo step) and the side the user works on.

All points are patient LPS millimetres.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from planner.constants import DRAG_MIN_NEEDLE_MM
from planner.plan.model import Plan, Trajectory
from planner.progress import Progress
from planner.session import LevelCheck, LevelPlan, derive, edit
from planner.trajectory.entry import bone_entry_lps, inside_from_context, inside_from_hu
from ui.document.document import Document
from ui.document.level_analysis import run_level_analysis
from ui.document.workers import Task, start_task
from ui.shell.errors import report_exception

log = logging.getLogger(__name__)

#: While a needle is dragged, everything other than the view under the mouse (other views, the
#: needle views, the fluoroscopy, the metrics table) redraws on one shared tick at most this
#: often, so a mouse move pays for one view (a 3D frame costs ~50-90 ms on 2 CPU cores).
GESTURE_FOLLOW_MS = 150


class TrajectoryService(QObject):
    """See the module docstring.

    Signals
    -------
    context_changed(level)
        A trajectory context became available (or was dropped: level '').
    preview_changed(plan)
        The gesture preview changed (None: no gesture in progress).
    preview_tick(plan)
        During a gesture, at most every :data:`GESTURE_FOLLOW_MS`: the latest preview, for
        everything that follows the drag without being under the mouse (one batch per tick).
    selected_side_changed(side)
    suggestions_changed()
    analysis_running_changed(bool)
    """

    context_changed = Signal(str)
    preview_changed = Signal(object)
    preview_tick = Signal(object)
    selected_side_changed = Signal(str)
    suggestions_changed = Signal()
    analysis_running_changed = Signal(bool)
    advance_changed = Signal()
    unipedicular_changed = Signal(bool)

    def __init__(self, doc: Document, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.doc = doc
        self.parent_widget = parent_widget
        self._ready: set[str] = set()  # content keys of contexts built (derive caches them)
        self._building: set[str] = set()
        self._preview: Plan | None = None
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.setInterval(GESTURE_FOLLOW_MS)
        self._tick.timeout.connect(self._on_tick)
        self.selected_side = "left"
        self.suggestions: dict[str, Any] = {}
        self.analysis_task: Task | None = None
        self.suggest_task: Task | None = None
        #: per side: seconds in ``suggest`` on the worker and from the click to the result
        self.suggest_timing: dict[str, dict[str, float]] = {}
        self.synchronous = False  # tests: build contexts on the calling thread
        self._tasks: list[Task] = []
        #: "advanced" needle depth (mm from the skin entry) per side, set by the needle views'
        #: depth slider; a view setting (None: the needle is shown at its planned tip)
        self.advance_mm: dict[str, float | None] = {"left": None, "right": None}
        self._drag: tuple[Plan, Trajectory, str] | None = None
        doc.volume_changed.connect(self._on_document_volume_changed)
        doc.analysis_changed.connect(self._on_document_analysis_changed)
        doc.plan_changed.connect(self._on_document_plan_changed)
        doc.case_changed.connect(self._on_document_case_changed)

    # --- plan --------------------------------------------------------------------------------
    @property
    def level(self) -> str | None:
        """The active level of the case (None: the user has not chosen one)."""
        return self.doc.active_level

    def display_plan(self) -> Plan | None:
        return self._preview if self._preview is not None else self.doc.plan

    @property
    def preview(self) -> Plan | None:
        return self._preview

    def set_preview(self, plan: Plan | None) -> None:
        if plan is self._preview:
            return
        self._preview = plan
        if plan is None:
            self._tick.stop()
        elif not self._tick.isActive():
            self._tick.start()
        self.preview_changed.emit(plan)

    def _on_tick(self) -> None:
        if self._preview is not None:
            self.preview_tick.emit(self._preview)

    def base_plan(self) -> Plan:
        """The active level's plan; asks the user to choose a level when none is active."""
        from planner.errors import InputError

        if self.doc.volume is None:
            raise InputError("open a study before placing a needle")
        if self.doc.plan is None:
            raise InputError(
                "no level is chosen: in the Levels panel select a level and press "
                "'Add to plan' (or 'Set active') before placing a needle"
            )
        return self.doc.plan

    def set_selected_side(self, side: str) -> None:
        if side != self.selected_side:
            self.selected_side = side
            self.selected_side_changed.emit(side)

    def _track(self, task: Task) -> Task:
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        return task

    def shutdown(self) -> None:
        """Cancel and wait for background work (the window is closing)."""
        for task in list(self._tasks):
            if task.running:
                task.cancel()
                task.wait(15000)

    def set_advance(self, side: str, depth_mm: float | None) -> None:
        if self.advance_mm.get(side) != depth_mm:
            self.advance_mm[side] = depth_mm
            self.advance_changed.emit()

    @property
    def unipedicular_intent(self) -> bool:
        """The active level's explicit unipedicular choice (False when not chosen)."""
        lp = self.doc.case.plan.active if self.doc.case is not None else None
        return bool(lp is not None and lp.unipedicular)

    def set_unipedicular(self, on: bool | None) -> None:
        """Record the user's intent on the active level (one undo step)."""
        case = self.doc.case
        lp = case.plan.active if case is not None else None
        if case is None or lp is None:
            return
        value = None if on is None else bool(on)
        if lp.unipedicular != value:
            self.doc.push_case(
                edit.set_unipedicular(case, lp.level, value),
                "Unipedicular" if value else "Not unipedicular",
            )

    def level_plan(self, plan: Plan | None = None) -> LevelPlan | None:
        """The active level with the needles of ``plan`` (default: the displayed one)."""
        case = self.doc.case
        lp = case.plan.active if case is not None else None
        plan = plan if plan is not None else self.display_plan()
        if lp is None or plan is None:
            return lp
        if plan.trajectories is lp.trajectories:
            return lp
        return replace(lp, trajectories=plan.trajectories, balloons=())

    def is_unipedicular(self, plan: Plan | None = None) -> bool:
        """``plan`` (default: the displayed one) checked as unipedicular? The session's rule
        (:attr:`planner.session.LevelPlan.is_unipedicular`)."""
        lp = self.level_plan(plan)
        return bool(lp is not None and lp.is_unipedicular)

    # --- drag gestures (one gesture = one undo step) -----------------------------------------
    def begin_drag(self, side: str, handle: str) -> bool:
        """Start moving the 'skin' or 'target' end of ``side`` of the current plan."""
        plan = self.doc.plan
        traj = plan.trajectory(side) if plan is not None else None  # type: ignore[arg-type]
        if traj is None or handle not in ("skin", "target"):
            return False
        self._drag = (plan, traj, handle)  # type: ignore[assignment]
        return True

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def drag_to(self, lps: ArrayLike) -> None:
        """Preview the dragged end at ``lps`` (the document is untouched until release)."""
        if self._drag is not None:
            plan, traj, handle = self._drag
            self.set_preview(plan.with_trajectory(self.moved(traj, handle, lps)))

    def end_drag(self) -> bool:
        """Push the previewed plan as ONE command (if the end moved); True if pushed."""
        d, self._drag = self._drag, None
        preview, pushed = self._preview, False
        if d is not None and isinstance(preview, Plan) and self.doc.plan is d[0]:
            plan, traj, handle = d
            if preview is not plan and preview.trajectory(traj.side) is not traj:
                name = "skin entry" if handle == "skin" else "target"
                self.doc.push_plan(preview, f"Move {traj.side} {name}")
                pushed = True
        self.set_preview(None)
        return pushed

    def cancel_drag(self) -> None:
        self._drag = None
        self.set_preview(None)

    # --- geometry ----------------------------------------------------------------------------
    def make_trajectory(
        self,
        side: str,
        skin_lps: ArrayLike,
        target_lps: ArrayLike,
        approach: str = "transpedicular",
        needle_id: str = "11G",
    ) -> Trajectory:
        """A trajectory from skin entry to target; the bone entry is derived on the line."""
        skin = np.asarray(skin_lps, dtype=np.float64)
        tip = np.asarray(target_lps, dtype=np.float64)
        bone = self.bone_entry(skin, tip)
        return Trajectory(side, approach, tuple(skin), tuple(bone), tuple(tip), needle_id)  # type: ignore[arg-type]

    def moved(self, traj: Trajectory, handle: str, new_lps: ArrayLike) -> Trajectory:
        """``traj`` with its 'skin' or 'target' end moved (bone entry re-derived)."""
        p = np.asarray(new_lps, dtype=np.float64)
        skin = p if handle == "skin" else np.asarray(traj.skin_entry_lps)
        tip = p if handle == "target" else np.asarray(traj.target_lps)
        if float(np.linalg.norm(tip - skin)) < DRAG_MIN_NEEDLE_MM:
            return traj
        return self.make_trajectory(traj.side, skin, tip, traj.approach, traj.needle_id)

    def bone_entry(
        self, skin: NDArray[np.float64], tip: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Where the line skin → tip first enters bone (segmentation if analysed, else HU)."""
        ctx = self.context()
        if ctx is not None:
            return bone_entry_lps(skin, tip, inside_from_context(ctx))
        if self.doc.volume is None:
            return np.asarray(tip, dtype=np.float64).copy()
        return bone_entry_lps(skin, tip, inside_from_hu(self.doc.volume))

    # --- context and evaluation --------------------------------------------------------------
    def level_result(self, level: str | None = None) -> Any:
        return self.doc.level_result(level or self.level)

    def context(self, level: str | None = None) -> Any:
        """The trajectory context of ``level`` (default: the active one), None while building."""
        res = self.level_result(level)
        vol = self.doc.volume
        if res is None or vol is None:
            return None
        key = self._key(vol, res)
        if key not in self._ready and key not in self._building:
            self._build(vol, res, key)
        if key in self._ready:
            return derive.level_context(vol, res)  # a cache hit: built in the background
        return None

    @staticmethod
    def _key(vol: Any, res: Any) -> str:
        return derive.volume_key(vol) + derive.anatomy_key(res.anatomy, res.morphometry)

    def _build(self, volume: Any, res: Any, key: str) -> None:
        self._building.add(key)

        def fn(progress: Progress) -> Any:
            progress.update(0.1, f"Preparing needle checks for {res.level}")
            return derive.level_context(volume, res)

        if self.synchronous:
            self._on_context_built(key, res.level, volume, fn(Progress()))
            return
        task = self._track(
            start_task(self.parent_widget, "Preparing needle checks…", fn, show_dialog=False)
        )
        task.succeeded.connect(lambda ctx: self._on_context_built(key, res.level, volume, ctx))
        task.failed.connect(lambda exc: self._on_context_failed(key, exc))

    def _on_context_built(self, key: str, level: str, volume: Any, _ctx: Any) -> None:
        self._building.discard(key)
        if volume is not self.doc.volume:
            return
        self._ready.add(key)
        log.info("trajectory context ready for %s", level)
        self.context_changed.emit(level)

    def _on_context_failed(self, key: str, exc: BaseException) -> None:
        self._building.discard(key)
        report_exception(self.parent_widget, exc, "prepare the needle checks")

    def check(self, plan: Plan | None = None) -> LevelCheck | None:
        """Metrics and findings of the active level with the needles of ``plan`` (default: the
        displayed one), from :func:`planner.session.derive.level_check`; None while building."""
        lp = self.level_plan(plan)
        case, vol = self.doc.case, self.doc.volume
        if lp is None or case is None or vol is None or self.context(lp.level) is None:
            return None
        if case.plan.active is not lp:
            levels = tuple(lp if x.level == lp.level else x for x in case.plan.levels)
            case = replace(case, plan=replace(case.plan, levels=levels))
        return derive.level_check(vol, case, lp.level)

    def _result(self, traj: Trajectory, plan: Plan | None) -> Any:
        base = plan if plan is not None else self.display_plan()
        if base is not None and base.trajectory(traj.side) is not traj:
            base = base.with_trajectory(traj)
        chk = self.check(base)
        return None if chk is None else next((r for t, r in chk.results if t == traj), None)

    def evaluate(self, traj: Trajectory, plan: Plan | None = None) -> Any:
        """Metrics and findings (:class:`~planner.trajectory.TrajectoryResult`) of ``traj``
        within ``plan`` (default: the displayed one) as the session checks it, or None."""
        return self._result(traj, plan if isinstance(plan, Plan) else None)

    def severity(self, traj: Trajectory, plan: Plan | None = None) -> str:
        res = self._result(traj, plan)
        return "unknown" if res is None else res.worst_severity

    # --- analysis ----------------------------------------------------------------------------
    def run_analysis(self, level: str | None = None, then: Any = None) -> Task | None:
        """Analyse the study off the GUI thread and put the result in the case.

        ``then(case)``, when given, receives the case with the new analysis and pushes it
        itself (reopening applies the plan file's names and confirmations in the same step).
        """
        vol = self.doc.volume
        if vol is None or (self.analysis_task is not None and self.analysis_task.running):
            return None
        level = level or self.level or "the spine"

        def fn(progress: Progress) -> Any:
            return run_level_analysis(vol, progress)

        task = self._track(start_task(self.parent_widget, f"Analysing {level}…", fn))
        task.succeeded.connect(lambda an: self._on_analysis_done(vol, an, then))
        task.failed.connect(
            lambda exc: report_exception(self.parent_widget, exc, f"analyse {level}")
        )
        task.finished.connect(lambda: self.analysis_running_changed.emit(False))
        self.analysis_task = task
        self.analysis_running_changed.emit(True)
        return task

    def _on_analysis_done(self, volume: Any, analysis: Any, then: Any = None) -> None:
        if volume is not self.doc.volume:
            return
        case = self.doc.with_analysis(analysis)
        if then is not None:  # the caller pushes (e.g. reopening: one undo step)
            then(case)
            return
        self.doc.push_case(case, "Analyse levels")

    # --- suggestions -------------------------------------------------------------------------
    def request_suggestion(self, side: str, needle_id: str, unipedicular: bool) -> Task | None:
        ctx = self.context()
        if ctx is None:
            return None
        from planner.trajectory import suggest

        t_click = time.perf_counter()

        def fn(progress: Progress) -> Any:
            progress.update(0.1, f"Searching the safest {side} path")
            t0 = time.perf_counter()
            out = suggest(ctx, side, needle_id, unipedicular)
            self.suggest_timing[side] = {"worker_s": time.perf_counter() - t0}
            return out

        if self.synchronous:
            self._on_suggested(side, ctx, fn(Progress()), t_click)
            return None
        task = self._track(start_task(self.parent_widget, f"Auto-suggest ({side})…", fn))
        task.succeeded.connect(lambda s: self._on_suggested(side, ctx, s, t_click))
        task.failed.connect(lambda exc: report_exception(self.parent_widget, exc, "suggest a path"))
        self.suggest_task = task
        return task

    def _on_suggested(self, side: str, ctx: Any, suggestion: Any, t_click: float) -> None:
        timing = self.suggest_timing.setdefault(side, {})
        timing["shown_s"] = time.perf_counter() - t_click
        log.info(
            "auto-suggest %s: %.2f s in the planner, %.2f s from the click to the result",
            side,
            timing.get("worker_s", float("nan")),
            timing["shown_s"],
        )
        if ctx is not self.context():
            return
        self.suggestions[side] = suggestion
        self.suggestions_changed.emit()

    def accept_suggestion(self, side: str) -> None:
        """Put the pending suggestion for ``side`` into the plan (one undo step)."""
        s = self.suggestions.pop(side, None)
        if s is None:
            return
        self.base_plan()  # asks the user to choose a level when none is active
        case, level = self.doc.edited_case(), self.level
        assert level is not None
        self.doc.push_case(
            edit.accept_suggestion(case, level, s.trajectory), f"Accept suggested {side} path"
        )
        self.suggestions_changed.emit()

    def dismiss_suggestion(self, side: str) -> None:
        if self.suggestions.pop(side, None) is not None:
            self.suggestions_changed.emit()

    # --- document reactions ------------------------------------------------------------------
    def _on_document_volume_changed(self, _volume: Any) -> None:
        self.advance_mm = {"left": None, "right": None}
        self._ready.clear()
        self.suggestions.clear()
        self.set_preview(None)
        self.context_changed.emit("")

    def _on_document_analysis_changed(self, _old: Any, _new: Any) -> None:
        self.context()  # start building the active level's context
        self.context_changed.emit(self.level or "")

    def _on_document_plan_changed(self, old: Any, new: Any) -> None:
        old_level = old.level if old is not None else None
        new_level = new.level if new is not None else None
        if old_level != new_level:  # suggestions were for another level's anatomy
            self.suggestions.clear()
            self.suggestions_changed.emit()
        if old_level != new_level or (old is None) != (new is None):
            self.context()
            self.context_changed.emit(self.level or "")

    def _on_document_case_changed(self, old: Any, new: Any) -> None:
        a = old.plan.active if old is not None else None
        b = new.plan.active if new is not None else None
        if (a.unipedicular if a else None) != (b.unipedicular if b else None):
            self.unipedicular_changed.emit(self.unipedicular_intent)
