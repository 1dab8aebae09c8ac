"""Scoring an attempt with the planner's own analysis of the exercise's study."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import InputError
from planner.plan.model import Plan, Trajectory
from planner.training.exercise import Exercise
from planner.training.scoring import AttemptCounters, Evaluated, ScoreResult, score_attempt
from planner.trajectory import TrajectoryContext, evaluate
from planner.trajectory.entry import bone_entry_lps, inside_from_context
from planner.volume import CTVolume


@dataclass(frozen=True, eq=False)
class ScoringSession:
    """The exercise, its study and the level's trajectory context (built once)."""

    exercise: Exercise
    volume: CTVolume
    context: TrajectoryContext

    @classmethod
    def build(cls, exercise: Exercise, volume: CTVolume) -> ScoringSession:
        """Analyse the study as for a real plan (levels found and named automatically)."""
        from planner.commands._common import analyse_level

        anatomy, morph = analyse_level(volume, exercise.level)
        return cls(exercise, volume, TrajectoryContext.build(volume, anatomy, morph))

    def evaluate(self, traj: Trajectory, unipedicular: bool) -> Evaluated:
        """Metrics, findings and the derived bone entry of one needle."""
        be = bone_entry_lps(traj.skin_entry_lps, traj.target_lps,
                            inside_from_context(self.context))
        res = evaluate(self.context, traj, unipedicular=unipedicular)
        return Evaluated(traj, res, (float(be[0]), float(be[1]), float(be[2])))

    def evaluate_plan(self, plan: Plan) -> dict[str, Evaluated]:
        uni = self.exercise.side != "bipedicular"
        return {t.side: self.evaluate(t, uni) for t in plan.trajectories}

    def reference(self) -> dict[str, Evaluated]:
        return self.evaluate_plan(self.exercise.reference)

    def score(self, attempt: Plan, counters: AttemptCounters) -> ScoreResult:
        if attempt.level != self.exercise.level:
            raise InputError(f"the attempt is for {attempt.level}, the exercise for "
                             f"{self.exercise.level}")
        return score_attempt(self.exercise.sides, self.reference(),
                             self.evaluate_plan(attempt), counters)


def load_attempt(path: str | Path, volume: CTVolume,
                 level: str | None = None) -> tuple[Plan, AttemptCounters]:
    """A plan file on the exercise's study (``level``, else its active level) and its
    ``"attempt"`` counters (plan format 4; missing counters count as zero)."""
    from planner.plan.file import load_case_plan, load_plan

    p = Path(path)
    loaded = load_case_plan(p, volume=volume)
    pick = level if level in loaded.plan.level_names() else None
    plan = load_plan(p, volume.series_uid, volume.geometry_fingerprint(), level=pick)
    a = loaded.plan.attempt
    counters = AttemptCounters() if a is None else AttemptCounters(
        a.shots, a.redirections, float(a.time_s))
    return plan, counters


def trajectory_from_direction(side: str, approach: str, skin_lps: Any, direction_lps: Any,
                              depth_mm: float, ctx: TrajectoryContext,
                              needle_id: str = "11G") -> Trajectory:
    """A needle from its skin entry, direction and inserted depth (what the trainee does)."""
    skin = np.asarray(skin_lps, dtype=np.float64)
    d = np.asarray(direction_lps, dtype=np.float64)
    tip = skin + d / np.linalg.norm(d) * max(float(depth_mm), 1.0)
    be = bone_entry_lps(skin, tip, inside_from_context(ctx))
    return Trajectory(side, approach, tuple(skin), tuple(be), tuple(tip), needle_id)  # type: ignore[arg-type]
