"""Coarse tracking of the spinal column: one point inside a body to start the level search.

Method
------
1. Resample the CT (trilinear) to an LPS-aligned 2 mm grid ``W[z, y, x]`` (cheap; any input
   orientation, e.g. the sagittal PIR crops of VerSe/TPTBox, becomes axial).
2. Per axial slice, the vertebral body is the largest dense block near the patient's mid-line:
   the arg-max of the HU (clipped to -100..250, so dense thin cortex does not outweigh
   cancellous volume) averaged over a 28 mm square (about a body's cross-section), minus a
   penalty for dark (< 30 HU) pixels in it (canal, fat). Thin plates (ribs, sternum, iliac
   wings) and the small posterior elements around the dark canal lose to the body.
3. A second pass keeps only maxima within 8 mm left-right and 30 mm AP of the median position
   (the column runs near the mid-line); a running median over 15 mm smooths the path.

Splitting the column into bodies is done by segmenting bodies one after the other
(:mod:`planner.vertebra.levels`): on 3 mm data a 1D HU profile along this line cannot tell a
disc (70-110 HU) from the interior of an osteoporotic body (measured on
../shared/data/totalseg_example, where both sit near 100 HU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray
from planner.volume import CTVolume

STEP_MM = 2.0


@dataclass(frozen=True, eq=False)
class Resampled:
    """LPS-aligned resampling ``data[z, y, x]``; index (x, y, z) → origin + STEP_MM·index."""

    data: NDArray[np.float32]
    origin_lps: FloatArray

    def to_lps(self, zyx: FloatArray) -> FloatArray:
        return self.origin_lps + np.asarray(zyx, float)[..., ::-1] * STEP_MM

    def to_index(self, lps: FloatArray) -> FloatArray:
        return ((np.asarray(lps, float) - self.origin_lps) / STEP_MM)[..., ::-1]


def resample_lps(volume: CTVolume, step: float = STEP_MM) -> Resampled:
    from scipy import ndimage as ndi

    lo, hi = volume.bounds_lps()
    shape = tuple(int(n) for n in np.floor((hi - lo) / step).astype(int)[::-1] + 1)
    # output index (z, y, x) -> LPS -> input voxel (i, j, k) -> array index (k, j, i)
    inv = volume.grid.lps_to_ijk
    out_to_lps = np.zeros((4, 4))
    out_to_lps[0, 2] = out_to_lps[1, 1] = out_to_lps[2, 0] = step
    out_to_lps[:3, 3] = lo
    out_to_lps[3, 3] = 1
    m = inv @ out_to_lps  # (z,y,x,1) -> (i,j,k,1)
    m = m[[2, 1, 0, 3]]  # -> (k, j, i)
    # no anti-aliasing: the tracking only uses 16 mm averages of this grid
    src, mat, off = _axis_aligned(volume.hu, m[:3])
    data = ndi.affine_transform(src, mat, off, output_shape=shape, order=1, cval=-1024.0,
                                output=np.float32)
    return Resampled(data, lo.astype(float))


def _axis_aligned(hu: NDArray[np.int16], m: FloatArray,
                  ) -> tuple[NDArray[np.int16], FloatArray, FloatArray]:
    """Array, matrix and offset for scipy's ``affine_transform`` of the 3x4 mapping ``m``.

    For a grid whose axes are (signed, scaled) LPS axes, the array is transposed so the
    mapping is diagonal and the diagonal is passed (scipy then takes its separable path instead
    of the general affine one). Otherwise the inputs as given.
    """
    mat = m[:, :3]
    nz = np.abs(mat) > 1e-9 * np.abs(mat).max()
    if not (nz.sum(axis=0) == 1).all() or not (nz.sum(axis=1) == 1).all():
        return hu, mat, m[:, 3]
    order = np.argsort(np.argmax(nz, axis=1))  # transposed axis c is input axis order[c]
    return (np.transpose(hu, order), np.array([mat[order[c], c] for c in range(3)]),
            np.array([m[order[c], 3] for c in range(3)]))


#: Candidate positions kept per slice, and the cost of a jump between slices (HU of score
#: per mm beyond :data:`FREE_SHIFT_MM`): the column moves ≤ ~1 mm per 2 mm slice even in
#: scoliosis, while a contrast-filled aorta beside it is 25-40 mm away (ANATOMY.md §1 pitfall).
N_CANDIDATES = 6
#: Second pass: candidates within this distance (AP and LR) of the first pass's median
#: position; wide enough for a scoliotic column (T7-T9 15-20 mm right of the median on
#: ../shared/data/cptac_chest_ct), narrow enough to leave out the heart.
NEAR_MM = 30.0
#: Cortical bone is above this HU; contrast-filled blood (150-300 HU) stays below it.
CORTEX_HU = 400.0
MIN_CORTEX_FRACTION = 0.03
NO_CORTEX_PENALTY = 200.0
JUMP_COST = 8.0
FREE_SHIFT_MM = 3.0


def _slice_maxima(score: NDArray[np.float32]) -> NDArray[np.float64]:
    """Up to :data:`N_CANDIDATES` local maxima (y, x, score) of one slice's score map."""
    from scipy import ndimage as ndi

    peaks = (ndi.maximum_filter(score, size=5) == score) & (score > -1e8)
    ys, xs = np.nonzero(peaks)
    if len(ys) == 0:
        return np.array([[score.shape[0] / 2, score.shape[1] / 2, -1e9]])
    vals = score[ys, xs]
    top = np.argsort(vals)[::-1][:N_CANDIDATES]
    return np.column_stack([ys[top], xs[top], vals[top]]).astype(float)


def _link_slices(cands: list[NDArray[np.float64]]) -> tuple[FloatArray, FloatArray]:
    """Dynamic programming over slices: the chain of candidates with the best total score
    minus jump costs (Yao 2006 / ANATOMY.md §1: link slices, penalise jumps)."""
    total = cands[0][:, 2].copy()
    back: list[NDArray[np.intp]] = []
    for z in range(1, len(cands)):
        prev, cur = cands[z - 1], cands[z]
        d = np.linalg.norm(cur[:, None, :2] - prev[None, :, :2], axis=-1) * STEP_MM
        trans = total[None, :] - JUMP_COST * np.maximum(0.0, d - FREE_SHIFT_MM)
        arg = np.argmax(trans, axis=1)
        back.append(arg)
        total = cur[:, 2] + trans[np.arange(len(cur)), arg]
    k = int(np.argmax(total))
    pos = np.zeros((len(cands), 2))
    peak = np.zeros(len(cands))
    for z in range(len(cands) - 1, -1, -1):
        pos[z], peak[z] = cands[z][k, :2], cands[z][k, 2]
        if z > 0:
            k = int(back[z - 1][k])
    return pos, peak


def track_centreline(res: Resampled) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Body centre (y, x index) per z slice and whether the slice holds a plausible body."""
    from scipy import ndimage as ndi

    w = res.data
    size = (1, int(round(28 / STEP_MM)), int(round(28 / STEP_MM)))
    dark = ndi.uniform_filter((w < 30).astype(np.float32), size, mode="nearest")
    blur = ndi.uniform_filter(np.clip(w, -100, 250), size, mode="nearest") - 300.0 * dark
    # a window without any cortical bone is a vessel or organ (contrast-filled aorta and heart
    # reach the HU of cancellous bone but have no cortex; ANATOMY.md §1 pitfall)
    cortex = ndi.uniform_filter((w > CORTEX_HU).astype(np.float32), size, mode="nearest")
    blur = blur - NO_CORTEX_PENALTY * (cortex < MIN_CORTEX_FRACTION)
    body = w > -400
    nz, ny, nx = w.shape
    ys, xs = np.mgrid[0:ny, 0:nx]
    x_mid = float(np.median(np.nonzero(body)[2])) if body.any() else nx / 2
    band = np.abs(xs - x_mid) <= 35 / STEP_MM
    pos = np.zeros((nz, 2))
    for z in range(nz):  # first pass: the best window per slice
        sc = np.where(band & ndi.binary_erosion(body[z], iterations=2), blur[z], -1e9)
        pos[z] = np.unravel_index(int(np.argmax(sc)), sc.shape)
    y_med, x_med = np.median(pos, axis=0)
    near = (np.abs(ys - y_med) <= NEAR_MM / STEP_MM) & (np.abs(xs - x_med) <= NEAR_MM / STEP_MM)
    cands = [_slice_maxima(np.where(band & near & body[z], blur[z], -1e9)) for z in range(nz)]
    pos, peak = _link_slices(cands)
    ok = peak > 60
    width = max(3, int(15 / STEP_MM) | 1)
    for c in range(2):
        pos[:, c] = ndi.median_filter(pos[:, c], size=width, mode="nearest")
        pos[:, c] = ndi.gaussian_filter1d(pos[:, c], 4 / STEP_MM, mode="nearest")
    return pos, ok


@dataclass(frozen=True, eq=False)
class TrackedColumn:
    """The column tracked once per analysis and shared by every step that needs it.

    ``pos[z]`` is the body centre (y, x index of ``res``) on slice ``z`` of the 2 mm LPS
    resampling, ``ok[z]`` whether that slice holds a plausible body.
    """

    res: Resampled
    pos: FloatArray
    ok: NDArray[np.bool_]

    def point_lps(self, z: int) -> FloatArray:
        """The tracked centre on slice ``z``, LPS mm."""
        return self.res.to_lps(np.array([z, *self.pos[z]]))

    def polyline_lps(self) -> FloatArray:
        """Tracked centres (LPS mm, (N, 3)) from the first to the last plausible slice."""
        zs = np.nonzero(self.ok)[0]
        if len(zs) == 0:
            return np.zeros((0, 3))
        return np.array([self.point_lps(z) for z in range(int(zs.min()), int(zs.max()) + 1)])


def track_column(volume: CTVolume) -> TrackedColumn:
    """Resample ``volume`` and track its column (:func:`resample_lps`,
    :func:`track_centreline`); one call per analysis, its result passed on."""
    res = resample_lps(volume)
    pos, ok = track_centreline(res)
    return TrackedColumn(res, pos, ok)
