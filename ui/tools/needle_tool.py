"""Placing and editing needles with the mouse and keyboard in the workstation's views.

Gestures (one gesture = one undo step, DESIGN.md §3):

- *Place*: after "Place" in the trajectory panel (or ``arm(side)``), click the **target** (tip)
  in any 2D view, then the **skin entry**; the second click pushes one command. Esc cancels.
- *Drag*: press on an end of a needle (skin entry or target handle) in any view, 2D or 3D,
  and drag; the views, metrics and fluoroscopy follow a preview; the release pushes one
  command. In a 2D view the point moves parallel to the slice (its depth is kept); in 3D it
  moves parallel to the screen at the handle's depth.
- *Nudge*: the last grabbed end moves 0.5 mm per arrow key (Shift: 2 mm) along the view's
  screen axes; consecutive nudges of the same end merge into one undo step.

The event filters are installed after the views' own, so Qt calls them first; events that do
not concern a needle pass through to the view (navigation, measurement, camera).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent

from planner.constants import CLICK_MIN_NEEDLE_MM, DRAG_MIN_NEEDLE_MM
from ui.document.commands import merge_key_for
from ui.document.trajectory_service import TrajectoryService
from ui.shell.errors import error_display
from ui.views.needle_overlays import NeedleOverlays

log = logging.getLogger(__name__)
HIT_PX = 10.0
NUDGE_MM = 0.5
NUDGE_FAST_MM = 2.0
ARROWS = {
    Qt.Key.Key_Left: (-1, 0),
    Qt.Key.Key_Right: (1, 0),
    Qt.Key.Key_Up: (0, 1),
    Qt.Key.Key_Down: (0, -1),
}


class NeedleTool(QObject):
    """Mouse and keyboard gestures on needles (see the module docstring).

    Signals: status(str) — a short instruction for the status bar; armed_changed(side).
    """

    status = Signal(str)
    armed_changed = Signal(str)

    def __init__(self, window: Any, service: TrajectoryService, overlays: NeedleOverlays) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        self.doc = service.doc
        self.overlays = overlays
        self.armed: str = ""
        self.arm_approach = "transpedicular"
        self.arm_needle = "11G"
        self.pending_target: NDArray[np.float64] | None = None
        self._drag: dict[str, Any] | None = None
        self._widgets: dict[QObject, Any] = {}
        for view in window.views().values():
            view.vtk.installEventFilter(self)
            self._widgets[view.vtk] = view

    # --- public --------------------------------------------------------------------------------
    def arm(self, side: str, approach: str = "transpedicular", needle_id: str = "11G") -> None:
        """Next two clicks in a 2D view place the target, then the skin entry, for ``side``."""
        self.armed, self.arm_approach, self.arm_needle = side, approach, needle_id
        self.pending_target = None
        for view in self._widgets.values():
            if view.name != "3d":
                view.vtk.setCursor(Qt.CursorShape.CrossCursor)
        self.status.emit(
            f"Place the {side} needle: click the TARGET (tip) in a 2D view (Esc cancels)"
        )
        self.armed_changed.emit(side)

    def disarm(self) -> None:
        if self.armed:
            self.armed = ""
            self.pending_target = None
            self.service.set_preview(None)
            for view in self._widgets.values():
                view.vtk.setCursor(Qt.CursorShape.ArrowCursor)
            self.armed_changed.emit("")

    def select(self, side: str, handle: str) -> None:
        self.overlays.selected = (side, handle)
        self.overlays.refresh()

    def deselect(self) -> None:
        if self.overlays.selected is not None:
            self.overlays.selected = None
            self.overlays.refresh()

    def nudge(self, view_name: str, dx: float, dy: float, dn: float = 0.0) -> None:
        """Move the selected end by (dx, dy) mm along the view's screen right/up (dn: normal)."""
        sel = self.overlays.selected
        plan = self.doc.plan
        if sel is None or plan is None or plan.trajectory(sel[0]) is None:  # type: ignore[arg-type]
            return
        side, handle = sel
        right, up, normal = self._screen_axes(view_name)
        traj = plan.trajectory(side)  # type: ignore[arg-type]
        old = np.asarray(traj.skin_entry_lps if handle == "skin" else traj.target_lps)
        new_traj = self.service.moved(traj, handle, old + dx * right + dy * up + dn * normal)
        if new_traj is traj:
            return
        self.doc.push_plan(
            plan.with_trajectory(new_traj),
            f"Nudge {side} {_name(handle)}",
            merge_key_for(f"nudge {side} {handle}"),
        )

    def close(self) -> None:
        for w in list(self._widgets):
            w.removeEventFilter(self)
        self._widgets.clear()

    # --- events --------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        view = self._widgets.get(obj)
        if view is None or self.doc.volume is None:
            return False
        t = event.type()
        with error_display(self.window, "edit the needle"):
            if t == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
                if self._wants_key(event):
                    event.accept()
                    return True
            elif t == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                return self._key(view, event)
            elif t == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
                return self._press(view, event)
            elif t == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                return self._move(view, event)
            elif t == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
                return self._release(view, event)
        return False

    def _wants_key(self, ev: QKeyEvent) -> bool:
        if ev.key() == Qt.Key.Key_Escape:
            return bool(self.armed or self._drag or self.overlays.selected)
        return (
            ev.key() in ARROWS
            and self.overlays.selected is not None
            and self.doc.plan is not None
            and not (
                ev.modifiers()
                & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
            )
        )

    def _key(self, view: Any, ev: QKeyEvent) -> bool:
        if ev.key() == Qt.Key.Key_Escape and (self.armed or self._drag):
            self._drag = None
            self.service.cancel_drag()
            self.disarm()
            self.status.emit("Cancelled")
            return True
        if ev.key() == Qt.Key.Key_Escape and self.overlays.selected:
            self.deselect()
            return True
        if not self._wants_key(ev):
            return False
        step = NUDGE_FAST_MM if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else NUDGE_MM
        dx, dy = ARROWS[Qt.Key(ev.key())]
        self.nudge(view.name, dx * step, dy * step)
        return True

    def _press(self, view: Any, ev: QMouseEvent) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton or ev.modifiers() & (
            Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
        ):
            return False
        pos = ev.position()
        if self.armed and view.name != "3d":
            self.window.state.set_active_view(view.name)
            view.vtk.setFocus()
            return self._place_click(view, view.lps_at(pos))
        hit = self._hit(view, pos)
        if hit is None:
            self.deselect()  # a click elsewhere ends nudging (arrows scroll slices again)
            return False
        side, handle = hit
        plan = self.doc.plan
        self.window.state.set_active_view(view.name)
        view.vtk.setFocus()
        traj = plan.trajectory(side)
        point = np.asarray(traj.skin_entry_lps if handle == "skin" else traj.target_lps)
        if not self.service.begin_drag(side, handle):
            return False
        self._drag = {
            "view": view,
            "side": side,
            "handle": handle,
            "point": point,
            "depth": self._display_depth(view, point),
        }
        self.select(side, handle)
        return True

    def _place_click(self, view: Any, p: NDArray[np.float64]) -> bool:
        if self.pending_target is None:
            self.pending_target = p
            self.status.emit(f"Target set; now click the {self.armed} SKIN ENTRY (Esc cancels)")
            return True
        if float(np.linalg.norm(p - self.pending_target)) < CLICK_MIN_NEEDLE_MM:
            self.status.emit(
                f"The skin entry must be at least {CLICK_MIN_NEEDLE_MM:g} mm from the target; "
                "click again"
            )
            return True
        side = self.armed
        plan = self.service.base_plan()
        traj = self.service.make_trajectory(
            side, p, self.pending_target, self.arm_approach, self.arm_needle
        )
        self.disarm()
        self.doc.push_plan(plan.with_trajectory(traj), f"Place {side} needle")
        self.select(side, "skin")
        self.status.emit(
            f"{side.capitalize()} needle placed; drag its ends, or nudge the selected end "
            "with the arrow keys (Esc: done)"
        )
        return True

    def _move(self, view: Any, ev: QMouseEvent) -> bool:
        pos = ev.position()
        if self._drag is not None:
            d = self._drag
            self.service.drag_to(self._dragged_point(view, pos, d["point"], d["depth"]))
            return True
        if self.armed and self.pending_target is not None and view.name != "3d":
            p = view.lps_at(pos)
            if float(np.linalg.norm(p - self.pending_target)) >= DRAG_MIN_NEEDLE_MM:
                traj = self.service.make_trajectory(
                    self.armed, p, self.pending_target, self.arm_approach, self.arm_needle
                )
                self.service.set_preview(self.service.base_plan().with_trajectory(traj))
        return False

    def _release(self, view: Any, ev: QMouseEvent) -> bool:
        if self._drag is None or ev.button() != Qt.MouseButton.LeftButton:
            return False
        self._drag = None
        self.service.end_drag()
        return True

    # --- geometry ------------------------------------------------------------------------------
    def _handles(self) -> list[tuple[str, str, NDArray[np.float64]]]:
        plan = self.doc.plan
        if plan is None:
            return []
        out = []
        for t in plan.trajectories:
            out.append((t.side, "target", np.asarray(t.target_lps)))
            out.append((t.side, "skin", np.asarray(t.skin_entry_lps)))
        return out

    def _hit(self, view: Any, pos: QPointF) -> tuple[str, str] | None:
        best, best_d = None, HIT_PX
        for side, handle, p in self._handles():
            q = self._widget_point(view, p)
            dist = float(np.hypot(q.x() - pos.x(), q.y() - pos.y()))
            if dist <= best_d:
                best, best_d = (side, handle), dist
        return best

    def _renderer(self, view: Any) -> Any:
        return view.pipeline.renderer

    def _widget_point(self, view: Any, p: NDArray[np.float64]) -> QPointF:
        if view.name != "3d":
            return view.widget_point(p)
        r = self._renderer(view)
        r.SetWorldPoint(float(p[0]), float(p[1]), float(p[2]), 1.0)
        r.WorldToDisplay()
        x, y, _z = r.GetDisplayPoint()
        ratio = view.vtk.devicePixelRatioF()
        h = view.vtk.GetRenderWindow().GetSize()[1]
        return QPointF(x / ratio, (h - 1 - y) / ratio)

    def _display_depth(self, view: Any, p: NDArray[np.float64]) -> float:
        if view.name != "3d":
            return 0.0
        r = self._renderer(view)
        r.SetWorldPoint(float(p[0]), float(p[1]), float(p[2]), 1.0)
        r.WorldToDisplay()
        return float(r.GetDisplayPoint()[2])

    def _dragged_point(
        self, view: Any, pos: QPointF, start: NDArray[np.float64], depth: float
    ) -> NDArray[np.float64]:
        if view.name != "3d":
            q = view.lps_at(pos)
            n = view.pipeline.normal
            return q + n * float((start - q) @ n)
        r = self._renderer(view)
        ratio = view.vtk.devicePixelRatioF()
        h = view.vtk.GetRenderWindow().GetSize()[1]
        r.SetDisplayPoint(pos.x() * ratio, h - pos.y() * ratio - 1, depth)
        r.DisplayToWorld()
        w = np.asarray(r.GetWorldPoint(), dtype=np.float64)
        return w[:3] / w[3] if w[3] != 0 else w[:3]

    def _screen_axes(
        self, view_name: str
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        from ui.render.orientation import screen_axes

        view = self.window.views()[view_name]
        cam = self._renderer(view).GetActiveCamera()
        right, up = screen_axes(cam.GetDirectionOfProjection(), cam.GetViewUp())
        return right, up, np.asarray(cam.GetDirectionOfProjection())


def _name(handle: str) -> str:
    return "skin entry" if handle == "skin" else "target"
