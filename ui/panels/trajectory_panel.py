"""Trajectory panel: per side approach, needle, place/clear, auto-suggest; live metrics and
findings of the needles in the plan (or of the drag preview while a gesture is in progress).

Mirrors the document: the combos show the plan's trajectory when there is one, and editing
them pushes one undoable command. The metrics are the planner's
(:func:`planner.trajectory.evaluate`, cached per trajectory), so the panel and the command
line show the same numbers. Clicking a finding moves the crosshair (all views) to where it is.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from planner.plan.catalog import load_catalog
from planner.plan.model import APPROACHES
from ui.document.trajectory_service import TrajectoryService
from ui.panels.trajectory_rows import METRIC_ROWS, fmt
from ui.shell.errors import guarded

log = logging.getLogger(__name__)
SIDES = ("left", "right")
SEVERITY_QCOLOURS = {
    "danger": QColor(255, 95, 85),
    "warning": QColor(255, 200, 70),
    "info": QColor(150, 200, 255),
}


def ask_run_analysis(parent: QWidget | None, level: str) -> bool:
    """Offer to analyse the levels when a needle is placed without them; tests replace this."""
    answer = QMessageBox.question(
        parent,
        "Analyse the vertebrae?",
        f"Needle metrics and checks need the segmentation of {level} (body, pedicles, canal).\n"
        "Run the vertebra analysis now? It runs in the background; you can place the needle "
        "meanwhile.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


#: Lines reserved for a suggestion's one-line summary (and its reason when not feasible).
SUGGESTION_LINES = 2


class SideControls(QGroupBox):
    """Approach, needle and actions for one side."""

    def __init__(
        self, side: str, needle_ids: tuple[str, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__(f"{side.capitalize()} needle", parent)
        self.side = side
        self.approach = QComboBox()
        self.approach.addItems(list(APPROACHES))
        self.approach.setToolTip(
            "Transpedicular (through the pedicle) or parapedicular (lateral to it)"
        )
        self.needle = QComboBox()
        self.needle.addItems(list(needle_ids))
        self.needle.setCurrentText("11G")
        self.needle.setToolTip(
            "Working needle from the device catalog (outer diameter used for margins)"
        )
        self.place = QPushButton("Place")
        self.place.setToolTip("Click the target (tip) then the skin entry in a 2D view")
        self.suggest = QPushButton("Auto-suggest")
        self.suggest.setToolTip("Safest path through the pedicle isthmus to the anterior third")
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Remove this needle from the plan (undoable)")
        self.suggestion = QLabel("")
        self.suggestion.setWordWrap(True)
        self.accept = QPushButton("Accept")
        self.accept.setToolTip("Put the suggested path into the plan (one undo step)")
        self.dismiss = QPushButton("Dismiss")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.addWidget(QLabel("Approach"), 0, 0)
        grid.addWidget(self.approach, 0, 1)
        grid.addWidget(QLabel("Needle"), 0, 2)
        grid.addWidget(self.needle, 0, 3)
        row = QHBoxLayout()
        for b in (self.place, self.suggest, self.clear):
            row.addWidget(b)
        grid.addLayout(row, 1, 0, 1, 4)
        srow = QHBoxLayout()
        srow.addWidget(self.suggestion, 1)
        srow.addWidget(self.accept)
        srow.addWidget(self.dismiss)
        grid.addLayout(srow, 2, 0, 1, 4)
        # the suggestion line keeps its space when empty: nothing below moves under the cursor
        lines = SUGGESTION_LINES * self.suggestion.fontMetrics().lineSpacing() + 4
        self.suggestion.setFixedHeight(lines)
        for w in (self.suggestion, self.accept, self.dismiss):
            pol = w.sizePolicy()
            pol.setRetainSizeWhenHidden(True)
            w.setSizePolicy(pol)
        self.set_suggestion_text("")

    def set_suggestion_text(self, text: str) -> None:
        self.suggestion.setText(text)
        self.suggestion.setToolTip(text)
        for w in (self.suggestion, self.accept, self.dismiss):
            w.setVisible(bool(text))


class TrajectoryPanel(QWidget):
    def __init__(
        self, service: TrajectoryService, tool: Any, state: Any, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.doc = service.doc
        self.tool = tool
        self.state = state
        self._offered_for: Any = None
        ids = load_catalog().ids()
        self.level_label = QLabel("")
        # wraps instead of widening the side column; two lines kept so nothing below moves
        self.level_label.setWordWrap(True)
        self.level_label.setMinimumHeight(2 * self.level_label.fontMetrics().lineSpacing())
        self.analyse = QPushButton("Analyse levels")
        self.analyse.setToolTip(
            "Segment the vertebrae (needed for metrics and auto-suggest); runs in the background"
        )
        self.analyse.clicked.connect(self._on_analyse_clicked)
        self.unipedicular = QCheckBox("Unipedicular (tip to the midline)")
        self.unipedicular.setToolTip(
            "One needle only: auto-suggest aims the tip at the midline, and a single needle is "
            "checked for reaching it. A level with one needle counts as unipedicular until you "
            "untick this (the first of two needles); the choice is saved with the plan, and the "
            "report and 'check' use the same rule."
        )
        self.unipedicular.setChecked(service.is_unipedicular())
        self.unipedicular.toggled.connect(service.set_unipedicular)
        service.unipedicular_changed.connect(self._on_unipedicular_changed)
        self.sides = {s: SideControls(s, ids) for s in SIDES}
        for s, c in self.sides.items():
            c.place.clicked.connect(lambda *_, s=s: self._on_place_clicked(s))
            c.suggest.clicked.connect(lambda *_, s=s: self._on_suggest_clicked(s))
            c.clear.clicked.connect(lambda *_, s=s: self._on_clear_clicked(s))
            c.accept.clicked.connect(lambda *_, s=s: self._on_accept_clicked(s))
            c.dismiss.clicked.connect(lambda *_, s=s: service.dismiss_suggestion(s))
            c.approach.activated.connect(lambda *_, s=s: self._on_combo_edited(s))
            c.needle.activated.connect(lambda *_, s=s: self._on_combo_edited(s))
        self.table = QTableWidget(len(METRIC_ROWS), 2)
        self.table.setHorizontalHeaderLabels(["Left", "Right"])
        self.table.setVerticalHeaderLabels([r[0] for r in METRIC_ROWS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # long values ("GR 2: 3.1 mm medial") wrap in their cell instead of being elided
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setMinimumSectionSize(20)
        for r, (_label, _fn, tip) in enumerate(METRIC_ROWS):
            self.table.verticalHeaderItem(r).setToolTip(tip)
        self.findings = QListWidget()
        self.findings.setToolTip("Click a finding to move the crosshair to where it is")
        self.findings.itemClicked.connect(self._on_finding_clicked)
        self.findings.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.level_label, 1)
        top.addWidget(self.analyse)
        lay.addLayout(top)
        for c in self.sides.values():
            lay.addWidget(c)
        lay.addWidget(self.unipedicular)
        lay.addWidget(self.table, 3)
        lay.addWidget(QLabel("Findings"))
        lay.addWidget(self.findings, 2)
        lay.addWidget(self.status)
        self.doc.plan_changed.connect(lambda _o, _n: self.refresh())
        self.doc.volume_changed.connect(lambda _v: self.refresh())
        self.doc.analysis_changed.connect(lambda _o, _n: self.refresh())
        # live while dragging, on the service's shared tick (the view under the mouse first)
        service.preview_changed.connect(lambda p: self.refresh() if p is None else None)
        service.preview_tick.connect(lambda _p: self.refresh())
        service.context_changed.connect(lambda _l: self.refresh())
        service.suggestions_changed.connect(self._show_suggestions)
        service.analysis_running_changed.connect(lambda _r: self.refresh())
        tool.status.connect(self.status.setText)
        self.refresh()

    # --- mirror ------------------------------------------------------------------------------
    def refresh(self) -> None:
        plan = self.service.display_plan()
        has_volume = self.doc.volume is not None
        level = self.service.level
        res = self.service.level_result(level)
        ctx = self.service.context(level) if has_volume else None
        running = self.service.analysis_task is not None and self.service.analysis_task.running
        if not has_volume:
            state = "no study"
        elif level is None:
            state = ""
        elif res is None:
            state = "analysing…" if running else "not analysed: metrics need the analysis"
        elif ctx is None:
            state = "preparing checks…"
        else:
            state = "checks ready"
        if has_volume and level is None:
            self.level_label.setText(
                "<b>No level chosen</b> — in the Levels panel select a level and press "
                "<i>Add to plan</i> (or <i>Set active</i>)"
            )
        else:
            self.level_label.setText(f"<b>Level {level or '—'}</b> — {state}")
        self.unipedicular.setEnabled(level is not None)
        self._show_unipedicular()
        self.analyse.setVisible(has_volume and res is None)
        self.analyse.setEnabled(not running)
        findings: list[tuple[str, Any]] = []
        chk = self.service.check(plan)  # planner.session.derive: what the report and check say
        for col, side in enumerate(SIDES):
            traj = plan.trajectory(side) if plan is not None else None
            c = self.sides[side]
            c.clear.setEnabled(traj is not None)
            c.place.setEnabled(has_volume)
            # with no level chosen, a click asks the user to choose one
            c.suggest.setEnabled(ctx is not None or (has_volume and level is None))
            if traj is not None:
                c.approach.setCurrentText(traj.approach)
                c.needle.setCurrentText(traj.needle_id)
            result = (
                next((r for t, r in chk.results if t == traj), None)
                if chk is not None and traj is not None
                else None
            )
            pending = "…" if (res is not None or running) else "—"  # computing / needs analysis
            for r, (_label, fn, _tip) in enumerate(METRIC_ROWS):
                text = fn(result.metrics) if result is not None else (pending if traj else "")
                self._set_cell(r, col, text)
            if result is not None:
                findings.extend((side, f) for f in result.findings)
        self.table.resizeRowsToContents()
        self._fill_findings(findings, plan)

    def _set_cell(self, r: int, c: int, text: str) -> None:
        item = self.table.item(r, c)
        if item is None:
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, c, item)
        elif item.text() != text:
            item.setText(text)
        warn = text.startswith("VIOLATED") or text.startswith("GR ")
        item.setForeground(QBrush(SEVERITY_QCOLOURS["danger"] if warn else QColor(225, 228, 232)))

    def _fill_findings(self, findings: list[tuple[str, Any]], plan: Any) -> None:
        self.findings.clear()
        order = {"danger": 0, "warning": 1, "info": 2}
        for side, f in sorted(findings, key=lambda sf: order.get(sf[1].severity, 3)):
            item = QListWidgetItem(f"{f.severity.upper()}: {f.message}")
            item.setForeground(QBrush(SEVERITY_QCOLOURS.get(f.severity, QColor(220, 220, 220))))
            item.setData(Qt.ItemDataRole.UserRole, (side, f.location_lps, f.code))
            item.setToolTip(
                f"{f.code} ({side})" + ("" if f.location_lps is None else " — click to go there")
            )
            self.findings.addItem(item)
        if (
            not findings
            and plan is not None
            and plan.trajectories
            and self.service.context() is not None
        ):
            item = QListWidgetItem("No findings: no breach, margins above thresholds")
            item.setForeground(QBrush(QColor(120, 220, 130)))
            self.findings.addItem(item)

    def _show_suggestions(self) -> None:
        for side, c in self.sides.items():
            s = self.service.suggestions.get(side)
            if s is None:
                c.set_suggestion_text("")
                continue
            m = s.result.metrics
            text = (
                f"Suggested {s.trajectory.approach} {s.trajectory.needle_id}: clearance "
                f"{fmt(m.min_cortical_clearance_mm)} mm, tip {fmt(100 * m.tip_depth_frac, 0)} %, "
                f"medial {fmt(m.medial_angle_deg)}°"
            )
            if not s.transpedicular_feasible:
                text += f" — {s.reason}"
            c.set_suggestion_text(text)

    def _show_unipedicular(self) -> None:
        """The box shows the level's unipedicular decision (the intent, else the needles)."""
        on = self.service.is_unipedicular()
        if self.unipedicular.isChecked() != on:
            self.unipedicular.blockSignals(True)
            self.unipedicular.setChecked(on)
            self.unipedicular.blockSignals(False)

    def _on_unipedicular_changed(self, _on: bool) -> None:
        self.refresh()

    # --- user actions ------------------------------------------------------------------------
    @guarded("analyse the levels")
    def _on_analyse_clicked(self) -> None:
        self.service.run_analysis()
        self.refresh()

    @guarded("place the needle")
    def _on_place_clicked(self, side: str) -> None:
        self.service.base_plan()  # no level chosen: asks the user to choose one
        c = self.sides[side]
        self.service.set_selected_side(side)
        self.tool.arm(side, c.approach.currentText(), c.needle.currentText())
        vol = self.doc.volume
        if vol is None or self.service.level_result() is not None:
            return
        running = self.service.analysis_task is not None and self.service.analysis_task.running
        if not running and self._offered_for is not vol:
            self._offered_for = vol  # ask once per study
            if ask_run_analysis(self, self.service.level):
                self.service.run_analysis()
                self.tool.arm(side, c.approach.currentText(), c.needle.currentText())

    @guarded("suggest a path")
    def _on_suggest_clicked(self, side: str) -> None:
        self.service.base_plan()  # no level chosen: asks the user to choose one
        self.service.set_selected_side(side)
        c = self.sides[side]
        self.service.request_suggestion(side, c.needle.currentText(), self.unipedicular.isChecked())

    @guarded("accept the suggestion")
    def _on_accept_clicked(self, side: str) -> None:
        self.service.accept_suggestion(side)

    @guarded("remove the needle")
    def _on_clear_clicked(self, side: str) -> None:
        plan = self.doc.plan
        if plan is not None and plan.trajectory(side) is not None:
            self.doc.push_plan(plan.without_trajectory(side), f"Remove {side} needle")

    @guarded("change the needle")
    def _on_combo_edited(self, side: str) -> None:
        plan = self.doc.plan
        traj = plan.trajectory(side) if plan is not None else None
        if traj is None:
            return
        c = self.sides[side]
        new = replace(traj, approach=c.approach.currentText(), needle_id=c.needle.currentText())
        if new != traj:
            self.doc.push_plan(
                plan.with_trajectory(new),
                f"{side.capitalize()} needle {new.needle_id} {new.approach}",
            )

    def _on_finding_clicked(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if not data:
            return
        side, loc, _code = data
        self.service.set_selected_side(side)
        if loc is not None:
            self.state.set_cursor(np.asarray(loc, dtype=np.float64))
