"""Geometry of the demo spine: the column's curve, each level's frame and its bony parts.

Notes
-----
LPS mm. The column is a curve in the mid-sagittal plane (x = 0) parametrised by arc length
``s`` (mm, + = cranial, 0 at L1's centre). Its tilt ``theta(s)`` (rotation of the superior
axis towards posterior) peaks at the thoracolumbar junction and falls towards the lumbar
lordosis apex, with a focal kyphotic kink above the fractured L1, so every body frame is
tilted a few degrees from the scanner axes. Each level is rigid in its own body frame
(``left``, ``posterior``, ``superior``; :class:`planner.anatomy.BodyFrame` convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.demo import params as P
from planner.demo.posterior import PedicleGeom, add_inferior_facets, pedicle, posterior_parts
from planner.demo.shapes import BodyShape, F, Placed

#: Column tilt model (degrees, mm): peak tilt at the thoracolumbar junction, quadratic fall-off,
#: and a kyphotic kink above the fracture (the levels above lean forward onto the wedge).
TILT_PEAK_DEG = 10.0
TILT_PEAK_S_MM = 17.0
TILT_CURVATURE = 0.0009  # deg / mm^2
FRACTURE_KINK_DEG = 6.0
#: Position of L1's centre in LPS (the column passes through it).
L1_CENTRE_LPS = (0.0, 0.0, 0.0)


@dataclass(frozen=True, eq=False)
class Column:
    """Sampled column curve: arc length, LPS points and tilt (radians)."""

    s: F
    points: F
    theta: F

    def at(self, s: float) -> tuple[F, F, F]:
        """Point, posterior axis and superior axis (LPS) at arc length ``s``."""
        p = np.array([np.interp(s, self.s, self.points[:, a]) for a in range(3)])
        th = float(np.interp(s, self.s, self.theta))
        post = np.array([0.0, math.cos(th), -math.sin(th)])
        sup = np.array([0.0, math.sin(th), math.cos(th)])
        return p, post, sup

    def s_of_z(self, z: F) -> F:
        return np.interp(z, self.points[:, 2], self.s)


def tilt_deg(s: F, kink_s: float) -> F:
    t = TILT_PEAK_DEG - TILT_CURVATURE * (s - TILT_PEAK_S_MM) ** 2
    x = np.clip((s - kink_s) / 8.0 + 0.5, 0.0, 1.0)
    return t - FRACTURE_KINK_DEG * x * x * (3.0 - 2.0 * x)


def build_column(kink_s: float, s_lo: float = -200.0, s_hi: float = 200.0) -> Column:
    h = 0.05
    s = np.arange(s_lo, s_hi + h / 2, h)
    th = np.radians(tilt_deg(s, kink_s))
    dy, dz = np.sin(th), np.cos(th)
    # trapezoid cumulative integral, anchored at s = 0
    cy = np.concatenate([[0.0], np.cumsum((dy[1:] + dy[:-1]) * h / 2)])
    cz = np.concatenate([[0.0], np.cumsum((dz[1:] + dz[:-1]) * h / 2)])
    i0 = int(np.argmin(np.abs(s)))
    pts = np.column_stack([np.zeros_like(s), cy - cy[i0], cz - cz[i0]]) + np.array(L1_CENTRE_LPS)
    return Column(s, pts, th)


@dataclass(frozen=True, eq=False)
class LevelGeometry:
    """One vertebra: parameters, frame, body and posterior-element shapes."""

    name: str
    params: P.LevelParams
    s: float
    frame: Placed
    body: BodyShape
    pedicles: dict[str, PedicleGeom]
    parts: dict[str, object]  # name -> shape with sdf/box_lps (body and pedicles included)
    canal_centre_v: float
    pedicle_w: float  # height of the pedicle axes in the body frame, mm

    @property
    def fractured(self) -> bool:
        return self.body.loss_anterior > 0.0


def _body_shape(frame: Placed, p: P.LevelParams, fractured: bool) -> BodyShape:
    tw = math.tan(math.radians(p.wedge_deg))
    h_centre = p.height_post - 0.4 * p.depth * tw
    loss = 0.0
    if fractured:
        h_ant_pre = h_centre - 0.4 * p.depth * tw
        loss = P.FRACTURE_ANTERIOR_LOSS * h_ant_pre
    return BodyShape(frame, p.width, p.depth, h_centre, tw, bowl=P.ENDPLATE_BOWL_MM,
                     loss_anterior=loss)


def build_level(name: str, s: float, column: Column, fractured: bool) -> LevelGeometry:
    p = P.LEVELS[name]
    c, post, sup = column.at(s)
    frame = Placed(c, np.column_stack([[1.0, 0.0, 0.0], post, sup]))
    body = _body_shape(frame, p, fractured)
    v_c = p.depth / 2.0 + 1.0 + p.canal_ap / 2.0  # canal centre: 1 mm behind the wall
    w_p = p.height_post / 2.0 - p.pedicle_height / 2.0 - 2.5  # pedicles on the upper body
    peds = {sd: pedicle(frame, p, sd, v_c - 1.0, w_p) for sd in ("left", "right")}
    parts: dict[str, object] = {"body": body}
    for sd, pg in peds.items():
        parts[f"pedicle_{sd}"] = pg.tube
    parts.update(posterior_parts(frame, p, peds, v_c, w_p))
    return LevelGeometry(name, p, s, frame, body, peds, parts, v_c, w_p)


def centre_height(name: str, fractured: bool) -> tuple[float, float]:
    """Distances (mm) from the construction centre up to the top and down to the bottom
    endplate at the body's centre (u = v = 0)."""
    p = P.LEVELS[name]
    dummy = Placed(np.zeros(3), np.eye(3))
    b = _body_shape(dummy, p, fractured)
    z = np.float64(0.0)
    return float(b.top(z, z)), float(-b.bottom(z, z))


def level_positions() -> dict[str, float]:
    """Arc length of every level's construction centre (L1 at 0), stacking bodies and discs."""
    out = {P.FRACTURED_LEVEL: 0.0}
    names = list(P.LEVEL_NAMES)
    i1 = names.index(P.FRACTURED_LEVEL)
    for i in range(i1 - 1, -1, -1):  # upwards
        lo, up = names[i + 1], names[i]
        top_lo, _ = centre_height(lo, lo == P.FRACTURED_LEVEL)
        _, bot_up = centre_height(up, up == P.FRACTURED_LEVEL)
        out[up] = out[lo] + top_lo + P.DISC_BELOW[up] + bot_up
    for i in range(i1 + 1, len(names)):  # downwards
        up, lo = names[i - 1], names[i]
        _, bot_up = centre_height(up, up == P.FRACTURED_LEVEL)
        top_lo, _ = centre_height(lo, lo == P.FRACTURED_LEVEL)
        out[lo] = out[up] - bot_up - P.DISC_BELOW[up] - top_lo
    return out


def build_spine() -> tuple[Column, list[LevelGeometry]]:
    pos = level_positions()
    kink_s = centre_height(P.FRACTURED_LEVEL, True)[0]
    column = build_column(kink_s)
    levels = [build_level(n, pos[n], column, n == P.FRACTURED_LEVEL) for n in P.LEVEL_NAMES]
    add_inferior_facets(levels)
    return column, levels
