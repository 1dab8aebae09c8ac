"""A simulated C-arm image with its orientation marker, C-arm label and shot counter."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class FluoroView(QWidget):
    """Shows a :class:`planner.fluoro.FluoroShot`; a click emits the image pixel (col, row)."""

    clicked = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shot: Any = None
        self.caption = ""
        self.marker_px: tuple[float, float] | None = None
        self._qimage: QImage | None = None
        self.setMinimumSize(360, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def set_shot(self, shot: Any, caption: str = "") -> None:
        self.shot = shot
        self.caption = caption
        img = np.ascontiguousarray(shot.display)
        h, w = img.shape
        self._qimage = QImage(img.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.update()

    def _rect(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_image(self, x: float, y: float) -> tuple[float, float] | None:
        if self.shot is None:
            return None
        r = self._rect()
        n = self.shot.display.shape[0]
        col = (x - r.left()) / r.width() * n - 0.5
        row = (y - r.top()) / r.height() * n - 0.5
        return (col, row) if 0 <= col < n and 0 <= row < n else None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            p = self.to_image(event.position().x(), event.position().y())
            if p is not None:
                self.clicked.emit(p[0], p[1])
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if self._qimage is None or self.shot is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "No image yet — take a shot (AP, Lateral, Oblique)")
            p.end()
            return
        r = self._rect()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(r, self._qimage)
        o = self.shot.orientation
        f = QFont(self.font())
        f.setPointSize(max(10, int(r.width() / 35)))
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(255, 210, 60))
        m = 8.0
        p.drawText(QRectF(r.left() + m, r.top(), r.width() - 2 * m, r.height()),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, o["left"])
        p.drawText(QRectF(r.left() + m, r.top(), r.width() - 2 * m, r.height()),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, o["right"])
        p.drawText(QRectF(r.left(), r.top() + m, r.width(), r.height() - 2 * m),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, o["top"])
        p.drawText(QRectF(r.left(), r.top() + m, r.width(), r.height() - 2 * m),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, o["bottom"])
        f.setBold(False)
        f.setPointSize(max(9, int(r.width() / 50)))
        p.setFont(f)
        p.setPen(QColor(230, 230, 230))
        p.drawText(QRectF(r.left() + m, r.top() + m, r.width(), 4 * f.pointSize() + 20),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                   f"{o['label']}\nmag ×{o['magnification']:.2f}")
        p.drawText(QRectF(r.left(), r.bottom() - 44, r.width() - m, 40),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, self.caption)
        if self.marker_px is not None:
            n = self.shot.display.shape[0]
            x = r.left() + (self.marker_px[0] + 0.5) / n * r.width()
            y = r.top() + (self.marker_px[1] + 0.5) / n * r.height()
            p.setPen(QPen(QColor(80, 220, 255), 2))
            p.drawEllipse(QPointF(x, y), 6, 6)
        p.end()
