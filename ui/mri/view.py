"""One MRI slice view (sagittal or axial), painted with QPainter from a numpy reslice.

The plane is centred on the shared crosshair carried into the MRI frame, so the crosshair sits
at the centre; a click moves the crosshair there (in the MRI frame, the panel maps it back to
the CT), the wheel steps along the plane normal. Level names carried over from the CT are drawn
at their centroids when they lie within 15 mm of the plane, red when the level is flagged.
Optional overlay: the CT's bone (> 250 HU) in orange through the registration.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from planner.mri.reslice import Plane

LEVEL_COLOUR = QColor(120, 220, 255)
FLAG_COLOUR = QColor(235, 60, 60)
OEDEMA_COLOUR = QColor(255, 210, 60)


class MRISliceView(QWidget):
    """Signals: ``clicked(mri_lps)``, ``stepped(mm)`` (wheel along the normal)."""

    clicked = Signal(object)
    stepped = Signal(float)

    def __init__(self, orientation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"mri_view_{orientation}")
        self.orientation = orientation
        self.plane: Plane | None = None
        self.rgb: NDArray[np.uint8] | None = None
        self.labels: list[tuple[str, NDArray[np.float64], str]] = []  # name, MRI lps, state
        self.title = orientation
        self.setMinimumSize(180, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None

    def show_image(self, plane: Plane, rgb: NDArray[np.uint8], title: str,
                   labels: list[tuple[str, NDArray[np.float64], str]]) -> None:
        """Show an ``(n, n, 3)`` uint8 image of ``plane`` with level labels."""
        self.plane = plane
        self.rgb = np.ascontiguousarray(rgb)
        self.title = title
        self.labels = labels
        n = plane.n
        self._image = QImage(self.rgb.data, n, n, 3 * n, QImage.Format.Format_RGB888).copy()
        self.update()

    def _target(self) -> QRectF:
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2.0, (self.height() - side) / 2.0, side, side)

    def _to_screen(self, column: float, row: float) -> QPointF:
        assert self.plane is not None
        t = self._target()
        s = t.width() / self.plane.n
        return QPointF(t.left() + (column + 0.5) * s, t.top() + (row + 0.5) * s)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image is None or self.plane is None:
            p.setPen(QColor(160, 160, 160))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No MRI")
            p.end()
            return
        t = self._target()
        p.drawImage(t, self._image)
        c = self._to_screen((self.plane.n - 1) / 2.0, (self.plane.n - 1) / 2.0)
        p.setPen(QPen(QColor(80, 255, 80, 200), 1))
        p.drawLine(QPointF(t.left(), c.y()), QPointF(t.right(), c.y()))
        p.drawLine(QPointF(c.x(), t.top()), QPointF(c.x(), t.bottom()))
        for name, lps, state in self.labels:
            col, row, dist = self.plane.to_pixel(lps)
            if abs(dist) > 15.0 or not (0 <= col < self.plane.n and 0 <= row < self.plane.n):
                continue
            colour = {"flagged": FLAG_COLOUR, "oedema": OEDEMA_COLOUR}.get(state, LEVEL_COLOUR)
            p.setPen(colour)
            pos = self._to_screen(col, row)
            p.drawText(pos + QPointF(-8.0, 4.0), name)
        p.setPen(QColor(230, 230, 230))
        p.drawText(QRectF(t.left() + 4, t.top() + 2, t.width() - 8, 18),
                   Qt.AlignmentFlag.AlignLeft, self.title)
        letters = {"sagittal": ("A", "P", "S", "I"), "axial": ("R", "L", "A", "P")}
        left, right, top, bottom = letters[self.orientation]
        p.drawText(QRectF(t.left() + 2, c.y() - 9, 16, 18), Qt.AlignmentFlag.AlignLeft, left)
        p.drawText(QRectF(t.right() - 18, c.y() - 9, 16, 18), Qt.AlignmentFlag.AlignRight, right)
        p.drawText(QRectF(c.x() + 4, t.top() + 18, 16, 18), Qt.AlignmentFlag.AlignLeft, top)
        p.drawText(QRectF(c.x() + 4, t.bottom() - 20, 16, 18), Qt.AlignmentFlag.AlignLeft,
                   bottom)
        p.end()

    def screen_to_lps(self, x: float, y: float) -> NDArray[np.float64] | None:
        """MRI LPS of a widget position, or None outside the image."""
        if self.plane is None:
            return None
        t = self._target()
        s = t.width() / self.plane.n
        col, row = (x - t.left()) / s - 0.5, (y - t.top()) / s - 0.5
        if not (-0.5 <= col < self.plane.n - 0.5 and -0.5 <= row < self.plane.n - 0.5):
            return None
        return self.plane.to_lps(col, row)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            lps = self.screen_to_lps(event.position().x(), event.position().y())
            if lps is not None:
                self.clicked.emit(lps)
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.stepped.emit(float(steps))
        event.accept()


def label_state(name: str, flagged: Callable[[str], bool], oedema: Callable[[str], bool]) -> str:
    return "flagged" if flagged(name) else "oedema" if oedema(name) else ""
