"""Clearances around a needle: fans of rays perpendicular to its axis, the breach and the
isthmus width (definitions in :mod:`planner.trajectory.metrics`).

All points LPS mm; distances mm, negative values are penetration depths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.anatomy import BoolArray
from planner.grid import FloatArray
from planner.trajectory.breach import direction_name, pedicle_offset_direction
from planner.trajectory.context import SIDE_SIGN, TrajectoryContext
from planner.trajectory.geometry import first_crossings, perpendicular
from planner.trajectory.isthmus import isthmus_width

RAY_STEP_MM = 0.5
RAY_CAP_MM = 8.0
RAY_EVERY_MM = 1.0  # spacing of the ray fans along the path
ISTHMUS_WINDOW_MM = 5.0
N_RAYS = 12  # perpendicular rays, 30° apart; 0° = medial, 90° = superior


def ray_dirs(ctx: TrajectoryContext, d: FloatArray, sign: float) -> FloatArray:
    """(N_RAYS, 3) unit LPS vectors perpendicular to the needle, starting medial, then superior."""
    rot = ctx.frame.rotation
    med = perpendicular(-sign * rot[:, 0], d)
    sup = np.cross(d, med)
    if float(sup @ rot[:, 2]) < 0:
        sup = -sup
    ang = np.radians(np.arange(N_RAYS) * (360.0 / N_RAYS))
    rays: FloatArray = np.cos(ang)[:, None] * med + np.sin(ang)[:, None] * sup
    return rays


def ray_distances(ctx: TrajectoryContext, pts: FloatArray, dirs: FloatArray) -> FloatArray:
    """(n, N_RAYS) distance from each axis point to the bone surface along each ray (capped)."""
    steps = np.arange(0.0, RAY_CAP_MM + RAY_STEP_MM / 2, RAY_STEP_MM)
    ray_pts = pts[:, None, None, :] + dirs[None, :, None, :] * steps[None, None, :, None]
    vals = ctx.indicator("bone", ray_pts)
    n, k = vals.shape[0], len(dirs)
    dist = first_crossings(vals.reshape(n * k, -1), RAY_STEP_MM, RAY_CAP_MM).reshape(n, k)
    # one regula-falsi step inside the bracketing interval: the indicator is an erf profile
    # about a voxel wide, which a straight line between 0.5 mm samples does not follow exactly
    hit = (dist > 0) & (dist < RAY_CAP_MM)
    if hit.any():
        ii, jj = np.nonzero(hit)
        lo = np.floor(dist[ii, jj] / RAY_STEP_MM) * RAY_STEP_MM
        hi = lo + RAY_STEP_MM
        x = dist[ii, jj]
        f_lo = vals[ii, jj, np.round(lo / RAY_STEP_MM).astype(int)]
        f_hi = vals[ii, jj, np.minimum(np.round(hi / RAY_STEP_MM).astype(int), vals.shape[2] - 1)]
        f_x = ctx.indicator("bone", pts[ii] + dirs[jj] * x[:, None])
        left = f_x >= 0  # crossing lies between x and hi
        a, fa = np.where(left, x, lo), np.where(left, f_x, f_lo)
        b, fb = np.where(left, hi, x), np.where(left, f_hi, f_x)
        with np.errstate(divide="ignore", invalid="ignore"):
            refined = a + (b - a) * fa / (fa - fb)
        ok = np.isfinite(refined) & (fa >= 0) & (fb < 0)
        dist[ii[ok], jj[ok]] = refined[ok]
    return dist


@dataclass(frozen=True, slots=True)
class Clearances:
    breach_mm: float
    breach_dir: str
    breach_point: FloatArray | None
    margin_mm: float  # smallest needle-surface → bone-surface distance in the pedicle zone
    body_margin_mm: float  # same in the body (in front of the pedicle zone), up to the tip
    directional: dict[str, float]
    width_mm: float


def clearances(
    ctx: TrajectoryContext,
    side: str,
    pts: FloatArray,
    bone: FloatArray,
    canal: FloatArray,
    zone: BoolArray,
    intra: BoolArray,
    front: BoolArray,
    d: FloatArray,
    r: float,
    path_step_mm: float,
) -> Clearances:
    """Perpendicular-ray clearances (pedicle zone and whole intraosseous path) and the breach.

    ``pts`` are the needle axis samples (LPS, ``path_step_mm`` apart) with the signed bone and
    canal distances, the pedicle-zone / intraosseous / body-part selections, the needle
    direction ``d`` and its radius ``r`` (mm).
    """
    sign = SIDE_SIGN[side]
    dirs = ray_dirs(ctx, d, sign)
    idx = np.flatnonzero(intra)
    if idx.size:  # one fan every RAY_EVERY_MM, plus the sample deepest out of / least in bone
        worst = idx[int(np.argmin(bone[idx]))]
        idx = np.union1d(idx[:: max(1, int(round(RAY_EVERY_MM / path_step_mm)))], [worst, idx[-1]])
    dist = ray_distances(ctx, pts[idx], dirs) if idx.size else np.empty((0, N_RAYS))
    inside = bone[idx] > 0
    # penetration of the needle surface beyond the bone surface at each sample
    pen = np.where(inside, r - dist.min(axis=1, initial=np.inf), r - bone[idx])
    in_zone = zone[idx]
    nan = math.nan
    if not in_zone.any():
        return Clearances(
            0.0,
            "none",
            None,
            nan,
            _min_where(-pen, front[idx]),
            dict.fromkeys(CARDINAL_RAYS, nan),
            nan,
        )
    zpen = np.where(in_zone, pen, -np.inf)
    k = int(np.argmax(zpen))
    breach = max(float(zpen[k]), 0.0)
    bdir, bpt = "none", None
    zcanal = np.where(zone, canal + r, -np.inf)  # > 0: needle surface inside the canal
    kc = int(np.argmax(zcanal))
    if zcanal[kc] > 0:  # in the canal: medial whatever bone is nearest (see breach.py)
        breach = max(breach, float(zcanal[kc]))
        bdir, bpt = "medial", pts[kc]
    elif breach > 0:
        bpt = pts[idx[k]]
        if inside[k]:
            bdir = direction_name(dirs[int(np.argmin(dist[k]))], d, ctx, sign)
        else:
            bdir = pedicle_offset_direction(ctx, side, bpt, d)
    zin = in_zone & inside
    card = {
        name: (float(dist[zin, i].min()) - r if zin.any() else nan)
        for name, i in CARDINAL_RAYS.items()
    }
    # the isthmus: chords within ISTHMUS_WINDOW_MM of the pedicle's narrowest cross-section
    # (near the entry surface or the body a chord ⊥ the needle is cut short by other walls)
    ped = ctx.pedicles[side]
    win = zin & (
        np.abs(ctx.frame.to_body(pts[idx])[:, 1] - ped.isthmus_point[1]) <= ISTHMUS_WINDOW_MM
    )
    ml = [0, N_RAYS // 2]  # medial, lateral; chord ends refined to the CT's cortical edge
    width = isthmus_width(ctx, pts[idx[win]], dirs[ml], dist[win][:, ml], RAY_CAP_MM)
    return Clearances(
        breach, bdir, bpt, _min_where(-pen, in_zone), _min_where(-pen, front[idx]), card, width
    )


CARDINAL_RAYS = {
    "medial": 0,
    "superior": N_RAYS // 4,
    "lateral": N_RAYS // 2,
    "inferior": 3 * N_RAYS // 4,
}


def _min_where(v: FloatArray, sel: BoolArray) -> float:
    return float(v[sel].min()) if np.any(sel) else math.nan
