"""How sure a Genant grade is: the height losses against the sampling of the CT.

Why
---
The grade is read off fixed limits (20, 25, 40 % height loss; Genant 1993) but a height on a
CT is located only to its sampling along the body's cranial axis. On
../shared/data/cptac_chest_ct (3 mm slices) re-sampled to coarser pixels or a soft kernel,
heights moved by a median 1.9 mm (90th percentile 6.2 mm) against the original's, and 10 of
the 12 false grades left by the outline checks lay within 6 points above a limit (losses
20-26 %); none of them is a grade under this model, and no level of the real cases changed
grade but VerSe 004's T10 (loss 25.1 %: grade 1, possible 2).

Model
-----
Each endplate edge is taken as known to one voxel step along the cranial axis (a rectangular
distribution over the step: SD step/√12, JCGM 100:2008 "Guide to the expression of
uncertainty in measurement" §4.3.7); a height (two edges) then has SD step/√6 (1.22 mm at
3 mm slices, 0.41 mm at 1 mm). The loss 1 - h/r compares it with a reference r averaged over
n neighbours measured alike, so its SD is 100·σ/r·√(1 + (h/r)²/n) %. The grade given is the
one the loss less one SD reaches ("supported"); a higher grade of the loss itself is
reported as possible. This is a lower bound of the error (the outline's own variation adds
to it), so it never claims less certainty than the sampling allows.
"""

from __future__ import annotations

import math

import numpy as np

from planner.grid import FloatArray

POSSIBLE_NOTE_START = "possible grade"


def height_sd_mm(ijk_to_lps: FloatArray, cranial_lps: FloatArray,
                 slice_thickness_mm: float | None = None) -> float:
    """SD (mm) of a height measured along ``cranial_lps`` on a grid (see module notes).

    Parameters
    ----------
    ijk_to_lps : ndarray, shape (4, 4)
        The grid's voxel index → LPS mm affine.
    cranial_lps : ndarray, shape (3,)
        Unit vector of the body's cranial axis, LPS.
    slice_thickness_mm : float, optional
        Nominal slice thickness (mm): where it exceeds the slice spacing (overlapping
        reconstruction) the voxel's slice edge counts as that long, the image being as
        blurred along the slices as they are thick.

    Notes
    -----
    The step is the voxel's extent along the axis (its three edge vectors projected on it and
    added): 3 mm slices give ~3 mm whether or not the body leans a little in the scan, as an
    endplate across them is blurred over the slice whatever its lean.
    """
    edges = np.array(ijk_to_lps, float)[:3, :3]
    spacing = float(np.linalg.norm(edges[:, 2]))
    if slice_thickness_mm is not None and spacing > 0 and slice_thickness_mm > spacing:
        edges[:, 2] *= slice_thickness_mm / spacing
    step_mm = float(np.abs(edges.T @ np.asarray(cranial_lps, float)).sum())
    return step_mm / math.sqrt(6.0)


def loss_sd_pct(height_mm: float, reference_mm: float, height_sd: float, n_refs: int) -> float:
    """SD (percentage points) of the loss 1 - height/reference (see module notes)."""
    if height_sd <= 0.0 or reference_mm <= 0.0:
        return 0.0
    ratio = height_mm / reference_mm
    return 100.0 * height_sd / reference_mm * math.sqrt(1.0 + ratio * ratio / max(1, n_refs))


def possible_note(grade: int, loss_pct: float, sd_pct: float, height_sd: float) -> str:
    step = height_sd * math.sqrt(6.0)
    return (f"{POSSIBLE_NOTE_START} {grade}: worst loss {loss_pct:.0f} % ± {sd_pct:.0f} % "
            f"(1 SD, each endplate located to one {step:.1f} mm voxel step along the body's "
            "axis); the grade given is the one the loss less one SD reaches (check the "
            "endplates by eye, or place the six points)")


def possible_grade(notes: tuple[str, ...]) -> int | None:
    """The possible higher grade a level's notes report, if any."""
    for n in notes:
        if n.startswith(POSSIBLE_NOTE_START):
            return int(n[len(POSSIBLE_NOTE_START):].split(":", 1)[0])
    return None
