"""Correction modes of the 2D views: mid-sagittal plane, body outline brush, pedicle axis.

The surgeon corrects the automatic anatomy (issue 11 item 8). Each mode is an action (menu
Analysis → Correct anatomy, toolbar, shortcut; Help → Shortcuts lists them); Esc, or choosing
a view tool (Navigate, Window/level, Distance, Angle), leaves the mode. In a mode the left
button belongs to the mode (Shift/Ctrl + left still pan / window); wheel, zoom and pan work.

- *Plane* (M, axial view): each level's mid-sagittal plane is a line across the body. Drag
  the centre handle to move the plane, an end handle to turn it; the heights are measured in
  the new plane from the CT (:func:`planner.session.corrections_geometry.plane_correction`).
- *Brush* (B adds, E erases; ``[`` / ``]`` radius): drag over the body outline in any 2D view;
  the level is the one whose body is nearest the press. Volume, depth fraction and cement
  follow (:mod:`planner.session.corrections_outline`).
- *Pedicle axis* (P): click the entry (posterior), then the exit (at the body) in any 2D view;
  the side is the side of the level's mid-sagittal plane the clicks lie on.

One gesture (a drag, or the two clicks) is one undo step: the document follows at most every
:data:`PUSH_MS` ms during a drag and on release, the pushes merging into one command.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QMouseEvent

from planner.constants import BRUSH_RADIUS_DEFAULT_MM, BRUSH_RADIUS_RANGE_MM
from ui.document.commands import merge_key_for
from ui.render.adapters import values_equal
from ui.render.correction_overlays import (
    BrushCursorAdapter,
    PedicleAxisAdapter,
    PlaneLine,
    PlaneLineAdapter,
)
from ui.shell.errors import error_display
from ui.tools import correction_gestures as G
from ui.tools.morphometry_tool import set_gesture

log = logging.getLogger(__name__)
PUSH_MS = 150
HIT_PX = 10.0
MODES = {
    "plane": ("Move / turn mid-sagittal &plane", "M", "plane",
              "Axial view: drag the line's centre to move a level's mid-sagittal plane, an end "
              "to turn it; heights are measured again in the new plane"),
    "brush_add": ("&Brush: add to body outline", "B", "brush",
                  "Drag over the body in any 2D view to add to its outline ([ and ] radius)"),
    "brush_erase": ("&Eraser: remove from body outline", "E", "eraser",
                    "Drag over the body in any 2D view to remove from its outline"),
    "pedicle": ("Set pedicle a&xis (two clicks)", "P", "pedicle",
                "Click the pedicle's entry (posterior), then its exit at the body"),
}
LEFT = Qt.MouseButton.LeftButton
MODS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier


class CorrectionModes(QObject):
    """The correction modes of a main window (see the module docstring).

    Signals: mode_changed(str) — the mode ("" = none); status(str) — for the status bar.
    """

    mode_changed = Signal(str)
    status = Signal(str)

    def __init__(self, win: Any) -> None:
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.views: dict[str, Any] = dict(win.slice_views)
        self.mode = ""
        self.radius_mm = BRUSH_RADIUS_DEFAULT_MM
        self.plane = PlaneLineAdapter()
        self.views["axial"].add_adapter(self.plane)
        self.brush = {n: BrushCursorAdapter() for n in self.views}
        self.axes = {n: PedicleAxisAdapter() for n in self.views}
        for n, v in self.views.items():
            v.add_adapter(self.brush[n])
            v.add_adapter(self.axes[n])
            v.vtk.installEventFilter(self)  # after the view's and the needle tool's: asked first
        self._shown: Any = None  # what refresh last drew
        self.gesture: Any = None  # the gesture in progress (correction_gestures)
        self.pending_entry: Any = None  # the pedicle axis' first click
        self._serial = 0
        self._pending: tuple[Any, str, int] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PUSH_MS)
        self._timer.timeout.connect(self.flush)
        self.actions = self._register_actions()
        self._enable_actions()
        self.doc.case_changed.connect(lambda *_: self.refresh())
        self.refresh()

    # --- actions ----------------------------------------------------------------------------
    def _register_actions(self) -> dict[str, Any]:
        from ui.shell.icons import icon

        reg = self.win.action_registry
        reg.menu("analysis/correct", "&Correct anatomy")
        group = QActionGroup(self)
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        acts: dict[str, Any] = {}
        for mode, (text, key, icon_name, tip) in MODES.items():
            a = reg.register(f"correct_{mode}", text, lambda m=mode: self.toggle(m), key,
                             "analysis/correct", tip=f"{tip} ({key})")
            a.setCheckable(True)
            a.setIcon(icon(icon_name))
            group.addAction(a)
            acts[mode] = a
        for aid, text, key, step in (("correct_radius_down", "Brush radius smaller", "[", -0.5),
                                     ("correct_radius_up", "Brush radius larger", "]", 0.5)):
            acts[aid] = reg.register(aid, text, lambda s=step: self.change_radius(s), key,
                                     "analysis/correct", separator=step < 0)
        acts["leave"] = reg.register("correct_leave", "Leave correction mode",
                                     lambda: self.set_mode(""), "Esc", "analysis/correct")
        tb = getattr(self.win, "toolbar", None)
        if tb is not None:
            tb.addSeparator()
            for mode in MODES:
                tb.addAction(acts[mode])
        for tool in ("navigate", "window_level", "distance", "angle"):
            a = reg.get(f"tool_{tool}")
            if a is not None:
                a.triggered.connect(lambda *_: self.set_mode(""))
        return acts

    def _enable_actions(self) -> None:
        acts = getattr(self, "actions", None)
        if not acts:
            return
        brush = self.mode.startswith("brush")
        acts["correct_radius_down"].setEnabled(brush)
        acts["correct_radius_up"].setEnabled(brush)
        acts["leave"].setEnabled(bool(self.mode))  # Esc is free for the needle tool otherwise
        for mode in MODES:
            acts[mode].setChecked(mode == self.mode)

    def toggle(self, mode: str) -> None:
        self.set_mode("" if self.mode == mode else mode)

    def set_mode(self, mode: str) -> None:
        """Enter ``mode`` (one of :data:`MODES`) or leave any mode (``""``)."""
        if mode and mode not in MODES:
            raise ValueError(f"correction mode must be one of {', '.join(MODES)}; got {mode!r}")
        if mode == self.mode:
            self._enable_actions()
            return
        self.flush()
        if self.gesture is not None:
            set_gesture(self.doc, False)
        self.gesture, self.pending_entry, self.mode = None, None, mode
        for a in self.brush.values():
            a.update(a.value, None)
        self._enable_actions()
        cursor = Qt.CursorShape.CrossCursor if mode else Qt.CursorShape.ArrowCursor
        for v in self.views.values():
            v.vtk.setCursor(cursor)
        self.refresh()
        self._render()  # the brush cursor left every view
        self.mode_changed.emit(mode)
        self.status.emit(MODES[mode][3] + " — Esc leaves" if mode else "Correction mode left")

    def change_radius(self, step_mm: float) -> None:
        lo, hi = BRUSH_RADIUS_RANGE_MM
        self.radius_mm = float(min(hi, max(lo, self.radius_mm + step_mm)))
        for a in self.brush.values():
            if a.value is not None:
                a.update(None, (a.value[0], self.radius_mm, a.value[2]))
        self._render()
        self.status.emit(f"Brush radius {self.radius_mm:.1f} mm")

    # --- drawing ----------------------------------------------------------------------------
    def refresh(self, case: Any = None) -> None:
        """Draw the planes (plane mode) and pedicle axes of ``case`` (default: the document's)."""
        case = self.doc.case if case is None else case
        pending = None if self.pending_entry is None else tuple(self.pending_entry)
        shown = (
            self.mode,
            pending,
            None if case is None else (case.analysis, case.plan.corrections),
        )
        if shown == self._shown:
            return  # nothing drawn changed (e.g. a needle moved): no redraw
        self._shown = shown
        lines: tuple[PlaneLine, ...] = ()
        if case is not None and self.mode == "plane":
            lines = G.plane_lines(case)
        dirty: set[str] = set()
        if not values_equal(self.plane.value, lines):
            self.plane.update(self.plane.value, lines)
            dirty.add("axial")
        axes = G.pedicle_axes(case) if case is not None else []
        if self.pending_entry is not None:
            axes.append((self.pending_entry, None))
        for name, a in self.axes.items():
            if not values_equal(a.value, tuple(axes)):
                a.update(a.value, tuple(axes))
                dirty.add(name)
        for name in dirty:  # only the views whose drawing changed render
            self.views[name].request_render()

    def _render(self) -> None:
        for v in self.views.values():
            v.request_render()

    # --- events -----------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if not self.mode or not isinstance(event, QMouseEvent):
            return False
        view = next((v for v in self.views.values() if v.vtk is obj), None)
        if view is None or self.doc.case is None or self.doc.volume is None:
            return False
        t = event.type()
        with error_display(view, "correct the anatomy"):
            if t == QEvent.Type.MouseButtonPress:
                return self._press(view, event)
            if t == QEvent.Type.MouseMove:
                return self._move(view, event)
            if t == QEvent.Type.MouseButtonRelease and self.gesture is not None:
                self.flush()
                self.gesture, self._shown = None, None
                set_gesture(self.doc, False)  # what waited for the drag's end follows now
                self.refresh()  # a refused plane goes back to its place
                return True
        return False

    def _press(self, view: Any, ev: QMouseEvent) -> bool:
        if ev.button() != LEFT or ev.modifiers() & MODS:
            return False
        view.state.set_active_view(view.name)
        p = np.asarray(view.lps_at(ev.position()), dtype=float)
        self._serial += 1
        if self.mode == "plane":
            hit = self.hit_plane(view, ev.position())
            if hit is None:
                return view.name == "axial"  # a click beside the line does nothing
            self.gesture = G.PlaneDrag(
                self.doc.case, self.doc.volume, hit[0], hit[1], self._key("plane", hit[0])
            )
            self.status.emit(f"{hit[0]}: {'moving' if hit[1] == 'centre' else 'turning'} "
                             "the mid-sagittal plane")
            set_gesture(self.doc, True)
            return True
        if self.mode.startswith("brush"):
            self.gesture = G.BrushStroke.start(
                self.doc.case, p, view.pipeline.normal, self.radius_mm,
                self.mode == "brush_add", self.active_level(),
            )
            if self.gesture is None:
                self.status.emit("No analysed body here: the brush corrects a level's outline")
                return True
            self.gesture.key = self._key("outline", self.gesture.level)
            set_gesture(self.doc, True)
            self._apply(self.gesture.case_at(p))
            return True
        if self.mode == "pedicle":
            return self._pedicle_click(p)
        return False

    def _move(self, view: Any, ev: QMouseEvent) -> bool:
        p = np.asarray(view.lps_at(ev.position()), dtype=float)
        if self.mode.startswith("brush"):
            for n, a in self.brush.items():
                a.update(a.value, (p, self.radius_mm, self.mode == "brush_add") if n == view.name
                         else None)
            view.request_render()
        g = self.gesture
        if g is None:
            return False
        if isinstance(g, G.PlaneDrag):
            line = g.preview(p)  # the line follows every move; the heights every PUSH_MS
            if line is not None:
                self.plane.update(self.plane.value, (line,))
                view.request_render()
            if not self._timer.isActive():
                self._timer.start()
        elif isinstance(g, G.BrushStroke):
            self._apply(g.case_at(p))
        return True

    def _pedicle_click(self, p: Any) -> bool:
        if self.pending_entry is None:
            self.pending_entry = p
            self.refresh()
            self.status.emit("Pedicle axis: now click its exit at the body (Esc cancels)")
            return True
        entry, self.pending_entry = self.pending_entry, None
        try:
            level, case, side = G.pedicle_case(
                self.doc.case, entry, p, self.active_level(), self._service_context
            )
        except ValueError as exc:
            self.refresh()
            self.status.emit(str(exc))
            return True
        self.doc.push_case(case, f"Set {level} {side} pedicle axis")
        self.status.emit(f"{level}: {side} pedicle axis set; checks and suggestions use it")
        return True

    def _service_context(self, level: str) -> Any:
        service = getattr(getattr(self.win, "trajectory", None), "service", None)
        return None if service is None else service.context(level)

    # --- helpers ----------------------------------------------------------------------------
    def active_level(self) -> str | None:
        return self.doc.active_level

    def hit_plane(self, view: Any, pos: QPointF) -> tuple[str, str] | None:
        """The plane handle (level, handle) under widget position ``pos`` in the axial view."""
        if view.name != "axial":
            return None
        best, best_d = None, HIT_PX
        for level, handle, lps in self.plane.visible:
            q = view.widget_point(lps)
            d = float(np.hypot(q.x() - pos.x(), q.y() - pos.y()))
            if d <= best_d:
                best, best_d = (level, handle), d
        return best

    def _key(self, what: str, level: str) -> int:
        return merge_key_for(f"correction {what} {level} {self._serial}")

    def _apply(self, result: Any) -> None:
        """A gesture's (case, undo text), or a message: pushed at most every PUSH_MS."""
        if result is None:
            return
        if isinstance(result, str):
            self.status.emit(result)
            return
        case, text = result
        self._pending = (case, text, self.gesture.key if self.gesture is not None else -1)
        self.refresh(case)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Push the pending corrected case (one merged undo step per gesture)."""
        self._timer.stop()
        g = self.gesture
        if isinstance(g, G.PlaneDrag) and g.dirty:
            self._apply(g.case_now())  # measured in the plane from the CT (tens of ms)
            self._timer.stop()
        if self._pending is not None:
            case, text, merge = self._pending
            self._pending = None
            self.doc.push_case(case, text, merge)
            if g is not None:
                self.status.emit(G.summary(case, g.level))


def install_corrections(win: Any) -> CorrectionModes:
    """Add the correction modes to a main window (after its views, toolbar and needle tool)."""
    modes = CorrectionModes(win)
    modes.status.connect(lambda text: win.statusBar().showMessage(text, 8000))
    return modes
