"""Steps shared by the commands: load the CT and its plan, parse a seed, analyse a level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from planner.anatomy import LevelAnatomy, Morphometry
from planner.errors import AnalysisError, InputError, SeriesNotFoundError
from planner.volume import CTVolume, LabelMap, LoadWarning


def load_volume(path: str, series_uid: str | None = None) -> tuple[CTVolume, list[LoadWarning]]:
    """The CT at ``path`` (DICOM folder/file/DICOMDIR or NIfTI) and its load warnings."""
    from planner.loading import load_path

    result = load_path(path, series_uid)
    return result.volume, list(result.warnings)


def load_plan_and_volume(
    path: str, plan_path: str, series_uid: str | None = None
) -> tuple[Any, CTVolume, list[LoadWarning]]:
    """Load the plan's own series (or ``series_uid``) and the plan, refusing another series.

    When the study does not hold the plan's series, the default series is loaded so that the
    binding check can say which series the plan belongs to.
    """
    from planner.plan.file import load_plan

    raw = load_plan(plan_path)
    try:
        volume, warnings = load_volume(path, series_uid or raw.series.series_uid)
    except SeriesNotFoundError:
        if series_uid:
            raise
        volume, warnings = load_volume(path, None)
    plan = load_plan(plan_path, volume.series_uid, volume.geometry_fingerprint())
    return plan, volume, warnings


def parse_seed(text: str | None) -> np.ndarray | None:
    """``"X,Y,Z"`` (LPS mm) → array, or None."""
    if text is None:
        return None
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3 or not np.all(np.isfinite(vals)):
        raise InputError(f"--seed must be three numbers X,Y,Z in LPS mm, got {text!r}")
    return np.array(vals)


def analyse_level(
    volume: CTVolume, level: str, labels_path: str | None = None, seed: np.ndarray | None = None
) -> tuple[LevelAnatomy, Morphometry]:
    """Segment and measure ``level`` with :func:`planner.vertebra.analyze_spine` (a seed may
    name T13 or L6: :func:`planner.session.level_variants.analyze_spine_named`)."""
    from planner.session.level_variants import analyze_spine_named as analyze_spine

    labels: LabelMap | None = None
    if labels_path is not None:
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(Path(labels_path))
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


def analyse_levels(
    volume: CTVolume,
    levels: list[str],
    labels_path: str | None = None,
    seed: np.ndarray | None = None,
) -> Any:
    """A :class:`planner.session.LevelsAnalysis` of ``levels`` (one spine analysis for all).

    One level goes through :func:`analyse_level`; several are cut from one
    :func:`planner.vertebra.analyze_spine` run (a seed names one level only).
    """
    from planner.session import LevelAnalysis, LevelsAnalysis

    if len(levels) == 1:
        anatomy, morph = analyse_level(volume, levels[0], labels_path, seed)
        return LevelsAnalysis(((levels[0], LevelAnalysis(anatomy, morph)),))
    if seed is not None:
        raise InputError("--seed marks one level; give one --level with it (or use --labels)")
    from planner.vertebra import analyze_spine

    labels: LabelMap | None = None
    if labels_path is not None:
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(Path(labels_path))
    result = analyze_spine(volume, labels=labels)
    out = []
    for level in levels:
        try:
            lr = result.level(level)
        except KeyError:
            raise AnalysisError(
                f"level {level} was not found or could not be segmented (found: "
                f"{', '.join(result.names()) or 'none'}); give --labels, or plan it alone "
                "with --seed X,Y,Z on its body"
            ) from None
        out.append((level, LevelAnalysis(lr.anatomy, lr.morphometry)))
    return LevelsAnalysis(tuple(out))


def level_check_json(check: Any) -> dict[str, Any]:
    """The ``plan``/``check`` JSON of one level's :class:`planner.session.LevelCheck`."""
    from planner.trajectory.cli_support import trajectory_json

    return {
        "level": check.level,
        "approach": check.approach,
        "trajectories": [trajectory_json(t, r, check.approach) for t, r in check.results],
        "findings": [f.to_json() for f in check.findings],
    }


def load_case_and_volume(
    path: str, plan_path: str, series_uid: str | None = None
) -> tuple[Any, CTVolume, list[LoadWarning]]:
    """Like :func:`load_plan_and_volume` with every level: a :class:`planner.session.Case`.

    Coordinates are checked against the loaded volume (± 1 m); another series is refused.
    """
    from planner.plan.file import load_case_plan

    raw = load_case_plan(plan_path)
    try:
        volume, warnings = load_volume(path, series_uid or raw.series.series_uid)
    except SeriesNotFoundError:
        if series_uid:
            raise
        volume, warnings = load_volume(path, None)
    loaded = load_case_plan(plan_path, volume=volume)
    return loaded.case(), volume, warnings
