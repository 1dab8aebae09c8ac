"""Signed distance fields on a level's crop grid and fast sampling of them at LPS points.

Sign convention: a structure's field is positive inside the structure and negative outside;
its magnitude is the distance in mm to the structure's boundary, which lies half a voxel
beyond the outermost voxel centres of the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.grid import FloatArray, ImageGrid

F32 = NDArray[np.float32]
#: Fields are clamped at this distance (mm); beyond it nothing a needle does matters.
FIELD_CLAMP_MM = 40.0


@dataclass(frozen=True, eq=False)
class DistanceField:
    """Signed distance (mm, + inside) to the boundary of one structure.

    Notes
    -----
    The mask is smoothed (Gaussian, σ = 0.7 voxel) and its 0.5 level located with sub-voxel
    precision on every grid edge that crosses it (``surface_lps``). :meth:`exact` returns
    the distance to those surface points (k-d tree), signed by the smoothed indicator, so a
    wall is found to ~0.1 voxel and the ridge on a pedicle's axis is not flattened by
    interpolation. ``grid_sdf`` (distance transform, ``scipy.ndimage.distance_transform_edt``
    with ``sampling`` = voxel size, clamped at :data:`FIELD_CLAMP_MM`) is the cheap
    approximation used by searches and beyond ``band_mm``.
    """

    grid_sdf: F32
    indicator: F32  # smoothed mask − 0.5: ≥ 0 inside
    surface_lps: FloatArray
    band_mm: float
    _tree: object

    @classmethod
    def from_mask(cls, mask: NDArray[np.bool_], grid: ImageGrid, band_mm: float = 15.0) -> DistanceField:
        from scipy.ndimage import distance_transform_edt, gaussian_filter
        from scipy.spatial import cKDTree

        sp = grid.spacing_mm[::-1]
        sdf = np.full(mask.shape, -FIELD_CLAMP_MM, dtype=np.float32)
        ind = np.full(mask.shape, -0.5, dtype=np.float32)
        if not mask.any():
            return cls(sdf, ind, np.empty((0, 3)), band_mm, None)
        box = _bbox(mask, pad_vox=np.ceil(FIELD_CLAMP_MM / sp).astype(int))
        f = gaussian_filter(mask[box].astype(np.float32), sigma=0.7, mode="nearest") - 0.5
        inside = f >= 0
        half = 0.5 * float(sp.mean())
        d = np.where(inside, distance_transform_edt(inside, sampling=sp) - half,
                     -(distance_transform_edt(~inside, sampling=sp) - half))
        sdf[box] = d.clip(-FIELD_CLAMP_MM, FIELD_CLAMP_MM)
        ind[box] = f
        off = np.array([b.start for b in box], dtype=np.float64)
        surf = grid.voxel_to_lps((_crossings(f) + off)[:, ::-1])
        return cls(sdf, ind, surf, band_mm, cKDTree(surf) if len(surf) else None)

    def exact(self, sampler: FieldSampler, lps: ArrayLike) -> FloatArray:
        """Signed distance at LPS points ``(..., 3)`` to the sub-voxel surface."""
        p = np.asarray(lps, dtype=np.float64)
        approx = sampler.sample(self.grid_sdf, p)
        if self._tree is None:
            return approx
        flat = p.reshape(-1, 3)
        dist, _ = self._tree.query(flat, distance_upper_bound=self.band_mm)  # type: ignore[attr-defined]
        dist = dist.reshape(p.shape[:-1])
        sign = np.where(sampler.sample(self.indicator, p) >= 0, 1.0, -1.0)
        return np.where(np.isfinite(dist), sign * dist, approx)


def _crossings(f: NDArray[np.float32]) -> FloatArray:
    """Sub-voxel points (k, j, i) where ``f`` changes sign along a grid edge."""
    pts = []
    for axis in range(3):
        a = np.moveaxis(f, axis, 0)
        lo, hi = a[:-1], a[1:]
        idx = np.argwhere((lo >= 0) != (hi >= 0))
        va, vb = lo[tuple(idx.T)], hi[tuple(idx.T)]
        frac = va / (va - vb)
        p = idx.astype(np.float64)
        p[:, 0] += frac
        pts.append(p[:, _axis_order(axis)])
    return np.concatenate(pts) if pts else np.empty((0, 3))


def _axis_order(axis: int) -> list[int]:
    """Column order that turns moveaxis(axis→0) index tuples back into (k, j, i)."""
    order = [axis] + [a for a in range(3) if a != axis]
    return [order.index(a) for a in range(3)]


def _bbox(mask: NDArray[np.bool_], pad_vox: NDArray[np.int_]) -> tuple[slice, slice, slice]:
    idx = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        nz = np.flatnonzero(mask.any(axis=other))
        lo = max(0, int(nz[0]) - int(pad_vox[axis]))
        hi = min(mask.shape[axis], int(nz[-1]) + 1 + int(pad_vox[axis]))
        idx.append(slice(lo, hi))
    return idx[0], idx[1], idx[2]


@dataclass(frozen=True, eq=False)
class FieldSampler:
    """Trilinear sampling of ``[k, j, i]`` arrays of one grid at LPS points.

    Outside the grid a sample takes the nearest edge value (``mode='nearest'``), which for
    distance fields clamped at :data:`FIELD_CLAMP_MM` means "far away".
    """

    grid: ImageGrid

    def __post_init__(self) -> None:
        inv = self.grid.lps_to_ijk
        # rows reordered so the result is (k, j, i), the order map_coordinates indexes arrays
        m = inv[[2, 1, 0], :]
        object.__setattr__(self, "_lps_to_kji", np.ascontiguousarray(m[:, :3]))
        object.__setattr__(self, "_offset", np.ascontiguousarray(m[:, 3]))

    def kji(self, lps: ArrayLike) -> FloatArray:
        p = np.asarray(lps, dtype=np.float64)
        return p @ self._lps_to_kji.T + self._offset  # type: ignore[attr-defined,no-any-return]

    def sample(self, array: NDArray[np.generic], lps: ArrayLike, cval: float | None = None) -> FloatArray:
        """Values of ``array`` at LPS points ``(..., 3)`` (float64, same leading shape)."""
        from scipy.ndimage import map_coordinates

        p = np.asarray(lps, dtype=np.float64)
        lead = p.shape[:-1]
        c = self.kji(p.reshape(-1, 3)).T
        if cval is None:
            v = map_coordinates(array, c, order=1, mode="nearest", prefilter=False, output=np.float64)
        else:
            v = map_coordinates(
                array, c, order=1, mode="constant", cval=cval, prefilter=False, output=np.float64
            )
        return v.reshape(lead)

    def gradient(self, array: NDArray[np.generic], lps: ArrayLike, step_mm: float = 0.5) -> FloatArray:
        """Central-difference gradient (per mm, LPS) of ``array`` at LPS points ``(n, 3)``."""
        p = np.atleast_2d(np.asarray(lps, dtype=np.float64))
        offs = np.eye(3) * step_mm
        pts = np.concatenate([p[:, None, :] + offs[None], p[:, None, :] - offs[None]], axis=1)
        v = self.sample(array, pts)
        return (v[:, :3] - v[:, 3:]) / (2 * step_mm)
