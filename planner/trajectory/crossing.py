"""Bone a needle crosses besides its target, and whether a transpedicular needle uses its pedicle.

Definitions (points LPS mm, lengths mm along the needle axis, sampled every ``step`` mm):

- *own bone*: the target's body and the pedicle on the needle's side (the level's masks), and
  for a transpedicular needle the level's own posterior elements it enters through behind
  that pedicle (the entry at the junction of transverse and superior articular process,
  where the surgeon docks the needle on the pedicle's projection): a lamina / facet or
  transverse-process run that ends at most :data:`ENTRY_GAP_MM` before the needle reaches its
  pedicle. The gap allows for cancellous bone below the CT's cortical edge (porotic bone).
- *foreign bone*: bone of the CT's posterior segmentation
  (:mod:`planner.vertebra.pedicle`: transverse process, lamina / facet, rib head, neighbouring
  vertebra, the other pedicle, other bone) outside the own bone. Each contiguous run of at
  least :data:`CROSS_MIN_MM` is a crossing, named by its most frequent structure.
- *through its pedicle*: a transpedicular needle's axis lies inside its pedicle for at least
  :data:`PEDICLE_MIN_MM`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.grid import FloatArray
from planner.trajectory.context import TrajectoryContext
from planner.vertebra.pedicle import (
    ARCH,
    BODY,
    CANAL,
    NONE,
    PEDICLE_LEFT,
    PEDICLE_RIGHT,
    STRUCTURE_NAMES,
    TRANSVERSE,
)

#: Shorter runs are partial-volume grazing of a surface, not a crossing (one 2 mm sample pair
#: at the resolution of a 1-3 mm CT; tool assumption).
CROSS_MIN_MM = 2.0
#: A transpedicular axis must lie inside its pedicle for at least this long (tool assumption).
PEDICLE_MIN_MM = 2.0
#: Gap (mm) allowed between the entry run and the pedicle: porotic cancellous bone at the
#: pedicle's base lies below the CT's cortical edge (tool assumption).
ENTRY_GAP_MM = 10.0
#: Structures a transpedicular needle may enter through (the level's own posterior elements).
ENTRY_STRUCTURES = (ARCH, TRANSVERSE)
OWN_PEDICLE = {"left": PEDICLE_LEFT, "right": PEDICLE_RIGHT}


@dataclass(frozen=True, slots=True)
class Crossing:
    """One run of foreign bone along the needle: structure name, length (mm), start (LPS)."""

    structure: str
    length_mm: float
    start_lps: FloatArray


def bone_crossings(
    ctx: TrajectoryContext,
    side: str,
    transpedicular: bool,
    pts: FloatArray,
    in_own_pedicle: np.ndarray,
    step: float,
) -> tuple[Crossing, ...]:
    """Runs of foreign bone along the sampled axis ``pts`` (skin → tip; module notes)."""
    code = ctx.structure(pts)
    body = ctx.indicator("body", pts)
    own = np.nan_to_num(body, nan=-1.0) >= 0
    own |= in_own_pedicle | (code == OWN_PEDICLE[side]) | (code == BODY)
    foreign = (code != NONE) & (code != CANAL) & ~own
    runs = _runs(foreign)
    first_ped = np.flatnonzero(in_own_pedicle | (code == OWN_PEDICLE[side]))
    gap = int(round(ENTRY_GAP_MM / step))
    out = []
    for a, b in runs:
        length = (b - a) * step
        if length < CROSS_MIN_MM:
            continue
        codes, counts = np.unique(code[a:b], return_counts=True)
        main = int(codes[int(np.argmax(counts))])
        if (transpedicular and first_ped.size and 0 <= first_ped[0] - b <= gap
                and main in ENTRY_STRUCTURES):
            continue  # the entry through the own posterior elements into the pedicle
        if transpedicular and _pedicle_base(first_ped, own, a, b, gap) and main == ARCH:
            # lamina / facet lie behind the pedicle, never between it and the body: bone
            # labelled so there is the pedicle's base where the CT's posterior labels and the
            # analysis' pedicle and body masks do not meet
            continue
        name = STRUCTURE_NAMES.get(main, "other bone")
        if name.endswith("pedicle"):
            name = "opposite " + name
        out.append(Crossing(name, float(length), pts[a]))
    return tuple(out)


def pedicle_passage_mm(in_own_pedicle: np.ndarray, step: float) -> float:
    """Length (mm) of the axis inside its own pedicle."""
    return float(np.count_nonzero(in_own_pedicle)) * step


def pedicle_miss(
    ctx: TrajectoryContext, side: str, pts: FloatArray
) -> tuple[float, str]:
    """(distance mm from the pedicle's axis, direction) where the needle passes the isthmus."""
    from planner.trajectory.breach import pedicle_offset_direction

    ped = ctx.pedicles[side]
    if not np.all(np.isfinite(ped.isthmus_point)):
        return math.nan, ""
    b = ctx.frame.to_body(pts)
    k = int(np.argmin(np.abs(b[:, 1] - ped.isthmus_point[1])))
    off = b[k] - ped.axis_at(b[k, 1])
    d = pts[-1] - pts[0]
    d = d / max(float(np.linalg.norm(d)), 1e-9)
    return float(np.hypot(off[0], off[2])), pedicle_offset_direction(ctx, side, pts[k], d)


def _pedicle_base(first_ped: np.ndarray, own: np.ndarray, a: int, b: int, gap: int) -> bool:
    """True when the run ``[a, b)`` starts at most ``gap`` samples after the own pedicle and
    ends where the own body (or pedicle) resumes."""
    if not first_ped.size or b >= len(own) or not own[b]:
        return False
    last = first_ped[first_ped < a]
    return bool(last.size and 0 <= a - last[-1] <= gap)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))
