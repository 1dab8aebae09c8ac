"""Toolbar icons drawn with QPainter: one line weight, one colour, one 24-unit grid.

Drawing them keeps the set consistent and the repository free of binary assets. ``icon(name)``
caches; unknown names raise KeyError so a typo shows at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

INK = QColor("#c9ced6")
ACCENT = QColor("#6fa3d6")
_cache: dict[str, QIcon] = {}


def _pen(p: QPainter, colour: QColor = INK, width: float = 1.8) -> None:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)


def _folder(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(3, 7)
    path.lineTo(9, 7)
    path.lineTo(11, 9)
    path.lineTo(21, 9)  # noqa: E702
    path.lineTo(21, 19)
    path.lineTo(3, 19)
    path.closeSubpath()  # noqa: E702
    p.drawPath(path)


def _file(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(6, 3)
    path.lineTo(14, 3)
    path.lineTo(19, 8)
    path.lineTo(19, 21)  # noqa: E702
    path.lineTo(6, 21)
    path.closeSubpath()  # noqa: E702
    p.drawPath(path)
    p.drawPolyline([QPointF(14, 3), QPointF(14, 8), QPointF(19, 8)])


def _demo(p: QPainter) -> None:
    # a vertebral body seen from the side: three stacked rounded blocks
    for y in (3, 10, 17):
        p.drawRoundedRect(QRectF(6, y, 12, 5), 1.5, 1.5)


def _camera(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(3, 7, 18, 12), 2, 2)
    p.drawEllipse(QPointF(12, 13), 3.5, 3.5)
    p.drawLine(QPointF(8, 7), QPointF(10, 4))
    p.drawLine(QPointF(10, 4), QPointF(14, 4))  # noqa: E702
    p.drawLine(QPointF(14, 4), QPointF(16, 7))


def _crosshair(p: QPainter) -> None:
    for a, b in (
        ((12, 2), (12, 9)),
        ((12, 15), (12, 22)),
        ((2, 12), (9, 12)),
        ((15, 12), (22, 12)),
    ):
        p.drawLine(QPointF(*a), QPointF(*b))
    _pen(p, ACCENT)
    p.drawEllipse(QPointF(12, 12), 1.2, 1.2)


def _window_level(p: QPainter) -> None:
    p.drawEllipse(QPointF(12, 12), 8, 8)
    path = QPainterPath()
    path.moveTo(12, 4)
    path.arcTo(QRectF(4, 4, 16, 16), 90, 180)
    path.closeSubpath()
    p.setBrush(INK)
    p.drawPath(path)


def _ruler(p: QPainter) -> None:
    p.drawLine(QPointF(4, 20), QPointF(20, 4))
    _pen(p, ACCENT, 2.4)
    p.drawPoint(QPointF(4, 20))
    p.drawPoint(QPointF(20, 4))  # noqa: E702
    _pen(p)
    for t in (0.3, 0.5, 0.7):
        x, y = 4 + 16 * t, 20 - 16 * t
        p.drawLine(QPointF(x - 1.5, y - 1.5), QPointF(x + 1.5, y + 1.5))


def _angle(p: QPainter) -> None:
    p.drawPolyline([QPointF(20, 5), QPointF(4, 19), QPointF(21, 19)])
    p.drawArc(QRectF(-3, 12, 14, 14), 0, int(41 * 16))


def _layout_2x2(p: QPainter) -> None:
    for x, y in ((3, 3), (13, 3), (3, 13), (13, 13)):
        p.drawRect(QRectF(x, y, 8, 8))


def _layout_1p3(p: QPainter) -> None:
    p.drawRect(QRectF(3, 3, 18, 11))
    for x in (3, 9.5, 16):
        p.drawRect(QRectF(x, 16, 5, 5))


def _layout_1x3(p: QPainter) -> None:
    for x in (2, 9, 16):
        p.drawRect(QRectF(x, 6, 6, 12))


def _maximise(p: QPainter) -> None:
    p.drawRect(QRectF(4, 4, 16, 16))
    p.drawPolyline([QPointF(13, 7), QPointF(17, 7), QPointF(17, 11)])
    p.drawPolyline([QPointF(7, 13), QPointF(7, 17), QPointF(11, 17)])


def _reset(p: QPainter) -> None:
    p.drawArc(QRectF(4, 4, 16, 16), 60 * 16, 290 * 16)
    a = math.radians(60)
    tip = QPointF(12 + 8 * math.cos(a), 12 - 8 * math.sin(a))
    p.drawPolyline([tip + QPointF(-4, -1), tip, tip + QPointF(-1, 4)])


def _arrow(p: QPainter, flip: bool) -> None:
    p.save()
    if flip:
        p.translate(24, 0)
        p.scale(-1, 1)
    path = QPainterPath()
    path.moveTo(19, 17)
    path.cubicTo(19, 9, 13, 7, 6, 9)
    p.drawPath(path)
    p.drawPolyline([QPointF(9, 5), QPointF(5, 9), QPointF(9, 13)])
    p.restore()


def _cube(p: QPainter) -> None:
    p.drawPolygon(
        [
            QPointF(12, 3),
            QPointF(20, 7),
            QPointF(20, 17),
            QPointF(12, 21),
            QPointF(4, 17),
            QPointF(4, 7),
        ]
    )
    p.drawPolyline([QPointF(4, 7), QPointF(12, 11), QPointF(20, 7)])
    p.drawLine(QPointF(12, 11), QPointF(12, 21))


def _target(p: QPainter) -> None:
    p.drawRect(QRectF(4, 4, 16, 16))
    _pen(p, ACCENT)
    p.drawEllipse(QPointF(12, 12), 3, 3)


def _plane(p: QPainter) -> None:
    # an axial body outline crossed by its mid-sagittal line with a turn handle
    p.drawEllipse(QPointF(12, 13), 8, 6)
    _pen(p, ACCENT)
    p.drawLine(QPointF(9, 3), QPointF(15, 22))
    p.drawEllipse(QPointF(9, 3), 1.5, 1.5)


def _brush(p: QPainter) -> None:
    p.drawLine(QPointF(20, 4), QPointF(11, 13))
    _pen(p, ACCENT)
    p.drawEllipse(QPointF(8, 16), 4, 4)
    p.drawLine(QPointF(6, 16), QPointF(10, 16))
    p.drawLine(QPointF(8, 14), QPointF(8, 18))


def _eraser(p: QPainter) -> None:
    p.drawLine(QPointF(20, 4), QPointF(11, 13))
    _pen(p, ACCENT)
    p.drawEllipse(QPointF(8, 16), 4, 4)
    p.drawLine(QPointF(6, 16), QPointF(10, 16))


def _pedicle(p: QPainter) -> None:
    # a pedicle ring seen end-on and its axis through two clicked points
    p.drawEllipse(QPointF(12, 12), 5, 7)
    _pen(p, ACCENT)
    p.drawLine(QPointF(4, 20), QPointF(20, 4))
    p.drawEllipse(QPointF(4, 20), 1.5, 1.5)
    p.drawEllipse(QPointF(20, 4), 1.5, 1.5)


_DRAW: dict[str, Callable[[QPainter], None]] = {
    "plane": _plane,
    "brush": _brush,
    "eraser": _eraser,
    "pedicle": _pedicle,
    "open_folder": _folder,
    "open_file": _file,
    "demo": _demo,
    "screenshot": _camera,
    "navigate": _crosshair,
    "window_level": _window_level,
    "distance": _ruler,
    "angle": _angle,
    "layout_2x2": _layout_2x2,
    "layout_1p3": _layout_1p3,
    "layout_1x3": _layout_1x3,
    "maximise": _maximise,
    "reset": _reset,
    "undo": lambda p: _arrow(p, False),
    "redo": lambda p: _arrow(p, True),
    "surface": _cube,
    "roi": _target,
}


def icon(name: str) -> QIcon:
    if name in _cache:
        return _cache[name]
    draw = _DRAW[name]
    result = QIcon()
    for size in (24, 48):
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.scale(size / 24.0, size / 24.0)
        _pen(p)
        draw(p)
        p.end()
        result.addPixmap(pm)
    _cache[name] = result
    return result


def names() -> tuple[str, ...]:
    return tuple(_DRAW)
