"""One simulated C-arm shot: cone-beam projection, needle, display window, orientation.

Display (tool assumption, after the usual look of C-arm images): high attenuation is dark
(bone grey, metal black, air white), inside the round field of an image intensifier. The grey
window is taken from the histogram of the log image (the line integrals) inside the field,
excluding the needle, in the central measuring field (the inner 40 % of the radius, where
automatic exposure control measures and where the isocentre — the spine — is): from its 2nd
percentile minus 15 % of the range (so soft tissue stays grey) to its 99.8th percentile plus
10 % of the range, then a
mild edge enhancement (unsharp mask, σ 3 px, gain 1.5) as C-arm image chains apply, which
brings out the cortical pedicle rings and the endplates.

Needle: a steel cylinder (outer radius from the device, μ_steel = 0.95 /mm, iron at 60 keV,
NIST XCOM 1.2 cm²/g × 7.87 g/cm³) from the skin entry to the tip; its line integral is the
chord of each ray through it, added to the CT's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter

from planner.fluoro.geometry import CArmPose, Detector
from planner.fluoro.projector import ConeBeamProjector
from planner.grid import FloatArray

MU_STEEL_PER_MM = 0.95
WINDOW_PERCENTILES = (2.0, 99.8)
WINDOW_HEADROOM = 0.10
WINDOW_FOOTROOM = 0.15
MEASURING_FIELD = 0.40
EDGE_SIGMA_PX = 3.0
EDGE_GAIN = 1.5
#: Radius of the round field as a fraction of the half detector side.
FIELD_FRACTION = 0.98


@dataclass(frozen=True, slots=True)
class Window:
    """Grey window on line integrals: ``lo`` → white, ``hi`` → black."""

    lo: float
    hi: float


@dataclass(frozen=True, eq=False)
class FluoroShot:
    """A simulated fluoroscopy image and everything needed to draw and read it.

    ``line_integrals[row, col]`` (float32, needle included); ``display`` (uint8, the windowed,
    edge-enhanced C-arm image, outside the round field 0); ``needle_px`` (col, row) of the
    needle's skin entry and tip, or None; ``orientation`` the edge letters and C-arm label.
    """

    pose: CArmPose
    detector: Detector
    line_integrals: NDArray[np.float32]
    display: NDArray[np.uint8]
    window: Window
    field_mask: NDArray[np.bool_]
    needle_px: FloatArray | None
    orientation: dict[str, Any]

    def project(self, lps: ArrayLike) -> FloatArray:
        """(col, row) of LPS points on this shot."""
        return self.detector.project(lps)


@lru_cache(maxsize=8)
def _radius_px(size: int) -> NDArray[np.float64]:
    c = (size - 1) / 2.0
    r = np.hypot(*np.meshgrid(np.arange(size) - c, np.arange(size) - c))
    r.setflags(write=False)
    return np.asarray(r, dtype=np.float64)


def field_mask(size: int) -> NDArray[np.bool_]:
    """The round field of view (True inside)."""
    return np.asarray(_radius_px(size) <= FIELD_FRACTION * size / 2.0)


def histogram_window(line_integrals: NDArray[np.float32], mask: NDArray[np.bool_]) -> Window:
    """Window from the histogram of the line integrals inside ``mask`` (module notes)."""
    size = line_integrals.shape[0]
    r = _radius_px(size)
    central = mask & (r <= MEASURING_FIELD * size / 2.0)
    if not central.any():
        return Window(0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(line_integrals[central], WINDOW_PERCENTILES))
    hi = max(hi, lo + 1e-3)
    lo -= WINDOW_FOOTROOM * (hi - lo)
    return Window(float(lo), hi + WINDOW_HEADROOM * (hi - float(lo)))


def render_display(line_integrals: NDArray[np.float32], window: Window,
                   mask: NDArray[np.bool_],
                   overlay: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
    """Windowed, edge-enhanced 8-bit image (dark = attenuating), 0 outside the field.

    ``overlay`` (e.g. the needle's line integrals) is added after the edge enhancement, so
    metal gets no bright halo.
    """
    li = line_integrals.astype(np.float32)
    enhanced = li + np.float32(EDGE_GAIN) * (li - gaussian_filter(li, EDGE_SIGMA_PX))
    if overlay is not None:
        enhanced += overlay
    v = (enhanced - window.lo) / (window.hi - window.lo)
    img = (255.0 * (1.0 - np.clip(v, 0.0, 1.0)) + 0.5).astype(np.uint8)
    img[~mask] = 0
    return np.asarray(img, dtype=np.uint8)


def needle_line_integrals(detector: Detector, skin_lps: ArrayLike, tip_lps: ArrayLike,
                          radius_mm: float) -> NDArray[np.float32]:
    """Line integral of a steel cylinder (skin → tip) for every detector pixel."""
    size = detector.size
    out = np.zeros((size, size), dtype=np.float32)
    a = np.asarray(skin_lps, dtype=np.float64)
    b = np.asarray(tip_lps, dtype=np.float64)
    length = float(np.linalg.norm(b - a))
    if length < 1e-6:
        return out
    px = detector.project(np.stack([a, b]))
    mag = float(detector.magnification_at(np.stack([a, b])).max())
    r_px = radius_mm * mag / detector.pixel_mm + 2.0
    lo = np.clip(np.floor(px.min(axis=0) - r_px), 0, size - 1).astype(int)
    hi = np.clip(np.ceil(px.max(axis=0) + r_px), 0, size - 1).astype(int)
    if np.any(hi < lo):
        return out
    cols, rows = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
    src = detector.pose.source_lps()
    d = detector.pixel_lps(cols, rows) - src  # ray directions
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    axis = (b - a) / length
    chord = _ray_cylinder_chord(src, d, a, axis, length, radius_mm)
    out[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1] = (chord * MU_STEEL_PER_MM).astype(np.float32)
    return out


def _ray_cylinder_chord(src: FloatArray, d: FloatArray, a: FloatArray, axis: FloatArray,
                        length: float, r: float) -> FloatArray:
    """Length (mm) of each ray ``src + t·d`` inside the finite cylinder (a, axis, length, r)."""
    w = src - a
    dd = d - (d @ axis)[..., None] * axis  # ray direction ⊥ axis
    ww = w - (w @ axis) * axis
    qa = np.einsum("...i,...i->...", dd, dd)
    qb = 2.0 * (dd @ ww)
    qc = float(ww @ ww) - r * r
    disc = qb * qb - 4.0 * qa * qc
    ok = (disc > 0.0) & (qa > 1e-12)
    sq = np.sqrt(np.where(ok, disc, 0.0))
    qa_safe = np.where(ok, qa, 1.0)
    t0 = (-qb - sq) / (2.0 * qa_safe)
    t1 = (-qb + sq) / (2.0 * qa_safe)
    # clip to the caps: axial coordinate s(t) = (w + t d)·axis within [0, length]
    s0 = w @ axis
    ds = d @ axis
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(np.abs(ds) > 1e-12, (0.0 - s0) / ds, -np.inf)
        tb = np.where(np.abs(ds) > 1e-12, (length - s0) / ds, np.inf)
    cap_lo = np.minimum(ta, tb)
    cap_hi = np.maximum(ta, tb)
    # a ray parallel to the axis (ds≈0) and inside the radius: bounded by the radial roots only
    lo = np.maximum(t0, cap_lo)
    hi = np.minimum(t1, cap_hi)
    return np.where(ok, np.clip(hi - lo, 0.0, None), 0.0)


def take_shot(projector: ConeBeamProjector, pose: CArmPose, size: int = 512,
              needle: tuple[ArrayLike, ArrayLike, float] | None = None,
              ct_integrals: NDArray[np.float32] | None = None,
              more_needles: Sequence[tuple[ArrayLike, ArrayLike, float]] = ()) -> FluoroShot:
    """One shot (module notes).

    Parameters
    ----------
    projector
        The CT's cone-beam projector.
    pose
        C-arm pose.
    needle
        ``(skin_entry_lps, tip_lps, outer_radius_mm)`` or None.
    ct_integrals
        The CT's line integrals for this very pose and size, if already computed (the CT does
        not change between shots at the same pose; only the needle does).
    more_needles
        Further needles drawn (e.g. the other side's); ``needle_px`` is the first one's.
    """
    det = Detector(pose, size)
    li = projector.line_integrals(pose, size) if ct_integrals is None else ct_integrals
    mask = field_mask(size)
    window = histogram_window(li, mask)  # from the anatomy alone: metal does not move it
    needle_px = None
    metal = None
    for i, nd in enumerate(([needle] if needle is not None else []) + list(more_needles)):
        skin, tip, radius = nd
        m = needle_line_integrals(det, skin, tip, float(radius))
        metal = m if metal is None else metal + m
        if i == 0:
            needle_px = det.project(np.stack([np.asarray(skin, float), np.asarray(tip, float)]))
    display = render_display(li, window, mask, metal)
    if metal is not None:
        li = li + metal
    return FluoroShot(pose, det, li, display, window, mask, needle_px, det.orientation())
