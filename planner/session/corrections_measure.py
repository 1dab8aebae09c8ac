"""The six-point measurement of a turned or moved mid-sagittal plane, made cheap for a drag.

:func:`planner.session.corrections_geometry.plane_correction` measures the body in the new
plane with the analysis' own method (:func:`planner.vertebra.morphometry.heights_and_geometry`)
on every push of a plane drag. That method reads two things, and both are given to it here in
a form that gives the same numbers for less work:

- the body mask, only through lines in the mid-sagittal plane (AP depth, the endplates) and
  one line across the body at mid-height (width): :func:`measuring_crop` keeps the body voxels
  within the method's line tolerance of those two planes (~15 % of them), so the same voxels
  are found on every line;
- the CT, by trilinear HU along short profiles: :class:`MeasuringCT` samples it with one
  compiled call per profile (``scipy.ndimage.map_coordinates``, order 1) with the clamping and
  fill of :func:`planner.grid.trilinear_sample`.

Frames and points are patient LPS millimetres; masks ``[k, j, i]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.grid import FloatArray, ImageGrid
from planner.volume import CTVolume

#: Extra margin (mm) on the method's line tolerance when the voxels are kept: rounding of the
#: body coordinates must never drop a voxel the method would select.
KEEP_MARGIN_MM = 1e-6


class MeasuringCT:
    """The CT as the six-point measurement reads it: its grid and trilinear HU at LPS points.

    Same values as :meth:`planner.volume.CTVolume.sample_lps` (points beyond half a voxel
    outside the volume get ``fill``; points within it are clamped to the border voxels).
    """

    def __init__(self, volume: CTVolume) -> None:
        self.grid: ImageGrid = volume.grid
        self.hu = volume.hu
        self._hi = np.array(self.hu.shape[::-1], dtype=np.float64) - 1.0  # (i, j, k)

    def sample_lps(self, lps: ArrayLike, fill: float = np.nan) -> FloatArray:
        """Trilinear HU at LPS points ``(..., 3)``; ``fill`` outside the volume."""
        from scipy import ndimage as ndi

        p = np.asarray(lps, dtype=np.float64)
        ijk = self.grid.lps_to_voxel(p.reshape(-1, 3))
        if ijk.min() >= -0.5 and float((ijk - self._hi).max()) <= 0.5:  # all inside (usual)
            q = np.minimum(np.maximum(ijk, 0.0), self._hi)
            out = ndi.map_coordinates(
                self.hu, q[:, ::-1].T, order=1, mode="nearest", output=np.float64
            )
            return np.asarray(out.reshape(p.shape[:-1]))
        inside = np.all((ijk >= -0.5) & (ijk <= self._hi + 0.5), axis=1)
        out = np.full(ijk.shape[0], fill, dtype=np.float64)
        if inside.any():
            q = np.minimum(np.maximum(ijk[inside], 0.0), self._hi)
            out[inside] = ndi.map_coordinates(
                self.hu, q[:, ::-1].T, order=1, mode="nearest", output=np.float64
            )
        return out.reshape(p.shape[:-1])


Voxels = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]
#: (body crop, its body voxels (k, j, i) and their LPS centres), newest first: they do not
#: depend on the frame, so a drag computes them once
_BODY_VOXELS: list[tuple[LevelAnatomy, Voxels, FloatArray]] = []
#: Fewer kept voxels than this: the whole body is measured (the method refuses tiny masks).
MIN_KEPT_VOXELS = 200


def _body_voxels(anatomy: LevelAnatomy) -> tuple[Voxels, FloatArray]:
    for a, kji, pts in _BODY_VOXELS:
        if a is anatomy:
            return kji, pts
    k, j, i = np.nonzero(anatomy.body)
    pts = anatomy.grid.voxel_to_lps(np.stack([i, j, k], axis=1).astype(np.float64))
    _BODY_VOXELS.insert(0, (anatomy, (k, j, i), pts))
    del _BODY_VOXELS[4:]
    return (k, j, i), pts


def measuring_crop(anatomy: LevelAnatomy, frame: BodyFrame) -> LevelAnatomy:
    """``anatomy`` in ``frame``, its body mask reduced to what the six-point method reads.

    Kept: the body voxels within the method's line tolerance (the largest voxel spacing,
    :class:`planner.vertebra.morphometry.BodyCoords`) of the mid-sagittal plane (left = 0) or
    of the mid-height plane (superior = 0), body frame. Every measuring line of
    :func:`planner.vertebra.morphometry.heights_and_geometry` lies in one of them, so it finds
    the same mask extents as on the whole body.
    """
    (k, j, i), pts = _body_voxels(anatomy)
    xyz = frame.to_body(pts)
    tol = float(np.max(anatomy.grid.spacing_mm)) + KEEP_MARGIN_MM
    keep = (np.abs(xyz[:, 0]) <= tol) | (np.abs(xyz[:, 2]) <= tol)
    if int(keep.sum()) < MIN_KEPT_VOXELS:
        return replace(anatomy, frame=frame)
    body = np.zeros_like(anatomy.body)
    body[k[keep], j[keep], i[keep]] = True
    return replace(anatomy, body=body, frame=frame)


def measure_in_plane(
    volume: CTVolume, anatomy: LevelAnatomy, frame: BodyFrame
) -> dict[str, object]:
    """:func:`planner.vertebra.morphometry.heights_and_geometry` of ``anatomy``'s body in
    ``frame`` (same dictionary, same numbers), at a fraction of its cost."""
    from planner.vertebra.morphometry import heights_and_geometry

    return heights_and_geometry(MeasuringCT(volume), measuring_crop(anatomy, frame))  # type: ignore[arg-type]
