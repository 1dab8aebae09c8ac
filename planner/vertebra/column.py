"""Spinal column tracking and body/disc splitting for the automatic level proposal.

Method
------
1. Resample the CT (trilinear) to an LPS-aligned 2 mm grid ``W[z, y, x]`` (cheap; any input
   orientation, e.g. the sagittal PIR crops of VerSe/TPTBox, becomes axial).
2. Per axial slice, the vertebral body is the largest dense block near the patient's
   mid-line: the arg-max of the HU (clipped to -100..250, so dense thin cortex does not outweigh cancellous volume) averaged over a 16 mm-radius disk, minus a penalty for dark (< 30 HU) pixels in it (the canal, fat) (thin
   plates — ribs, sternum, iliac wings — and the small posterior elements around the dark
   canal lose to the body under this average). A second pass keeps only maxima within 8 mm
   left-right and 30 mm AP of the median position (the column runs near the mid-line), and a running median over 15 mm smooths the path into a centreline.
3. Along the centreline, cross-sections perpendicular to the local column axis give the 90th
   percentile HU within 20 mm: high through a body (its cortical ring and endplates are in
   every section), low through a disc (fibrocartilage, 70-110 HU). Runs above the mid level
   between the profile's 15th and 85th percentiles are bodies; dips are discs.
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
    src = volume.hu.astype(np.float32)
    sig = [max(0.0, 0.4 * step / s - 0.3) for s in volume.spacing_mm[::-1]]
    if max(sig) > 0.2:
        src = ndi.gaussian_filter(src, sig, truncate=2.0)
    data = ndi.affine_transform(src, m[:3, :3], m[:3, 3], output_shape=shape, order=1,
                                cval=-1024.0, output=np.float32)
    return Resampled(data, lo.astype(float))


def track_centreline(res: Resampled) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Body centre (y, x index) per z slice and whether the slice holds a plausible body."""
    from scipy import ndimage as ndi

    w = res.data
    rad = int(round(16 / STEP_MM))
    yy, xx = np.mgrid[-rad:rad + 1, -rad:rad + 1]
    disk = (yy**2 + xx**2 <= rad**2).astype(np.float32)
    disk = (disk / disk.sum())[None]
    dark = ndi.convolve((w < 30).astype(np.float32), disk, mode="nearest")
    blur = ndi.convolve(np.clip(w, -100, 250), disk, mode="nearest") - 300.0 * dark
    body = w > -400
    nz, ny, nx = w.shape
    ys, xs = np.mgrid[0:ny, 0:nx]
    x_mid = float(np.median(np.nonzero(body)[2])) if body.any() else nx / 2
    band = np.abs(xs - x_mid) <= 35 / STEP_MM
    pos = np.zeros((nz, 2))
    peak = np.zeros(nz)
    for z in range(nz):
        s = np.where(band & ndi.binary_erosion(body[z], iterations=2), blur[z], -1e9)
        y, x = np.unravel_index(int(np.argmax(s)), s.shape)
        pos[z], peak[z] = (y, x), s[y, x]
    ok = peak > 60
    if ok.sum() < 5:
        return pos, ok
    y_med, x_med = np.median(pos[ok], axis=0)
    near = (np.abs(ys - y_med) <= 30 / STEP_MM) & (np.abs(xs - x_med) <= 8 / STEP_MM)
    for z in range(nz):
        s = np.where(band & near & body[z], blur[z], -1e9)
        y, x = np.unravel_index(int(np.argmax(s)), s.shape)
        pos[z], peak[z] = (y, x), s[y, x]
    ok = peak > 60
    size = max(3, int(15 / STEP_MM) | 1)
    for c in range(2):
        pos[:, c] = ndi.median_filter(pos[:, c], size=size, mode="nearest")
        pos[:, c] = ndi.gaussian_filter1d(pos[:, c], 4 / STEP_MM, mode="nearest")
    return pos, ok


def section_profile(res: Resampled, pos: FloatArray, radius_mm: float = 20.0,
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """90th-percentile HU of cross-sections ⊥ the centreline; also centres and tangents (LPS)."""
    from scipy import ndimage as ndi

    nz = len(pos)
    centre = res.to_lps(np.column_stack([np.arange(nz), pos]))
    tang = np.gradient(ndi.gaussian_filter1d(centre, 3, axis=0, mode="nearest"), axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    rr = np.linspace(0, radius_mm, 8)[1:]
    aa = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    prof = np.zeros(nz)
    for z in range(nz):
        t = tang[z]
        u = np.cross(t, [1.0, 0, 0])
        u /= np.linalg.norm(u)
        v = np.cross(t, u)
        pts = centre[z] + (rr[:, None, None] * (np.cos(aa)[None, :, None] * u
                                                 + np.sin(aa)[None, :, None] * v)).reshape(-1, 3)
        pts = np.vstack([centre[z], pts])
        vals = ndi.map_coordinates(res.data, res.to_index(pts).T, order=1, cval=-1024.0)
        prof[z] = np.percentile(vals, 90)
    return prof, centre, tang
