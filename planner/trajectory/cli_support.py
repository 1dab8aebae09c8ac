"""JSON output shared by the ``plan`` and ``check`` commands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from planner.plan.model import Trajectory
from planner.trajectory.evaluate import TrajectoryResult

log = logging.getLogger(__name__)


def _pt(p: Any) -> list[float]:
    return [round(float(v), 2) for v in p]


def trajectory_json(
    traj: Trajectory, result: TrajectoryResult, approach_label: str
) -> dict[str, Any]:
    """One entry of the commands' ``trajectories`` list (issue 5 keys)."""
    return {
        "side": traj.side,
        "approach": traj.approach,
        "plan_approach": approach_label,
        "needle": traj.needle_id,
        "skin_entry_lps": _pt(traj.skin_entry_lps),
        "bone_entry_lps": _pt(traj.bone_entry_lps),
        "target_lps": _pt(traj.target_lps),
        "metrics": result.metrics.as_dict(),
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "location_lps": None if f.location_lps is None else _pt(f.location_lps),
            }
            for f in result.findings
        ],
    }


def level_findings(items: list[tuple[Trajectory, TrajectoryResult]]) -> list[dict[str, Any]]:
    """All findings of the plan, most severe first, each naming its side."""
    order = {"danger": 0, "warning": 1, "info": 2}
    out = []
    for traj, res in items:
        for f in res.findings:
            out.append(
                {"side": traj.side, "code": f.code, "severity": f.severity, "message": f.message}
            )
    return sorted(out, key=lambda f: order[str(f["severity"])])


def resolve_out(path: str | None) -> Path | None:
    return None if path is None else Path(path)
