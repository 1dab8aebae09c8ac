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
HELP = (
    "auto-suggest needle trajectories for one or more levels, with metrics and findings "
    "(JSON, LPS mm)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument(
        "--level",
        required=True,
        action="append",
        help="level to treat, e.g. L1; repeat for several levels; L1:kp / T12:vp sets the "
        "procedure of that level (default --procedure)",
    )
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


def parse_level(text: str, default_procedure: str) -> tuple[str, str]:
    """``"L1"`` or ``"L1:kp"`` / ``"L1:kyphoplasty"`` → (level, procedure)."""
    from planner.plan.levels import LEVEL_NAMES, NAMES_TEXT

    name, _, proc = text.partition(":")
    name = name.strip().upper()
    if name not in LEVEL_NAMES:
        raise InputError(f"--level {text!r}: {name!r} is not a level name ({NAMES_TEXT})")
    procedure = PROCEDURE_ALIASES.get(proc.strip().lower() or default_procedure)
    if procedure is None:
        raise InputError(f"--level {text!r}: the procedure after ':' must be vp or kp")
    return name, procedure


PROCEDURE_ALIASES = {
    "vp": "vertebroplasty",
    "vertebroplasty": "vertebroplasty",
    "kp": "kyphoplasty",
    "bkp": "kyphoplasty",
    "kyphoplasty": "kyphoplasty",
}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import (
        analyse_levels,
        level_check_json,
        load_volume,
        parse_seed,
    )
    from planner.plan.catalog import load_catalog
    from planner.plan.file import save_case_plan
    from planner.plan.model import SeriesBinding
    from planner.session import Case, CasePlan, level_check

    if not args.auto:
        raise InputError(
            "only automatic planning is available from the command line; add --auto "
            "(place needles by hand in the workstation)"
        )
    # --balloon alone makes every level a kyphoplasty (as before); a level's ":kp"/":vp" wins
    per_level = any(":" in t for t in args.level)
    default_proc = "kyphoplasty" if args.balloon and not per_level else args.procedure
    wanted = [parse_level(t, default_proc) for t in args.level]
    names = [n for n, _ in wanted]
    if len(set(names)) != len(names):
        raise InputError(f"each --level once, got {', '.join(names)}")
    needle = load_catalog().needle(args.needle)
    _balloons(args, ["left"])  # refuse a bad balloon id or volume before the slow analysis
    volume, warnings = load_volume(args.path, args.series)
    analysis = analyse_levels(volume, names, args.labels, parse_seed(args.seed))
    series = SeriesBinding(volume.series_uid, volume.geometry_fingerprint())
    planned = [_plan_level(volume, analysis, name, proc, needle, args) for name, proc in wanted]
    case = Case(
        series,
        CasePlan(tuple(lp for lp, _ in planned), names[0] if len(names) == 1 else None),
        analysis,
    )
    levels = []
    for (lp, notes), (name, _) in zip(planned, wanted, strict=True):
        check = level_check(volume, case, name)
        assert check is not None  # every level was analysed above
        levels.append(
            {
                "level": name,
                "procedure": lp.procedure,
                **level_check_json(check),
                "suggestion_notes": notes,
            }
        )
    out: dict[str, Any] = {}
    if len(levels) == 1:
        one = levels[0]
        out.update(
            level=one["level"],
            approach=args.approach,
            trajectories=one["trajectories"],
            findings=one["findings"],
            suggestion_notes=one["suggestion_notes"],
        )
    out.update(
        series_uid=volume.series_uid,
        approach=args.approach,
        levels=levels,
        warnings=[w.to_json() for w in warnings],
    )
    if args.out:
        out["plan_file"] = str(save_case_plan(series, case.plan, args.out))
    return out


def _plan_level(
    volume: Any, analysis: Any, name: str, procedure: str, needle: Any, args: argparse.Namespace
) -> tuple[Any, dict[str, str]]:
    """Auto-suggest the needles of one level: (LevelPlan, suggestion note per side)."""
    from planner.session import LevelPlan, level_context
    from planner.trajectory import suggest

    ctx = level_context(volume, analysis.level(name))
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
    trajs = tuple(r.trajectory for r in results.values())
    balloons = _balloons(args, [t.side for t in trajs]) if procedure == "kyphoplasty" else ()
    lp = LevelPlan(
        name,
        procedure=procedure,
        trajectories=trajs,
        balloons=balloons,
        unipedicular=uni,
    )
    return lp, {s: r.reason for s, r in results.items()}


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
