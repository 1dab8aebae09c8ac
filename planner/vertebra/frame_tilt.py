"""Body frames tilted against the column: a plausibility check for grading.

Why
---
Heights are measured along the body frame's cranial axis (six-point method). A frame tilted far
from the column measures them obliquely across a corner of the body, so one wall comes out
short and the level looks fractured: on ../shared/data/cptac_chest_ct at 0.70 mm pixels with a
soft kernel, T5's frame lay 37° from the column and its anterior height read 6 mm (grade 3).

Method
------
The column's local direction at a level is the line from the centre of the measured level above
to the centre of the one below (or from the one neighbour measured to the level). The frame's
cranial axis is the direction of the level's middle height line. Real cases here lie within
17° of it (cptac_chest_ct T8 17°, totalseg_example L5 17°, VerSe 004 L5 12°, its L1 grade 3
fracture 3°); beyond :data:`MAX_TILT_DEG` the frame is implausible **[engineering threshold]**.
"""

from __future__ import annotations

import math

import numpy as np

from planner.anatomy import Morphometry
from planner.vertebra.common import nearest_measured

#: Largest angle between a body's cranial axis and the column's local direction, degrees.
MAX_TILT_DEG = 25.0
TILT_NOTE_START = "body frame tilted"


def frame_tilt_deg(level: str, levels: dict[str, Morphometry]) -> float | None:
    """Angle (degrees) between the level's cranial axis and the column's local direction.

    Parameters
    ----------
    level : str
        Level name (a key of ``levels``).
    levels : dict
        Every measured level by name; centres and height lines in LPS mm.

    Returns
    -------
    float or None
        0-90°, or None without a middle height line or a measured neighbour within two steps.
    """
    m = levels[level]
    line = m.height_lines_lps.get("middle")
    above, below = nearest_measured(level, -1, levels), nearest_measured(level, 1, levels)
    if line is None or (above is None and below is None):
        return None
    top = np.asarray((above or m).centroid_lps, float)
    bottom = np.asarray((below or m).centroid_lps, float)
    column = top - bottom
    axis = np.subtract(line[1], line[0])
    norm = float(np.linalg.norm(column) * np.linalg.norm(axis))
    if norm < 1e-9:
        return None
    return math.degrees(math.acos(min(1.0, abs(float(np.dot(column, axis))) / norm)))


def tilted_frames(levels: dict[str, Morphometry]) -> dict[str, float]:
    """The levels whose frame lies more than :data:`MAX_TILT_DEG` from the column, with the
    angle (degrees)."""
    out = {}
    for k in levels:
        tilt = frame_tilt_deg(k, levels)
        if tilt is not None and tilt > MAX_TILT_DEG:
            out[k] = tilt
    return out


def tilt_note(tilt_deg: float) -> str:
    return (f"{TILT_NOTE_START} {tilt_deg:.0f}° against the column (its neighbours' centres): "
            "its heights are measured obliquely (check the mid-sagittal plane); not used as a "
            "neighbour's reference")
