"""From a study and its plan file(s) to the OR sheet content (shared by ``report`` and
``export-dicom``).

Each plan file holds one level (plan format v3); several files of the same series make a
multi-level sheet. The spine is analysed once for all levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import AnalysisError, InputError
from planner.orsheet.content import LevelSheet, SheetContent, build_level_sheet, build_sheet
from planner.plan.model import Plan
from planner.volume import CTVolume, LabelMap, LoadWarning


@dataclass(frozen=True, eq=False)
class LoadedCase:
    """The CT, its load warnings and one analysed level sheet per plan."""

    volume: CTVolume
    warnings: tuple[LoadWarning, ...]
    levels: tuple[LevelSheet, ...]


def load_case(
    path: str,
    plan_paths: list[str],
    labels_path: str | None = None,
    seed: np.ndarray | None = None,
) -> LoadedCase:
    """Load the plans' series, refuse plans of another series, analyse and evaluate each level."""
    from planner.commands._common import load_plan_and_volume
    from planner.plan.file import load_plan
    from planner.vertebra import analyze_spine

    if not plan_paths:
        raise InputError("give at least one plan file")
    first, volume, warnings = load_plan_and_volume(path, plan_paths[0])
    plans: list[Plan] = [first]
    for p in plan_paths[1:]:
        plans.append(load_plan(p, volume.series_uid, volume.geometry_fingerprint()))
    names = [p.level for p in plans]
    if len(set(names)) != len(names):
        raise InputError(f"two plan files treat the same level ({', '.join(names)})")
    labels: LabelMap | None = None
    if labels_path is not None:
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(Path(labels_path))
    one = names[0] if seed is not None and len(plans) == 1 else None
    result = analyze_spine(volume, labels=labels, seed_lps=seed, level=one)
    levels = []
    for plan in plans:
        try:
            lr = result.level(plan.level)
        except KeyError:
            raise AnalysisError(
                f"level {plan.level} was not found or could not be segmented (found: "
                f"{', '.join(result.names()) or 'none'}); give --labels"
            ) from None
        levels.append(build_level_sheet(volume, plan, lr.anatomy, lr.morphometry))
    return LoadedCase(volume, tuple(warnings), tuple(levels))


def sheet_content(case: LoadedCase, include_patient: bool = False) -> SheetContent:
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
    return {
        "series_uid": content.series_uid,
        "levels": levels,
        "total_cement_ml": round(content.total_cement_ml, 2),
        "total_cement_band_ml": [round(lo, 2), round(hi, 2)],
        "sources": list(content.source_ids),
    }
