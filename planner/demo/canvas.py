"""A float HU volume on an axis-aligned grid, painted shape by shape with partial volume.

Notes
-----
Painting composites "over": ``hu += occ * (value - hu)`` with the occupancy
``occ = clip(0.5 - sdf / PV_WIDTH_MM, 0, 1)``, a linear ramp across the surface about one
voxel wide, which is what a CT voxel's finite size (and the reconstruction kernel) does to an
edge. Only the shape's bounding box is touched, so small parts cost little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.demo.shapes import F

#: Width of the partial-volume ramp across an edge, mm (about the mean voxel size 0.7/0.7/1).
PV_WIDTH_MM = 0.8

Box = tuple[tuple[slice, slice, slice], F, F, F]


#: Beyond this signed distance (mm) a shape contributes nothing to a voxel.
REACH_MM = PV_WIDTH_MM / 2.0

Index = tuple[NDArray[np.intp], ...]


def occupancy(d: NDArray[np.floating], width: float = PV_WIDTH_MM) -> NDArray[np.float32]:
    """Fraction of a voxel inside a surface at signed distance ``d`` (linear ramp)."""
    occ = np.asarray(d, dtype=np.float32) * np.float32(-1.0 / width)
    occ += np.float32(0.5)
    np.clip(occ, 0.0, 1.0, out=occ)
    return occ


def touched(d: NDArray[np.floating]) -> Index:
    """Indices of the voxels a shape reaches (``d < REACH_MM``): painting only those is
    much cheaper than the whole box for thin or sparse shapes."""
    return np.nonzero(d < REACH_MM)


@dataclass(eq=False)
class Canvas:
    """Float32 HU array ``[k, j, i]`` with origin (voxel 0 centre, LPS) and spacing (i, j, k)."""

    hu: NDArray[np.float32]
    origin: F
    spacing: F

    def axes(self) -> tuple[F, F, F]:
        nk, nj, ni = self.hu.shape
        return tuple(
            self.origin[a] + np.arange(n) * self.spacing[a] for a, n in enumerate((ni, nj, nk))
        )

    def box(self, lo_lps: F, hi_lps: F) -> Box | None:
        """Slices of the voxels whose centres lie in the LPS box, and their coordinates
        as broadcastable arrays ``x[None, None, :]``, ``y[None, :, None]``, ``z[:, None, None]``."""
        shape_ijk = self.hu.shape[::-1]
        lo = np.floor((np.asarray(lo_lps) - self.origin) / self.spacing).astype(int)
        hi = np.ceil((np.asarray(hi_lps) - self.origin) / self.spacing).astype(int) + 1
        lo = np.clip(lo, 0, shape_ijk)
        hi = np.clip(hi, 0, shape_ijk)
        if np.any(hi <= lo):
            return None
        sl = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
        # float32 coordinates: 10 µm resolution is plenty for painting and halves the traffic
        x = (self.origin[0] + np.arange(lo[0], hi[0]) * self.spacing[0]).astype(np.float32)
        y = (self.origin[1] + np.arange(lo[1], hi[1]) * self.spacing[1]).astype(np.float32)
        z = (self.origin[2] + np.arange(lo[2], hi[2]) * self.spacing[2]).astype(np.float32)
        return sl, x[None, None, :], y[None, :, None], z[:, None, None]

    def paint(self, sl: tuple[slice, slice, slice], d: NDArray[np.floating],
              value: float | NDArray[np.floating]) -> None:
        region = self.hu[sl]
        d = np.broadcast_to(d, region.shape)
        sel = d < REACH_MM
        n = int(np.count_nonzero(sel))
        if n == 0:
            return
        if n > 0.3 * sel.size:  # mostly inside: the dense update is cheaper
            occ = occupancy(d)
            val = np.asarray(value, np.float32)
            region += occ * (val - region)
            return
        idx = np.nonzero(sel)
        occ = occupancy(d[idx])
        cur = region[idx]
        val = np.broadcast_to(np.asarray(value, dtype=np.float32), region.shape)[idx]
        region[idx] = cur + occ * (val - cur)

    def paint_shape(self, shape: object, value: float) -> None:
        """Paint a shape with ``sdf(x, y, z)`` and ``box_lps()`` in one material."""
        lo, hi = shape.box_lps()  # type: ignore[attr-defined]
        b = self.box(lo, hi)
        if b is None:
            return
        sl, x, y, z = b
        self.paint(sl, shape.sdf(x, y, z), value)  # type: ignore[attr-defined]
