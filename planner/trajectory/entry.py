"""Where a needle line first enters bone: the derived bone entry of a hand-placed trajectory.

All points are patient LPS millimetres.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.constants import ENTRY_BONE_HU
from planner.grid import FloatArray

#: HU above which a sample counts as bone when no segmentation exists
#: (:data:`planner.constants.ENTRY_BONE_HU`, with its source).
BONE_HU = ENTRY_BONE_HU
STEP_MM = 0.5
#: consecutive inside samples (at STEP_MM) needed: a lone bright sample is not bone
RUN_SAMPLES = 3

InsideBone = Callable[[FloatArray], NDArray[np.bool_]]


def bone_entry_lps(skin_lps: ArrayLike, tip_lps: ArrayLike, inside_bone: InsideBone) -> FloatArray:
    """First point on the segment skin → tip that starts a run of bone samples.

    Parameters
    ----------
    skin_lps, tip_lps
        Segment ends, LPS mm.
    inside_bone
        Maps ``(n, 3)`` LPS points to a boolean array (True inside bone): see
        :func:`inside_from_context` and :func:`inside_from_hu`.

    Returns
    -------
    numpy.ndarray
        The entry point (LPS mm), or the tip when the line never enters bone.

    Notes
    -----
    The line is sampled every ``STEP_MM``; the entry is the first sample of the first run of
    ``RUN_SAMPLES`` samples inside bone.
    """
    skin = np.asarray(skin_lps, dtype=np.float64)
    tip = np.asarray(tip_lps, dtype=np.float64)
    length = float(np.linalg.norm(tip - skin))
    if length < 1e-6:
        return tip.copy()
    d = (tip - skin) / length
    pts = skin + np.arange(0.0, length + 1e-9, STEP_MM)[:, None] * d
    inside = np.asarray(inside_bone(pts), dtype=bool)
    kernel = np.ones(RUN_SAMPLES, dtype=np.int8)
    run = np.convolve(inside.astype(np.int8), kernel, "valid") == RUN_SAMPLES
    idx = np.flatnonzero(run)
    return tip.copy() if idx.size == 0 else pts[int(idx[0])]


def inside_from_context(ctx: Any) -> InsideBone:
    """Bone as the level's segmentation sees it (a ``TrajectoryContext``'s bone indicator)."""
    return lambda pts: np.asarray(ctx.indicator("bone", pts)) >= 0


def inside_from_hu(volume: Any, threshold_hu: float = BONE_HU) -> InsideBone:
    """Bone as samples of the CT at or above ``threshold_hu`` (no segmentation yet)."""
    return lambda pts: np.asarray(volume.sample_lps(pts, fill=-1000.0)) >= threshold_hu
