"""Needle trajectories: live metrics and checks, findings, and auto-suggested safe paths.

>>> ctx = TrajectoryContext.build(volume, anatomy)      # once per level
>>> result = evaluate(ctx, trajectory, "11G")           # every drag update, < 10 ms
>>> s = suggest(ctx, "left", "11G")                     # < 1 s; s.trajectory, s.alternative

All points are patient LPS millimetres; see :mod:`planner.trajectory.metrics` for the
definitions of every number and :mod:`planner.trajectory.findings` for thresholds and sources.
"""

from planner.trajectory.context import TrajectoryContext
from planner.trajectory.evaluate import TrajectoryResult, evaluate
from planner.trajectory.findings import Finding
from planner.trajectory.metrics import TrajectoryMetrics, gr_grade

__all__ = [
    "Finding",
    "TrajectoryContext",
    "TrajectoryMetrics",
    "TrajectoryResult",
    "evaluate",
    "gr_grade",
]

from planner.trajectory.suggest import Suggestion, suggest  # noqa: E402

__all__ += ["Suggestion", "suggest"]
