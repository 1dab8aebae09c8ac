"""The 3D view: bone rendering cropped to a region of interest, orientation cube, camera presets.

Rotate with the left mouse button, pan with the middle, zoom with the right button or the wheel
(VTK's trackball camera). The region of interest follows the crosshair on request
(View → 3D: centre on crosshair) or a planning panel's call to :meth:`set_roi`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkInteractionWidgets import vtkOrientationMarkerWidget
from vtkmodules.vtkRenderingCore import vtkRenderer

from ui.document.document import Document
from ui.render.adapters import ViewContext
from ui.render.volume_pipeline import VolumeViewPipeline, has_real_gpu, make_orientation_cube
from ui.views.view_base import RenderedView
from ui.views.view_state import ViewState
from ui.views.vtk_widget import create_vtk_widget

log = logging.getLogger(__name__)
#: Where the posterior cut lies behind the body's posterior wall (tool assumption).
CUT_BEHIND_WALL_MM = 3.0


class VolumeView(RenderedView):
    maximise_requested = Signal(str)

    def __init__(
        self, doc: Document, state: ViewState, parent: QWidget | None = None, allow_gpu: bool = True
    ) -> None:
        super().__init__(parent)
        self.name = "3d"
        self.setObjectName("view_3d")
        self.doc = doc
        self.state = state
        self.vtk = create_vtk_widget(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(self.vtk)
        rw = self.vtk.GetRenderWindow()
        rw.SetMultiSamples(0)  # ray casting gains nothing from MSAA; llvmpipe pays 4x fill
        self._allow_gpu = allow_gpu
        self.pipeline = VolumeViewPipeline(use_gpu=False)
        rw.AddRenderer(self.pipeline.renderer)
        iren = rw.GetInteractor()
        iren.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        iren.SetDesiredUpdateRate(15.0)
        iren.SetStillUpdateRate(0.5)
        self.marker = vtkOrientationMarkerWidget()
        self.marker.SetOrientationMarker(make_orientation_cube())
        self.marker.SetInteractor(iren)
        self.marker.SetViewport(0.82, 0.0, 1.0, 0.2)
        self._marker_on = False
        # needles over the bone: a layer on top sharing the camera
        self.on_top = vtkRenderer()
        self.on_top.SetLayer(1)
        self.on_top.InteractiveOff()
        self.on_top.SetActiveCamera(self.pipeline.renderer.GetActiveCamera())
        rw.SetNumberOfLayers(2)
        rw.AddRenderer(self.on_top)
        self.context = ViewContext(
            "3d", self.pipeline.renderer, self.request_render, on_top=self.on_top
        )
        self.vtk.installEventFilter(self)
        self.closed = False
        self._gpu_checked = False
        self.cut_posterior = True
        doc.volume_changed.connect(self._on_document_volume_changed)
        doc.plan_changed.connect(self._on_document_plan_changed)
        doc.analysis_changed.connect(self._on_document_analysis_changed)

    def _before_render(self) -> None:
        self._ensure_marker()

    def _ensure_marker(self) -> None:
        if not self._marker_on:
            self._marker_on = True
            self.marker.SetEnabled(1)
            self.marker.InteractiveOff()

    def set_roi(self, centre_lps: ArrayLike | None, size_mm: float | None) -> None:
        """Crop to a cube of ``size_mm`` around ``centre_lps`` (None size: whole volume); the
        camera turns to the new centre so the body is never left cut off at the edge."""
        self.pipeline.set_roi(centre_lps, size_mm)
        if centre_lps is not None:
            self.pipeline.focus(centre_lps)
        self.request_render()

    def set_cut_posterior(self, on: bool) -> None:
        """Cut away the posterior elements behind the target body (View → 3D)."""
        self.cut_posterior = bool(on)
        self._update_cut()
        self.request_render()

    def _target_morphometry(self) -> Any:
        plan, analysis = self.doc.plan, getattr(self.doc, "analysis", None)
        if plan is None or analysis is None or not getattr(plan, "level", None):
            return None
        try:
            res = analysis.level(plan.level)
        except (KeyError, ValueError):
            return None
        return None if res is None else res.morphometry

    def _update_cut(self) -> bool:
        """Place the posterior cut for the target body; returns whether it moved."""
        m = self._target_morphometry() if self.cut_posterior else None
        origin = None
        if m is not None:
            c = np.asarray(m.centroid_lps, dtype=np.float64)
            # just behind the posterior wall: pedicle bases stay, laminae and spinous go
            origin = c + [0.0, m.depth_mm / 2.0 + CUT_BEHIND_WALL_MM, 0.0]
        old = self.pipeline.cut_origin_lps
        if (old is None and origin is None) or (
            old is not None and origin is not None and np.array_equal(old, origin)
        ):
            return False
        self.pipeline.set_posterior_cut(origin)
        return True

    def _on_document_analysis_changed(self, _old: Any, _new: Any) -> None:
        if self._update_cut():  # a corrected point or plane elsewhere leaves the 3D view alone
            self.request_render()

    def _on_document_plan_changed(self, old: Any, new: Any) -> None:
        old_level = getattr(old, "level", None)
        new_level = getattr(new, "level", None)
        if new_level and new_level != old_level:  # "Set as target": centre on that body
            m = self._target_morphometry()
            if m is not None:
                self.set_roi(m.centroid_lps, self.pipeline.roi_size_mm)
        self._update_cut()
        self.request_render()

    def centre_on_cursor(self) -> None:
        self.set_roi(self.state.cursor_lps, self.pipeline.roi_size_mm)
        self.pipeline.set_camera_preset("ap")
        self.request_render()

    def set_mode(self, mode: str) -> None:
        self.pipeline.set_mode(mode)
        self.request_render()

    def set_camera_preset(self, name: str) -> None:
        self.pipeline.set_camera_preset(name)
        self.request_render()

    def reset_view(self) -> None:
        self.set_camera_preset("ap")

    def close_view(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_render_timers()
        for adapter in self._adapters:
            adapter.remove()
        self._adapters.clear()
        self.doc.volume_changed.disconnect(self._on_document_volume_changed)
        self.doc.plan_changed.disconnect(self._on_document_plan_changed)
        self.doc.analysis_changed.disconnect(self._on_document_analysis_changed)
        self.vtk.removeEventFilter(self)
        if self._marker_on:
            self.marker.SetEnabled(0)
        self.marker.SetInteractor(None)
        self.pipeline.set_volume(None)
        self.vtk.Finalize()

    def _on_document_volume_changed(self, volume) -> None:  # type: ignore[no-untyped-def]
        if volume is not None:
            self._maybe_use_gpu()
            self.pipeline.roi_centre_lps = self.state.cursor_lps
        self.pipeline.set_volume(volume)
        self.request_render()

    def _maybe_use_gpu(self) -> None:
        if self._gpu_checked or not self._allow_gpu or not self.isVisible():
            return
        self._gpu_checked = True
        if has_real_gpu(self.vtk.GetRenderWindow()):
            log.info("hardware OpenGL found: GPU ray casting for the 3D view")
            try:
                self.pipeline.use_gpu = True
                self.pipeline.prop.SetMapper(self.pipeline._make_mapper())
            except Exception:  # noqa: BLE001 - fall back to the CPU mapper, never lose the view
                log.exception("GPU ray casting unavailable; staying on the CPU mapper")
                self.pipeline.use_gpu = False
                self.pipeline.prop.SetMapper(self.pipeline._make_mapper())
            # a new mapper has no clipping plane: put the posterior cut back
            self.pipeline.set_posterior_cut(self.pipeline.cut_origin_lps)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return True  # VTK's default keys (q, e, w, s, 3...) would quit or change modes
        if t == QEvent.Type.MouseButtonDblClick:
            self.maximise_requested.emit(self.name)
            return True
        if t == QEvent.Type.MouseButtonPress:
            self.state.set_active_view(self.name)
        return False
