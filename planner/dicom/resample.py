"""Resample a tilted or unevenly spaced stack onto its regular grid (see geometry.py).

Every acquired slice is a plane perpendicular to the normal; only its in-plane placement and
its depth vary. So each target slice at depth ``t`` is the linear blend of the two acquired
slices around ``t``, each first shifted within its plane by its own (sub-pixel) offset with
bilinear interpolation. This is exactly trilinear interpolation in patient space (a linear
intensity field is reproduced exactly), but streams slice by slice: peak extra memory is two
float32 slices instead of the coordinate arrays ``scipy.ndimage.map_coordinates`` would need
for the whole volume (3 x float64 per voxel), and it is faster because each acquired slice is
shifted once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.dicom.geometry import StackGeometry
from planner.progress import Progress, report


def _shifted(
    stack: NDArray[np.int16], k: int, geo: StackGeometry, fill: float
) -> NDArray[np.float32]:
    from scipy import ndimage

    _, rows, cols = geo.shape_kji
    sx, sy = geo.pixel_size_ij
    umin, vmin = geo.target_inplane_min_mm
    off_i = (umin - geo.inplane_mm[k, 0]) / sx
    off_j = (vmin - geo.inplane_mm[k, 1]) / sy
    src: NDArray[np.float32] = stack[k].astype(np.float32)
    if (rows, cols) == src.shape and abs(off_i) < 1e-3 and abs(off_j) < 1e-3:
        return src
    return ndimage.affine_transform(  # type: ignore[no-any-return]
        src,
        np.ones(2),
        offset=(off_j, off_i),
        output_shape=(rows, cols),
        order=1,
        mode="constant",
        cval=fill,
        prefilter=False,
    )


def resample_stack(
    stack: NDArray[np.int16], geo: StackGeometry, fill: float, progress: Progress | None = None
) -> NDArray[np.int16]:
    """The regular-grid volume ``[k, j, i]`` from the sorted acquired slices ``stack``.

    Notes
    -----
    ``stack[k]`` must be the k-th slice in ``geo.order`` (sorted along the normal). Target
    voxels outside every acquired slice get ``fill`` (air for CT).
    """
    out = np.empty(geo.shape_kji, dtype=np.int16)
    depth = geo.depth_mm
    n_src = stack.shape[0]
    cache: dict[int, NDArray[np.float32]] = {}

    def get(k: int) -> NDArray[np.float32]:
        if k not in cache:
            for old in [key for key in cache if key < k - 1]:
                del cache[old]
            cache[k] = _shifted(stack, k, geo, fill)
        return cache[k]

    for m in range(geo.shape_kji[0]):
        t = m * geo.step_mm
        if n_src == 1:
            k, w = 0, 0.0
        else:
            k = int(np.clip(np.searchsorted(depth, t, side="right") - 1, 0, n_src - 2))
            w = float(np.clip((t - depth[k]) / (depth[k + 1] - depth[k]), 0.0, 1.0))
        if w < 1e-6:
            blend = get(k)
        elif w > 1 - 1e-6:
            blend = get(k + 1)
        else:
            blend = get(k) * np.float32(1 - w) + get(k + 1) * np.float32(w)
        out[m] = np.clip(np.rint(blend), -32768, 32767)
        if m % 8 == 0:
            report(progress, m / geo.shape_kji[0], "Resampling onto a regular grid")
    return out
