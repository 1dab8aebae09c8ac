"""Display window for a simulated radiograph, computed from the projection's own histogram.

A ray-sum image spans a range set by the thickest part of the patient (mediastinum, pelvis,
the whole trunk on a lateral view), so a fixed window or a global min/max stretch either
saturates the spine (solid white) or leaves it in a few grey levels (washed out). C-arms
solve this with "harmonisation": the slowly varying thickness is partly subtracted before
windowing, which keeps bone edges (pedicle rings, endplates, cortices) at full contrast.
This module does the same on the log-domain image (the ray sums):

1. ``d = p − α·G_σ(p)``: ray sums minus a fraction ``α`` of their Gaussian-blurred copy
   (σ in mm, about the size of a vertebral body);
2. the window ``[lo, hi]`` is read from the histogram of ``d`` over the rays that cross the
   patient in the central part of the image (the region the view is centred on):
   ``lo``/``hi`` at fixed low/high quantiles of that histogram;
3. bone bright (as a radiograph is read), 8-bit.

Sources: unsharp-mask "harmonisation" of projection radiographs — Prokop M, Neitzel U,
Schaefer-Prokop C. Principles of image processing in digital chest radiography. J Thorac
Imaging 2003;18(3):148–164. α, σ and the 1 % / 99.5 % quantiles are tool assumptions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Fraction of the blurred ray sums subtracted (0 = plain window, 1 = edges only).
HARMONISATION = 0.75
#: Blur scale in mm (about the size of a vertebral body).
SIGMA_MM = 12.0
LOW_QUANTILE = 0.01
HIGH_QUANTILE = 0.995


def harmonised(pixels: NDArray[np.floating], pixel_mm: float) -> NDArray[np.float64]:
    """Ray sums minus ``HARMONISATION`` × their blur at ``SIGMA_MM`` (same shape, unitless)."""
    from scipy.ndimage import gaussian_filter

    p = np.asarray(pixels, dtype=np.float64)
    sigma_px = SIGMA_MM / max(float(pixel_mm), 1e-6)
    blur: NDArray[np.float64] = np.asarray(gaussian_filter(p, sigma_px, mode="nearest"))
    return p - HARMONISATION * blur


def body_mask(pixels: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Rays that cross the patient: ray sum above a quarter of the image's 99th percentile."""
    p = np.asarray(pixels, dtype=np.float64)
    top = float(np.percentile(p, 99))
    return p > 0.25 * top if top > 0 else np.ones(p.shape, dtype=bool)


def histogram_window(
    values: NDArray[np.floating],
    mask: NDArray[np.bool_] | None = None,
    low_q: float = LOW_QUANTILE,
    high_q: float = HIGH_QUANTILE,
    bins: int = 512,
) -> tuple[float, float]:
    """Window ``(lo, hi)`` at quantiles of the histogram of ``values[mask]`` (central region).

    Only the central two thirds of the image (in both directions) count: the view is centred
    on the level, and the image border holds other anatomy or the empty corners of the crop.
    """
    v = np.asarray(values, dtype=np.float64)
    m = np.ones(v.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    r0, c0 = v.shape[0] // 6, v.shape[1] // 6
    central = np.zeros(v.shape, dtype=bool)
    central[r0 : v.shape[0] - r0, c0 : v.shape[1] - c0] = True
    sel = v[m & central]
    if sel.size < 100:
        sel = v[m] if int(m.sum()) >= 100 else v.ravel()
    hist, edges = np.histogram(sel, bins=bins)
    cdf = np.cumsum(hist) / max(int(hist.sum()), 1)
    lo = float(edges[int(np.searchsorted(cdf, low_q))])
    hi = float(edges[min(int(np.searchsorted(cdf, high_q)) + 1, bins)])
    if hi - lo < 1e-9:
        hi = lo + 1e-9
    return lo, hi


def fluoro_display(pixels: NDArray[np.floating], pixel_mm: float) -> NDArray[np.uint8]:
    """8-bit C-arm-like rendering of ray sums ``pixels[row, col]`` with ``pixel_mm`` pixels.

    Bone bright; the window comes from the harmonised image's own histogram (module notes).
    """
    d = harmonised(pixels, pixel_mm)
    lo, hi = histogram_window(d, body_mask(pixels))
    out = np.clip((d - lo) / (hi - lo), 0.0, 1.0) * 255.0
    return np.ascontiguousarray(np.round(out).astype(np.uint8))
