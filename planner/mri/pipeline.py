"""The MRI step of a case: register the MRI to the CT's analysed levels, then judge oedema.

Public API::

    result = analyse_mri(ct, analysis, stir=..., t1=...)        # automatic registration
    result = analyse_mri(ct, analysis, stir=..., points=(ct_pts, mri_pts))   # clicked centres
    result.registration, result.levels, result.to_json()

LPS mm in each scan's own frame; the registration maps CT points to MRI points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from planner.errors import InputError
from planner.mri.oedema import BodyMask, LevelOedema, classify_levels, thresholds_json
from planner.mri.points import rigid_from_points
from planner.mri.register import Registration, register_spine, registration_from_points
from planner.volume import CTVolume


@dataclass(frozen=True, eq=False)
class MRIResult:
    """Registration and per-level oedema findings (cranial first)."""

    registration: Registration
    levels: tuple[LevelOedema, ...]

    def level(self, name: str) -> LevelOedema | None:
        return next((lv for lv in self.levels if lv.level == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "registration": self.registration.to_json(),
            "levels": [lv.to_json() for lv in self.levels],
            "thresholds": thresholds_json(),
        }


def bodies_from_analysis(analysis: Any) -> list[BodyMask]:
    """Body masks and CT grades of a :class:`~planner.vertebra.SpineAnalysis`."""
    from planner.vertebra.grading import known_intact

    return [BodyMask(r.level, r.anatomy.body, r.anatomy.grid, int(r.morphometry.genant_grade),
                     known_intact(r.morphometry)) for r in analysis.levels]


def analyse_mri(ct: CTVolume, analysis: Any, *, stir: CTVolume | None = None,
                t1: CTVolume | None = None,
                points: tuple[ArrayLike, ArrayLike] | None = None,
                refine_points: bool = True) -> MRIResult:
    """Register the MRI to the analysed CT levels and classify oedema per level.

    Parameters
    ----------
    ct
        The CT the analysis was made on.
    analysis
        :class:`~planner.vertebra.SpineAnalysis` (levels with body masks and centroids).
    stir, t1
        MRI volumes of one session (same frame); the T1 is used for registration when given.
    points
        Optional matched vertebra centres ``(ct_lps (n, 3), mri_lps (n, 3))``, n >= 2: the
        Kabsch fit replaces the automatic initialisation, and with ``refine_points=False``
        the registration itself.
    """
    moving = t1 if t1 is not None else stir
    if moving is None:
        raise InputError("no MRI series given (need a STIR/fat-sat T2 and/or a T1)")
    levels = {r.level: tuple(float(v) for v in r.morphometry.centroid_lps)
              for r in analysis.levels}
    if points is not None:
        fit = rigid_from_points(*points)
        if refine_points:
            reg = register_spine(ct, moving, levels, init=fit.transform)  # type: ignore[arg-type]
        else:
            notes = fit.notes + (f"point fit RMS {fit.rms_mm:.2f} mm",)
            reg = registration_from_points(levels, fit.transform, notes)  # type: ignore[arg-type]
    else:
        reg = register_spine(ct, moving, levels)  # type: ignore[arg-type]
    found = classify_levels(bodies_from_analysis(analysis), reg, stir, t1)
    return MRIResult(reg, tuple(found))


def name_mri_point(result: MRIResult, mri_lps: ArrayLike) -> str | None:
    """The level whose carried-over centroid is nearest to an MRI point (within 20 mm)."""
    p = np.asarray(mri_lps, dtype=np.float64)
    best = min(result.registration.centroids_mri_lps.items(),
               key=lambda kv: float(np.linalg.norm(np.asarray(kv[1]) - p)), default=None)
    if best is None or float(np.linalg.norm(np.asarray(best[1]) - p)) > 20.0:
        return None
    return best[0]
