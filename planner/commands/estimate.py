"""``python -m planner estimate PATH PLAN.json``: cement, balloons, spread and restoration.

Loads the series, the plan (refused if made on another series), segments the plan's level,
and prints the estimates of DOMAIN.md §9 with their models, ranges and sources.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.errors import AnalysisError

NAME = "estimate"
HELP = ("cement volume, balloon inflation, cement spread and expected height restoration for a "
        "plan (JSON, LPS mm, mL)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("plan", help="plan file (JSON) made on this series")
    parser.add_argument("--series", default=None, help="SeriesInstanceUID to load (default: the plan's)")
    parser.add_argument("--balloon-catalog", default=None, help="balloon catalog JSON (default: built in)")


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
        raise AnalysisError(f"the vertebra analysis gave no segmentation and morphometry for {level}")
    return anatomy, morph


def analyse_level(volume: Any, level: str) -> tuple[Any, Any]:
    """Segment and measure one level with :mod:`planner.vertebra`."""
    try:
        from planner.vertebra import analyze_spine  # type: ignore[attr-defined]
    except ImportError as exc:
        raise AnalysisError(
            "the vertebra analysis (planner.vertebra.analyze_spine) is not available in this "
            f"build ({exc}); the estimate needs the level's body segmentation") from exc
    return _pick(analyze_spine(volume, level=level), level)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.estimate import estimate_plan, load_balloon_catalog
    from planner.loading import load_path
    from planner.plan.file import load_plan

    from planner.errors import SeriesNotFoundError

    raw = load_plan(args.plan)
    try:
        loaded = load_path(args.path, args.series or raw.series.series_uid)
    except SeriesNotFoundError:
        if args.series:
            raise
        loaded = load_path(args.path)  # the binding check below names the plan's series
    volume = loaded.volume
    plan = load_plan(args.plan, volume.identity.series_uid, volume.grid.fingerprint())
    anatomy, morph = analyse_level(volume, plan.level)
    catalog = load_balloon_catalog(args.balloon_catalog)
    out = estimate_plan(volume, anatomy, morph, plan, None, catalog)
    out["load_warnings"] = [w.to_json() for w in loaded.warnings]
    return out
