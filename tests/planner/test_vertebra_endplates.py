"""The body frame from the endplates: a lordotic wedge at L4-L6 keeps the bisector."""

from __future__ import annotations

import numpy as np
import pytest

from planner.anatomy import BodyFrame
from planner.grid import ImageGrid
from planner.vertebra.endplates import endplate_frame


def _wedge(slope: float) -> tuple[np.ndarray, ImageGrid, np.ndarray]:
    """A box body (1 mm voxels, LPS = ijk - 40) between the planes z = ±(12 - slope * y):
    cancellous 150 HU, 1.5 mm endplates of 450 HU, disc 80 HU outside. ``slope`` > 0: the
    body is taller in front (-y, anterior; +y is posterior in LPS)."""
    n = 81
    grid = ImageGrid((n, n, n), np.array([[1.0, 0, 0, -40], [0, 1, 0, -40], [0, 0, 1, -40],
                                          [0, 0, 0, 1]]))
    z, y, x = np.meshgrid(*(np.arange(n) - 40.0 for _ in range(3)), indexing="ij")
    top, bot = 12.0 - slope * y, -12.0 + slope * y
    inside = (np.abs(x) <= 20) & (np.abs(y) <= 16)
    body = inside & (z <= top) & (z >= bot)
    plate = inside & (((z <= top) & (z > top - 1.5)) | ((z >= bot) & (z < bot + 1.5)))
    hu = np.where(body, 150.0, 80.0)
    hu = np.where(plate, 450.0, hu).astype(np.float32)
    return hu, grid, body


def _tilt_deg(frame: BodyFrame) -> float:
    return float(np.degrees(np.arccos(abs(float(frame.superior[2])))))


@pytest.mark.parametrize("slope", [0.18, -0.18])
def test_a_wedge_beyond_the_split_keeps_the_bisector_only_when_lordotic_at_l5(
        slope: float) -> None:
    """Endplate planes 20° apart (the bisector is the z axis). Taller in front at L5: the
    physiological lordotic wedge, the bisector is kept (measured on totalseg L5: one normal
    alone put the frame 11° off and the posterior height 1.7 mm short). The same wedge at
    L2, or shorter in front at L5 (a compression fracture's wedge), keeps one endplate's
    normal: ~10° off the bisector."""
    hu, grid, body = _wedge(slope)
    start = BodyFrame(np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]),
                      np.array([0, 0, 1.0]))
    l5 = _tilt_deg(endplate_frame(hu, grid, body, start, level="L5"))
    l2 = _tilt_deg(endplate_frame(hu, grid, body, start, level="L2"))
    if slope > 0:
        assert l5 <= 1.5, l5
    else:
        assert l5 >= 7.0, l5
    assert l2 >= 7.0, l2
