"""Screenshots of one view or the whole window, with the VTK pixels read from VTK.

``QWidget.grab()`` holds no VTK pixels (HEADLESS.md), so each view's image is read with
``vtkWindowToImageFilter`` and painted over the grabbed window at the view's place.
Patient identifiers are never drawn into screenshots: the main window hides its patient
annotation while capturing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter


def vtk_pixels(render_window) -> NDArray[np.uint8]:  # type: ignore[no-untyped-def]
    """RGB pixels ``[row, column, 3]`` of a render window, top row first."""
    render_window.Render()
    w2i = vtkWindowToImageFilter()
    w2i.SetInput(render_window)
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


def view_image(view) -> QImage:  # type: ignore[no-untyped-def]
    """The rendered pixels of one view (a SliceView or VolumeView)."""
    return pixels_to_qimage(vtk_pixels(view.render_window()))


def window_image(window: QWidget, views) -> QImage:  # type: ignore[no-untyped-def]
    """The whole window as the user sees it, VTK views included."""
    base = window.grab().toImage()
    painter = QPainter(base)
    for view in views:
        if not view.isVisible():
            continue
        pos = view.vtk.mapTo(window, QPoint(0, 0))
        painter.drawImage(QRect(pos, view.vtk.size()), view_image(view))
    painter.end()
    return base
