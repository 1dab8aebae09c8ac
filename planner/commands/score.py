"""``python -m planner score EXERCISE ATTEMPT.json``: score an attempt against the exercise's
hidden reference (formula and sources: :mod:`planner.training.scoring`).

ATTEMPT.json is a plan file on the exercise's study with the attempt's counters in
``"attempt": {"shots", "redirections", "time_s"}`` (missing counters count as zero).
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

NAME = "score"
HELP = "score an attempt (plan file + attempt counters) against an exercise's hidden reference"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exercise", help="exercise file (.vaex) or the folder holding it")
    parser.add_argument("attempt", help="the attempt: a plan file on the exercise's study")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.training.exercise_file import load_exercise
    from planner.training.session import ScoringSession, load_attempt

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_exercise(args.exercise, extract_to=tmp)
        volume = loaded.open_study()
    plan, counters = load_attempt(args.attempt, volume, loaded.exercise.level)
    session = ScoringSession.build(loaded.exercise, volume)
    out = session.score(plan, counters).to_json()
    out["exercise_id"] = loaded.exercise.exercise_id
    return out
