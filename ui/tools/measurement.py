"""Distance and angle measurements drawn in 2D views (LPS mm, degrees).

Measurements live in the document (undoable) and are written into the plan file when the plan
is saved (:class:`planner.plan.model.PlanMeasurement`); opening a plan brings them back.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from planner.plan.model import PlanMeasurement

Point = tuple[float, float, float]
_ids = itertools.count(1)


def next_measurement_id() -> int:
    return next(_ids)


@dataclass(frozen=True, slots=True)
class Measurement:
    """``kind`` 'distance' (2 points) or 'angle' (3 points, vertex in the middle)."""

    id: int
    kind: str
    points_lps: tuple[Point, ...]
    view: str  # orientation of the view it was drawn in

    def __post_init__(self) -> None:
        need = {"distance": 2, "angle": 3}.get(self.kind)
        if need is None:
            raise ValueError(f"measurement kind must be 'distance' or 'angle', got {self.kind!r}")
        if len(self.points_lps) != need:
            raise ValueError(f"a {self.kind} needs {need} points, got {len(self.points_lps)}")

    @property
    def value(self) -> float:
        p = np.asarray(self.points_lps, dtype=np.float64)
        if self.kind == "distance":
            return float(np.linalg.norm(p[1] - p[0]))
        a, b = p[0] - p[1], p[2] - p[1]
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if na == 0.0 or nb == 0.0:
            return 0.0
        return math.degrees(math.acos(float(np.clip(a @ b / (na * nb), -1.0, 1.0))))

    @property
    def label(self) -> str:
        return f"{self.value:.1f} mm" if self.kind == "distance" else f"{self.value:.1f}°"

    def describe(self) -> str:
        return f"{self.kind.capitalize()} {self.label} ({self.view})"


def to_plan_measurement(m: Measurement) -> PlanMeasurement:
    return PlanMeasurement(m.kind, m.points_lps, m.view)


def from_plan_measurement(pm: PlanMeasurement) -> Measurement:
    return Measurement(next_measurement_id(), pm.kind, pm.points_lps, pm.view)
