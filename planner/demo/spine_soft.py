"""Soft parts that follow the column: intervertebral discs and the spinal canal.

Notes
-----
LPS mm. A disc fills the space between the inferior endplate of the level above and the
superior endplate of the level below (reaching 1 mm into both so no gap opens at the bone
interface; bone is painted over it), inside a cross-section 1 mm wider than the neighbouring
bodies (annulus bulge). The canal is a tube along the column curve whose elliptic section
(width x AP, DOMAIN.md §1.2 ranges) is interpolated between levels; the dural sac (CSF) sits
inside it, epidural fat around it and the ligamentum flavum behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.demo.shapes import BodyShape, F, Placed
from planner.demo.spine import Column, LevelGeometry


@dataclass(frozen=True, eq=False)
class DiscShape:
    upper: LevelGeometry
    lower: LevelGeometry
    section: BodyShape  # only its cross-section is used
    half_height: float  # half the distance between the endplate centres, mm

    def sdf(self, x: F, y: F, z: F) -> F:
        u, v, _ = self.section.frame.local(x, y, z)
        d_xs = self.section.xsec_sdf(u, v)
        uu, vu, wu = self.upper.frame.local(x, y, z)
        d_up = wu - self.upper.body.bottom(uu, vu) - 1.0
        ul, vl, wl = self.lower.frame.local(x, y, z)
        d_lo = self.lower.body.top(ul, vl) - wl - 1.0
        return np.maximum(d_xs, np.maximum(d_up, d_lo))

    def radial(self, x: F, y: F, z: F) -> F:
        """0 at the disc centre, ~1 at its rim (for the nucleus/annulus blend)."""
        u, v, _ = self.section.frame.local(x, y, z)
        return np.sqrt((u / self.section.a) ** 2 + (v / (self.section.depth / 2.0)) ** 2)

    def box_lps(self) -> tuple[F, F]:
        sec = self.section
        h = self.half_height + 6.0  # endplate tilt, bowl and fracture stay within 6 mm
        lo = np.array([-sec.a, -sec.depth / 2.0, -h])
        hi = np.array([sec.a, sec.depth / 2.0 + sec.concavity, h])
        return sec.frame.box_lps(lo, hi)


def build_disc(upper: LevelGeometry, lower: LevelGeometry, column: Column) -> DiscShape:
    zero = np.array(0.0)
    p_up = upper.frame.to_lps(np.array([0.0, 0.0, float(upper.body.bottom(zero, zero))]))
    p_lo = lower.frame.to_lps(np.array([0.0, 0.0, float(lower.body.top(zero, zero))]))
    mid = (p_up + p_lo) / 2.0
    s_mid = (upper.s + lower.s) / 2.0
    _, post, sup = column.at(s_mid)
    frame = Placed(mid, np.column_stack([[1.0, 0.0, 0.0], post, sup]))
    width = (upper.params.width + lower.params.width) / 2.0 + 2.0
    depth = (upper.params.depth + lower.params.depth) / 2.0 + 1.0
    section = BodyShape(frame, width, depth, 10.0, 0.0, bowl=0.0)
    return DiscShape(upper, lower, section, float(np.linalg.norm(p_up - p_lo)) / 2.0)


@dataclass(frozen=True, eq=False)
class Canal:
    """Spinal canal tube along the column; parameters interpolated between level centres."""

    column: Column
    s_levels: F  # ascending
    centre_v: F
    half_width: F
    half_ap: F
    conus_tip_s: float  # the spinal cord ends (conus medullaris) at about L1/L2

    def local(self, x: F, y: F, z: F) -> tuple[F, F, F]:
        """(u, v, s) of points: cross-section plane coordinates relative to the canal centre, and
        the arc length along the column."""
        s = self.column.s_of_z(z)
        for _ in range(2):  # Newton steps onto the normal plane of the curve
            p0y = np.interp(s, self.column.s, self.column.points[:, 1])
            p0z = np.interp(s, self.column.s, self.column.points[:, 2])
            th = np.interp(s, self.column.s, self.column.theta)
            s = s + (y - p0y) * np.sin(th) + (z - p0z) * np.cos(th)
        p0y = np.interp(s, self.column.s, self.column.points[:, 1])
        p0z = np.interp(s, self.column.s, self.column.points[:, 2])
        th = np.interp(s, self.column.s, self.column.theta)
        v = (y - p0y) * np.cos(th) - (z - p0z) * np.sin(th)
        vc = np.interp(s, self.s_levels, self.centre_v)
        return x - self.column.points[0, 0], v - vc, s

    def sdfs(self, x: F, y: F, z: F) -> dict[str, F]:
        """SDFs of the canal (outer epidural boundary), dural sac and ligamentum flavum."""
        u, v, s = self.local(x, y, z)
        a = np.interp(s, self.s_levels, self.half_width)
        b = np.interp(s, self.s_levels, self.half_ap)
        canal = _ellipse(u, v, a, b)
        sac = _ellipse(u, v + 0.8, a - 2.6, b - 2.4)
        flav_outer = _ellipse(u, v, a + 2.5, b + 3.5)
        flavum = np.maximum(np.maximum(flav_outer, -canal), 2.0 - v)
        taper = np.sqrt(np.clip((s - self.conus_tip_s) / 30.0, 1e-4, 1.0))
        cord = _ellipse(u, v + 1.0, 4.5 * taper, 3.6 * taper)
        return {"canal": canal, "sac": sac, "flavum": flavum, "cord": cord}


def _ellipse(u: F, v: F, a: F, b: F) -> F:
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    grad = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2) / np.maximum(rho, 1e-9)
    return (rho - 1.0) / np.maximum(grad, 1e-3)


def build_canal(column: Column, levels: list[LevelGeometry]) -> Canal:
    order = sorted(levels, key=lambda lv: lv.s)
    return Canal(
        column,
        np.array([lv.s for lv in order]),
        np.array([lv.canal_centre_v for lv in order]),
        np.array([lv.params.canal_width / 2.0 for lv in order]),
        np.array([lv.params.canal_ap / 2.0 for lv in order]),
        conus_tip_s=next(lv.s for lv in levels if lv.name == "L1") - 18.0,
    )

