"""Trajectory planning state that is derived or transient, shared by the needle tools and panels.

The document owns the plan; this object owns what is *computed from* it or *about to become*
it, so nothing keeps a drifting copy of the plan:

- the per-level :class:`~planner.trajectory.TrajectoryContext` (distance fields, built off the
  GUI thread once per analysed level, ~0.3 s);
- the drag *preview*: a plan shown while a gesture is in progress (``display_plan()`` is the
  preview when there is one, else ``doc.plan``); the gesture pushes one command on release;
- cached evaluations (metrics + findings, < 10 ms each) keyed by the immutable trajectory;
- auto-suggestions waiting to be accepted (one undo step) and the side the user works on.

All points are patient LPS millimetres.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from planner.plan.model import LEVEL_NAMES, Plan, SeriesBinding, Trajectory
from planner.progress import Progress
from planner.trajectory.entry import bone_entry_lps, inside_from_context, inside_from_hu
from ui.document.document import Document
from ui.shell.errors import report_exception
from ui.document.level_analysis import run_level_analysis
from ui.document.workers import Task, start_task

log = logging.getLogger(__name__)


class TrajectoryService(QObject):
    """See the module docstring.

    Signals
    -------
    context_changed(level)
        A trajectory context became available (or was dropped: level '').
    preview_changed(plan)
        The gesture preview changed (None: no gesture in progress).
    selected_side_changed(side)
    suggestions_changed()
    analysis_running_changed(bool)
    """

    context_changed = Signal(str)
    preview_changed = Signal(object)
    selected_side_changed = Signal(str)
    suggestions_changed = Signal()
    analysis_running_changed = Signal(bool)
    advance_changed = Signal()
    unipedicular_changed = Signal(bool)

    def __init__(self, doc: Document, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.doc = doc
        self.parent_widget = parent_widget
        self._contexts: dict[int, Any] = {}  # id(anatomy) -> TrajectoryContext
        self._anatomy_refs: dict[int, Any] = {}
        self._building: set[int] = set()
        self._evals: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._preview: Plan | None = None
        self.selected_side = "left"
        self.suggestions: dict[str, Any] = {}
        self.pending_level = "L1"
        self.analysis_task: Task | None = None
        self.suggest_task: Task | None = None
        #: per side: seconds in ``suggest`` on the worker and from the click to the result
        self.suggest_timing: dict[str, dict[str, float]] = {}
        self.synchronous = False  # tests: build contexts on the calling thread
        self._tasks: list[Task] = []
        #: "advanced" needle depth (mm from the skin entry) per side, set by the needle views'
        #: depth slider; a view setting (None: the needle is shown at its planned tip)
        self.advance_mm: dict[str, float | None] = {"left": None, "right": None}
        #: the user's intent (panel checkbox): one needle to the midline. A session setting, not
        #: plan data: a plan with one needle is not unipedicular while the second is to come.
        self.unipedicular_intent = False
        self._drag: tuple[Plan, Trajectory, str] | None = None
        doc.volume_changed.connect(self._on_document_volume_changed)
        doc.analysis_changed.connect(self._on_document_analysis_changed)
        doc.plan_changed.connect(self._on_document_plan_changed)

    # --- plan --------------------------------------------------------------------------------
    @property
    def level(self) -> str:
        plan = self.doc.plan
        if plan is not None:
            return str(plan.level)
        an = self.doc.analysis
        if an is not None and an.levels and self.pending_level not in an.names():
            return str(an.names()[0])
        return self.pending_level

    def display_plan(self) -> Plan | None:
        return self._preview if self._preview is not None else self.doc.plan

    @property
    def preview(self) -> Plan | None:
        return self._preview

    def set_preview(self, plan: Plan | None) -> None:
        if plan is self._preview:
            return
        self._preview = plan
        self.preview_changed.emit(plan)

    def base_plan(self) -> Plan:
        """The current plan, or a new empty one bound to the open series."""
        if self.doc.plan is not None:
            return self.doc.plan
        vol = self.doc.volume
        if vol is None:
            from planner.errors import InputError

            raise InputError("open a study before placing a needle")
        return Plan(
            series=SeriesBinding(vol.identity.series_uid, vol.grid.fingerprint()), level=self.level
        )

    def set_level(self, level: str) -> None:
        if level not in LEVEL_NAMES:
            raise ValueError(f"unknown level {level!r}")
        self.pending_level = level
        plan = self.doc.plan
        if plan is not None and plan.level != level:
            self.doc.push_plan(replace(plan, level=level), f"Plan level {level}")
        else:
            self.context_changed.emit(level)

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

    def set_unipedicular(self, on: bool) -> None:
        if bool(on) != self.unipedicular_intent:
            self.unipedicular_intent = bool(on)
            self.unipedicular_changed.emit(self.unipedicular_intent)

    def is_unipedicular(self, plan: Plan | None = None) -> bool:
        """Evaluate ``plan`` (default: the displayed one) as unipedicular? The user's intent,
        and never with two needles."""
        plan = plan if plan is not None else self.display_plan()
        return self.unipedicular_intent and (plan is None or len(plan.trajectories) <= 1)

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
        if float(np.linalg.norm(tip - skin)) < 2.0:
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
        """The trajectory context of ``level`` (default: the plan's), or None while building."""
        res = self.level_result(level)
        if res is None or self.doc.volume is None:
            return None
        key = id(res.anatomy)
        ctx = self._contexts.get(key)
        if ctx is None and key not in self._building:
            self._build(res)
        return self._contexts.get(key)

    def _build(self, res: Any) -> None:
        from planner.trajectory import TrajectoryContext

        key = id(res.anatomy)
        volume = self.doc.volume
        self._building.add(key)
        self._anatomy_refs[key] = res.anatomy

        def fn(progress: Progress) -> Any:
            progress.update(0.1, f"Preparing needle checks for {res.level}")
            return TrajectoryContext.build(volume, res.anatomy, res.morphometry)

        if self.synchronous:
            self._on_context_built(key, res.level, fn(Progress()))
            return
        task = self._track(
            start_task(self.parent_widget, "Preparing needle checks…", fn, show_dialog=False)
        )
        task.succeeded.connect(lambda ctx: self._on_context_built(key, res.level, ctx))
        task.failed.connect(lambda exc: self._on_context_failed(key, exc))

    def _on_context_built(self, key: int, level: str, ctx: Any) -> None:
        self._building.discard(key)
        if ctx.volume is not self.doc.volume:
            return
        self._contexts[key] = ctx
        log.info("trajectory context ready for %s", level)
        self.context_changed.emit(level)

    def _on_context_failed(self, key: int, exc: BaseException) -> None:
        self._building.discard(key)
        report_exception(self.parent_widget, exc, "prepare the needle checks")

    def evaluate(self, traj: Trajectory, unipedicular: bool = False) -> Any:
        """Metrics and findings (:class:`~planner.trajectory.TrajectoryResult`) or None."""
        ctx = self.context()
        if ctx is None:
            return None
        key = (traj, id(ctx), unipedicular)
        hit = self._evals.get(key)
        if hit is not None:
            self._evals.move_to_end(key)
            return hit
        from planner.trajectory import evaluate

        result = evaluate(ctx, traj, traj.needle_id, unipedicular=unipedicular)
        self._evals[key] = result
        while len(self._evals) > 64:
            self._evals.popitem(last=False)
        return result

    def severity(self, traj: Trajectory, plan: Plan | None = None) -> str:
        res = self.evaluate(traj, self.is_unipedicular(plan))
        return "unknown" if res is None else res.worst_severity

    # --- analysis ----------------------------------------------------------------------------
    def run_analysis(self, level: str | None = None) -> Task | None:
        """Analyse ``level`` off the GUI thread and put the result in the document."""
        vol = self.doc.volume
        if vol is None or (self.analysis_task is not None and self.analysis_task.running):
            return None
        level = level or self.level

        def fn(progress: Progress) -> Any:
            return run_level_analysis(vol, progress)

        task = self._track(start_task(self.parent_widget, f"Analysing {level}…", fn))
        task.succeeded.connect(lambda an: self._on_analysis_done(vol, an))
        task.failed.connect(
            lambda exc: report_exception(self.parent_widget, exc, f"analyse {level}")
        )
        task.finished.connect(lambda: self.analysis_running_changed.emit(False))
        self.analysis_task = task
        self.analysis_running_changed.emit(True)
        return task

    def _on_analysis_done(self, volume: Any, analysis: Any) -> None:
        if volume is not self.doc.volume:
            return
        from ui.panels.common import push_analysis

        push_analysis(self.doc, analysis, "Analyse levels")

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
        plan = self.base_plan()
        self.doc.push_plan(plan.with_trajectory(s.trajectory), f"Accept suggested {side} path")
        self.suggestions_changed.emit()

    def dismiss_suggestion(self, side: str) -> None:
        if self.suggestions.pop(side, None) is not None:
            self.suggestions_changed.emit()

    # --- document reactions ------------------------------------------------------------------
    def _on_document_volume_changed(self, _volume: Any) -> None:
        self.advance_mm = {"left": None, "right": None}
        self._contexts.clear()
        self._anatomy_refs.clear()
        self._evals.clear()
        self.suggestions.clear()
        self.set_preview(None)
        self.context_changed.emit("")

    def _on_document_analysis_changed(self, _old: Any, _new: Any) -> None:
        alive = set()
        if self.doc.analysis is not None:
            alive = {id(r.anatomy) for r in self.doc.analysis.levels}
        for key in list(self._contexts):
            if key not in alive:
                self._contexts.pop(key)
                self._anatomy_refs.pop(key, None)
        self.context()  # start building the plan level's context
        self.context_changed.emit(self.level)

    def _on_document_plan_changed(self, old: Any, new: Any) -> None:
        old_level = old.level if old is not None else self.pending_level
        new_level = new.level if new is not None else self.level
        if old_level != new_level:  # suggestions were for another level's anatomy
            self.suggestions.clear()
            self.suggestions_changed.emit()
        if old_level != new_level or (old is None) != (new is None):
            self.context()
            self.context_changed.emit(self.level)
