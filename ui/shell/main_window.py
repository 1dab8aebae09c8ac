"""The planning workstation's main window: four linked views, status bar, docks, menus.

Extending it (for panel authors)
--------------------------------
- ``window.add_panel(widget, "Title", Qt.DockWidgetArea.RightDockWidgetArea)`` docks a panel and
  lists it in View → Panels.
- ``window.doc`` (:class:`ui.document.document.Document`) is the single source of truth: read
  ``doc.volume`` / ``doc.plan``, listen to ``volume_changed`` / ``plan_changed(old, new)``, change
  the plan only with ``doc.push_plan(new_plan, "What changed")`` (one undo step per gesture).
- ``window.state`` (:class:`ui.views.view_state.ViewState`) holds the linked cursor (LPS mm).
- ``window.views()`` maps 'axial', 'coronal', 'sagittal', '3d' to views offering
  ``add_adapter(adapter)`` / ``remove_adapter(adapter)`` (see :mod:`ui.render.adapters`);
  ``window.view_3d.set_roi(centre_lps, size_mm)`` crops the 3D view to a level.
- Long work: ``ui.document.workers.start_task(window, "Title…", fn)`` where
  ``fn(progress)``; wrap slots with ``ui.shell.errors.guarded("do what")``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QWidget

from ui.document import study_open
from ui.document.autosave import AutoSaver, recovery_dir
from ui.document.document import Document
from ui.document.study_open import StudyOpener
from ui.panels.measurement_panel import MeasurementPanel
from ui.render.slice_pipeline import make_image_property
from ui.shell.actions import ActionRegistry
from ui.shell.dialog_paths import start_folder, start_path
from ui.shell.errors import guarded
from ui.shell.help_dialogs import ShortcutsDialog, show_about
from ui.shell.main_actions import build_actions, build_menus, build_toolbar
from ui.shell.panel_layout import arrange_panels, fit_to_screen, is_compact
from ui.shell.screenshot import scale_for, view_image, window_image
from ui.shell.settings import Settings
from ui.views.initial_view import spine_guess_lps
from ui.views.slice_view import SliceView
from ui.views.view_grid import LAYOUTS, ViewGrid
from ui.views.view_state import ViewState
from ui.views.volume_view import VolumeView

log = logging.getLogger(__name__)
APP_TITLE = "Vertebral Augmentation Planner"
VERSION = "0.1.0"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, allow_gpu: bool = True) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.settings = Settings(settings)
        self.doc = Document(self)
        self.state = ViewState(self)
        self.state.set_window_level(*self.settings.window_level())
        self.image_property = make_image_property()
        self.image_property.SetColorWindow(self.state.window)
        self.image_property.SetColorLevel(self.state.level)
        self.slice_views = {
            o: SliceView(o, self.doc, self.state, self.image_property)
            for o in ("axial", "coronal", "sagittal")
        }
        self.view_3d = VolumeView(self.doc, self.state, allow_gpu=allow_gpu)
        self.grid = ViewGrid(self.views())
        self.setCentralWidget(self.grid)
        for v in self.views().values():
            v.maximise_requested.connect(self._on_view_maximise_requested)
        self.opener = StudyOpener(self, self.doc, self.settings)
        self.autosaver = AutoSaver(self, recovery_dir(self.settings.q.fileName()))
        self.measurement_panel = MeasurementPanel(self.doc, self.state)
        self._docks: list[QDockWidget] = []
        self.action_registry = ActionRegistry(self)  # actions and menus by id
        for key, action in build_actions(self).items():
            self.action_registry.register(key, action.text(), action=action)
        self.actions_by_name = self.action_registry.actions
        build_menus(self, self.actions_by_name)
        build_toolbar(self, self.actions_by_name)
        self.add_panel(
            self.measurement_panel, "Measurements", Qt.DockWidgetArea.RightDockWidgetArea
        )
        self._build_status_bar()
        from ui.tools.trajectory_setup import install_trajectory_tools

        self.trajectory = install_trajectory_tools(self)  # needles, fluoroscopy, plan files
        from ui.panels.planning import install_planning

        self.planning = install_planning(self)  # levels, morphometry, estimates, report
        from ui.tools.correction_modes import install_corrections

        self.corrections = install_corrections(self)  # plane, outline brush, pedicle axis
        self._connect()
        self.grid.set_layout(self.settings.layout() if self.settings.layout() in LAYOUTS else "2x2")
        self.setAcceptDrops(True)
        self.resize(self._screen_size().boundedTo(QSize(1440, 900)))
        arrange_panels(self, self._screen_size())
        same_kind = self.settings.screen_compact() in (None, is_compact(self._screen_size()))
        if (geo := self.settings.geometry()) is not None:
            self.restoreGeometry(geo)
        if (dock_state := self.settings.state()) is not None and same_kind:
            self.restoreState(dock_state)  # docks and toolbars, by object name
        fit_to_screen(self)  # saved on a larger screen: never reopen partly off this one
        self._closed = False
        self._update_title()
        self._refresh_recent_menu()
        self._on_state_window_level_changed(self.state.window, self.state.level)
        self._set_active_highlight(self.state.active_view)

    # --- structure --------------------------------------------------------------------------
    def _screen_size(self) -> QSize:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry().size() if screen is not None else QSize(1440, 900)

    def reset_panels(self) -> None:
        arrange_panels(self, self._screen_size())

    def views(self) -> dict[str, QWidget]:
        return {**self.slice_views, "3d": self.view_3d}

    def add_panel(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Dock ``widget`` in ``area`` and list it in View → Panels.

        Where panels finally sit (tabs, columns) is decided once for the screen by
        :func:`ui.shell.panel_layout.arrange_panels` when the window is built.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        self._docks.append(dock)
        self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.hu_label = QLabel("HU —")
        self.position_label = QLabel("LPS —")
        self.slice_label = QLabel("")
        self.wl_label = QLabel("")
        for w, tip in (
            (self.hu_label, "Hounsfield units of the voxel under the mouse or crosshair"),
            (self.position_label, "Patient position (LPS mm: +x left, +y posterior, +z superior)"),
            (self.slice_label, "Slice index and position in the view under the mouse"),
            (self.wl_label, "Window width / level (HU)"),
        ):
            w.setToolTip(tip)
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        self.doc.volume_changed.connect(self._on_document_volume_changed)
        self.doc.modified_changed.connect(lambda _m: self._update_title())
        self.state.cursor_changed.connect(self._on_state_cursor_changed)
        self.state.hover_changed.connect(self._on_state_hover_changed)
        self.state.window_level_changed.connect(self._on_state_window_level_changed)
        self.state.tool_changed.connect(self._on_state_tool_changed)
        self.state.active_view_changed.connect(self._set_active_highlight)
        self.grid.layout_changed.connect(self._on_grid_layout_changed)
        self.window_spin.editingFinished.connect(self._on_spin_edited)
        self.level_spin.editingFinished.connect(self._on_spin_edited)
        self.opener.study_opened.connect(lambda _s: self._refresh_recent_menu())

    # --- opening ----------------------------------------------------------------------------
    @guarded("open the folder")
    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Open DICOM folder", str(start_folder(self.doc))
        )
        if path:
            self.opener.open_path(path)

    @guarded("open the file")
    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open image file",
            "",
            "Images (*.dcm *.nii *.nii.gz *.DCM DICOMDIR);;All files (*)",
        )
        if path:
            self.opener.open_path(path)

    @guarded("open the demo case")
    def open_demo(self) -> None:
        self.opener.open_demo()

    @guarded("open the study")
    def open_path(self, path: str) -> None:
        self.opener.open_path(path)

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent():
            label = "Demo case" if path == "demo:" else path
            a = self.recent_menu.addAction(label)
            a.triggered.connect(lambda *_, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent()))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    # --- state reactions --------------------------------------------------------------------
    def _on_document_volume_changed(self, volume) -> None:  # type: ignore[no-untyped-def]
        if volume is not None:
            self.state.set_cursor(spine_guess_lps(volume))
            self._on_state_cursor_changed(self.state.cursor_lps)
            self.view_3d.set_roi(self.state.cursor_lps, self.view_3d.pipeline.roi_size_mm)
            self.view_3d.set_camera_preset("ap")
            self.reset_views()
        self._update_patient_annotation()
        self._update_title()

    def _update_title(self) -> None:
        vol = self.doc.volume
        if vol is None:
            what = "no study"
        elif self.doc.source_path == "demo:":
            what = "Demo case"
        else:
            nk, nj, ni = vol.shape_kji
            what = f"{vol.identity.modality} {ni}×{nj}×{nk}"
            if vol.identity.description:
                what = f"{vol.identity.description} · {what}"
        self.setWindowTitle(f"{APP_TITLE} — {what}[*]")
        self.setWindowModified(self.doc.is_modified)

    def _readout(self, view_name: str, lps: np.ndarray) -> None:
        vol = self.doc.volume
        if vol is None:
            return
        hu = vol.value_at_lps(lps)
        self.hu_label.setText("HU —" if hu is None else f"HU {hu}")
        self.position_label.setText(f"LPS ({lps[0]:.1f}, {lps[1]:.1f}, {lps[2]:.1f}) mm")
        view = self.slice_views.get(view_name)
        info = view.pipeline.slice_info() if view is not None else None
        if info is not None:
            self.slice_label.setText(
                f"{view_name.capitalize()} {info.index + 1}/{info.count}  "
                f"{info.world_axis} {info.position_mm:.1f} mm"
            )

    def _on_state_cursor_changed(self, lps) -> None:  # type: ignore[no-untyped-def]
        name = self.state.active_view if self.state.active_view in self.slice_views else "axial"
        self._readout(name, np.asarray(lps))

    def _on_state_hover_changed(self, view: str, lps) -> None:  # type: ignore[no-untyped-def]
        self._readout(view, np.asarray(lps))

    def _on_state_window_level_changed(self, width: float, level: float) -> None:
        self.image_property.SetColorWindow(width)
        self.image_property.SetColorLevel(level)
        self.wl_label.setText(f"W {width:.0f}  L {level:.0f}")
        for spin, v in ((self.window_spin, width), (self.level_spin, level)):
            spin.blockSignals(True)
            spin.setValue(int(round(v)))
            spin.blockSignals(False)

    def _on_spin_edited(self) -> None:
        self.state.set_window_level(self.window_spin.value(), self.level_spin.value())

    def _on_state_tool_changed(self, tool: str) -> None:
        self.actions_by_name[f"tool_{tool}"].setChecked(True)

    def _set_active_highlight(self, name: str) -> None:
        for n, v in self.views().items():
            v.setProperty("active", n == name)
            v.style().unpolish(v)
            v.style().polish(v)

    def _on_view_maximise_requested(self, name: str) -> None:
        self.state.set_active_view(name)
        self.grid.toggle_maximised(name)

    def _on_grid_layout_changed(self, name: str) -> None:
        if name in LAYOUTS:
            self.settings.set_layout(name)
        for v in self.views().values():
            if v.isVisible():
                v.request_render()

    # --- view actions -----------------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        self.grid.set_layout(name, main_view=self.state.active_view)

    def toggle_maximise(self) -> None:
        self.grid.toggle_maximised(self.state.active_view)

    def reset_views(self) -> None:
        for v in self.views().values():
            v.reset_view()

    def step_active(self, steps: int) -> None:
        view = self.slice_views.get(self.state.active_view, self.slice_views["axial"])
        view.step_slices(steps)

    def toggle_crosshair(self) -> None:
        on = self.actions_by_name["crosshair"].isChecked()
        for v in self.slice_views.values():
            v.pipeline.set_crosshair_visible(on)
            v.request_render()

    def toggle_patient_info(self) -> None:
        self._update_patient_annotation()

    def _update_patient_annotation(self, force_hidden: bool = False) -> None:
        view = self.slice_views["axial"]
        vol = self.doc.volume
        show = (
            not force_hidden
            and vol is not None
            and self.actions_by_name["patient_info"].isChecked()
        )
        text = ""
        if show and vol is not None:
            p = vol.patient
            text = "\n".join(t for t in (p.patient_name, p.patient_id, p.study_date) if t)
        view.pipeline.set_corner_text(3, text)
        view.request_render()

    def views_3d_centre(self) -> None:
        self.view_3d.centre_on_cursor()

    def set_roi_size(self, size_mm: float | None) -> None:
        self.view_3d.set_roi(None, size_mm)

    @guarded("switch the 3D mode")
    def toggle_surface(self) -> None:
        self.view_3d.set_mode(
            "surface" if self.actions_by_name["surface"].isChecked() else "volume"
        )

    # --- screenshots ------------------------------------------------------------------------
    def _ask_png(self, title: str) -> str:
        start = start_path(self.doc, "screenshot.png")
        path, _ = QFileDialog.getSaveFileName(self, title, start, "PNG image (*.png)")
        if path and not path.lower().endswith(".png"):
            path += ".png"
        return path

    @guarded("save the screenshot")
    def save_view_screenshot(self, path: str | None = None) -> str:
        path = path or self._ask_png("Save view screenshot")
        view = self.views()[self.state.active_view]
        scale = scale_for(self.settings.screenshot_size(), view.vtk.width())
        return self._save_png(path, lambda: view_image(view, scale))

    @guarded("save the screenshot")
    def save_window_screenshot(self, path: str | None = None) -> str:
        path = path or self._ask_png("Save window screenshot")
        scale = scale_for(self.settings.screenshot_size(), self.width())
        return self._save_png(path, lambda: window_image(self, self.views().values(), scale))

    def _save_png(self, path: str, grab: Callable[[], Any]) -> str:
        """Write ``grab()`` to ``path`` with patient identifiers hidden while grabbing."""
        if not path:
            return ""
        self._update_patient_annotation(force_hidden=True)
        try:
            if not grab().save(path, "PNG"):
                raise OSError(f"Could not write {path}; check the folder exists and is writable.")
        finally:
            self._update_patient_annotation()
        self.statusBar().showMessage(f"Saved {Path(path).name}", 4000)
        return path

    # --- help / close -----------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        dlg = ShortcutsDialog(self.actions(), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()

    def show_about(self) -> None:
        show_about(self, VERSION)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not study_open.confirm_discard(self, self.doc):
            event.ignore()
            return
        self.autosaver.discard()  # saved, or discarded by the user: nothing to recover
        if self.opener.task is not None and self.opener.task.running:
            self.opener.task.cancel()
            self.opener.task.wait(10000)
        self.settings.set_geometry(self.saveGeometry(), self.saveState())
        self.settings.set_screen_compact(is_compact(self._screen_size()))
        self.settings.set_window_level(self.state.window, self.state.level)
        self.settings.sync()
        self.close_views()
        event.accept()

    def close_views(self) -> None:
        """Finalize every render window (idempotent); rendering after this would crash."""
        if self._closed:
            return
        self._closed = True
        self.autosaver.close()
        self.trajectory.close()
        self.planning.close()
        for v in self.views().values():
            v.close_view()
