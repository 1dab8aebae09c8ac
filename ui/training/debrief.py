"""Debrief after "Needle placed": CT views with the trainee's and the reference paths, the
planner's metrics and findings of both, errors, counters and the composite score with its
formula and sources."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from planner.training.scoring import FORMULA

ATTEMPT_COLOUR = QColor(255, 200, 40)
REFERENCE_COLOUR = QColor(60, 220, 90)
ROWS = (
    ("breach_grade", "Breach grade (G–R)", "{:d}"), ("breach_direction", "Breach direction", "{}"),
    ("canal_clearance_mm", "Canal margin (mm)", "{:.1f}"),
    ("min_cortical_clearance_mm", "Smallest cortical clearance (mm)", "{:.1f}"),
    ("isthmus_width_mm", "Isthmus width (mm)", "{:.1f}"),
    ("tip_depth_frac", "Tip depth (fraction of body)", "{:.2f}"),
    ("medial_angle_deg", "Medial angle (°)", "{:.1f}"),
    ("craniocaudal_angle_deg", "Craniocaudal angle (°)", "{:.1f}"),
    ("fluoro_rule_ok", "AP/lateral rule kept", "{}"),
)


def needle_planes(volume: Any, ref: Any, att: Any | None, fov_mm: float = 120.0,
                  n: int = 300) -> list[tuple[np.ndarray, list[tuple[np.ndarray, QColor]], str]]:
    """Two CT planes containing the reference needle (transverse and craniocaudal), each with
    both paths projected onto it: (uint8 image, [(polyline px, colour)], title)."""
    a = np.asarray(ref.skin_entry_lps, float)
    b = np.asarray(ref.target_lps, float)
    d = (b - a) / np.linalg.norm(b - a)
    centre = a + 0.6 * (b - a)
    side = np.cross(d, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    up = np.cross(side, d)
    out = []
    for e2, title in ((side, "transverse plane of the reference needle"),
                      (up, "craniocaudal plane of the reference needle")):
        u = (np.arange(n) - (n - 1) / 2) * fov_mm / n
        pts = centre + u[None, :, None] * d + u[:, None, None] * e2  # rows along e2
        hu = volume.sample_lps(pts.reshape(-1, 3), fill=-1000.0).reshape(n, n)
        img = (np.clip((hu + 250.0) / 1500.0, 0, 1) * 255).astype(np.uint8)
        lines = []
        for traj, colour in ((ref, REFERENCE_COLOUR), (att, ATTEMPT_COLOUR)):
            if traj is None:
                continue
            p = np.array([traj.skin_entry_lps, traj.target_lps], float) - centre
            px = np.stack([p @ d, p @ e2], axis=-1) / (fov_mm / n) + (n - 1) / 2
            lines.append((px, colour))
        out.append((img, lines, title))
    return out


def _pixmap(img: np.ndarray, lines: list[tuple[np.ndarray, QColor]]) -> QPixmap:
    h, w = img.shape
    q = QImage(np.ascontiguousarray(img).data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    pm = QPixmap.fromImage(q.convertToFormat(QImage.Format.Format_RGB32))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for k, (px, colour) in enumerate(lines):
        p.setPen(QPen(colour, 3 if k == 0 else 1.5))
        p.drawLine(QPointF(*px[0]), QPointF(*px[1]))
        p.drawEllipse(QPointF(*px[1]), 3, 3)
    p.end()
    return pm


class DebriefDialog(QDialog):
    """Scores and explains one finished attempt."""

    def __init__(self, attempt: Any, result: Any, history: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Debrief")
        self.attempt, self.result, self.history = attempt, result, history
        session = attempt.session
        ref_eval = session.reference()
        att_eval = session.evaluate_plan(attempt.plan())
        lay = QVBoxLayout(self)
        verdict = "PASSED" if result.passed else "FAILED"
        head = QLabel(f"<h2>{verdict} — score {result.score:.1f} / 100</h2>")
        head.setStyleSheet("color: %s;" % ("#1e8449" if result.passed else "#c0392b"))
        lay.addWidget(head)
        if result.fail_reasons:
            lay.addWidget(QLabel("Fails because: " + "; ".join(result.fail_reasons)
                                 + f" (composite would be {result.raw_score:.1f})"))
        summary = QLabel(
            f"Tip error {result.tip_error_mm:.1f} mm · entry error {result.entry_error_mm:.1f} mm"
            f" · angle error {result.angle_error_deg:.1f}° · shots {result.counters.shots} · "
            f"redirections {result.counters.redirections} · time {result.counters.time_s:.0f} s")
        summary.setWordWrap(True)
        lay.addWidget(summary)
        formula = QLabel(FORMULA)
        formula.setWordWrap(True)
        formula.setStyleSheet("color: #555;")
        lay.addWidget(formula)
        views = QHBoxLayout()
        side0 = session.exercise.sides[0]
        att_traj = att_eval[side0].trajectory if side0 in att_eval else None
        for img, lines, title in needle_planes(session.volume, ref_eval[side0].trajectory,
                                               att_traj):
            box = QVBoxLayout()
            lab = QLabel()
            lab.setPixmap(_pixmap(img, lines))
            box.addWidget(lab)
            box.addWidget(QLabel(f"{title} ({side0}) — "
                                 "<span style='color:#d4a000'>yours</span>, "
                                 "<span style='color:#2e9e4f'>reference</span>"))
            views.addLayout(box)
        lay.addLayout(views)
        lay.addWidget(self._table(ref_eval, att_eval, session.exercise.sides))
        self.findings = QListWidget()
        for f in result.findings:
            self.findings.addItem(f"yours, {f['side']}: [{f['severity']}] {f['message']}")
        for side, ev in ref_eval.items():
            for fd in ev.result.findings:
                self.findings.addItem(f"reference, {side}: [{fd.severity}] {fd.message}")
        if self.findings.count() == 0:
            self.findings.addItem("no findings")
        self.findings.setMaximumHeight(110)
        lay.addWidget(self.findings)
        row = QHBoxLayout()
        hist = QPushButton("History…")
        hist.clicked.connect(self._history)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addStretch(1)
        row.addWidget(hist)
        row.addWidget(close)
        lay.addLayout(row)
        self.resize(1000, 900)

    def _table(self, ref_eval: dict[str, Any], att_eval: dict[str, Any],
               sides: tuple[str, ...]) -> QTableWidget:
        cols = [f"{s} {who}" for s in sides for who in ("yours", "reference")]
        t = QTableWidget(len(ROWS) + 3, len(cols))
        t.setHorizontalHeaderLabels(cols)
        t.setVerticalHeaderLabels([r[1] for r in ROWS] + ["Tip error (mm)", "Entry error (mm)",
                                                          "Angle error (°)"])
        for c, s in enumerate(sides):
            for k, ev in ((2 * c, att_eval.get(s)), (2 * c + 1, ref_eval.get(s))):
                if ev is None:
                    continue
                m = ev.result.metrics
                for r, (key, _, fmt) in enumerate(ROWS):
                    v = getattr(m, key)
                    text = fmt.format(v) if not isinstance(v, float) or np.isfinite(v) else "—"
                    t.setItem(r, k, QTableWidgetItem(text))
            errs = self.result.per_side.get(s, {})
            for r, key in enumerate(("tip_error_mm", "entry_error_mm", "angle_error_deg")):
                if key in errs:
                    t.setItem(len(ROWS) + r, 2 * c, QTableWidgetItem(f"{errs[key]:.1f}"))
                    t.setItem(len(ROWS) + r, 2 * c + 1, QTableWidgetItem("0.0"))
        t.resizeColumnsToContents()
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setMinimumHeight(260)
        t.horizontalHeader().setStretchLastSection(True)
        t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        return t

    def _history(self) -> None:
        from ui.training.history_dialog import HistoryDialog

        HistoryDialog(self.history, self).show()
