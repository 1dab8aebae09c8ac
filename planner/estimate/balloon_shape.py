"""Geometry helpers of the balloon model: the capsule shape and lookups on the fine lattice.

Shape [assumption]: all points within radius r of the segment between the balloon's end
markers; volume πr²L + 4/3·πr³ (see :mod:`planner.estimate.balloon`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import HEIGHT_POSITIONS_FRAC
from planner.estimate.geometry import FineBody

BoolArray = NDArray[np.bool_]


def capsule_volume_ml(radius_mm: float, length_mm: float) -> float:
    """Analytic volume of the capsule shape (mL)."""
    r = radius_mm
    return (math.pi * r * r * length_mm + 4.0 / 3.0 * math.pi * r**3) / 1000.0


def capsule_radius_mm(volume_ml: float, length_mm: float) -> float:
    """Radius of the free (unconstrained) capsule holding ``volume_ml``."""
    lo, hi = 0.0, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if capsule_volume_ml(mid, length_mm) < volume_ml else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass
class BalloonBox:
    """Voxels of the fine lattice around the balloon (may extend past the fine grid)."""

    lo: NDArray[np.intp]
    shape: tuple[int, int, int]
    lps: NDArray[np.float64]
    interior: BoolArray
    body: BoolArray
    label: NDArray[np.int8]
    other_bone: BoolArray


def make_box(
    fine: FineBody, p0: NDArray[np.float64], p1: NDArray[np.float64], reach: float
) -> BalloonBox:
    pts = np.array(
        [p0 + s * reach for s in np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T]
        + [p1 + s * reach for s in np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T]
    )
    ijk = fine.grid.lps_to_voxel(pts)
    lo = np.floor(ijk.min(0)).astype(np.intp)[::-1]
    hi = np.ceil(ijk.max(0)).astype(np.intp)[::-1] + 1
    shape = tuple(int(v) for v in hi - lo)
    k, j, i = np.indices(shape)
    lps = fine.grid.voxel_to_lps(np.stack([i + lo[2], j + lo[1], k + lo[0]], -1).astype(np.float64))
    interior, body = np.zeros(shape, bool), np.zeros(shape, bool)
    label = np.zeros(shape, np.int8)
    other = np.zeros(shape, bool)
    src_lo, src_hi = np.maximum(lo, 0), np.minimum(hi, fine.grid.shape_kji)
    if np.all(src_hi > src_lo):
        dst = tuple(slice(a - o, b - o) for a, b, o in zip(src_lo, src_hi, lo, strict=True))
        src = tuple(slice(a, b) for a, b in zip(src_lo, src_hi, strict=True))
        interior[dst] = fine.interior[src]
        body[dst] = fine.body[src]
        label[dst] = fine.label[src]
        other[dst] = fine.other_bone[src]
    return BalloonBox(lo, (int(shape[0]), int(shape[1]), int(shape[2])), lps, interior, body, label,
                      other)


def segment_distance(
    lps: NDArray[np.float64], p0: NDArray[np.float64], p1: NDArray[np.float64]
) -> NDArray[np.float32]:
    d = p1 - p0
    t = np.clip(((lps - p0) @ d) / float(d @ d), 0.0, 1.0)
    return np.asarray(np.linalg.norm(lps - (p0 + t[..., None] * d), axis=-1), dtype=np.float32)


def interior_at(box: BalloonBox, fine: FineBody, lps: NDArray[np.float64]) -> BoolArray:
    """Cancellous interior (nearest voxel of the fine grid) at LPS points; False outside."""
    kji = np.rint(fine.grid.lps_to_voxel(lps)).astype(np.intp)[..., ::-1]
    ok = np.all((kji >= 0) & (kji < np.array(fine.grid.shape_kji)), axis=-1)
    out = np.zeros(lps.shape[:-1], bool)
    q = kji[ok]
    out[ok] = fine.interior[q[:, 0], q[:, 1], q[:, 2]]
    return out


def vertical_reach(
    box: BalloonBox,
    fine: FineBody,
    cand: BoolArray,
    sup: NDArray[np.float64],
    max_mm: float,
    sign: float,
) -> NDArray[np.float32]:
    """For candidate voxels: distance (mm) to interior found going ∓sup, ∞ if none ≤ max_mm."""
    out = np.full(box.shape, np.inf, np.float32)
    idx = np.nonzero(cand)
    pts = box.lps[idx]
    step = float(fine.grid.spacing_mm.min())
    for t in np.arange(step, max_mm + 1e-6, step):
        hit = interior_at(box, fine, pts - sign * t * sup) & ~np.isfinite(out[idx])
        out[tuple(a[hit] for a in idx)] = t
    return out


def free_column(
    box: BalloonBox, fine: FineBody, c: NDArray[np.float64], sup: NDArray[np.float64]
) -> tuple[float, float, bool]:
    """Free height above and below the balloon centre along the body's superior axis (mm)."""
    t = np.arange(0.0, 40.0, 0.25)
    up = interior_at(box, fine, c + t[:, None] * sup)
    down = interior_at(box, fine, c - t[:, None] * sup)
    inside = bool(up[0])
    top = float(t[np.argmin(up)]) if not up.all() else 40.0
    bot = float(t[np.argmin(down)]) if not down.all() else 40.0
    return top, bot, inside


def allowed_lift_mm(
    prefracture: Mapping[str, float] | None, current: Mapping[str, float] | None
) -> dict[str, float]:
    """Per wall: how far the endplates may move apart (pre-fracture − current height, ≥ 0)."""
    if prefracture is None or current is None:
        return {w: 0.0 for w in HEIGHT_POSITIONS_FRAC}
    return {w: max(0.0, float(prefracture[w]) - float(current[w])) for w in HEIGHT_POSITIONS_FRAC}


def allowed_at(fine: FineBody, c: NDArray[np.float64], allowed: Mapping[str, float]) -> float:
    y0, y1 = fine.body_extent["posterior"]
    frac = (float(fine.frame.to_body(c)[1]) - y0) / max(y1 - y0, 1e-6)
    xs = [HEIGHT_POSITIONS_FRAC[w] for w in ("anterior", "middle", "posterior")]
    return float(np.interp(frac, xs, [allowed[w] for w in ("anterior", "middle", "posterior")]))
