"""Needle geometry: lengths, angles, rays and C-arm-independent descriptions of a line.

Angles (degrees) of a needle direction ``d`` (entry → tip) in a frame with axes left,
posterior, superior, for a needle entering on side σ (+1 left, −1 right):

- medial (convergence) angle = ``atan2(−σ·d_left, −d_posterior)``: the angle between the
  needle's axial projection and the frame's anterior axis, + when the tip lies medial to the
  entry (the usual transpedicular convergence, DOMAIN.md §6.3 transverse pedicle angle);
- craniocaudal angle = ``atan2(d_superior, hypot(d_left, d_posterior))``: elevation of the
  needle above the frame's axial plane, + when the tip lies cranial to the entry.

In the body frame these are the angles relative to the vertebra; in the LPS frame they are
relative to the table/scanner axes, which is what the C-arm needs.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from planner.grid import FloatArray


def unit(v: ArrayLike) -> FloatArray:
    a = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n < 1e-12:
        raise ValueError("zero-length direction")
    return a / n


def needle_angles_deg(
    direction: ArrayLike, rotation: ArrayLike, side_sign: float
) -> tuple[float, float]:
    """(medial, craniocaudal) angles in degrees of an LPS direction in a frame.

    ``rotation`` has the frame's left, posterior, superior unit vectors as columns
    (:attr:`planner.anatomy.BodyFrame.rotation`; the identity for the table frame).
    """
    d = unit(direction) @ np.asarray(rotation, dtype=np.float64)
    medial = math.degrees(math.atan2(-side_sign * d[0], -d[1]))
    cc = math.degrees(math.atan2(d[2], math.hypot(d[0], d[1])))
    return medial, cc


def direction_from_angles(
    medial_deg: float, craniocaudal_deg: float, rotation: ArrayLike, side_sign: float
) -> FloatArray:
    """Inverse of :func:`needle_angles_deg`: the LPS unit direction (entry → tip)."""
    m, c = math.radians(medial_deg), math.radians(craniocaudal_deg)
    body = np.array(
        [-side_sign * math.sin(m) * math.cos(c), -math.cos(m) * math.cos(c), math.sin(c)]
    )
    return np.asarray(np.asarray(rotation, dtype=np.float64) @ body, dtype=np.float64)


def perpendicular(v: FloatArray, d: FloatArray) -> FloatArray:
    """``v`` with its component along unit ``d`` removed, normalised."""
    w = v - float(v @ d) * d
    return unit(w)


def first_crossing(values: FloatArray, step: float) -> float:
    """Distance along a sampled ray to the first sign change from + to − (linear interpolation).

    ``values[0]`` is at distance 0; returns ``inf`` when the ray never leaves (+).
    """
    neg = np.flatnonzero(values < 0)
    if neg.size == 0:
        return math.inf
    i = int(neg[0])
    if i == 0:
        return 0.0
    a, b = float(values[i - 1]), float(values[i])
    return step * (i - 1 + a / (a - b))


def last_crossing(values: FloatArray, step: float) -> float:
    """Distance along a sampled ray to the last sign change from + to − (linear
    interpolation): the far side of an outline, past any notch the ray dips out through.

    ``values[0]`` is at distance 0; ``inf`` when the ray never leaves (+), NaN when it is
    never inside; NaN samples count as outside.
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=-1.0)
    pos = np.flatnonzero(v >= 0)
    if pos.size == 0:
        return math.nan
    i = int(pos[-1])
    if i == len(v) - 1:
        return math.inf
    a, b = float(v[i]), float(v[i + 1])
    return step * (i + a / (a - b))


def first_crossings(values: FloatArray, step: float, cap: float) -> FloatArray:
    """Row-wise :func:`first_crossing` for ``(n, m)`` samples; ``cap`` where none."""
    neg = values < 0
    has = neg.any(axis=1)
    i = np.argmax(neg, axis=1)
    rows = np.arange(values.shape[0])
    ip = np.maximum(i - 1, 0)
    a, b = values[rows, ip], values[rows, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(i > 0, a / (a - b), 0.0)
    d = step * (ip + np.where(i > 0, frac, 0.0))
    return np.where(has, d, cap)


def max_run_mm(flags: FloatArray, step: float) -> float:
    """Longest contiguous run of true samples, in mm."""
    f = np.asarray(flags, dtype=bool)
    if not f.any():
        return 0.0
    padded = np.concatenate([[0], f.astype(np.int8), [0]])
    d = np.diff(padded)
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return float((stops - starts).max()) * step
