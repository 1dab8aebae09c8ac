"""The one place that maps voxel indices to patient space.

Conventions (DESIGN.md §2)
--------------------------
- Arrays are C-ordered and indexed ``[k, j, i]``: k = slice, j = row, i = column.
- Voxel coordinates passed to or returned by these functions are ordered ``(i, j, k)``,
  the order of the columns of ``ijk_to_lps``, which maps homogeneous ``(i, j, k, 1)`` to
  ``(x, y, z, 1)`` in patient LPS millimetres (+x patient left, +y posterior, +z superior).
- Integer voxel coordinates are voxel centres.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _read_only(a: FloatArray) -> FloatArray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ImageGrid:
    """Shape and placement of a voxel grid in patient space.

    Parameters
    ----------
    shape_kji
        Number of voxels along k, j, i.
    ijk_to_lps
        4x4 affine from ``(i, j, k, 1)`` to LPS mm.
    """

    shape_kji: tuple[int, int, int]
    ijk_to_lps: FloatArray

    def __post_init__(self) -> None:
        m = np.asarray(self.ijk_to_lps, dtype=np.float64)
        if m.shape != (4, 4):
            raise ValueError(f"ijk_to_lps must be 4x4, got {m.shape}")
        if not np.allclose(m[3], [0, 0, 0, 1]):
            raise ValueError("ijk_to_lps last row must be [0, 0, 0, 1]")
        if abs(np.linalg.det(m[:3, :3])) < 1e-12:
            raise ValueError("ijk_to_lps is singular")
        m = m.copy()
        m.setflags(write=False)
        object.__setattr__(self, "ijk_to_lps", m)
        object.__setattr__(self, "shape_kji", tuple(int(s) for s in self.shape_kji))

    # --- geometry (computed once per grid: the views ask for them on every scroll step) ----
    @cached_property
    def lps_to_ijk(self) -> FloatArray:
        return _read_only(np.asarray(np.linalg.inv(self.ijk_to_lps), dtype=np.float64))

    @cached_property
    def spacing_mm(self) -> FloatArray:
        """Voxel size along i, j, k in mm (norms of the affine's columns)."""
        return _read_only(np.linalg.norm(self.ijk_to_lps[:3, :3], axis=0))

    @cached_property
    def direction(self) -> FloatArray:
        """3x3 matrix whose columns are the unit LPS directions of i, j, k."""
        return _read_only(self.ijk_to_lps[:3, :3] / self.spacing_mm)

    @property
    def origin_lps(self) -> FloatArray:
        """LPS position of voxel (0, 0, 0)'s centre."""
        return self.ijk_to_lps[:3, 3].copy()

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.ijk_to_lps[:3, :3])))

    def voxel_to_lps(self, ijk: ArrayLike) -> FloatArray:
        """Map voxel coordinates ``(..., 3)`` in (i, j, k) order to LPS mm."""
        p = np.asarray(ijk, dtype=np.float64)
        return p @ self.ijk_to_lps[:3, :3].T + self.ijk_to_lps[:3, 3]

    def lps_to_voxel(self, lps: ArrayLike) -> FloatArray:
        """Map LPS mm points ``(..., 3)`` to continuous voxel coordinates (i, j, k)."""
        p = np.asarray(lps, dtype=np.float64)
        inv = self.lps_to_ijk
        return p @ inv[:3, :3].T + inv[:3, 3]

    def contains_voxel(self, ijk: ArrayLike) -> NDArray[np.bool_]:
        """True where continuous voxel coordinates (i, j, k) lie inside the outer voxel bounds."""
        p = np.asarray(ijk, dtype=np.float64)
        upper = np.array(self.shape_kji[::-1], dtype=np.float64) - 0.5
        return np.asarray(np.all((p >= -0.5) & (p <= upper), axis=-1), dtype=bool)

    def bounds_lps(self) -> tuple[FloatArray, FloatArray]:
        """Axis-aligned LPS box (min, max) enclosing all voxel centres."""
        corners = self.corner_voxel_centres_lps()
        return corners.min(axis=0), corners.max(axis=0)

    def corner_voxel_centres_lps(self) -> FloatArray:
        ni, nj, nk = (s - 1 for s in self.shape_kji[::-1])
        ijk = np.array(
            [[i, j, k] for i in (0, ni) for j in (0, nj) for k in (0, nk)], dtype=np.float64
        )
        return self.voxel_to_lps(ijk)

    def fingerprint(self) -> str:
        """Short stable hash of shape and affine (affine rounded to 1 µm)."""
        h = hashlib.sha256()
        h.update(np.asarray(self.shape_kji, dtype=np.int64).tobytes())
        h.update(np.round(self.ijk_to_lps, 3).astype(np.float64).tobytes())
        return h.hexdigest()[:16]

    def crop(self, start_kji: tuple[int, int, int], stop_kji: tuple[int, int, int]) -> ImageGrid:
        """Sub-grid covering ``[start, stop)`` along k, j, i with the same voxel placement."""
        start = np.asarray(start_kji, dtype=np.float64)
        shift = self.ijk_to_lps[:3, :3] @ start[::-1]
        m = self.ijk_to_lps.copy()
        m[:3, 3] += shift
        shape = tuple(int(b - a) for a, b in zip(start_kji, stop_kji, strict=True))
        return ImageGrid(shape, m)  # type: ignore[arg-type]

    def nearest_axis_codes(self) -> str:
        """Three letters naming the LPS direction each of i, j, k points to (e.g. 'LPS')."""
        letters = (("R", "L"), ("A", "P"), ("I", "S"))
        out = []
        for col in self.direction.T:
            a = int(np.argmax(np.abs(col)))
            out.append(letters[a][int(col[a] > 0)])
        return "".join(out)


def trilinear_sample(
    array: NDArray[np.generic], ijk: ArrayLike, fill: float = np.nan
) -> FloatArray:
    """Trilinear interpolation of ``array[k, j, i]`` at continuous voxel points (i, j, k).

    Points outside the voxel centres' hull (beyond half a voxel clamp) get ``fill``.
    """
    p = np.asarray(ijk, dtype=np.float64).reshape(-1, 3)  # points (..., 3) of any rank
    shape_ijk = np.array(array.shape[::-1], dtype=np.float64)
    out = np.full(p.shape[0], fill, dtype=np.float64)
    inside = np.all((p >= -0.5) & (p <= shape_ijk - 0.5), axis=1)
    if not inside.any():
        return out.reshape(np.shape(ijk)[:-1])
    q = np.clip(p[inside], 0.0, shape_ijk - 1.0)
    base = np.minimum(np.floor(q).astype(np.intp), np.maximum(shape_ijk.astype(np.intp) - 2, 0))
    frac = q - base
    acc = np.zeros(q.shape[0], dtype=np.float64)
    for di in (0, 1):
        wi = frac[:, 0] if di else 1.0 - frac[:, 0]
        ii = np.minimum(base[:, 0] + di, array.shape[2] - 1)
        for dj in (0, 1):
            wj = frac[:, 1] if dj else 1.0 - frac[:, 1]
            jj = np.minimum(base[:, 1] + dj, array.shape[1] - 1)
            for dk in (0, 1):
                wk = frac[:, 2] if dk else 1.0 - frac[:, 2]
                kk = np.minimum(base[:, 2] + dk, array.shape[0] - 1)
                acc += wi * wj * wk * array[kk, jj, ii]
    out[inside] = acc
    return out.reshape(np.shape(ijk)[:-1])
