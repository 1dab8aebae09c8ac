"""The simulated procedure: C-arm shots, skin entry, direction, advance/withdraw, counters.

Qt-free state of one attempt (the workstation drives it; tests drive it directly). LPS mm.
Direction convention: ``medial_deg`` turns the needle from straight anterior towards the
midline (convergence), ``cranial_deg`` tilts its tip towards the head (table frame).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planner.fluoro import CArmPose, ConeBeamProjector, FluoroShot, take_shot
from planner.grid import FloatArray
from planner.plan.catalog import get_needle
from planner.plan.model import Plan, Trajectory
from planner.training.scoring import AttemptCounters, ScoreResult
from planner.training.session import ScoringSession
from planner.trajectory.entry import bone_entry_lps, inside_from_context

#: HU above which a sample on a click's ray counts as the patient (skin).
SKIN_HU = -400.0
VIEWS = {"AP": (0.0, 0.0), "Lateral": (90.0, 0.0)}


def _pt(v: FloatArray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))


def aim_angles(side: str, direction_lps: FloatArray) -> tuple[float, float]:
    """(medial_deg, cranial_deg) of a direction (inverse of :meth:`NeedleState.direction`)."""
    d = np.asarray(direction_lps, dtype=np.float64)
    d = d / np.linalg.norm(d)
    sgn = 1.0 if side == "left" else -1.0
    return (math.degrees(math.atan2(-sgn * d[0], -d[1])),
            math.degrees(math.asin(max(-1.0, min(1.0, float(d[2]))))))


@dataclass
class NeedleState:
    """One needle: skin entry (LPS), direction angles and inserted depth (mm)."""

    skin_lps: FloatArray | None = None
    medial_deg: float = 15.0
    cranial_deg: float = 0.0
    depth_mm: float = 0.0

    def direction(self, side: str) -> FloatArray:
        sgn = 1.0 if side == "left" else -1.0
        m, c = math.radians(self.medial_deg), math.radians(self.cranial_deg)
        return np.array([-sgn * math.sin(m) * math.cos(c), -math.cos(m) * math.cos(c),
                         math.sin(c)])

    def tip(self, side: str) -> FloatArray | None:
        if self.skin_lps is None:
            return None
        return np.asarray(self.skin_lps + self.direction(side) * self.depth_mm)


@dataclass
class Attempt:
    """A trainee's attempt at one exercise (module notes)."""

    session: ScoringSession
    trainee: str = "trainee"
    clock: Callable[[], float] = time.monotonic
    shots: int = 0
    redirections: int = 0
    needles: dict[str, NeedleState] = field(default_factory=dict)
    started: float = 0.0
    finished: float | None = None
    last_shot: FluoroShot | None = None
    _projector: ConeBeamProjector | None = None
    _ct_cache: dict[tuple[float, float], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()
        for s in self.session.exercise.sides:
            self.needles.setdefault(s, NeedleState())

    # --- C-arm ------------------------------------------------------------------------------
    @property
    def iso_lps(self) -> tuple[float, float, float]:
        c = self.session.context.anatomy.frame.origin_lps
        return (float(c[0]), float(c[1]), float(c[2]))

    def projector(self) -> ConeBeamProjector:
        if self._projector is None:
            self._projector = ConeBeamProjector(self.session.volume, self.iso_lps)
        return self._projector

    def shoot(self, lao_deg: float, cranial_deg: float, size: int = 512) -> FluoroShot:
        """Take one image (counted), the needles drawn as they are now."""
        pose = CArmPose(self.iso_lps, lao_deg, cranial_deg)
        key = (round(lao_deg, 2), round(cranial_deg, 2))
        if key not in self._ct_cache:
            self._ct_cache = {key: self.projector().line_integrals(pose, size)}
        r = get_needle(self.session.exercise.needle_id).radius_mm
        drawn = []
        for side, n in self.needles.items():
            tip = n.tip(side)
            if n.skin_lps is not None and tip is not None:
                drawn.append((n.skin_lps, tip, r))
        shot = take_shot(self.projector(), pose, size, drawn[0] if drawn else None,
                         self._ct_cache[key], drawn[1:])
        self.shots += 1
        self.last_shot = shot
        return shot

    def best_bullseye(self, side: str) -> tuple[float, float]:
        """C-arm angles looking down the needle (or, before it exists, the pedicle axis)."""
        from planner.drr import carm_angles

        n = self.needles[side]
        d = n.direction(side) if n.skin_lps is not None else \
            self.session.context.pedicle_axis_lps(side)[1]
        a = carm_angles(d)
        return (max(-120.0, min(120.0, a.lao_deg)), max(-45.0, min(45.0, a.cranial_deg)))

    # --- needle -----------------------------------------------------------------------------
    def skin_point(self, shot: FluoroShot, col: float, row: float) -> FloatArray:
        """Where the ray through an image point leaves the patient's back (the skin entry)."""
        src = shot.pose.source_lps()
        det = shot.detector.pixel_lps(np.array(col), np.array(row)).reshape(3)
        t = np.linspace(0.0, 1.0, 2001)
        pts = src + t[:, None] * (det - src)
        hu = self.session.volume.sample_lps(pts, fill=-1000.0)
        inside = np.nonzero(np.asarray(hu) > SKIN_HU)[0]
        if inside.size == 0:
            raise ValueError("that point is outside the patient")
        return np.asarray(pts[int(inside[-1])])

    def set_skin_entry(self, side: str, skin_lps: FloatArray) -> None:
        n = self.needles[side]
        if n.depth_mm > 0.0:
            raise ValueError("withdraw the needle completely before choosing a new skin entry")
        n.skin_lps = np.asarray(skin_lps, dtype=np.float64)

    def set_direction(self, side: str, medial_deg: float, cranial_deg: float) -> None:
        """Aim the needle; changing the aim with the needle in the patient is a redirection."""
        n = self.needles[side]
        if (medial_deg, cranial_deg) == (n.medial_deg, n.cranial_deg):
            return
        if n.depth_mm > 0.0:  # the needle pivots about its skin entry
            self.redirections += 1
        n.medial_deg, n.cranial_deg = float(medial_deg), float(cranial_deg)

    def advance(self, side: str, mm: float) -> None:
        n = self.needles[side]
        if n.skin_lps is None:
            raise ValueError("choose the skin entry first (click the AP image)")
        n.depth_mm = float(min(200.0, max(0.0, n.depth_mm + mm)))

    # --- result -----------------------------------------------------------------------------
    def elapsed_s(self) -> float:
        end = self.finished if self.finished is not None else self.clock()
        return round(end - self.started, 1)

    def counters(self) -> AttemptCounters:
        return AttemptCounters(self.shots, self.redirections, self.elapsed_s())

    def plan(self) -> Plan:
        """The attempt as a plan on the exercise's study (needles with depth ≥ 1 mm)."""
        ex = self.session.exercise
        trajs = []
        inside = inside_from_context(self.session.context)
        for side, n in self.needles.items():
            tip = n.tip(side)
            if n.skin_lps is None or tip is None or n.depth_mm < 1.0:
                continue
            be = bone_entry_lps(n.skin_lps, tip, inside)
            trajs.append(Trajectory(side,  # type: ignore[arg-type]
                                    ex.approach, _pt(n.skin_lps), _pt(be), _pt(tip),
                                    ex.needle_id))
        return Plan(ex.reference.series, level=ex.level, trajectories=tuple(trajs))

    def finish(self) -> ScoreResult:
        if self.finished is None:
            self.finished = self.clock()
        return self.session.score(self.plan(), self.counters())

    def to_json(self) -> dict[str, Any]:
        """The attempt as a plan file (format 4) with its ``"attempt"`` counters, the format
        the ``score`` command reads."""
        from dataclasses import replace

        from planner.plan.file import case_plan_to_dict
        from planner.session import Attempt as Counters
        from planner.session import Case

        case = Case.from_legacy(self.plan())
        c = self.counters()
        note = (f"training attempt at {self.session.exercise.exercise_id} by {self.trainee}"
                f"{' (finished)' if self.finished is not None else ''}")
        plan = replace(case.plan, attempt=Counters(c.shots, c.redirections, c.time_s),
                       notes=note)
        return case_plan_to_dict(case.series, plan)

    def save(self, path: Path) -> Path:
        """Write the attempt atomically (called after every action: nothing is lost)."""
        import os
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)
        return path
