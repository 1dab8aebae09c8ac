"""A trainee's history: table, a plot of score, shots and time over attempts, CSV export.
Everything stays on this machine."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from planner.training.history import COLUMNS

SERIES = (("score", QColor(40, 120, 220), 100.0), ("shots", QColor(220, 120, 40), None),
          ("time_s", QColor(120, 170, 60), None))


class ProgressPlot(QWidget):
    """Score, shots and time per attempt, each scaled to its own maximum."""

    def __init__(self, rows: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = rows
        self.setMinimumHeight(180)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(255, 255, 255))
        r = QRectF(40, 10, self.width() - 60, self.height() - 40)
        p.setPen(QColor(150, 150, 150))
        p.drawRect(r)
        n = len(self.rows)
        if n == 0:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no attempts yet")
            p.end()
            return
        x = [r.left() + (i + 0.5) / n * r.width() for i in range(n)]
        legend = 45.0
        for key, colour, top in SERIES:
            vals = [float(row.get(key) or 0.0) for row in self.rows]
            vmax = top or max(max(vals), 1.0)
            pts = [QPointF(x[i], r.bottom() - v / vmax * r.height()) for i, v in enumerate(vals)]
            p.setPen(QPen(colour, 2))
            for a, b in zip(pts, pts[1:], strict=False):
                p.drawLine(a, b)
            for q in pts:
                p.drawEllipse(q, 3, 3)
            label = f"{key} (max {vmax:.0f})"
            p.drawText(QPointF(legend, self.height() - 10), label)
            legend += 12 + 7 * len(label)
        p.end()


class HistoryDialog(QDialog):
    def __init__(self, history: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.setWindowTitle(f"Training history — {history.trainee}")
        rows = history.rows()
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{len(rows)} attempt(s), stored only on this computer in "
                             f"{history.folder}"))
        self.table = QTableWidget(len(rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for i, row in enumerate(rows):
            for j, key in enumerate(COLUMNS):
                self.table.setItem(i, j, QTableWidgetItem(str(row.get(key, ""))))
        self.table.resizeColumnsToContents()
        lay.addWidget(self.table)
        lay.addWidget(ProgressPlot(rows))
        bar = QHBoxLayout()
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._export)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        bar.addStretch(1)
        bar.addWidget(export)
        bar.addWidget(close)
        lay.addLayout(bar)
        self.resize(900, 520)

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "training_history.csv",
                                              "CSV (*.csv)")
        if path:
            self.history.export_csv(path)
