"""Planes through an MRI (or CT) for the MRI views, and the CT shown in them through the
registration.

Notes
-----
Screen convention (the same as the CT views): sagittal images have the patient's anterior on
the left and superior at the top (columns along +y, rows along -z); axial images are in
radiological convention, the patient's left on the right and anterior at the top (columns
along +x, rows along +y). Plane axes are those of the MRI's patient LPS frame. Pixel ``(r, c)``
lies at ``centre + (c - (n - 1) / 2) * pixel_mm * u + (r - (n - 1) / 2) * pixel_mm * v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.mri.rigid import RigidTransform
from planner.volume import CTVolume

FloatArray = NDArray[np.float64]

#: Orientation -> (column direction u, row direction v, normal), LPS.
AXES: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = {
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)),
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}


@dataclass(frozen=True, eq=False)
class Plane:
    """A square image plane: centre (LPS mm), axes, size in pixels and pixel size (mm)."""

    orientation: str
    centre_lps: FloatArray
    n: int
    pixel_mm: float

    @property
    def u(self) -> FloatArray:
        return np.asarray(AXES[self.orientation][0])

    @property
    def v(self) -> FloatArray:
        return np.asarray(AXES[self.orientation][1])

    @property
    def normal(self) -> FloatArray:
        return np.asarray(AXES[self.orientation][2])

    def points(self) -> FloatArray:
        """LPS of every pixel, ``(n, n, 3)`` indexed [row, column]."""
        off = (np.arange(self.n) - (self.n - 1) / 2.0) * self.pixel_mm
        return np.asarray(self.centre_lps[None, None, :] + off[None, :, None] * self.u
                          + off[:, None, None] * self.v, dtype=np.float64)

    def to_pixel(self, lps: ArrayLike) -> tuple[float, float, float]:
        """(column, row, distance from the plane in mm) of an LPS point."""
        d = np.asarray(lps, dtype=np.float64) - self.centre_lps
        c = float(d @ self.u) / self.pixel_mm + (self.n - 1) / 2.0
        r = float(d @ self.v) / self.pixel_mm + (self.n - 1) / 2.0
        return c, r, float(d @ self.normal)

    def to_lps(self, column: float, row: float) -> FloatArray:
        return np.asarray(self.centre_lps + (column - (self.n - 1) / 2.0) * self.pixel_mm * self.u
                          + (row - (self.n - 1) / 2.0) * self.pixel_mm * self.v)


def sample_plane(volume: CTVolume, plane: Plane,
                 to_volume: RigidTransform | None = None) -> FloatArray:
    """Trilinear values of ``volume`` on the plane (NaN outside).

    ``to_volume`` maps the plane's frame into the volume's (e.g. MRI -> CT, the inverse of
    the registration, to show the CT in an MRI view).
    """
    pts = plane.points().reshape(-1, 3)
    if to_volume is not None:
        pts = to_volume.apply(pts)
    return np.asarray(volume.sample_lps(pts).reshape(plane.n, plane.n), dtype=np.float64)


def to_grey(values: FloatArray, lo: float, hi: float) -> NDArray[np.uint8]:
    """Window ``[lo, hi]`` to 0-255 (NaN -> 0)."""
    scaled = (np.nan_to_num(values, nan=lo) - lo) * (255.0 / max(hi - lo, 1e-6))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def auto_window(volume: CTVolume) -> tuple[float, float]:
    """1st-99.5th percentile of an MR volume (a display default)."""
    a = volume.hu[:: max(1, volume.hu.shape[0] // 8)]
    lo, hi = np.percentile(a, [1.0, 99.5])
    return float(lo), float(max(hi, lo + 1.0))
