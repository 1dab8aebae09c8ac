"""Estimates panel: balloons, clinical inputs, cement volume, cement spread, restoration, compare.

Mirrors ``doc.plan`` (inputs) and the :class:`~ui.panels.estimates_state.EstimatesController`
(results). Every number has its unit and band; the tabs show formula, inputs, notes and the
sources; the big numbers carry the same as a tooltip. The injected-volume slider and its
Play button animate the planned cement filling (a view setting, not plan data).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui.document.document import Document
from ui.panels.common import sources_tooltip
from ui.panels.estimates_inputs import BalloonBox, ClinicalBox
from ui.panels.estimates_state import EstimatesController
from ui.panels.estimates_text import (
    balloon_html,
    cement_html,
    compare_html,
    restoration_html,
    sources_html,
    spread_html,
)

STYLE = (
    "<style>p{margin:3px 0} .big{font-size:15pt} .flags li{color:#f0be5a} "
    ".notes li{color:#aab4c0} .honest{color:#9ab;font-style:italic} "
    "table.grid td, table.grid th{padding:2px 6px;border:1px solid #556}</style>"
)
INJECT_STEP_ML = 0.1
PLAY_INTERVAL_MS = 80


def _browser() -> QTextBrowser:
    b = QTextBrowser()
    b.setOpenExternalLinks(False)
    return b


class EstimatesPanel(QWidget):
    def __init__(
        self,
        doc: Document,
        controller: EstimatesController,
        catalog: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("estimates_panel")
        self.doc = doc
        self.ctrl = controller
        if catalog is None:
            from planner.estimate import load_balloon_catalog

            catalog = load_balloon_catalog()
        self.catalog = catalog
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.total = QLabel()  # every planned level and the case's cement total
        self.total.setObjectName("estimates_total")
        self.total.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._inputs_tab(), "Inputs")
        self.tabs.addTab(self._cement_tab(), "Cement")
        self.tabs.addTab(self._spread_tab(), "Spread")
        self.tabs.addTab(self._restoration_tab(), "Restoration")
        self.compare = _browser()
        self.tabs.addTab(self.compare, "VP vs BKP")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.status)
        lay.addWidget(self.total)
        lay.addWidget(self.tabs, 1)
        self._play = QTimer(self)
        self._play.setInterval(PLAY_INTERVAL_MS)
        self._play.timeout.connect(self._on_play_timer_timeout)
        controller.changed.connect(self.refresh)
        controller.busy_changed.connect(lambda *_: self._update_status())
        controller.injected_changed.connect(
            lambda *_: self._update_inject(
                self.ctrl.current.spread if self.ctrl.current is not None else None
            )
        )
        self.refresh()

    # --- construction -----------------------------------------------------------------------
    def _inputs_tab(self) -> QWidget:
        inner = QWidget()
        lay = QVBoxLayout(inner)
        self.clinical = ClinicalBox(self.doc)
        self.balloon_boxes = {s: BalloonBox(self.doc, s, self.catalog) for s in ("left", "right")}
        lay.addWidget(self.clinical)
        for b in self.balloon_boxes.values():
            lay.addWidget(b)
        self.catalog_note = QLabel("Balloon sizes: " + " ".join(self.catalog.notes[1:2]))
        self.catalog_note.setWordWrap(True)
        self.catalog_note.setStyleSheet("color:#9aa4b0;")
        lay.addWidget(self.catalog_note)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        for combo in inner.findChildren(QComboBox):  # fill the width, never force it wider
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        scroll.setWidget(inner)
        return scroll

    def _cement_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.cement_value = QLabel("—")
        self.cement_value.setObjectName("cement_value")
        self.cement_value.setStyleSheet("font-size: 20pt; font-weight: bold;")
        self.cement_band = QLabel("")
        self.cement_text = _browser()
        lay.addWidget(self.cement_value)
        lay.addWidget(self.cement_band)
        lay.addWidget(self.cement_text, 1)
        return w

    def _spread_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        row = QHBoxLayout()
        self.inject_slider = QSlider(Qt.Orientation.Horizontal)
        self.inject_slider.setToolTip(
            "Injected volume: shows the cloud as it fills (a view setting)"
        )
        self.inject_slider.valueChanged.connect(self._on_inject_slider_value_changed)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Animate the filling from 0 mL to the planned volume")
        self.play_button.clicked.connect(self.toggle_play)
        self.inject_label = QLabel("—")
        row.addWidget(QLabel("Injected"))
        row.addWidget(self.inject_slider, 1)
        row.addWidget(self.inject_label)
        row.addWidget(self.play_button)
        lay.addLayout(row)
        self.spread_text = _browser()
        lay.addWidget(self.spread_text, 1)
        return w

    def _restoration_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.ghost_box = QCheckBox("Ghost outline of the expected shape")
        self.ghost_box.setChecked(True)
        self.ghost_box.setToolTip(
            "Dashed outline in the sagittal view: the body with the median expected "
            "gain per wall, immediately after the procedure (a band, not a promise)"
        )
        self.restoration_text = _browser()
        lay.addWidget(self.ghost_box)
        lay.addWidget(self.restoration_text, 1)
        return w

    # --- mirror -----------------------------------------------------------------------------
    def refresh(self) -> None:
        v = self.ctrl.current
        self._update_status()
        for side, box in self.balloon_boxes.items():
            res = next((b for b in v.balloons if b.side == side), None) if v is not None else None
            box.show_result(res, v is not None and v.pending)
        if v is None:
            self.cement_value.setText("—")
            self.cement_value.setToolTip("")
            self.cement_band.setText(
                self.ctrl.error or "Choose an analysed level in the Levels panel."
            )
            for b in (self.cement_text, self.spread_text, self.restoration_text, self.compare):
                b.setHtml("")
            self._update_inject(None)
            return
        c = v.cement
        self.cement_value.setText(f"{c.recommended_ml:.1f} mL")
        lo, hi = c.range_ml
        self.cement_band.setText(
            f"band {lo:.1f}–{hi:.1f} mL · {c.procedure}"
            + (" · provisional (cavity pending)" if v.pending and v.plan.balloons else "")
        )
        self.cement_value.setToolTip(
            sources_tooltip(
                c.method,
                f"V_VB {c.body_volume_ml:.1f} mL, flags: {', '.join(c.flags) or 'none'}",
                c.sources,
            )
        )
        self.cement_text.setHtml(
            STYLE + cement_html(c) + "<h4>Sources</h4>" + sources_html(c.sources)
        )
        morph = v.result.morphometry
        rs = v.restoration
        self.restoration_text.setHtml(
            STYLE
            + restoration_html(rs, morph)
            + ("" if rs is None else "<h4>Sources</h4>" + sources_html(rs.sources))
        )
        self.compare.setHtml(
            STYLE
            + compare_html(v.comparison)
            + "<h4>Sources</h4>"
            + sources_html(v.comparison.sources)
        )
        spread = v.spread
        balloons = "".join(balloon_html(b) for b in v.balloons)
        if v.pending and spread is None:
            self.spread_text.setHtml(STYLE + "<p><i>Simulating the cement spread…</i></p>")
        else:
            self.spread_text.setHtml(
                STYLE
                + spread_html(spread)
                + balloons
                + ("" if spread is None else "<h4>Sources</h4>" + sources_html(spread.sources))
            )
        self._update_inject(spread)

    def total_text(self) -> str:
        """Per-level and total cement (``derive.case_estimates``), or what is pending."""
        case = self.doc.case
        if case is None or not case.plan.levels:
            return ""
        totals = self.ctrl.totals
        if totals is None or self.ctrl.totals_levels != case.plan.levels:
            return "Cement for the case: computing…"
        per, total = totals
        parts = []
        for lp in case.plan.levels:
            est = per.get(lp.level)
            proc = "KP" if lp.procedure == "kyphoplasty" else "VP"
            vol = "not analysed" if est is None else f"{est.cement.recommended_ml:.1f} mL"
            parts.append(f"{lp.level} {proc} {vol}")
        lo, hi = total.range_ml
        return (
            " · ".join(parts)
            + f" — <b>total {total.recommended_ml:.1f} mL</b> (band {lo:.1f}–{hi:.1f} mL)"
        )

    def _update_status(self) -> None:
        v = self.ctrl.current
        plan = self.doc.plan
        self.total.setText(self.total_text())
        if plan is None:
            self.status.setText(
                "No level chosen: add a level to the plan or set one active in the Levels panel."
            )
        elif v is None:
            self.status.setText(
                f"{plan.level}: analyse the level first (Levels panel)."
                if not self.ctrl.error
                else f"{plan.level}: {self.ctrl.error}"
            )
        else:
            busy = " · updating…" if self.ctrl.busy or v.pending else ""
            self.status.setText(
                f"<b>{plan.level}</b> · {plan.procedure} · V_VB "
                f"{v.result.morphometry.body_volume_ml:.1f} mL{busy}"
            )

    def _update_inject(self, spread: Any) -> None:
        self.inject_slider.blockSignals(True)
        if spread is None:
            self.inject_slider.setRange(0, 0)
            self.inject_slider.setEnabled(False)
            self.play_button.setEnabled(False)
            self.inject_label.setText("—")
            self._play.stop()
        else:
            n = max(1, int(round(spread.volume_ml / INJECT_STEP_ML)))
            self.inject_slider.setRange(0, n)
            self.inject_slider.setEnabled(True)
            self.play_button.setEnabled(True)
            ml = self.ctrl.injected_ml
            self.inject_slider.setValue(n if ml is None else int(round(ml / INJECT_STEP_ML)))
            self._set_inject_label(spread, self.inject_slider.value())
        self.inject_slider.blockSignals(False)

    def _set_inject_label(self, spread: Any, value: int) -> None:
        ml = min(value * INJECT_STEP_ML, spread.volume_ml)
        self.inject_label.setText(f"{ml:.1f} / {spread.volume_ml:.1f} mL")

    def _on_inject_slider_value_changed(self, value: int) -> None:
        v = self.ctrl.current
        if v is None or v.spread is None:
            return
        self._set_inject_label(v.spread, value)
        full = value >= self.inject_slider.maximum()
        self.ctrl.set_injected(None if full else value * INJECT_STEP_ML)

    def toggle_play(self) -> None:
        if self._play.isActive():
            self._play.stop()
            self.play_button.setText("▶ Play")
            return
        if self.inject_slider.value() >= self.inject_slider.maximum():
            self.inject_slider.setValue(0)
        self.play_button.setText("■ Stop")
        self._play.start()

    def _on_play_timer_timeout(self) -> None:
        s = self.inject_slider
        if s.value() >= s.maximum():
            self._play.stop()
            self.play_button.setText("▶ Play")
            return
        s.setValue(s.value() + 1)

    def close_panel(self) -> None:
        self._play.stop()
        self.ctrl.close()
