"""``python -m planner check PATH PLAN.json``: metrics and findings of a saved plan.

The plan is refused when it was made on another series (its SeriesInstanceUID or geometry
fingerprint differ from the loaded image's).
"""

from __future__ import annotations

import argparse
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
    from planner.commands._common import analyse_level, load_plan_and_volume, parse_seed
    from planner.trajectory import TrajectoryContext, evaluate
    from planner.trajectory.cli_support import level_findings, trajectory_json

    plan, volume, warnings = load_plan_and_volume(args.path, args.plan)
    anatomy, morph = analyse_level(volume, plan.level, args.labels, parse_seed(args.seed))
    ctx = TrajectoryContext.build(volume, anatomy, morph)
    uni = plan.is_unipedicular
    items = [(t, evaluate(ctx, t, unipedicular=uni)) for t in plan.trajectories]
    label = "unipedicular" if uni else "bipedicular"
    return {
        "level": plan.level,
        "series_uid": volume.series_uid,
        "approach": label,
        "trajectories": [trajectory_json(t, r, label) for t, r in items],
        "findings": level_findings(items),
        "warnings": [w.to_json() for w in warnings],
    }
