"""Needle views: two oblique planes containing the needle and a needle's-eye view across it,
with a depth slider that advances the needle along its planned path.

The depth (mm from the skin entry) is a view setting, not plan data: moving the slider
"advances" the drawn needle in these three views and moves the needle's-eye plane to the
tip, so a resident can push the needle in and watch the anatomy it meets. The slider's end is
the planned target (plus 10 mm to see what lies beyond it). The wheel over a view moves the
depth by 1 mm (Shift: 5 mm).

Either end of the needle can be dragged in these views (where it lies on the view's plane):
the three planes stay frozen as they were at the press, the end moves on that plane under the
mouse, the other views follow the preview, and the release pushes one undo step (Esc cancels).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser

from planner.plan.catalog import get_needle
from ui.document.trajectory_service import TrajectoryService
from ui.render.adapters import ViewContext
from ui.render.image import image_from_array
from ui.render.needle_actors import NeedleAdapter, NeedleDisplay
from ui.render.oblique import ObliquePipeline, needle_planes
from ui.tools.needle_tool import HIT_PX
from ui.views.enlarge import Enlarger
from ui.views.vtk_widget import create_vtk_widget

log = logging.getLogger(__name__)
STEPS_PER_MM = 2
BEYOND_TARGET_MM = 10.0
#: an end can be grabbed in a view when it lies this close to the view's plane
ON_PLANE_MM = 1.0
TITLES = {
    "along_cc": "Needle · craniocaudal",
    "along_tr": "Needle · transverse",
    "eye": "Needle's eye",
}


class ObliqueView(QFrame):
    """A VTK widget showing one :class:`ObliquePipeline` with one needle adapter."""

    def __init__(self, kind: str, image_property: Any, panel: NeedleViewsPanel) -> None:
        super().__init__(panel)
        self.kind = kind
        self.panel = panel
        self.vtk = create_vtk_widget(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(self.vtk)
        self.pipeline = ObliquePipeline(image_property)
        self.pipeline.corners.set_box(2)  # the title (view, needle) on a dark box
        rw = self.vtk.GetRenderWindow()
        rw.SetNumberOfLayers(2)
        rw.AddRenderer(self.pipeline.renderer)
        rw.AddRenderer(self.pipeline.overlay)
        rw.GetInteractor().SetInteractorStyle(vtkInteractorStyleUser())
        self.context = ViewContext(
            f"needle_{kind}", self.pipeline.overlay, self.request_render, self.pipeline.plane
        )
        self.adapter = NeedleAdapter()
        self.adapter.attach(self.context)
        self.vtk.installEventFilter(self)
        self.closed = False
        self.setMinimumSize(130, 150)

    def request_render(self) -> None:
        if not self.closed and self.isVisible():
            self.vtk.GetRenderWindow().Render()

    def render_window(self) -> Any:
        return self.vtk.GetRenderWindow()

    def display_point(self, pos: QPointF) -> tuple[float, float]:
        ratio = self.vtk.devicePixelRatioF()
        h = self.vtk.GetRenderWindow().GetSize()[1]
        return pos.x() * ratio, h - 1 - pos.y() * ratio

    def widget_point(self, lps: Any) -> QPointF:
        ratio = self.vtk.devicePixelRatioF()
        h = self.vtk.GetRenderWindow().GetSize()[1]
        x, y = self.pipeline.lps_to_display(lps)
        return QPointF(x / ratio, (h - 1 - y) / ratio)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if t in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonRelease,
        ):
            self.panel.mouse(self, t, event)  # type: ignore[arg-type]
            return True
        if t == QEvent.Type.MouseButtonDblClick:  # this view alone, in a taller panel, or back
            self.panel.enlarger.toggle(self)
            return True
        if t == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:  # type: ignore[attr-defined]
            self.panel.cancel_drag()
            return True
        if t == QEvent.Type.Wheel:
            notches = event.angleDelta().y() / 120.0  # type: ignore[attr-defined]
            fast = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
            self.panel.step_depth(notches * (5.0 if fast else 1.0))
            return True
        if t == QEvent.Type.Resize:
            self.panel.schedule()
            return False
        # no camera interaction: these views follow the needle
        return t in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonDblClick,
            QEvent.Type.KeyPress,
            QEvent.Type.KeyRelease,
        )

    def close_view(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.adapter.remove()
        self.vtk.removeEventFilter(self)
        self.pipeline.set_volume(None, None)
        self.vtk.Finalize()


class NeedleViewsPanel(QWidget):
    def __init__(
        self, service: TrajectoryService, image_property: Any, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.doc = service.doc
        self.views = {
            k: ObliqueView(k, image_property, self) for k in ("along_cc", "along_tr", "eye")
        }
        self.side = QComboBox()
        self.side.addItems(["left", "right"])
        self.side.setToolTip("Which needle these views follow")
        self.side.activated.connect(lambda *_: service.set_selected_side(self.side.currentText()))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Advance the needle along its planned path (mm from the skin entry)")
        self.slider.valueChanged.connect(lambda _v: self._on_slider_changed())
        self.slider.setMinimumWidth(100)
        self.depth_label = QLabel("—")
        self.depth_label.setWordWrap(True)
        self.enlarger = Enlarger(self, list(self.views.values()))
        grid = QHBoxLayout()  # a hidden view gives its width to the others (enlarge)
        for v in self.views.values():
            grid.addWidget(v, 1)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Needle"))
        bar.addWidget(self.side)
        bar.addWidget(QLabel("Depth"))
        bar.addWidget(self.slider, 2)
        bar.addWidget(self.depth_label, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(grid, 1)
        lay.addLayout(bar)
        self._image: Any = None
        self._traj: Any = None
        self.depth_mm: float | None = None  # None: follow the planned tip
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self._tick_due = False
        self._closed = False
        #: plane (focal, normal, up, half height) each view shows; frozen during a drag here
        self._planes: dict[str, tuple[Any, Any, Any, float]] = {}
        self._frozen: dict[str, tuple[Any, Any, Any, float]] | None = None
        self._drag_view: ObliqueView | None = None
        self.doc.volume_changed.connect(self._on_document_volume_changed)
        self.doc.plan_changed.connect(lambda _o, _n: self.schedule())
        service.preview_changed.connect(lambda _p: self.schedule())
        service.preview_tick.connect(lambda _p: self._on_preview_tick())
        service.selected_side_changed.connect(lambda _s: self._on_side_changed())
        service.context_changed.connect(lambda _l: self.schedule())

    # --- state ---------------------------------------------------------------------------------
    def trajectory(self) -> Any:
        plan = self.service.display_plan()
        if plan is None:
            return None
        return plan.trajectory(self.service.selected_side) or (
            plan.trajectories[0] if plan.trajectories else None
        )

    def set_depth(self, depth_mm: float | None) -> None:
        """Advance the needle to ``depth_mm`` from the skin entry (None: the planned tip)."""
        self.depth_mm = depth_mm
        self.schedule()

    def step_depth(self, delta_mm: float) -> None:
        traj = self.trajectory()
        if traj is None:
            return
        length = float(np.linalg.norm(np.subtract(traj.target_lps, traj.skin_entry_lps)))
        cur = length if self.depth_mm is None else self.depth_mm
        self.set_depth(float(np.clip(cur + delta_mm, 0.0, length + BEYOND_TARGET_MM)))

    def schedule(self) -> None:
        """Redraw soon: at once normally and while the drag is in these views; during a drag
        elsewhere, on the service's ``preview_tick``."""
        if self._closed:
            return
        if self.service.preview is None or self._drag_view is not None:
            self._timer.start()
        else:
            self._tick_due = True

    def _on_preview_tick(self) -> None:
        if self._tick_due and not self._closed:
            self._tick_due = False
            self.refresh()

    def _on_side_changed(self) -> None:
        self.side.setCurrentText(self.service.selected_side)
        for side in ("left", "right"):
            self.service.set_advance(side, None)
        self.depth_mm = None
        self.schedule()

    def _on_slider_changed(self) -> None:
        if self.slider.signalsBlocked():
            return
        self.depth_mm = self.slider.value() / STEPS_PER_MM
        self.schedule()

    def _on_document_volume_changed(self, volume: Any) -> None:
        self.depth_mm = None
        self._image = image_from_array(volume.hu, volume.spacing_mm) if volume is not None else None
        for v in self.views.values():
            v.pipeline.set_volume(self._image, volume.grid if volume is not None else None)
        self.schedule()

    # --- dragging an end ------------------------------------------------------------------------
    def mouse(self, view: ObliqueView, kind: QEvent.Type, ev: Any) -> None:
        if kind == QEvent.Type.MouseButtonPress:
            if ev.button() == Qt.MouseButton.LeftButton and self._drag_view is None:
                self._press(view, ev.position())
        elif kind == QEvent.Type.MouseMove and self._drag_view is None:
            traj = self.trajectory() if self.service.preview is None else None
            grab = traj is not None and self._hit(view, traj, ev.position()) is not None
            view.vtk.setCursor(
                Qt.CursorShape.OpenHandCursor if grab else Qt.CursorShape.ArrowCursor
            )
        elif self._drag_view is view and self._frozen is not None:
            if kind == QEvent.Type.MouseMove:
                focal, normal = self._frozen[view.kind][:2]
                p = view.pipeline.display_to_lps(
                    *view.display_point(ev.position()), (focal, normal)
                )
                self.service.drag_to(p)
            elif ev.button() == Qt.MouseButton.LeftButton:
                self._drag_view, self._frozen = None, None
                self.service.end_drag()
                self.schedule()

    def _press(self, view: ObliqueView, pos: QPointF) -> None:
        plan, traj = self.doc.plan, self.trajectory()
        if (
            plan is None
            or traj is None
            or self.service.dragging
            or self.service.preview is not None
        ):
            return
        if self._timer.isActive():  # show (and pick on) the current planes first
            self._timer.stop()
            self.refresh()
        handle = self._hit(view, traj, pos)
        if handle is None or not self.service.begin_drag(traj.side, handle):
            return
        self._frozen = dict(self._planes)
        self._drag_view = view
        view.vtk.setFocus()

    def _hit(self, view: ObliqueView, traj: Any, pos: QPointF) -> str | None:
        if view.kind not in self._planes:
            return None
        focal, normal = (np.asarray(a) for a in self._planes[view.kind][:2])
        best, best_d = None, HIT_PX
        for handle, p in (("target", traj.target_lps), ("skin", traj.skin_entry_lps)):
            p = np.asarray(p, dtype=np.float64)
            if abs(float((p - focal) @ normal)) > ON_PLANE_MM:
                continue
            q = view.widget_point(p)
            dist = float(np.hypot(q.x() - pos.x(), q.y() - pos.y()))
            if dist <= best_d:
                best, best_d = handle, dist
        return best

    def cancel_drag(self) -> None:
        if self._drag_view is not None:
            self._drag_view, self._frozen = None, None
            self.service.cancel_drag()
            self.schedule()

    # --- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self._closed:
            return
        traj = self.trajectory()
        if traj is None or self.doc.volume is None:
            for v in self.views.values():
                # render only to clear what was shown: start-up and demo loading never pay
                # for drawing three empty views
                was_shown = bool(v.pipeline.image_slice.GetVisibility()) or v.adapter.value
                v.adapter.update(v.adapter.value, None)
                v.pipeline.image_slice.SetVisibility(False)
                v.pipeline.corners.SetText(2, f"{TITLES[v.kind]}\n(no needle)")
                if was_shown:
                    v.request_render()
            self.depth_label.setText("Place a needle to use these views")
            self.slider.setEnabled(False)
            return
        skin, tip = np.asarray(traj.skin_entry_lps), np.asarray(traj.target_lps)
        length = float(np.linalg.norm(tip - skin))
        d = (tip - skin) / length
        depth = length if self.depth_mm is None else min(self.depth_mm, length + BEYOND_TARGET_MM)
        self._sync_slider(length, depth)
        self.service.set_advance(traj.side, None if self.depth_mm is None else depth)
        display = NeedleDisplay(
            traj.skin_entry_lps,
            traj.bone_entry_lps,
            traj.target_lps,
            get_needle(traj.needle_id).od_mm,
            self.service.severity(traj),
            self.service.preview is not None,
            "",
            depth,
        )
        planes = needle_planes(d)
        at = skin + d * depth
        mid = skin + d * (0.5 * length)
        for kind, v in self.views.items():
            dop, up = planes[kind]
            w, h = v.vtk.width(), max(v.vtk.height(), 1)
            aspect = w / h if w > 0 else 1.0
            half = 30.0 if kind == "eye" else max((0.5 * length + 15.0) / max(aspect, 0.3), 30.0)
            shown = (at if kind == "eye" else mid, dop, up, half)
            if self._frozen is not None and kind in self._frozen:
                shown = self._frozen[kind]  # a drag in these views: the planes stay put
            self._planes[kind] = shown
            v.pipeline.set_plane(*shown)
            v.pipeline.image_slice.SetVisibility(True)
            v.adapter.update(v.adapter.value, display)
            v.adapter.slice_changed()
            title = TITLES[kind] + (f" at {depth:.1f} mm" if kind == "eye" else "")
            v.pipeline.corners.SetText(2, f"{title}\n{traj.side} {traj.needle_id}")
            v.pipeline.fit_letters()
            v.request_render()
        self.depth_label.setText(self._depth_text(traj, at, depth, length))

    def _sync_slider(self, length: float, depth: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setEnabled(True)
        self.slider.setRange(0, int(round((length + BEYOND_TARGET_MM) * STEPS_PER_MM)))
        self.slider.setValue(int(round(depth * STEPS_PER_MM)))
        self.slider.blockSignals(False)

    def _depth_text(self, traj: Any, at: Any, depth: float, length: float) -> str:
        to_go = length - depth
        where = (
            "at the target"
            if abs(to_go) < 0.25
            else (
                f"{to_go:.1f} mm short of the target"
                if to_go > 0
                else f"{-to_go:.1f} mm BEYOND the target"
            )
        )
        hu = (
            self.doc.volume.sample_lps(at[None, :], fill=float("nan"))[0]
            if self.doc.volume is not None
            else float("nan")
        )
        tissue = "" if not np.isfinite(hu) else f", tip HU {hu:.0f}"
        ctx = self.service.context()
        signed = getattr(ctx, "signed", None)
        if signed is not None:
            canal = float(-signed("canal", at[None, :])[0]) - get_needle(traj.needle_id).radius_mm
            if np.isfinite(canal):
                tissue += f", needle to canal {canal:.1f} mm"
        return f"Depth {depth:.1f} / {length:.1f} mm — {where}{tissue}"

    def close_views(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        for v in self.views.values():
            v.close_view()
