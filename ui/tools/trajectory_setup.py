"""Wires the needle-planning features into a main window (one call from ``MainWindow``).

Creates the :class:`~ui.document.trajectory_service.TrajectoryService`, the needle overlays in every
view, the needle tool (placement, drags, nudges), the trajectory panel, the needle views
(oblique planes + needle's eye + depth slider), the fluoroscopy panel and the plan-file
actions in the File menu. ``close()`` releases them before the views are finalized.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from ui.document.plan_io import PlanIO
from ui.document.trajectory_service import TrajectoryService
from ui.tools.needle_tool import NeedleTool
from ui.views.needle_overlays import NeedleOverlays

log = logging.getLogger(__name__)


class TrajectoryFeatures(QObject):
    def __init__(self, win: Any) -> None:
        super().__init__(win)
        from ui.panels.fluoro_panel import FluoroPanel
        from ui.panels.trajectory_panel import TrajectoryPanel
        from ui.views.needle_views import NeedleViewsPanel

        self.win = win
        self.service = TrajectoryService(win.doc, win)
        self.overlays = NeedleOverlays(
            win.views(), self.service, self, lambda: win.state.active_view
        )
        self.tool = NeedleTool(win, self.service, self.overlays)
        self.panel = TrajectoryPanel(self.service, self.tool, win.state)
        self.needle_views = NeedleViewsPanel(self.service, win.image_property)
        self.fluoro = FluoroPanel(self.service)
        self.plan_io = PlanIO(win)
        # where the panels finally go depends on the screen: see ui.shell.panel_layout
        self.panel_dock = win.add_panel(
            self.panel, "Trajectories", Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.views_dock = win.add_panel(
            self.needle_views, "Needle views", Qt.DockWidgetArea.BottomDockWidgetArea
        )
        # beside the needle views on wide screens: a resident advances the needle and watches both
        self.fluoro_dock = win.add_panel(
            self.fluoro, "Fluoroscopy", Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.tool.status.connect(lambda text: win.statusBar().showMessage(text, 8000))
        self.actions = self._add_file_actions()
        self._closed = False

    def _add_file_actions(self) -> dict[str, QAction]:
        win = self.win
        acts: dict[str, QAction] = {}
        for key, text, slot, sc, tip in (
            (
                "open_plan",
                "Open &plan…",
                self.plan_io.open,
                "Ctrl+Shift+P",
                "Open a plan file made on the open series",
            ),
            (
                "save_plan",
                "&Save plan",
                self.plan_io.save,
                QKeySequence.StandardKey.Save,
                "Save the plan (JSON, LPS mm, bound to this series)",
            ),
            (
                "save_plan_as",
                "Save plan &as…",
                self.plan_io.save_as,
                QKeySequence.StandardKey.SaveAs,
                "Save the plan to a new file",
            ),
        ):
            acts[key] = win.action_registry.register(
                key,
                text,
                slot,
                sc,
                "file",
                tip=tip,
                before="print",
                separator=key == "save_plan_as",
            )
        return acts

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.service.shutdown()
        self.tool.close()
        self.needle_views.close_views()
        self.fluoro.close_panel()


def install_trajectory_tools(win: Any) -> TrajectoryFeatures:
    return TrajectoryFeatures(win)
