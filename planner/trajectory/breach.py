"""Naming the direction of a pedicle breach: medial, lateral, superior or inferior.

Directions are always judged relative to the pedicle on the needle's own side, in the body
frame (:mod:`planner.anatomy`: the ``left`` axis points to the patient's left), in the plane
perpendicular to the needle. Medial is towards the midline and the spinal canal: −left for a
left needle, +left for a right one.

Three cases, in this order (DOMAIN.md §6.1 for the grading itself):

1. the needle surface lies inside the spinal canal within the pedicle zone: *medial*, since
   the canal lies medial to both pedicles. The nearest bone surface cannot be trusted there:
   from inside the canal it is often the body's posterior wall, the lamina or the opposite
   pedicle's medial wall, which would name the breach inferior, superior or even lateral;
2. the needle axis is still inside bone: the perpendicular ray that leaves bone soonest;
3. the axis has left bone: the offset of the axis from the own pedicle's axis at the same
   AP position, each component scaled by the pedicle's half-width / half-height at its isthmus,
   so the name says which wall of that pedicle the needle went through.
"""

from __future__ import annotations

import math

import numpy as np

from planner.grid import FloatArray
from planner.trajectory.context import SIDE_SIGN, TrajectoryContext


def direction_name(
    vec_lps: FloatArray,
    d: FloatArray,
    ctx: TrajectoryContext,
    sign: float,
    scale_lr_si: tuple[float, float] = (1.0, 1.0),
) -> str:
    """Name an LPS vector (component along the needle ``d`` removed) for a needle on side
    ``sign`` (+1 left, −1 right); the body-frame left-right and superior-inferior components
    are divided by ``scale_lr_si`` before they are compared."""
    v = np.asarray(vec_lps, dtype=np.float64)
    o = ctx.frame.rotation.T @ (v - float(v @ d) * d)
    lat, sup = sign * o[0] / scale_lr_si[0], o[2] / scale_lr_si[1]
    if abs(lat) >= abs(sup):
        return "lateral" if lat > 0 else "medial"
    return "superior" if sup > 0 else "inferior"


def pedicle_offset_direction(
    ctx: TrajectoryContext, side: str, point_lps: FloatArray, d: FloatArray
) -> str:
    """Direction of a needle axis point that lies outside bone, from its own pedicle's axis
    (case 3 of the module notes)."""
    ped = ctx.pedicles[side]
    b = ctx.frame.to_body(np.asarray(point_lps, dtype=np.float64))
    off_lps = ctx.frame.rotation @ (b - ped.axis_at(b[1]))
    scale = (_positive(ped.half_width_mm), _positive(ped.half_height_mm))
    return direction_name(off_lps, d, ctx, SIDE_SIGN[side], scale)


def _positive(mm: float) -> float:
    """A usable scale: ``mm`` if finite and > 0, else 1 (unscaled)."""
    return mm if math.isfinite(mm) and mm > 0 else 1.0
