"""``python -m planner plan PATH --level L1 --auto``: suggest safe needle trajectories.

Loads the CT, segments the level (``--labels`` label map, ``--seed`` click, or automatic),
auto-suggests the transpedicular path per side (parapedicular where the pedicle is too narrow
for the needle), prints metrics and findings as JSON (LPS mm) and optionally saves a plan file.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.errors import InputError

NAME = "plan"
HELP = "auto-suggest needle trajectories for one level, with metrics and findings (JSON, LPS mm)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("--level", required=True, help="level to treat, e.g. L1")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--labels", default=None, help="vertebra label map (NIfTI) naming the levels")
    src.add_argument("--seed", default=None, help="X,Y,Z (LPS mm) inside the level's body")
    parser.add_argument(
        "--approach", choices=("bipedicular", "unipedicular"), default="bipedicular"
    )
    parser.add_argument(
        "--side",
        choices=("left", "right"),
        default=None,
        help="side of a unipedicular needle (default: the side with more clearance)",
    )
    parser.add_argument(
        "--needle", default="11G", help="needle id from the device catalog (default 11G)"
    )
    parser.add_argument(
        "--procedure", choices=("vertebroplasty", "kyphoplasty"), default="vertebroplasty"
    )
    parser.add_argument(
        "--auto", action="store_true", help="suggest the trajectories automatically"
    )
    parser.add_argument(
        "--series", default=None, help="SeriesInstanceUID to load (default: the CT series)"
    )
    parser.add_argument(
        "--balloon",
        default=None,
        metavar="DEVICE_ID",
        help="kyphoplasty: put this balloon (resources/balloons.json id) on every needle",
    )
    parser.add_argument(
        "--inflation-ml", type=float, default=2.0, help="balloon inflation volume, mL (default 2.0)"
    )
    parser.add_argument(
        "--balloon-offset-mm",
        type=float,
        default=0.0,
        help="distance from the needle tip back to the balloon's distal end, mm (default 0)",
    )
    parser.add_argument("--out", default=None, help="write the plan file (JSON) here")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import analyse_level, load_volume, parse_seed
    from planner.plan.catalog import load_catalog
    from planner.plan.file import save_plan
    from planner.plan.model import Plan, SeriesBinding
    from planner.trajectory import TrajectoryContext, suggest
    from planner.trajectory.cli_support import level_findings, trajectory_json

    if not args.auto:
        raise InputError(
            "only automatic planning is available from the command line; add --auto "
            "(place needles by hand in the workstation)"
        )
    needle = load_catalog().needle(args.needle)
    _balloons(args, ["left"])  # refuse a bad balloon id or volume before the slow analysis
    volume, warnings = load_volume(args.path, args.series)
    anatomy, morph = analyse_level(volume, args.level, args.labels, parse_seed(args.seed))
    ctx = TrajectoryContext.build(volume, anatomy, morph)
    uni = args.approach == "unipedicular"
    sides = [args.side] if uni and args.side else ["left", "right"]
    results = {s: suggest(ctx, s, needle, unipedicular=uni) for s in sides}
    if uni and not args.side:
        best = max(
            results,
            key=lambda s: (
                results[s].result.metrics.breach_grade == 0,
                results[s].result.metrics.min_cortical_clearance_mm,
            ),
        )
        results = {best: results[best]}
    items = [(r.trajectory, r.result) for r in results.values()]
    plan = Plan(
        SeriesBinding(volume.series_uid, volume.geometry_fingerprint()),
        level=args.level,
        procedure="kyphoplasty" if args.balloon else args.procedure,
        trajectories=tuple(t for t, _ in items),
        balloons=_balloons(args, [t.side for t, _ in items]),
    )
    out: dict[str, Any] = {
        "level": args.level,
        "series_uid": volume.series_uid,
        "approach": args.approach,
        "trajectories": [trajectory_json(t, r, args.approach) for t, r in items],
        "findings": level_findings(items),
        "suggestion_notes": {s: r.reason for s, r in results.items()},
        "warnings": [w.to_json() for w in warnings],
    }
    if args.out:
        out["plan_file"] = str(save_plan(plan, args.out))
    return out


def _balloons(args: argparse.Namespace, sides: list[str]) -> tuple[Any, ...]:
    """One balloon per needle when ``--balloon`` is given (validated against the catalog)."""
    if not args.balloon:
        return ()
    from planner.estimate.balloon_catalog import load_balloon_catalog
    from planner.plan.model import BalloonPlacement

    load_balloon_catalog().get(args.balloon)
    try:
        return tuple(
            BalloonPlacement(side, args.balloon, args.balloon_offset_mm, args.inflation_ml)  # type: ignore[arg-type]
            for side in sides
        )
    except ValueError as exc:
        raise InputError(f"balloon: {exc}") from exc
