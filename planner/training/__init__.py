"""Residents' training: exercises with a hidden reference plan, scoring, attempt history.

>>> ex = load_exercise("T8-standard.vaex")          # validated: hashes, study, reference
>>> session = ScoringSession.build(ex)               # the planner's own analysis of the study
>>> result = session.score(attempt_plan, AttemptCounters(shots=12, redirections=1, time_s=95))

All geometry is patient LPS millimetres.
"""

from planner.training.exercise import Exercise, ExerciseCase
from planner.training.exercise_file import load_exercise, write_exercise
from planner.training.scoring import AttemptCounters, ScoreResult, score_attempt
from planner.training.session import ScoringSession

__all__ = [
    "AttemptCounters",
    "Exercise",
    "ExerciseCase",
    "ScoreResult",
    "ScoringSession",
    "load_exercise",
    "score_attempt",
    "write_exercise",
]
