"""Analytic shapes of the demo spine, as approximate signed distance functions.

Every shape answers ``sdf(x, y, z)`` for broadcastable LPS coordinate arrays (mm): negative
inside, positive outside, and close to the true Euclidean distance near the surface (first
order, ``f / |grad f|``), which is what partial-volume rendering and a 1 mm cortex need. The
inside/outside decision (``sdf <= 0``) is exact for the shape's definition, so masks and
ground-truth volumes agree with the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
_EPS = 1e-9


def superellipse_sdf(coords: list[F], semis: list[Any], p: float) -> F:
    """Approximate SDF of ``sum |c_i / s_i|^p <= 1`` (any dimension); keeps the input dtype."""
    semis = [float(s) if np.ndim(s) == 0 else s for s in semis]
    if p == 2.0:
        terms = [c / s for c, s in zip(coords, semis, strict=True)]
        rho = np.sqrt(sum(t * t for t in terms))
        g2 = sum((t / s) ** 2 for t, s in zip(terms, semis, strict=True))
        grad = np.sqrt(g2) / np.maximum(rho, _EPS)
        return np.asarray((rho - 1.0) / np.maximum(grad, 1e-3), dtype=np.float64)
    terms = [np.abs(c) / s for c, s in zip(coords, semis, strict=True)]
    powered = [t ** (p - 1.0) for t in terms]
    acc = sum(pw * t for pw, t in zip(powered, terms, strict=True))
    rho = np.maximum(acc, _EPS) ** (1.0 / p)
    # d rho / d c_i = rho^(1-p) * (|c_i|/s_i)^(p-1) / s_i
    g2 = sum((pw / s) ** 2 for pw, s in zip(powered, semis, strict=True))
    grad = np.sqrt(g2) * rho ** (1.0 - p)
    return np.asarray((rho - 1.0) / np.maximum(grad, 1e-3), dtype=np.float64)


def _lin(dx: F, dy: F, dz: F, a: float, b: float, c: float) -> F:
    """``a dx + b dy + c dz``, skipping zero terms (most frames have axis-aligned columns)."""
    out = None
    for coef, arr in ((a, dx), (b, dy), (c, dz)):
        if coef == 0.0:
            continue
        term = arr * coef
        out = term if out is None else out + term
    if out is None:
        return np.zeros(np.broadcast_shapes(np.shape(dx), np.shape(dy), np.shape(dz)))
    return out


@dataclass(frozen=True, eq=False)
class Placed:
    """A local frame in LPS: ``origin_lps`` and a rotation whose columns are the local axes."""

    origin_lps: F
    rotation: F  # 3x3, columns = local u, v, w axes in LPS

    def local(self, x: F, y: F, z: F) -> tuple[F, F, F]:
        o = [float(c) for c in self.origin_lps]
        dx, dy, dz = x - o[0], y - o[1], z - o[2]
        r = [[float(c) for c in row] for row in self.rotation]
        return tuple(  # type: ignore[return-value]
            _lin(dx, dy, dz, r[0][a], r[1][a], r[2][a]) for a in range(3)
        )

    def to_lps(self, uvw: F) -> F:
        return np.asarray(uvw, float) @ self.rotation.T + self.origin_lps

    def box_lps(self, lo_local: F, hi_local: F, margin: float = 2.0) -> tuple[F, F]:
        """LPS axis-aligned box enclosing the local box ``[lo, hi]`` plus a margin."""
        corners = np.array(
            [[a, b, c] for a in (lo_local[0], hi_local[0]) for b in (lo_local[1], hi_local[1])
             for c in (lo_local[2], hi_local[2])]
        )
        pts = self.to_lps(corners)
        return pts.min(axis=0) - margin, pts.max(axis=0) + margin


@dataclass(frozen=True, eq=False)
class SuperEllipsoid:
    """``|u/a|^p + |v/b|^p + |w/c|^p <= 1`` in its own frame."""

    frame: Placed
    semis: tuple[float, float, float]
    p: float = 2.0

    def sdf(self, x: F, y: F, z: F) -> F:
        u, v, w = self.frame.local(x, y, z)
        return superellipse_sdf([u, v, w], list(self.semis), self.p)

    def box_lps(self) -> tuple[F, F]:
        s = np.array(self.semis)
        return self.frame.box_lps(-s, s)


@dataclass(frozen=True, eq=False)
class Tube:
    """Pedicle-like tube: elliptic cross-section along a straight axis, narrowest at ``t = 0``.

    Local frame: u = transverse (perpendicular to the axis, in the body's axial plane),
    v = along the axis (+ = anterior-medial, into the body), w = vertical. Half-widths
    ``a(t) = a0 + ka t^2`` (transverse) and ``b(t) = b0 + kb t^2`` (vertical); ``ka`` is
    ``ka_front`` for t > 0 (towards the body) and ``ka_back`` behind the isthmus; the flare is
    capped at ``max_flare``.
    """

    frame: Placed
    a0: float
    b0: float
    t_range: tuple[float, float]
    ka_front: float = 0.035
    ka_back: float = 0.05
    kb: float = 0.01
    max_flare: float = 2.0  # mm; keeps the base from bulging out of the body into the canal

    def half_widths(self, t: F) -> tuple[F, F]:
        t = np.asarray(t)
        typ = t.dtype.type if t.dtype.kind == "f" else np.float64
        ka = np.where(t > 0, typ(self.ka_front), typ(self.ka_back))
        tt = t * t
        return (self.a0 + np.minimum(ka * tt, self.max_flare),
                self.b0 + np.minimum(self.kb * tt, self.max_flare))

    def sdf(self, x: F, y: F, z: F) -> F:
        u, t, w = self.frame.local(x, y, z)
        a, b = self.half_widths(t)
        d_cross = _ellipse_sdf(u, w, a, b)
        return np.maximum(d_cross, np.maximum(self.t_range[0] - t, t - self.t_range[1]))

    def box_lps(self) -> tuple[F, F]:
        t0, t1 = self.t_range
        tm = max(abs(t0), abs(t1))
        a, b = (float(v) for v in self.half_widths(np.array(tm)))
        return self.frame.box_lps(np.array([-a, t0, -b]), np.array([a, t1, b]))


def _ellipse_sdf(u: F, w: F, a: F | float, b: F | float) -> F:
    rho = np.sqrt((u / a) ** 2 + (w / b) ** 2)
    grad = np.sqrt((u / (a * a)) ** 2 + (w / (b * b)) ** 2) / np.maximum(rho, _EPS)
    return (rho - 1.0) / np.maximum(grad, 1e-3)


@dataclass(frozen=True, eq=False)
class LaminaArch:
    """Posterior arch: elliptic annulus behind the canal centre, sloping caudally backwards.

    Local frame = body frame shifted to the canal centre (u left, v posterior, w superior).
    """

    frame: Placed
    inner: tuple[float, float]
    outer: tuple[float, float]
    w_range: tuple[float, float]
    v_min: float = -3.0
    shear: float = 0.35

    def sdf(self, x: F, y: F, z: F) -> F:
        u, v, w = self.frame.local(x, y, z)
        d_out = _ellipse_sdf(u, v, self.outer[0], self.outer[1])
        d_in = _ellipse_sdf(u, v, self.inner[0], self.inner[1])
        ws = w + self.shear * np.maximum(v, 0.0)
        d_w = np.maximum(self.w_range[0] - ws, ws - self.w_range[1])
        return np.maximum(np.maximum(d_out, -d_in), np.maximum(self.v_min - v, d_w))

    def box_lps(self) -> tuple[F, F]:
        lo = np.array([-self.outer[0], self.v_min, self.w_range[0] - self.shear * self.outer[1]])
        hi = np.array([self.outer[0], self.outer[1], self.w_range[1]])
        return self.frame.box_lps(lo, hi)


@dataclass(frozen=True, eq=False)
class BodyShape:
    """Vertebral body in its own frame (origin at mid-depth, mid-sagittal, mid-height).

    Cross-section: superellipse of half-width ``a`` whose AP extent runs from ``-depth/2``
    (anterior) with a shallow concave posterior wall (depth ``depth/2`` at the midline,
    ``+concavity`` at the sides), the kidney shape of a lumbar body. Endplates: planes tilted
    by half the wedge each (height ``h_centre + v tan(wedge)``), a central bowl of depth
    ``bowl`` and, for a fracture, an anterior collapse of the superior endplate that grows
    linearly from 0 at the 90 % position to ``loss_anterior`` at the 10 % position.
    """

    frame: Placed
    width: float
    depth: float
    h_centre: float
    tan_wedge: float
    p: float = 2.4
    concavity: float = 3.0
    bowl: float = 0.8
    loss_anterior: float = 0.0
    _b: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_b", (self.depth + self.concavity) / 2.0)

    # --- cross-section -------------------------------------------------------------------
    @property
    def a(self) -> float:
        return self.width / 2.0

    def xsec_sdf(self, u: F, v: F) -> F:
        vc = v - (-self.depth / 2.0 + self._b)
        d_se = superellipse_sdf([u, vc], [self.a, self._b], self.p)
        slope = 2.0 * self.concavity * u / (self.a * self.a)
        v_wall = self.depth / 2.0 + self.concavity * (u / self.a) ** 2
        d_wall = (v - v_wall) / np.sqrt(1.0 + slope * slope)
        return np.maximum(d_se, d_wall)

    # --- endplates -------------------------------------------------------------------------
    def _bowl(self, u: F, v: F) -> F:
        q = (u / (0.75 * self.a)) ** 2 + (v / (0.4 * self.depth)) ** 2
        return self.bowl * np.maximum(0.0, 1.0 - q) ** 2

    def fracture_loss(self, v: F) -> F:
        if self.loss_anterior == 0.0:
            return np.zeros_like(np.asarray(v, dtype=np.float64))
        ramp = (0.4 * self.depth - v) / (0.8 * self.depth)
        return self.loss_anterior * np.maximum(ramp, 0.0)

    def top(self, u: F, v: F, *, prefracture: bool = False) -> F:
        t = self.h_centre / 2.0 + v * self.tan_wedge / 2.0 - self._bowl(u, v)
        return t if prefracture else t - self.fracture_loss(v)

    def bottom(self, u: F, v: F) -> F:
        return -self.h_centre / 2.0 - v * self.tan_wedge / 2.0 + self._bowl(u, v)

    def sdf_local(self, u: F, v: F, w: F, *, prefracture: bool = False) -> F:
        top_slope = self.tan_wedge / 2.0 + (
            0.0 if prefracture else self.loss_anterior / (0.8 * self.depth)
        )
        d_top = (w - self.top(u, v, prefracture=prefracture)) / np.sqrt(1.0 + top_slope**2)
        d_bot = (self.bottom(u, v) - w) / np.sqrt(1.0 + (self.tan_wedge / 2.0) ** 2)
        return np.asarray(np.maximum(self.xsec_sdf(u, v), np.maximum(d_top, d_bot)), np.float64)

    def sdf(self, x: F, y: F, z: F) -> F:
        return self.sdf_local(*self.frame.local(x, y, z))

    def box_lps(self) -> tuple[F, F]:
        hmax = self.h_centre / 2.0 + self.depth * abs(self.tan_wedge) / 2.0 + 1.0
        lo = np.array([-self.a, -self.depth / 2.0, -hmax])
        hi = np.array([self.a, self.depth / 2.0 + self.concavity, hmax])
        return self.frame.box_lps(lo, hi)

    def heights(self, *, prefracture: bool = False) -> dict[str, float]:
        """Heights at the 10/50/90 % positions of the mid-sagittal depth (cortex included)."""
        from planner.anatomy import HEIGHT_POSITIONS_FRAC

        out = {}
        for wall, frac in HEIGHT_POSITIONS_FRAC.items():
            v = np.array(-self.depth / 2.0 + frac * self.depth)
            u = np.array(0.0)
            out[wall] = float(self.top(u, v, prefracture=prefracture) - self.bottom(u, v))
        return out

    def integrate(self, *, prefracture: bool = False, h: float = 0.2) -> tuple[float, F]:
        """Volume (mm^3) and centroid (local mm) by a fine 2-D quadrature over the section.

        The body is a column set over its cross-section between two endplate surfaces, so the
        volume is the integral of ``top - bottom`` over the section; the section's boundary is
        resolved to O(h^2) by weighting boundary samples with their partial area.
        """
        us = np.arange(-self.a - 1.0, self.a + 1.0 + h / 2, h)
        vs = np.arange(-self.depth / 2.0 - 1.0, self.depth / 2.0 + self.concavity + 1.0, h)
        u, v = np.meshgrid(us, vs, indexing="ij")
        wgt = np.clip(0.5 - self.xsec_sdf(u, v) / h, 0.0, 1.0)
        top, bot = self.top(u, v, prefracture=prefracture), self.bottom(u, v)
        hgt = np.maximum(top - bot, 0.0) * wgt
        vol = float(hgt.sum()) * h * h
        cu = float((hgt * u).sum()) * h * h / vol
        cv = float((hgt * v).sum()) * h * h / vol
        cw = float((hgt * (top + bot) / 2.0).sum()) * h * h / vol
        return vol, np.array([cu, cv, cw])


@dataclass(frozen=True, eq=False)
class Capsule:
    """Round tube of radius ``radius`` around the segment ``a``-``b`` (LPS), rounded ends."""

    a: F
    b: F
    radius: float

    def sdf(self, x: F, y: F, z: F) -> F:
        a = [float(c) for c in self.a]
        ab = [float(c) for c in (self.b - self.a)]
        dx, dy, dz = x - a[0], y - a[1], z - a[2]
        denom = ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2
        t = np.clip((dx * ab[0] + dy * ab[1] + dz * ab[2]) / denom, 0.0, 1.0)
        ex, ey, ez = dx - t * ab[0], dy - t * ab[1], dz - t * ab[2]
        return np.sqrt(ex * ex + ey * ey + ez * ez) - self.radius

    def box_lps(self) -> tuple[F, F]:
        lo = np.minimum(self.a, self.b) - self.radius - 2.0
        hi = np.maximum(self.a, self.b) + self.radius + 2.0
        return lo, hi
