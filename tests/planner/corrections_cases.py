"""A small synthetic spine for the correction tests: levels with known six points."""

from __future__ import annotations

import math

import numpy as np

from planner.anatomy import BodyFrame, Heights, LevelAnatomy, Morphometry
from planner.grid import ImageGrid
from planner.session import LevelAnalysis, LevelsAnalysis
from planner.vertebra.grading import grade_all

#: AP positions (body frame, mm) of the anterior / middle / posterior measuring lines.
AP_MM = {"anterior": -12.0, "middle": 0.0, "posterior": 12.0}
DEPTH_MM = 30.0


def tilted_frame(origin: tuple[float, float, float], tilt_deg: float) -> BodyFrame:
    """A body frame turned by ``tilt_deg`` about the left axis (a flexed body)."""
    t = math.radians(tilt_deg)
    posterior = np.array([0.0, math.cos(t), -math.sin(t)])
    superior = np.array([0.0, math.sin(t), math.cos(t)])
    return BodyFrame(np.array(origin, float), np.array([1.0, 0.0, 0.0]), posterior, superior)


def level(name: str, z: float, h: dict[str, float], tilt_deg: float = 0.0,
          ) -> tuple[LevelAnatomy, Morphometry]:
    frame = tilted_frame((0.0, 0.0, z), tilt_deg)
    grid = ImageGrid((4, 4, 4), np.array([[1.0, 0, 0, -2], [0, 1, 0, -2], [0, 0, 1, z - 2],
                                          [0, 0, 0, 1]]))
    mask = np.zeros((4, 4, 4), bool)
    mask[1:3, 1:3, 1:3] = True
    anatomy = LevelAnatomy(name, grid, (0, 0, 0), mask, mask, mask, mask, frame)
    lines = {}
    for wall, y in AP_MM.items():
        a, b = frame.to_lps([[0.0, y, -h[wall] / 2], [0.0, y, h[wall] / 2]])
        lines[wall] = (tuple(float(v) for v in a), tuple(float(v) for v in b))
    wedge = math.degrees(math.atan2(h["posterior"] - h["anterior"], 24.0))
    m = Morphometry(name, (0.0, 0.0, z), 30.0, Heights(**h), DEPTH_MM, 40.0, wedge, 150.0,
                    height_lines_lps=lines)  # type: ignore[arg-type]
    return anatomy, m


def spine(tilt_deg: float = 0.0) -> LevelsAnalysis:
    """T12-L3, all intact (heights in mm), graded by the project's grading."""
    spec = {"T12": (60.0, 24.0), "L1": (25.0, 25.0), "L2": (-10.0, 26.0), "L3": (-45.0, 27.0)}
    raw = {n: level(n, z, {"anterior": h - 1.0, "middle": h - 1.5, "posterior": h}, tilt_deg)
           for n, (z, h) in spec.items()}
    graded = grade_all({n: m for n, (_, m) in raw.items()})
    return LevelsAnalysis(tuple((n, LevelAnalysis(a, graded[n])) for n, (a, _) in raw.items()))
