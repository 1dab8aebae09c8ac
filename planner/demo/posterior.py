"""Posterior elements of a demo vertebra: pedicles, laminae, articular pillars, processes.

Notes
-----
Shapes are defined in the level's body frame (u = left, v = posterior, w = superior; mm) and
placed in LPS. The pedicle is a tube narrowest at its isthmus, ``pedicle_width`` wide
(outer, transverse) and ``pedicle_height`` tall, converging medially by
``pedicle_angle_deg`` (DOMAIN.md §1.2 values, see :mod:`planner.demo.params`). Facet joints:
the superior articular process of a level and the inferior articular process of the level
above face each other across a 2 mm joint space; the inferior process is therefore placed
in the frame of the level below (second pass, :func:`add_inferior_facets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from planner.demo import params as P
from planner.demo.shapes import F, LaminaArch, Placed, SuperEllipsoid, Tube

if TYPE_CHECKING:
    from planner.demo.spine import LevelGeometry

SIDES = ("left", "right")


@dataclass(frozen=True, eq=False)
class PedicleGeom:
    side: str
    tube: Tube
    isthmus_local: F  # body-frame (construction) coordinates
    axis_local: F  # unit, anterior-medial
    rotation_local: F  # tube axes (transverse, axis, vertical) in the body frame


def sub_frame(frame: Placed, offset_local: F, rot_local: F | None = None) -> Placed:
    r = frame.rotation if rot_local is None else frame.rotation @ rot_local
    return Placed(frame.to_lps(offset_local), r)


def rot_w(angle_rad: float) -> F:
    """Rotation about the local w axis (columns = new u, v, w in the old frame)."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_u(angle_rad: float) -> F:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def pedicle(frame: Placed, p: P.LevelParams, side: str, v_iso: float, w_p: float) -> PedicleGeom:
    alpha = math.radians(p.pedicle_angle_deg)
    sgn = 1.0 if side == "left" else -1.0
    a0 = p.pedicle_width / 2.0
    u_p = sgn * (p.canal_width / 2.0 + 0.6 + a0 / math.cos(alpha))
    axis = np.array([-sgn * math.sin(alpha), -math.cos(alpha), 0.0])
    trans = np.cross(axis, np.array([0.0, 0.0, 1.0]))
    rot = np.column_stack([trans / np.linalg.norm(trans), axis, [0.0, 0.0, 1.0]])
    centre = np.array([u_p, v_iso, w_p])
    tube = Tube(sub_frame(frame, centre, rot), a0, p.pedicle_height / 2.0, (-10.0, 15.0),
                ka_front=0.03, ka_back=0.03, kb=0.008)
    return PedicleGeom(side, tube, centre, axis, rot)


def _joint(p: P.LevelParams, peds: dict[str, PedicleGeom], side: str,
           v_c: float) -> tuple[F, F]:
    """Facet joint centre line point (u, v) and unit normal pointing from the inferior process
    (level above) to the superior process (this level), in the body frame."""
    sgn = 1.0 if side == "left" else -1.0
    u_p = abs(float(peds[side].isthmus_local[0]))
    phi = math.radians(P.FACET_ANGLE_DEG[p.name])
    point = np.array([sgn * (u_p + 0.5), v_c + p.canal_ap / 2.0 - 0.5])
    normal = np.array([sgn * math.cos(phi), -math.sin(phi)])
    return point, normal


def _facet_frame(frame: Placed, point: F, normal: F, offset: float, w: float) -> Placed:
    n = np.array([normal[0], normal[1], 0.0])
    tang = np.cross(np.array([0.0, 0.0, 1.0]), n)
    rot = np.column_stack([n, tang, [0.0, 0.0, 1.0]])
    centre = np.array([point[0] + offset * normal[0], point[1] + offset * normal[1], w])
    return sub_frame(frame, centre, rot)


def posterior_parts(frame: Placed, p: P.LevelParams, peds: dict[str, PedicleGeom], v_c: float,
                    w_p: float) -> dict[str, object]:
    """Lamina, spinous process, transverse and superior articular processes of one level."""
    parts: dict[str, object] = {}
    cw, ca = p.canal_width / 2.0, p.canal_ap / 2.0
    thoracic = p.name.startswith("T")
    parts["lamina"] = LaminaArch(sub_frame(frame, np.array([0.0, v_c, 0.0])), (cw, ca),
                                 (cw + 6.0, ca + 6.5), (w_p - 13.0, w_p + 8.0), v_min=1.0)
    beta = math.radians(p.spinous_slope_deg)
    half = p.spinous_length / 2.0 + 2.0
    sp_centre = np.array([0.0, v_c + ca + 3.0 + half * math.cos(beta),
                          w_p - 4.0 - half * math.sin(beta)])
    parts["spinous"] = SuperEllipsoid(sub_frame(frame, sp_centre, rot_u(-beta)),
                                      (3.0 if thoracic else 3.5, half, 6.0 if thoracic else 8.5),
                                      3.0)
    gap_half = P.FACET_GAP_MM / 2.0
    for sd in SIDES:
        sgn = 1.0 if sd == "left" else -1.0
        u_p = float(peds[sd].isthmus_local[0])
        gam = math.radians(p.tp_sweep_deg)
        half_tp = p.tp_length / 2.0 + 3.0
        tp_c = np.array([u_p + sgn * (2.0 + half_tp * math.cos(gam)),
                         v_c + 5.0 + half_tp * math.sin(gam), w_p])
        parts[f"tp_{sd}"] = SuperEllipsoid(sub_frame(frame, tp_c, rot_w(sgn * gam)),
                                           (half_tp, 4.5 if thoracic else 3.6, 5.5))
        # pedicle-lamina junction: the bone mass behind the pedicle where lamina, transverse
        # and articular processes meet; the pedicle axis enters bone through its back surface
        pg = peds[sd]
        parts[f"junction_{sd}"] = SuperEllipsoid(
            sub_frame(frame, pg.isthmus_local - 10.0 * pg.axis_local, pg.rotation_local),
            (pg.tube.a0 + 2.0, 4.0, pg.tube.b0 - 1.0))
        point, normal = _joint(p, peds, sd, v_c)
        parts[f"sap_{sd}"] = SuperEllipsoid(
            _facet_frame(frame, point, normal, gap_half + 3.2, w_p + 7.0), (3.2, 6.5, 10.0))
    return parts


def add_inferior_facets(levels: list[LevelGeometry]) -> None:
    """Give every level its inferior articular processes, facing the superior processes of the
    level below across the joint space (the last level mirrors its own joint one level down)."""
    gap_half = P.FACET_GAP_MM / 2.0
    for i, lv in enumerate(levels):
        below = levels[i + 1] if i + 1 < len(levels) else None
        ref = below if below is not None else lv
        for sd in SIDES:
            point, normal = _joint(ref.params, ref.pedicles, sd, ref.canal_centre_v)
            if below is not None:
                w = ref.pedicle_w + 14.0
                frame = ref.frame
            else:
                w = lv.pedicle_w - 22.0
                frame = lv.frame
            lv.parts[f"iap_{sd}"] = SuperEllipsoid(
                _facet_frame(frame, point, normal, -(gap_half + 3.0), w), (3.0, 6.0, 13.0))
