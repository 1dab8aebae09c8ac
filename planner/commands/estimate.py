"""``python -m planner estimate PATH PLAN.json``: cement, balloons, spread and restoration.

Loads the series, the plan (refused if made on another series), segments the plan's level,
and prints the estimates of DOMAIN.md §9 with their models, ranges and sources.
"""

from __future__ import annotations

import argparse
from typing import Any

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
    from planner.commands._common import analyse_level, load_plan_and_volume, parse_seed
    from planner.estimate import estimate_plan, load_balloon_catalog

    plan, volume, warnings = load_plan_and_volume(args.path, args.plan, args.series)
    anatomy, morph = analyse_level(volume, plan.level, args.labels, parse_seed(args.seed))
    catalog = load_balloon_catalog(args.balloon_catalog)
    out = estimate_plan(volume, anatomy, morph, plan, None, catalog)
    out["load_warnings"] = [w.to_json() for w in warnings]
    return out
