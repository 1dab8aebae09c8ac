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
from planner.demo.spec import CaseSpec, disc_below

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


def tilt_deg(s: F, kink_s: float, kink_deg: float = FRACTURE_KINK_DEG) -> F:
    t = TILT_PEAK_DEG - TILT_CURVATURE * (s - TILT_PEAK_S_MM) ** 2
    x = np.clip((s - kink_s) / 8.0 + 0.5, 0.0, 1.0)
    return t - kink_deg * x * x * (3.0 - 2.0 * x)


def build_column(kink_s: float, s_lo: float = -200.0, s_hi: float = 200.0,
                 kink_deg: float = FRACTURE_KINK_DEG) -> Column:
    h = 0.05
    s = np.arange(s_lo, s_hi + h / 2, h)
    th = np.radians(tilt_deg(s, kink_s, kink_deg))
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


def _body_shape(frame: Placed, p: P.LevelParams, fractured: bool,
                loss_frac: float = P.FRACTURE_ANTERIOR_LOSS) -> BodyShape:
    tw = math.tan(math.radians(p.wedge_deg))
    h_centre = p.height_post - 0.4 * p.depth * tw
    loss = 0.0
    if fractured:
        h_ant_pre = h_centre - 0.4 * p.depth * tw
        loss = loss_frac * h_ant_pre
    return BodyShape(frame, p.width, p.depth, h_centre, tw, bowl=P.ENDPLATE_BOWL_MM,
                     loss_anterior=loss)


def _rotate_about(axis: F, angle_deg: float) -> F:
    """Rotation matrix about a unit axis (Rodrigues)."""
    a = math.radians(angle_deg)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.asarray(np.eye(3) + math.sin(a) * k + (1.0 - math.cos(a)) * (k @ k))


def build_level(name: str, s: float, column: Column, fractured: bool,
                params: P.LevelParams | None = None, loss_frac: float = P.FRACTURE_ANTERIOR_LOSS,
                rotation_deg: float = 0.0) -> LevelGeometry:
    p = P.LEVELS[name] if params is None else params
    c, post, sup = column.at(s)
    v_c = p.depth / 2.0 + 1.0 + p.canal_ap / 2.0  # canal centre: 1 mm behind the wall
    basis = np.column_stack([[1.0, 0.0, 0.0], post, sup])
    if rotation_deg:  # axial rotation about the canal's axis (the canal stays in place)
        rot = _rotate_about(sup, rotation_deg)
        q = c + v_c * post
        c, basis = q + rot @ (c - q), rot @ basis
    frame = Placed(c, basis)
    body = _body_shape(frame, p, fractured, loss_frac)
    w_p = p.height_post / 2.0 - p.pedicle_height / 2.0 - 2.5  # pedicles on the upper body
    peds = {sd: pedicle(frame, p, sd, v_c - 1.0, w_p) for sd in ("left", "right")}
    parts: dict[str, object] = {"body": body}
    for sd, pg in peds.items():
        parts[f"pedicle_{sd}"] = pg.tube
    parts.update(posterior_parts(frame, p, peds, v_c, w_p))
    return LevelGeometry(name, p, s, frame, body, peds, parts, v_c, w_p)


def centre_height(name: str, fractured: bool, params: P.LevelParams | None = None,
                  loss_frac: float = P.FRACTURE_ANTERIOR_LOSS) -> tuple[float, float]:
    """Distances (mm) from the construction centre up to the top and down to the bottom
    endplate at the body's centre (u = v = 0)."""
    p = P.LEVELS[name] if params is None else params
    dummy = Placed(np.zeros(3), np.eye(3))
    b = _body_shape(dummy, p, fractured, loss_frac)
    z = np.array(0.0)
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


def spec_positions(spec: CaseSpec) -> dict[str, float]:
    """:func:`level_positions` for a case variant (L1 at 0)."""

    def heights(n: str) -> tuple[float, float]:
        return centre_height(n, spec.is_fractured(n), spec.params(n), spec.loss)

    names = list(spec.levels)
    i1 = names.index("L1")
    out = {"L1": 0.0}
    for i in range(i1 - 1, -1, -1):
        lo, up = names[i + 1], names[i]
        out[up] = out[lo] + heights(lo)[0] + disc_below(up) + heights(up)[1]
    for i in range(i1 + 1, len(names)):
        up, lo = names[i - 1], names[i]
        out[lo] = out[up] - heights(up)[1] - disc_below(up) - heights(lo)[0]
    return out


def build_spine(spec: CaseSpec | None = None) -> tuple[Column, list[LevelGeometry]]:
    if spec is not None and spec != CaseSpec():
        return _build_spine_variant(spec)
    pos = level_positions()
    kink_s = centre_height(P.FRACTURED_LEVEL, True)[0]
    column = build_column(kink_s)
    levels = [build_level(n, pos[n], column, n == P.FRACTURED_LEVEL) for n in P.LEVEL_NAMES]
    add_inferior_facets(levels)
    return column, levels


def _build_spine_variant(spec: CaseSpec) -> tuple[Column, list[LevelGeometry]]:
    pos = spec_positions(spec)
    fl = spec.fractured_level
    kink_deg = FRACTURE_KINK_DEG * spec.loss / P.FRACTURE_ANTERIOR_LOSS
    kink_s = pos[fl] + centre_height(fl, spec.loss > 0, spec.params(fl), spec.loss)[0]
    column = build_column(kink_s, -280.0, 280.0, kink_deg)
    levels = [build_level(n, pos[n], column, spec.is_fractured(n), spec.params(n), spec.loss,
                          spec.rotation(n)) for n in spec.levels]
    add_inferior_facets(levels)
    return column, levels
