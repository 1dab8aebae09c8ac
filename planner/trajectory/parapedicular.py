"""Parapedicular candidates for auto-suggest (:mod:`planner.trajectory.suggest`): lines that
pass lateral to the pedicle and enter the body at its posterolateral wall, as close to the
pedicle as the needle allows, avoiding air and bone other than the body (body coordinates,
mm)."""

from __future__ import annotations

import math

import numpy as np

from planner.constants import AIR_HU
from planner.grid import FloatArray
from planner.trajectory.context import SIDE_SIGN, TrajectoryContext
from planner.trajectory.geometry import first_crossing, unit

#: Sampling step along a candidate line (mm).
STEP = 0.5


def parapedicular_lines(
    ctx: TrajectoryContext, side: str, r: float, targets: FloatArray, n_max: int,
    spread_mm: float,
) -> list[tuple[FloatArray, FloatArray]]:
    """Parapedicular (target, pass) lines in body mm, best score first, each differing from
    the ones before by more than ``spread_mm`` (target shift + pass shift), at most ``n_max``
    (none when no line qualifies). ``targets``: candidate tips (body mm), ``r``: needle
    radius (mm)."""
    ped = ctx.pedicles[side]
    sg = SIDE_SIGN[side]
    iso = ped.isthmus_point
    lat = ctx.frame.to_lps(iso + np.array([sg, 0, 0]) * np.arange(0, 15, 0.25)[:, None])
    half_w = first_crossing(ctx.indicator("bone", lat), 0.25)
    if not math.isfinite(half_w):
        return []
    scored: list[tuple[float, FloatArray, FloatArray]] = []
    for x in np.arange(half_w + r + 0.25, half_w + r + 6.0, 0.5):
        for y in (-2.0, 0.0, 2.0):
            P = iso + np.array([sg * x, 0.0, y])
            for T in targets:
                score = _para_score(ctx, T, P, r) - 0.2 * x
                if np.isfinite(score):
                    scored.append((score, T, P))
    scored.sort(key=lambda c: -c[0])
    out: list[tuple[FloatArray, FloatArray]] = []
    for _, t, p in scored:
        if len(out) >= n_max:
            break
        if all(np.linalg.norm(t - a) + np.linalg.norm(p - b) > spread_mm
               for a, b in out):
            out.append((t, p))
    return out


def _para_score(ctx: TrajectoryContext, T: FloatArray, P: FloatArray, r: float) -> float:
    d = unit(P - T)
    s = np.arange(0.0, 80.0, STEP)
    lps = ctx.frame.to_lps(T[None] + s[:, None] * d)
    body = ctx.signed("body", lps)
    canal = -ctx.signed("canal", lps) - r
    bone = ctx.signed("bone", lps)
    hu = ctx.hu(lps)
    out = np.flatnonzero(body < 0)
    if out.size == 0:
        return -np.inf
    k = int(out[0])  # body entry (counted from the tip backwards)
    inner = body[: max(k - int(4.0 / STEP), 1)] - r
    near_ped = bone[k + int(3.0 / STEP) : k + int(20.0 / STEP)]
    if np.any(near_ped > -r + 0.25) or np.any(np.nan_to_num(hu[k:], nan=0) < AIR_HU):
        return -np.inf  # runs through the pedicle, or through air before reaching the body
    if _crosses_foreign_bone(ctx, lps[k + int(2.0 / STEP) :]):
        return -np.inf  # through a transverse process, rib or facet
    return float(min(inner.min(), canal.min(), 3.0))


def _crosses_foreign_bone(ctx: TrajectoryContext, lps: FloatArray) -> bool:
    """True when ``lps`` (behind the body entry) runs through bone other than the target's
    body for :data:`~planner.trajectory.crossing.CROSS_MIN_MM` (the CT's structure labels)."""
    from planner.trajectory.crossing import CROSS_MIN_MM
    from planner.vertebra.pedicle import BODY, CANAL, NONE

    code = ctx.structure(lps)
    foreign = (code != NONE) & (code != CANAL) & (code != BODY)
    run = int(math.ceil(CROSS_MIN_MM / STEP))
    return bool(np.any(np.convolve(foreign.astype(np.int8), np.ones(run), "valid") >= run))
