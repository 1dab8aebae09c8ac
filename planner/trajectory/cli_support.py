"""Shared steps of the ``plan`` and ``check`` commands: load, analyse one level, report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from planner.anatomy import LevelAnatomy, Morphometry
from planner.errors import AnalysisError, InputError
from planner.plan.model import Trajectory
from planner.trajectory.evaluate import TrajectoryResult
from planner.volume import CTVolume, LabelMap, LoadWarning

log = logging.getLogger(__name__)


def load_volume(path: str, series_uid: str | None = None) -> tuple[CTVolume, list[LoadWarning]]:
    """The CT at ``path`` (DICOM folder/file or NIfTI) and its load warnings."""
    try:
        from planner.loading import load_path
    except ImportError:  # pragma: no cover - early builds without the DICOM loader
        from planner.io_nifti import load_nifti_ct

        return load_nifti_ct(path)
    result = load_path(path, series_uid)
    return result.volume, list(result.warnings)


def parse_seed(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise InputError(f"--seed must be X,Y,Z in LPS mm, got {text!r}") from exc
    if len(vals) != 3:
        raise InputError(f"--seed must be three numbers X,Y,Z (LPS mm), got {text!r}")
    return np.array(vals)


def analyse_level(
    volume: CTVolume, level: str, labels_path: str | None = None, seed: np.ndarray | None = None
) -> tuple[LevelAnatomy, Morphometry | None]:
    """Segment ``level`` with :func:`planner.vertebra.analyze_spine`."""
    from planner.vertebra import analyze_spine

    labels: LabelMap | None = None
    if labels_path is not None:
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(labels_path)
    result = analyze_spine(
        volume, labels=labels, seed_lps=seed, level=level if seed is not None else None
    )
    try:
        lr = result.level(level)
    except KeyError:
        raise AnalysisError(
            f"level {level} was not found or could not be segmented (found: "
            f"{', '.join(result.names()) or 'none'}); give --labels or --seed X,Y,Z on its body"
        ) from None
    return lr.anatomy, lr.morphometry


def _pt(p: Any) -> list[float]:
    return [round(float(v), 2) for v in p]


def trajectory_json(
    traj: Trajectory, result: TrajectoryResult, approach_label: str
) -> dict[str, Any]:
    """One entry of the commands' ``trajectories`` list (issue 5 keys)."""
    return {
        "side": traj.side,
        "approach": traj.approach,
        "plan_approach": approach_label,
        "needle": traj.needle_id,
        "skin_entry_lps": _pt(traj.skin_entry_lps),
        "bone_entry_lps": _pt(traj.bone_entry_lps),
        "target_lps": _pt(traj.target_lps),
        "metrics": result.metrics.as_dict(),
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "location_lps": None if f.location_lps is None else _pt(f.location_lps),
            }
            for f in result.findings
        ],
    }


def level_findings(items: list[tuple[Trajectory, TrajectoryResult]]) -> list[dict[str, Any]]:
    """All findings of the plan, most severe first, each naming its side."""
    order = {"danger": 0, "warning": 1, "info": 2}
    out = []
    for traj, res in items:
        for f in res.findings:
            out.append(
                {"side": traj.side, "code": f.code, "severity": f.severity, "message": f.message}
            )
    return sorted(out, key=lambda f: order[str(f["severity"])])


def resolve_out(path: str | None) -> Path | None:
    return None if path is None else Path(path)
