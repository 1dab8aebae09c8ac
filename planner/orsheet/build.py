"""From a study and its plan file(s) to the OR sheet content (shared by ``report``,
``export-dicom`` and the workstation).

The plan file (format 4) holds every planned level; several files of the same series are
merged level by level. The planning session (:mod:`planner.session`) gives each level's
checks (metrics and findings), estimates and the indication, exactly as ``check``,
``estimate`` and the workstation compute them; this module only adds what the sheet needs on
top (entry relative to the pedicle on AP, images).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.errors import InputError, PlanMismatchError
from planner.orsheet.content import LevelSheet, SheetContent, build_level_sheet, build_sheet
from planner.session import Case, level_context, report_content
from planner.trajectory import TrajectoryResult
from planner.volume import CTVolume, LoadWarning


@dataclass(frozen=True, eq=False)
class LoadedCase:
    """The CT, its load warnings, the session case (with its analysis) and the sheet levels."""

    volume: CTVolume
    warnings: tuple[LoadWarning, ...]
    levels: tuple[LevelSheet, ...]
    case: Case | None = None
    content: SheetContent | None = None


def _merge(case: Case, other: Case, path: str) -> Case:
    have = set(case.plan.level_names())
    extra = tuple(lp for lp in other.plan.levels if lp.level not in have)
    if len(extra) != len(other.plan.levels):
        raise InputError(f"{path}: treats a level that an earlier plan file already has")
    return replace(case, plan=replace(case.plan, levels=case.plan.levels + extra))


def load_case(
    path: str,
    plan_paths: list[str],
    labels_path: str | None = None,
    seed: np.ndarray | None = None,
    include_patient: bool = False,
) -> LoadedCase:
    """Load the plans' series (another series is refused), analyse every planned level once,
    and build the sheet's levels from the session."""
    from planner.commands._common import analyse_levels, load_case_and_volume
    from planner.plan.file import load_case_plan

    if not plan_paths:
        raise InputError("give at least one plan file")
    case, volume, warnings = load_case_and_volume(path, plan_paths[0])
    for p in plan_paths[1:]:
        case = _merge(case, load_case_plan(p, volume=volume).case(), p)
    names = list(case.plan.level_names())
    if not names:
        raise InputError(f"{plan_paths[0]}: the plan has no level; plan a level first")
    case = replace(case, analysis=analyse_levels(volume, names, labels_path, seed))
    content = sheet_from_case(volume, case, include_patient)
    return LoadedCase(volume, tuple(warnings), content.levels, case, content)


def sheet_from_case(volume: CTVolume, case: Case, include_patient: bool = False) -> SheetContent:
    """The sheet content of every planned level of ``case`` (its analysis must be set)."""
    rc = report_content(volume, case)
    if not rc.binding_ok:
        raise PlanMismatchError(rc.binding_message)
    if case.analysis is None:
        raise InputError("the case has no analysis: analyse the spine first")
    levels = []
    for lr in rc.levels:
        lp = case.plan.level(lr.level)
        if lp is None or lr.estimates is None:
            continue
        data = case.level_data(lr.level)  # with the surgeon's corrections, as the report
        if data is None:
            continue
        results: dict[str, TrajectoryResult] = (
            {} if lr.check is None else {str(t.side): r for t, r in lr.check.results}
        )
        levels.append(
            build_level_sheet(
                volume,
                lp.legacy(case.series),
                data.anatomy,
                data.morphometry,
                lr.estimates,
                results,
                lr.unipedicular,
                lr.status == "confirmed",
                level_context(volume, data),
            )
        )
    return build_sheet(volume, levels, include_patient, rc.indication)


def sheet_content(case: LoadedCase, include_patient: bool = False) -> SheetContent:
    if case.content is not None and (case.content.patient is not None) == include_patient:
        return case.content
    if case.case is not None:
        return sheet_from_case(case.volume, case.case, include_patient)
    return build_sheet(case.volume, list(case.levels), include_patient)


def sheet_json(content: SheetContent) -> dict[str, Any]:
    """The numbers printed on the sheet, as JSON (mm, degrees, mL)."""
    levels = []
    for lv in content.levels:
        levels.append(
            {
                "level": lv.level,
                "procedure": lv.plan.procedure,
                "genant_grade": lv.morphometry.genant_grade,
                "cement_ml": round(lv.cement_ml, 2),
                "cement_band_ml": [round(v, 2) for v in lv.cement_band_ml],
                "needles": [
                    {
                        "side": n.side,
                        "approach": n.trajectory.approach,
                        "needle": n.gauge,
                        "entry_clock": n.clock_label,
                        "entry_lateral_mm": round(n.entry_lateral_mm, 2),
                        "entry_superior_mm": round(n.entry_superior_mm, 2),
                        "metrics": n.metrics.as_dict(),
                    }
                    for n in lv.needles
                ],
                "balloons": [
                    {"side": b.side, "device_id": b.device_id, "inflation_ml": b.inflation_ml}
                    for b in lv.balloons
                ],
                "findings": [
                    {"severity": f.severity, "side": f.side, "message": f.message}
                    for f in lv.findings
                ],
            }
        )
    lo, hi = content.total_cement_band_ml
    rlo, rhi = content.total_cement_range_ml
    return {
        "series_uid": content.series_uid,
        "levels": levels,
        "total_cement_ml": round(content.total_cement_ml, 2),
        "total_cement_band_ml": [round(lo, 2), round(hi, 2)],
        "total_cement_range_ml": [round(rlo, 2), round(rhi, 2)],
        "indication": dict(content.indication),
        "sources": list(content.source_ids),
    }
