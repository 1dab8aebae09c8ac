"""Plane mode (M): the mid-sagittal line is drawn over the crosshair, not under it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import open_truth_demo

pytestmark = pytest.mark.gui


def _pixels(view: Any) -> Any:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    view.render_now()
    grab = vtkWindowToImageFilter()
    grab.SetInput(view.vtk.GetRenderWindow())
    grab.ReadFrontBufferOff()
    grab.Update()
    img = grab.GetOutput()
    w, h, _ = img.GetDimensions()
    rgb = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
    return rgb[::-1]  # rows from the top, as Qt counts them


def test_the_plane_line_is_drawn_over_the_crosshair(make_window: Any, demo_case: Any) -> None:
    from ui.render.correction_overlays import PLANE_COLOUR

    win = make_window()
    open_truth_demo(win, demo_case)  # the crosshair crosses at the plane centre
    modes, view = win.corrections, win.slice_views["axial"]
    modes.set_mode("plane")
    for _ in range(5):
        QApplication.processEvents()
    handles = {(lv, h): p for lv, h, p in modes.plane.visible}
    ratio = view.vtk.devicePixelRatioF()
    want = np.array(PLANE_COLOUR) * 255.0
    rgb = _pixels(view)
    c, e = (view.widget_point(handles[("L1", h)]) for h in ("centre", "posterior"))
    assert abs(c.x() - e.x()) < 1.0  # untilted: the line runs along the crosshair's line
    for t in (0.6, 0.7, 0.8):  # beyond the crosshair's gap around the cursor
        x, y = c.x() + t * (e.x() - c.x()), c.y() + t * (e.y() - c.y())
        xi, yi = int(round(x * ratio)), int(round(y * ratio))
        row = rgb[yi, xi - 2 : xi + 3].astype(float)
        full = int((np.abs(row - want).max(axis=1) < 30).sum())
        assert full >= 2, (t, row.tolist())  # the 2 px line whole, not crossed by the crosshair
    modes.set_mode("")
