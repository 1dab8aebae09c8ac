"""Estimate overlays without Qt: the lifted superior endplate is drawn where the balloon puts it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from vtkmodules.vtkRenderingCore import vtkRenderer

from tests.ui.demo_truth import truth_analysis
from ui.render.adapters import ViewContext
from ui.render.estimate_actors import BalloonAdapter
from ui.render.vertebra_actors import height_line_points


def _polyline_points(poly) -> np.ndarray:  # type: ignore[no-untyped-def]
    pts = poly.GetPoints()
    return np.array([pts.GetPoint(i) for i in range(pts.GetNumberOfPoints())])


def test_lifted_endplate_is_drawn_above_the_measured_superior_endplate(demo_case) -> None:  # type: ignore[no-untyped-def]
    result = truth_analysis(demo_case).level("L1")
    frame = result.anatomy.frame
    lift = {"anterior": 3.0, "middle": 2.0, "posterior": 0.0}
    balloon = SimpleNamespace(side="left", cavity_fine=None, lift_mm=lift)
    value = SimpleNamespace(
        result=result, full=SimpleNamespace(balloons=(balloon,), fine=SimpleNamespace(grid=None))
    )
    plane = (frame.origin_lps, frame.left, 0.5)  # the body's mid-sagittal plane
    adapter = BalloonAdapter()
    adapter.attach(ViewContext("sagittal", vtkRenderer(), lambda: None, lambda: plane))
    adapter.update(None, value)

    assert adapter.lift.GetVisibility()
    drawn = _polyline_points(adapter.lift_poly)
    ends = height_line_points(result.anatomy, result.morphometry)
    for row, wall in zip(drawn, ("anterior", "middle", "posterior"), strict=True):
        expected = ends[wall][1] + frame.superior * lift[wall]
        expected -= ((expected - frame.origin_lps) @ frame.left) * frame.left
        assert np.allclose(row, expected, atol=1e-6), wall

    no_lift = SimpleNamespace(side="left", cavity_fine=None, lift_mm=dict.fromkeys(lift, 0.0))
    value2 = SimpleNamespace(
        result=result, full=SimpleNamespace(balloons=(no_lift,), fine=SimpleNamespace(grid=None))
    )
    adapter.update(value, value2)
    assert not adapter.lift.GetVisibility()
    adapter.remove()
