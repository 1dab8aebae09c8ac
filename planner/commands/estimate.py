"""``python -m planner estimate PATH PLAN.json``: cement, balloons, spread and restoration.

Loads the series, the plan (refused if made on another series), segments the plan's level,
and prints the estimates of DOMAIN.md §9 with their models, ranges and sources.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from planner.errors import InputError

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


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import analyse_levels, load_case_and_volume, parse_seed
    from planner.commands.check import main_level
    from planner.estimate import load_balloon_catalog
    from planner.session import case_estimates

    case, volume, warnings = load_case_and_volume(args.path, args.plan, args.series)
    names = list(case.plan.level_names())
    if not names:
        raise InputError(f"{args.plan}: the plan has no level to estimate; plan a level first")
    analysis = analyse_levels(volume, names, args.labels, parse_seed(args.seed))
    case = replace(case, analysis=analysis)
    catalog = load_balloon_catalog(args.balloon_catalog) if args.balloon_catalog else None
    per_level, total = case_estimates(volume, case, catalog)
    levels = [est.to_json() for est in per_level.values() if est is not None]
    out: dict[str, Any] = {}
    main = main_level(case)
    one = next((lv for lv in levels if lv["level"] == main), None)
    if one is not None:
        out.update(one)
    out["levels"] = levels
    out["total_cement_ml"] = total.to_json()
    out["load_warnings"] = [w.to_json() for w in warnings]
    return out
