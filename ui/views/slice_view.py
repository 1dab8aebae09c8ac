"""A 2D view (axial, coronal or sagittal) linked to the document and the shared view state.

Mouse (the active tool is chosen in the toolbar; see Help → Shortcuts):

- left: active tool — navigate (click/drag moves the linked crosshair), window/level drag,
  distance (drag), angle (three clicks);
- Ctrl+left drag: window/level whatever the tool (horizontal = width, vertical = level);
- right drag or Ctrl+wheel: zoom; middle drag or Shift+left drag: pan;
- wheel: next/previous slice (Shift: 5 slices); double-click: maximise/restore.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser
from vtkmodules.vtkRenderingCore import vtkImageProperty

from ui.document.document import Document
from ui.render.adapters import (
    MeasurementAdapter,
    ViewContext,
    polyline_actor,
    set_polyline,
)
from ui.render.image import image_from_array
from ui.render.slice_pipeline import SliceViewPipeline
from ui.shell.errors import error_display
from ui.tools.measurement import Measurement, next_measurement_id
from ui.views.view_base import RenderedView
from ui.views.view_state import ViewState
from ui.views.vtk_widget import create_vtk_widget

log = logging.getLogger(__name__)
TITLES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}


class SliceView(RenderedView):
    maximise_requested = Signal(str)

    def __init__(
        self,
        orientation: str,
        doc: Document,
        state: ViewState,
        image_property: vtkImageProperty,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = orientation
        self.setObjectName(f"view_{orientation}")
        self.doc = doc
        self.state = state
        self.vtk = create_vtk_widget(self)
        self.vtk.setMouseTracking(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(self.vtk)
        self.pipeline = SliceViewPipeline(orientation, image_property)
        rw = self.vtk.GetRenderWindow()
        rw.SetMultiSamples(0)  # MSAA buys nothing on images and costs 4x fill on llvmpipe
        rw.SetNumberOfLayers(2)
        rw.AddRenderer(self.pipeline.renderer)
        rw.AddRenderer(self.pipeline.overlay)
        rw.GetInteractor().SetInteractorStyle(vtkInteractorStyleUser())
        self.vtk.installEventFilter(self)
        self.context = ViewContext(
            orientation, self.pipeline.overlay, self.request_render, self._plane
        )
        self._measure_adapters: dict[int, MeasurementAdapter] = {}
        self._drag: tuple[str, QPointF, tuple[float, float]] | None = None
        self._pending: list[NDArray[np.float64]] = []
        self._preview, self._preview_poly = polyline_actor((1.0, 0.8, 0.3), 1.5)
        self._preview.VisibilityOff()
        self.pipeline.overlay.AddActor(self._preview)
        self.closed = False
        self._needs_reset = True
        doc.volume_changed.connect(self._on_document_volume_changed)
        doc.measurements_changed.connect(self._on_document_measurements_changed)
        state.cursor_changed.connect(self._on_state_cursor_changed)
        state.window_level_changed.connect(self._on_state_window_level_changed)
        state.tool_changed.connect(self._on_state_tool_changed)
        if orientation == "sagittal":  # the six morphometry points are handles (issue 11)
            from ui.tools.morphometry_tool import attach

            self.morphometry_tool = attach(self)

    # --- public ---------------------------------------------------------------------------

    def reset_view(self) -> None:
        self.pipeline.reset_camera()
        self._after_camera_change()

    def step_slices(self, steps: int) -> None:
        if self.doc.volume is not None:
            self.state.set_active_view(self.name)  # scrolled here: this view redraws first
            self.state.set_cursor(self.pipeline.stepped_point(steps))

    def zoom(self, factor: float) -> None:
        self.pipeline.zoom(factor)
        self._after_camera_change()

    def display_point(self, pos: QPointF) -> tuple[float, float]:
        """Qt widget position → VTK display pixel (origin bottom-left)."""
        ratio = self.vtk.devicePixelRatioF()
        h = self.vtk.GetRenderWindow().GetSize()[1]
        return pos.x() * ratio, h - pos.y() * ratio - 1

    def widget_point(self, lps: NDArray[np.float64]) -> QPointF:
        """LPS point → Qt widget position (inverse of :meth:`display_point`)."""
        ratio = self.vtk.devicePixelRatioF()
        h = self.vtk.GetRenderWindow().GetSize()[1]
        x, y = self.pipeline.lps_to_display(lps)
        return QPointF(x / ratio, (h - 1 - y) / ratio)

    def lps_at(self, pos: QPointF) -> NDArray[np.float64]:
        return self.pipeline.display_to_lps(*self.display_point(pos))

    def close_view(self) -> None:
        """Idempotent: drop observers and finalize the render window (DESIGN.md §4)."""
        if self.closed:
            return
        self.closed = True
        self._stop_render_timers()
        for adapter in list(self._adapters) + list(self._measure_adapters.values()):
            adapter.remove()
        self._adapters.clear()
        self._measure_adapters.clear()
        self.vtk.removeEventFilter(self)
        for sig, slot in (
            (self.doc.volume_changed, self._on_document_volume_changed),
            (self.doc.measurements_changed, self._on_document_measurements_changed),
            (self.state.cursor_changed, self._on_state_cursor_changed),
            (self.state.window_level_changed, self._on_state_window_level_changed),
            (self.state.tool_changed, self._on_state_tool_changed),
        ):
            sig.disconnect(slot)
        self.pipeline.clear_volume()
        self.vtk.Finalize()

    # --- document / state slots ---------------------------------------------------------
    def _on_document_volume_changed(self, volume) -> None:  # type: ignore[no-untyped-def]
        self._cancel_pending()
        if volume is None:
            self.pipeline.clear_volume()
        else:
            image = image_from_array(volume.hu, volume.spacing_mm)
            self.pipeline.set_volume(image, volume.grid)
            self.pipeline.set_cursor(self.state.cursor_lps)
            self._needs_reset = not self.isVisible() or self.vtk.width() < 10
        self._update_annotations()
        self._notify_slice_changed()
        self.request_render()

    def _on_state_cursor_changed(self, lps: NDArray[np.float64]) -> None:
        before = self.pipeline.slice_info()
        self.pipeline.set_cursor(lps)
        if self.pipeline.slice_info() != before:
            self._notify_slice_changed()
        self._update_annotations()
        self.request_render(follower=self.name != self.state.active_view)

    def _on_state_window_level_changed(self, width: float, level: float) -> None:
        self._update_annotations()
        self.request_render()

    def _on_state_tool_changed(self, tool: str) -> None:
        self._cancel_pending()
        cursor = (
            Qt.CursorShape.CrossCursor
            if tool in ("distance", "angle")
            else Qt.CursorShape.ArrowCursor
        )
        self.vtk.setCursor(cursor)

    def _on_document_measurements_changed(self, old, new) -> None:  # type: ignore[no-untyped-def]
        keep = {m.id for m in new}
        for mid in [k for k in self._measure_adapters if k not in keep]:
            self._measure_adapters.pop(mid).remove()
        for m in new:
            adapter = self._measure_adapters.get(m.id)
            if adapter is None:
                adapter = MeasurementAdapter()
                adapter.attach(self.context)
                self._measure_adapters[m.id] = adapter
            adapter.update(adapter.value, m)
        self.request_render()

    # --- helpers ----------------------------------------------------------------------------
    def _plane(self):  # type: ignore[no-untyped-def]
        if self.pipeline.grid is None:
            return None
        cam = self.pipeline.renderer.GetActiveCamera()
        n = self.pipeline.normal
        g = self.pipeline.grid
        a = int(np.argmax(np.abs(g.direction.T @ n)))
        half = 0.5 * float(g.spacing_mm[a]) / max(abs(float(g.direction[:, a] @ n)), 1e-6)
        return np.asarray(cam.GetFocalPoint()), n, half

    def _notify_slice_changed(self) -> None:
        for adapter in list(self._adapters) + list(self._measure_adapters.values()):
            adapter.slice_changed()

    def _after_camera_change(self) -> None:
        self.pipeline.refresh_overlays()
        self.request_render()

    def _update_annotations(self) -> None:
        info = self.pipeline.slice_info()
        if info is None:
            self.pipeline.corners.ClearAllTexts()
            return
        self.pipeline.set_corner_text(
            2,
            f"{TITLES[self.name]}  {info.index + 1}/{info.count}\n"
            f"{info.world_axis} {info.position_mm:.1f} mm",
        )
        self.pipeline.set_corner_text(0, f"W {self.state.window:.0f}  L {self.state.level:.0f}")

    def _cancel_pending(self) -> None:
        self._pending.clear()
        self._preview.VisibilityOff()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        if self._needs_reset and self.doc.volume is not None and self.vtk.width() > 10:
            self._needs_reset = False
            self.pipeline.reset_camera(self.vtk.width() / max(self.vtk.height(), 1))
            self.pipeline.refresh_overlays()

    # --- events ---------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if t == QEvent.Type.Resize:
            return self._on_resize()
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return True  # keep VTK's default key bindings (q = quit, w = wireframe) away
        if self.doc.volume is None or not isinstance(event, (QMouseEvent, QWheelEvent)):
            return False
        with error_display(self, "handle the mouse"):
            if t == QEvent.Type.MouseButtonDblClick:
                self.maximise_requested.emit(self.name)
            elif t == QEvent.Type.MouseButtonPress:
                self._mouse_press(event)  # type: ignore[arg-type]
            elif t == QEvent.Type.MouseMove:
                self._mouse_move(event)  # type: ignore[arg-type]
            elif t == QEvent.Type.MouseButtonRelease:
                self._mouse_release(event)  # type: ignore[arg-type]
            elif t == QEvent.Type.Wheel:
                self._wheel(event)  # type: ignore[arg-type]
        return t in (
            QEvent.Type.MouseButtonDblClick,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.Wheel,
        )

    def _before_render(self) -> None:
        self.pipeline.before_render()

    def _on_resize(self) -> bool:
        if self.doc.volume is not None and self._needs_reset and self.vtk.width() > 10:
            self._needs_reset = False
            self.pipeline.reset_camera(self.vtk.width() / max(self.vtk.height(), 1))
        self.pipeline.refresh_overlays()
        return False

    def _mouse_press(self, ev: QMouseEvent) -> None:
        self.state.set_active_view(self.name)
        mods = ev.modifiers()
        button = ev.button()
        start = (self.state.window, self.state.level)
        if button == Qt.MouseButton.RightButton:
            self._drag = ("zoom", ev.position(), start)
        elif button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and mods & Qt.KeyboardModifier.ShiftModifier
        ):
            self._drag = ("pan", ev.position(), start)
        elif button == Qt.MouseButton.LeftButton:
            tool = self.state.tool
            if mods & Qt.KeyboardModifier.ControlModifier or tool == "window_level":
                self._drag = ("wl", ev.position(), start)
            elif tool == "navigate":
                self._drag = ("navigate", ev.position(), start)
                self.state.set_cursor(self.lps_at(ev.position()))
            else:
                self._measure_press(ev.position())

    def _mouse_move(self, ev: QMouseEvent) -> None:
        lps = self.lps_at(ev.position())
        self.state.hover_changed.emit(self.name, lps)
        if self._pending:
            self._update_preview(lps)
        if self._drag is None:
            return
        kind, start, (w0, l0) = self._drag
        delta = ev.position() - start
        if kind == "navigate":
            self.state.set_cursor(lps)
        elif kind == "wl":
            scale = max(w0, 20.0) / 300.0
            self.state.set_window_level(w0 + delta.x() * scale, l0 + delta.y() * scale)
        elif kind == "pan":
            ratio = self.vtk.devicePixelRatioF()
            self.pipeline.pan_pixels(delta.x() * ratio, -delta.y() * ratio)
            self._drag = (kind, ev.position(), (w0, l0))
            self._after_camera_change()
        elif kind == "zoom":
            self.pipeline.zoom(float(np.exp(-delta.y() / 150.0)))
            self._drag = (kind, ev.position(), (w0, l0))
            self._after_camera_change()

    def _mouse_release(self, ev: QMouseEvent) -> None:
        self._drag = None
        if self.state.tool == "distance" and len(self._pending) == 1:
            end = self.lps_at(ev.position())
            if np.linalg.norm(end - self._pending[0]) > 0.5:
                self._commit_measurement("distance", [self._pending[0], end])

    def _wheel(self, ev: QWheelEvent) -> None:
        notches = ev.angleDelta().y() / 120.0
        if notches == 0:
            return
        mods = ev.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15**notches)
            return
        step = 5 if mods & Qt.KeyboardModifier.ShiftModifier else 1
        # Wheel away from the user moves superior / anterior / left (FORWARD in slice_pipeline).
        self.step_slices(int(np.sign(notches)) * step * max(1, int(abs(notches))))

    # --- measurement gestures -------------------------------------------------------------
    def _measure_press(self, pos: QPointF) -> None:
        p = self.lps_at(pos)
        self._pending.append(p)
        need = 2 if self.state.tool == "distance" else 3
        if len(self._pending) >= need:
            self._commit_measurement(self.state.tool, self._pending[:need])
        else:
            self._update_preview(p)

    def _update_preview(self, lps: NDArray[np.float64]) -> None:
        set_polyline(self._preview_poly, [*self._pending, lps])
        self._preview.VisibilityOn()
        self.request_render()

    def _commit_measurement(self, kind: str, pts: list[NDArray[np.float64]]) -> None:
        m = Measurement(
            next_measurement_id(), kind, tuple(tuple(float(v) for v in p) for p in pts), self.name
        )
        self._cancel_pending()
        self.doc.push_measurements((*self.doc.measurements, m), f"Add {kind} {m.label}")
