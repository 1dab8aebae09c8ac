"""``python -m planner estimate PATH PLAN.json``: cement, balloons, spread and restoration.

Loads the series, the plan (refused if made on another series), segments the plan's level,
and prints the estimates of DOMAIN.md §9 with their models, ranges and sources.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.errors import AnalysisError

NAME = "estimate"
HELP = (
    "cement volume, balloon inflation, cement spread and expected height restoration for a "
    "plan (JSON, LPS mm, mL)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("plan", help="plan file (JSON) made on this series")
    parser.add_argument(
        "--series", default=None, help="SeriesInstanceUID to load (default: the plan's)"
    )
    parser.add_argument(
        "--balloon-catalog", default=None, help="balloon catalog JSON (default: built in)"
    )
    parser.add_argument(
        "--labels", default=None, help="vertebra label map (NIfTI) to segment the level from"
    )
    parser.add_argument(
        "--seed",
        default=None,
        help="X,Y,Z (LPS mm) inside the plan level's body, if automatic level naming fails",
    )


def _pick(result: Any, level: str) -> tuple[Any, Any]:
    """(LevelAnatomy, Morphometry) of ``level`` from the vertebra analysis' result."""
    if isinstance(result, tuple) and len(result) == 2 and hasattr(result[0], "body"):
        return result
    for attr in ("levels", "by_level"):
        table = getattr(result, attr, None)
        if isinstance(table, dict) and level in table:
            result = table[level]
            break
        if isinstance(table, list | tuple):
            hit = [r for r in table if getattr(r, "level", getattr(r, "name", None)) == level]
            if hit:
                result = hit[0]
                break
    if isinstance(result, dict) and level in result:
        result = result[level]
    anatomy = getattr(result, "anatomy", None)
    morph = getattr(result, "morphometry", None)
    if anatomy is None or morph is None:
        raise AnalysisError(
            f"the vertebra analysis gave no segmentation and morphometry for {level}"
        )
    return anatomy, morph


def analyse_level(
    volume: Any, level: str, labels: Any = None, seed_lps: Any = None
) -> tuple[Any, Any]:
    """Segment and measure one level with :func:`planner.vertebra.analyze_spine`."""
    try:
        from planner.vertebra import analyze_spine
    except ImportError as exc:
        raise AnalysisError(
            "the vertebra analysis (planner.vertebra.analyze_spine) is not available in this "
            f"build ({exc}); the estimate needs the level's body segmentation"
        ) from exc
    result = analyze_spine(
        volume, labels=labels, seed_lps=seed_lps, level=level if seed_lps is not None else None
    )
    return _pick(result, level)


def _seed(text: str | None) -> Any:
    if text is None:
        return None
    import numpy as np

    from planner.errors import InputError

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3:
        raise InputError(f"--seed must be three numbers X,Y,Z in LPS mm, got {text!r}")
    return np.asarray(vals)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.errors import SeriesNotFoundError
    from planner.estimate import estimate_plan, load_balloon_catalog
    from planner.loading import load_path
    from planner.plan.file import load_plan

    raw = load_plan(args.plan)
    try:
        loaded = load_path(args.path, args.series or raw.series.series_uid)
    except SeriesNotFoundError:
        if args.series:
            raise
        loaded = load_path(args.path)  # the binding check below names the plan's series
    volume = loaded.volume
    plan = load_plan(args.plan, volume.identity.series_uid, volume.grid.fingerprint())
    labels = None
    if args.labels:
        from planner.io_nifti import load_nifti_labels

        labels = load_nifti_labels(args.labels)
    anatomy, morph = analyse_level(volume, plan.level, labels, _seed(args.seed))
    catalog = load_balloon_catalog(args.balloon_catalog)
    out = estimate_plan(volume, anatomy, morph, plan, None, catalog)
    out["load_warnings"] = [w.to_json() for w in loaded.warnings]
    return out
