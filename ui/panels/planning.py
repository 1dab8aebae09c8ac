"""Installs the levels, measurements and estimates panels, their overlays and menu actions.

``MainWindow`` calls :func:`install_planning` once (one-line hook) and ``planning.close()``
when it closes (cancels running analyses and estimates before the views are finalized).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.panels.estimates_panel import EstimatesPanel
from ui.panels.estimates_state import EstimatesController
from ui.panels.levels_panel import LevelsPanel
from ui.panels.measurements_table import MeasurementsTable
from ui.panels.overlays import PlanningOverlays
from ui.shell.errors import guarded

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)


def ask_report_options(parent: QWidget | None) -> tuple[str, bool] | None:
    """Ask where to save the report and whether to include patient identifiers (default no).

    Replaced in tests (module attribute)."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("Export plan report")
    from ui.shell.dialog_paths import start_path

    path = QLineEdit(start_path(getattr(parent, "doc", None), "plan_report.html"))
    browse = QPushButton("Browse…")
    browse.clicked.connect(
        lambda: path.setText(
            QFileDialog.getSaveFileName(dlg, "Save report", path.text(), "HTML (*.html)")[0]
            or path.text()
        )
    )
    patient = QCheckBox("Include patient identifiers (name, ID, birth date)")
    patient.setChecked(False)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    row = QHBoxLayout()
    row.addWidget(path, 1)
    row.addWidget(browse)
    lay.addLayout(row)
    lay.addWidget(patient)
    lay.addWidget(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted or not path.text().strip():
        return None
    return path.text().strip(), patient.isChecked()


class Planning:
    """The planning panels of one main window (kept apart from the shell)."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        doc = win.doc
        self.controller = EstimatesController(doc, win)
        self.levels = LevelsPanel(doc, win.state)
        self.measurements = MeasurementsTable(doc)
        self.estimates = EstimatesPanel(doc, self.controller)
        self.overlays = PlanningOverlays(doc, self.controller, win.views(), win)
        self.estimates.ghost_box.toggled.connect(self.overlays.set_ghost_enabled)
        self.levels.centre_requested.connect(self._on_levels_centre_requested)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "levels": win.add_panel(self.levels, "Levels", right),
            "estimates": win.add_panel(self.estimates, "Estimates", right),
            "measurements": win.add_panel(self.measurements, "Morphometry", right),
        }
        self.actions = self._build_actions()
        self._closed = False

    def _build_actions(self) -> dict[str, QAction]:
        win = self.win
        specs = (
            (
                "analyse",
                "&Analyse spine",
                self.levels.analyse,
                "Ctrl+Shift+A",
                "Find and name the vertebral bodies (automatic proposal)",
            ),
            (
                "seed",
                "&Name level at crosshair…",
                self.levels.name_at_crosshair,
                "Ctrl+Shift+N",
                "Name the body under the crosshair; the neighbours are counted from it",
            ),
            (
                "labels",
                "&Import label map…",
                self.levels.import_labels,
                None,
                "Levels from a NIfTI segmentation (TotalSegmentator or VerSe ids)",
            ),
            (
                "report",
                "Export plan &report…",
                self.export_report,
                "Ctrl+Shift+R",
                "Printable HTML report of the plan (no patient identifiers unless ticked)",
            ),
        )
        reg = win.action_registry
        actions = {}
        for key, text, slot, sc, tip in specs:
            menu, before = ("file", "quit") if key == "report" else ("analysis", None)
            actions[key] = reg.register(
                key, text, slot, sc or None, menu, tip=tip, before=before, separator=key == "report"
            )
        return actions

    def _on_levels_centre_requested(self, lps: Any) -> None:
        self.win.state.set_cursor(lps)
        self.win.view_3d.set_roi(lps, self.win.view_3d.pipeline.roi_size_mm)

    @guarded("export the plan report")
    def export_report(self, path: str | None = None, include_patient: bool | None = None) -> str:
        from dataclasses import replace

        from ui.document.case_restore import document_case_plan
        from ui.shell.report import build_report_html, write_report

        doc = self.win.doc
        plan, case = document_case_plan(doc), doc.case
        if doc.volume is None or plan is None or case is None:
            from planner.errors import InputError

            raise InputError("no plan yet: add a level to the plan in the Levels panel first")
        if path is None or include_patient is None:
            got = ask_report_options(self.win)
            if got is None:
                return ""
            path, include_patient = got
        from ui.mri.hook import report_indication
        from ui.shell.main_window import VERSION

        check, mri = report_indication(self.win, doc.active_level or plan.levels[0].level)
        html = build_report_html(
            doc.volume, replace(case, plan=plan), None, None, include_patient, VERSION, check, mri
        )
        out = write_report(path, html)
        self.win.statusBar().showMessage(f"Saved {out.name}", 4000)
        return str(out)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.levels.close_panel()
        self.estimates.close_panel()
        self.overlays.close()
        from ui.render.vertebra_actors import clear_surface_cache

        clear_surface_cache()


def install_planning(win: MainWindow) -> Planning:
    return Planning(win)
