"""Score of an attempt against the exercise's reference plan (deterministic).

Formula (shown to the trainee with :data:`FORMULA`)::

    s_tip   = max(0, 1 − tip error / 10 mm)        tip to reference tip
    s_entry = max(0, 1 − entry error / 10 mm)      bone entry to reference bone entry
    s_angle = max(0, 1 − angle error / 20°)        between the needle axes
    s_shots = max(0, 1 − shots / 40)
    s_time  = max(0, 1 − time / 600 s)
    score   = 100 · (0.30 s_tip + 0.25 s_entry + 0.20 s_angle + 0.15 s_shots + 0.10 s_time)

With two needles the worse side's errors count. The attempt **fails** (score 0, the composite
kept as ``raw_score``) when a needle is missing, when any needle breaches the pedicle by
Gertzbein–Robbins grade ≥ 2 (≥ 2 mm; Gertzbein & Robbins, Spine 1990;15:11–14) or enters the
canal, whatever else; it **passes** when it does not fail and the composite is ≥ 60.

Sources: the metrics — entry and target error in mm, trajectory angle error, fluoroscopy
shots and procedure time — are those VR simulators score for percutaneous spinal needle and
screw placement (Luciano CJ et al., Percutaneous spinal fixation simulation with virtual
reality and haptics, Neurosurgery 2013;72 Suppl 1:89–96). The weights, the normalisers
(10 mm, 20°, 40 shots, 10 min) and the pass mark 60 are tool assumptions, not published values.
Redirections are reported, not scored. Tip, entry and angle come from the planner's own
evaluation (the bone entry is where the line first enters the segmented bone, for the attempt
and the reference alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.plan.model import Trajectory
from planner.session.model import Attempt
from planner.trajectory.evaluate import TrajectoryResult

WEIGHTS = {"tip": 0.30, "entry": 0.25, "angle": 0.20, "shots": 0.15, "time": 0.10}
NORMALISERS = {"tip": 10.0, "entry": 10.0, "angle": 20.0, "shots": 40.0, "time": 600.0}
PASS_MARK = 60.0
FAIL_BREACH_GRADE = 2
FORMULA = (
    "score = 100 × (0.30·s_tip + 0.25·s_entry + 0.20·s_angle + 0.15·s_shots + 0.10·s_time), "
    "s_x = max(0, 1 − x / x_max): tip 10 mm, entry 10 mm, angle 20°, shots 40, time 600 s. "
    "Fails (score 0) on a breach of Gertzbein–Robbins grade ≥ 2, a canal entry or a missing "
    "needle; passes at ≥ 60. Metrics after Luciano et al., Neurosurgery 2013; weights and "
    "limits: tool assumption."
)


# What the simulator counted (images taken, redirections, seconds): the planning session's
# attempt counters, the same value a plan file stores under "attempt".
AttemptCounters = Attempt


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One needle as the planner sees it: the trajectory, its result, its bone entry (LPS)."""

    trajectory: Trajectory
    result: TrajectoryResult
    bone_entry_lps: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    passed: bool
    score: float
    raw_score: float
    breach_grade: int
    tip_error_mm: float
    entry_error_mm: float
    angle_error_deg: float
    counters: AttemptCounters
    fail_reasons: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]
    components: dict[str, float] = field(default_factory=dict)
    per_side: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "score": self.score, "breach_grade": self.breach_grade,
            "tip_error_mm": self.tip_error_mm, "entry_error_mm": self.entry_error_mm,
            "angle_error_deg": self.angle_error_deg, "shots": self.counters.shots,
            "redirections": self.counters.redirections, "time_s": self.counters.time_s,
            "findings": list(self.findings), "raw_score": self.raw_score,
            "fail_reasons": list(self.fail_reasons), "components": dict(self.components),
            "per_side": {k: dict(v) for k, v in self.per_side.items()}, "formula": FORMULA,
        }


def _dir(t: Trajectory) -> np.ndarray:
    v = np.subtract(t.target_lps, t.skin_entry_lps)
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def side_errors(att: Evaluated, ref: Evaluated) -> dict[str, float]:
    """Tip, bone-entry and angle errors of one needle against the reference (mm, degrees)."""
    cos = float(np.clip(_dir(att.trajectory) @ _dir(ref.trajectory), -1.0, 1.0))
    return {
        "tip_error_mm": round(math.dist(att.trajectory.target_lps, ref.trajectory.target_lps), 2),
        "entry_error_mm": round(math.dist(att.bone_entry_lps, ref.bone_entry_lps), 2),
        "angle_error_deg": round(math.degrees(math.acos(cos)), 2),
        "breach_grade": att.result.metrics.breach_grade,
    }


def composite(tip_mm: float, entry_mm: float, angle_deg: float,
              c: AttemptCounters) -> tuple[float, dict[str, float]]:
    """The composite score (0-100) and its components s_x (module notes)."""
    x = {"tip": tip_mm, "entry": entry_mm, "angle": angle_deg, "shots": float(c.shots),
         "time": float(c.time_s)}
    s = {k: max(0.0, 1.0 - x[k] / NORMALISERS[k]) for k in WEIGHTS}
    return round(100.0 * sum(WEIGHTS[k] * s[k] for k in WEIGHTS), 1), {
        k: round(v, 4) for k, v in s.items()}


def score_attempt(sides: tuple[str, ...], reference: dict[str, Evaluated],
                  attempt: dict[str, Evaluated], counters: AttemptCounters) -> ScoreResult:
    """Score an attempt whose needles and the reference's were evaluated by the planner."""
    fails: list[str] = []
    per_side: dict[str, dict[str, float]] = {}
    findings: list[dict[str, Any]] = []
    for side in sides:
        a = attempt.get(side)
        if a is None:
            fails.append(f"no {side} needle placed")
            continue
        per_side[side] = side_errors(a, reference[side])
        m = a.result.metrics
        if m.breach_grade >= FAIL_BREACH_GRADE:
            fails.append(f"{side}: pedicle breach grade {m.breach_grade} "
                         f"({m.breach_direction}, {m.breach_mm:.1f} mm)")
        if any(f.code == "canal_entered" for f in a.result.findings):
            fails.append(f"{side}: the needle enters the spinal canal")
        findings.extend({"side": side, "code": f.code, "severity": f.severity,
                         "message": f.message} for f in a.result.findings)
    worst = {k: max((v[k] for v in per_side.values()), default=float("nan"))
             for k in ("tip_error_mm", "entry_error_mm", "angle_error_deg")}
    grade = int(max((v["breach_grade"] for v in per_side.values()), default=0))
    if per_side:
        raw, comps = composite(worst["tip_error_mm"], worst["entry_error_mm"],
                               worst["angle_error_deg"], counters)
    else:
        raw, comps = 0.0, {}
    order = {"danger": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order.get(str(f["severity"]), 3))
    passed = not fails and raw >= PASS_MARK
    return ScoreResult(
        passed=passed, score=0.0 if fails else raw, raw_score=raw, breach_grade=grade,
        tip_error_mm=worst["tip_error_mm"], entry_error_mm=worst["entry_error_mm"],
        angle_error_deg=worst["angle_error_deg"], counters=counters,
        fail_reasons=tuple(fails), findings=tuple(findings), components=comps,
        per_side=per_side)
