"""Screenshots of one view or the whole window, with the VTK pixels read from VTK.

``QWidget.grab()`` holds no VTK pixels (HEADLESS.md), so each view's image is read with
``vtkWindowToImageFilter`` and painted over the grabbed window at the view's place.
Patient identifiers are never drawn into screenshots: the main window hides its patient
annotation while capturing.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

#: Screenshot sizes offered (settings value → menu text).
SIZES = {"screen": "On-screen size", "2x": "2× on-screen", "1920": "1920 px wide"}


def scale_for(size: str, width_px: int) -> float:
    """Magnification of a screenshot ``width_px`` wide for a :data:`SIZES` key."""
    if size == "2x":
        return 2.0
    if size == "1920":
        return max(1920.0 / max(width_px, 1), 1.0)
    return 1.0


def vtk_pixels(render_window, scale: int = 1) -> NDArray[np.uint8]:  # type: ignore[no-untyped-def]
    """RGB pixels ``[row, column, 3]`` of a render window, top row first.

    ``scale`` > 1 renders off-screen at that magnification (tiles; lines and text keep
    their on-screen proportions), not an upsampled copy of the screen.
    """
    render_window.Render()
    w2i = vtkWindowToImageFilter()
    w2i.SetInput(render_window)
    if scale > 1:
        w2i.SetScale(int(scale), int(scale))
        w2i.FixBoundaryOn()
    w2i.SetInputBufferTypeToRGB()
    w2i.ReadFrontBufferOff()
    w2i.Update()
    img = w2i.GetOutput()
    w, h, _ = img.GetDimensions()
    arr = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
    return np.ascontiguousarray(arr[::-1])


def pixels_to_qimage(arr: NDArray[np.uint8]) -> QImage:
    h, w, _ = arr.shape
    data = np.ascontiguousarray(arr)
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def view_image(view, scale: float = 1.0) -> QImage:  # type: ignore[no-untyped-def]
    """The rendered pixels of one view (a SliceView or VolumeView), magnified ``scale``×."""
    rw = view.render_window()
    if scale <= 1.0:
        return pixels_to_qimage(vtk_pixels(rw))
    img = pixels_to_qimage(vtk_pixels(rw, math.ceil(scale - 1e-9)))
    w, h = rw.GetSize()
    want = QSize(round(w * scale), round(h * scale))
    if img.size() == want:
        return img
    return img.scaled(
        want, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def window_image(window: QWidget, views, scale: float = 1.0) -> QImage:  # type: ignore[no-untyped-def]
    """The whole window as the user sees it, VTK views included, magnified ``scale``×.

    Qt widgets are painted again at the higher resolution (sharp text), not upsampled.
    """
    size = QSize(round(window.width() * scale), round(window.height() * scale))
    base = QImage(size, QImage.Format.Format_RGB32)
    base.fill(0)
    painter = QPainter(base)
    painter.scale(scale, scale)
    window.render(painter, QPoint(0, 0))
    painter.resetTransform()
    for view in views:
        if not view.isVisible():
            continue
        pos = view.vtk.mapTo(window, QPoint(0, 0))
        target = QRect(
            round(pos.x() * scale),
            round(pos.y() * scale),
            round(view.vtk.width() * scale),
            round(view.vtk.height() * scale),
        )
        painter.drawImage(target, view_image(view, scale))
    painter.end()
    return base
