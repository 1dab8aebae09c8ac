"""``python -m planner check PATH PLAN.json``: metrics and findings of a saved plan.

The plan is refused when it was made on another series (its SeriesInstanceUID or geometry
fingerprint differ from the loaded image's).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

NAME = "check"
HELP = "metrics and findings (breach, canal margin, tip, fluoro rule) of a plan file (JSON, LPS mm)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("plan", help="plan file (JSON) made on this series")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--labels", default=None, help="vertebra label map (NIfTI) naming the levels")
    src.add_argument("--seed", default=None, help="X,Y,Z (LPS mm) inside the level's body")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import (
        analyse_levels,
        level_check_json,
        load_case_and_volume,
        parse_seed,
    )
    from planner.session import level_check

    case, volume, warnings = load_case_and_volume(args.path, args.plan)
    names = list(case.plan.level_names())
    if names:
        analysis = analyse_levels(volume, names, args.labels, parse_seed(args.seed))
        case = replace(case, analysis=analysis)
    levels = []
    for lp in case.plan.levels:
        check = level_check(volume, case, lp.level)
        assert check is not None  # every level was analysed above
        levels.append({"procedure": lp.procedure, **level_check_json(check)})
    out: dict[str, Any] = {}
    main = main_level(case)
    one = next((lv for lv in levels if lv["level"] == main), None)
    if one is not None:
        out.update(
            level=one["level"],
            approach=one["approach"],
            trajectories=one["trajectories"],
            findings=one["findings"],
        )
    out.update(series_uid=volume.series_uid, levels=levels)
    out["warnings"] = [w.to_json() for w in warnings]
    return out


def main_level(case: Any) -> str | None:
    """The level reported at the top level (compatibility): the active, else the first."""
    if case.plan.active_level is not None:
        return str(case.plan.active_level)
    return case.plan.levels[0].level if case.plan.levels else None
