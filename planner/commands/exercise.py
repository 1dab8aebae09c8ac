"""``python -m planner exercise OUTDIR --level T8 --variant standard --seed N``: write a
training exercise (one shareable ``.vaex`` file holding the DICOM study, the hidden reference
plan and the metadata, plus the study unpacked in ``OUTDIR/study`` for the trainee).

``--from-study PATH --plan PLAN.json`` turns a real study and a saved plan into an exercise
instead (the plan becomes the hidden reference). The reference is never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from planner.errors import InputError

NAME = "exercise"
HELP = "write a training exercise (DICOM + hidden reference plan + metadata) into OUTDIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("outdir", help="folder to write into (created if missing)")
    parser.add_argument("--level", default=None, help="library level T6-L5 (e.g. T8)")
    parser.add_argument("--variant", default="standard",
                        help="library variant(s) joined by '+', e.g. severe+osteoporotic "
                             "(standard, intact, mild, severe, osteoporotic, normal-bone, "
                             "narrow-pedicles, wide-pedicles, rotated, average, obese, "
                             "parapedicular)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--side", choices=("left", "right", "bipedicular"),
                        default="bipedicular")
    parser.add_argument("--needle", default="11G", help="needle id (default 11G)")
    parser.add_argument("--from-study", default=None,
                        help="instructor: a real study (DICOM/NIfTI) instead of the library")
    parser.add_argument("--plan", default=None, help="instructor: the reference plan file")
    parser.add_argument("--difficulty", type=int, default=2, choices=(1, 2, 3, 4))
    parser.add_argument("--description", default="Instructor case.")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.training.exercise_file import SUFFIX, load_exercise, write_exercise

    out = Path(args.outdir)
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder", path=out)
    if args.seed < 0:
        raise InputError(f"--seed must be a non-negative integer; got {args.seed}")
    if args.from_study:
        exercise, volume, checks = _instructor(args)
    else:
        if not args.level:
            raise InputError("give --level (T6-L5) or --from-study PATH --plan PLAN.json")
        from planner.training.library import build_exercise

        built = build_exercise(args.level, args.variant, args.seed, args.side, args.needle)
        exercise, volume, checks = built.exercise, built.volume, built.checks
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"*{SUFFIX}"):
        old.unlink()
    path = write_exercise(out / f"{exercise.exercise_id}{SUFFIX}", exercise, volume)
    loaded = load_exercise(path, extract_to=out)  # validates what was written
    return {"exercise_file": str(path), "study_dir": str(loaded.study_dir),
            "content_sha256": loaded.content_sha256, "exercise": exercise.metadata_json(),
            "brief": exercise.brief(), "checks": {"levels_named": checks.get("levels_named"),
                                                  "warnings": checks.get("warnings")}}


def _instructor(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    from planner.commands._common import analyse_level, load_plan_and_volume
    from planner.training.exercise import Exercise, ExerciseCase

    if not args.plan:
        raise InputError("--from-study needs --plan PLAN.json (the reference)")
    plan, volume, _ = load_plan_and_volume(args.from_study, args.plan)
    if not plan.trajectories:
        raise InputError("the reference plan has no needle", path=args.plan)
    analyse_level(volume, plan.level)  # the planner must analyse the study by itself
    sides = sorted(t.side for t in plan.trajectories)
    side = "bipedicular" if len(sides) == 2 else sides[0]
    approach = ("parapedicular" if any(t.approach == "parapedicular"
                                       for t in plan.trajectories) else "transpedicular")
    ex = Exercise(
        exercise_id=f"{plan.level}-instructor-{side}", title=f"{plan.level} instructor case",
        case=ExerciseCase(args.description), level=plan.level, side=side, approach=approach,
        difficulty=args.difficulty, difficulty_reason="set by the instructor", reference=plan,
        needle_id=plan.trajectories[0].needle_id)
    return ex, volume, {"levels_named": None, "warnings": []}
