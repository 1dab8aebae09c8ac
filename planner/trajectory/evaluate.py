"""Live evaluation of one trajectory: metrics + findings (< 10 ms per call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.plan.catalog import Needle, get_needle
from planner.plan.model import Trajectory
from planner.trajectory.context import TrajectoryContext
from planner.trajectory.findings import Finding, derive_findings
from planner.trajectory.metrics import TrajectoryMetrics, compute_metrics


@dataclass(frozen=True, slots=True)
class TrajectoryResult:
    """What :func:`evaluate` returns: the metrics and the findings, most severe first."""

    metrics: TrajectoryMetrics
    findings: tuple[Finding, ...]

    @property
    def worst_severity(self) -> str:
        return self.findings[0].severity if self.findings else "none"

    def as_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics.as_dict(), "findings": [f.as_dict() for f in self.findings]}


def evaluate(
    ctx: TrajectoryContext,
    trajectory: Trajectory,
    needle: Needle | str | None = None,
    *,
    unipedicular: bool = False,
) -> TrajectoryResult:
    """Metrics and findings of a trajectory (cheap: call it on every drag update).

    Parameters
    ----------
    ctx
        The level's precomputed context (:meth:`TrajectoryContext.build`).
    trajectory
        Skin entry, bone entry and target (tip), LPS mm.
    needle
        Catalog needle or id; default: ``trajectory.needle_id``.
    unipedicular
        Check that the tip reaches the midline (single-needle plans).

    Notes
    -----
    LPS mm throughout; angles in degrees in the body frame and the table (LPS) frame, signs
    as in :mod:`planner.trajectory.geometry`; definitions in :mod:`planner.trajectory.metrics`.
    """
    n = get_needle(needle if needle is not None else trajectory.needle_id)
    metrics, samples = compute_metrics(ctx, trajectory, n)
    return TrajectoryResult(
        metrics, derive_findings(trajectory, metrics, samples, unipedicular=unipedicular)
    )
