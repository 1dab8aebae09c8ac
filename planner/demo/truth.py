"""Exact ground truth of the demo case, and its analytic masks on any grid.

Notes
-----
Masks are the analytic shapes rasterised at voxel centres (``sdf <= 0``) of whatever
:class:`~planner.grid.ImageGrid` is given, so they can be compared with a segmentation of the
demo CT or of a resampled copy. The vertebral body is the body shape incl. its cortical shell;
pedicles are cut from it at the body's surface (the posterior wall). LPS mm throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, Heights, LevelAnatomy
from planner.demo import params as P
from planner.demo.shapes import F
from planner.demo.spine import LevelGeometry
from planner.demo.spine_soft import Canal
from planner.demo.truth_types import LevelTruth, PedicleTruth, Point
from planner.grid import ImageGrid

BoolArray = NDArray[np.bool_]
CORE_DEPTH_MM = 3.0


@dataclass(frozen=True, eq=False)
class DemoTruth:
    """Ground truth of the demo case.

    Parameters
    ----------
    levels
        :class:`LevelTruth` of the complete levels T11-L3, cranial to caudal.
    cortical_gap
        ``None``, or ``(centre_lps, radius_mm, wall)`` of the hole planted in L1's cortex by
        the ``"cortical_gap"`` variant (the body masks are unchanged by it).
    seed, variant
        What the case was generated from.
    geometry, canal
        The analytic shapes (internal; used by the mask methods).

    Notes
    -----
    LPS mm. Mask methods accept any :class:`~planner.grid.ImageGrid` and rasterise the analytic
    shapes at its voxel centres, returning arrays ``[k, j, i]`` of that grid's shape. Masks are
    available for T10 and L4 too (partly outside the demo CT), truth values only for T11-L3.
    """

    levels: tuple[LevelTruth, ...]
    cortical_gap: tuple[Point, float, str] | None
    seed: int
    variant: str
    geometry: dict[str, LevelGeometry] = field(repr=False)
    canal: Canal = field(repr=False)
    fractured_level: str = P.FRACTURED_LEVEL

    # --- look-up ---------------------------------------------------------------------------
    def level(self, name: str) -> LevelTruth:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(f"demo has no complete level {name!r}; levels: "
                       f"{', '.join(lv.name for lv in self.levels)}")

    def _geom(self, name: str) -> LevelGeometry:
        if name not in self.geometry:
            raise KeyError(f"demo has no level {name!r}")
        return self.geometry[name]

    # --- masks -----------------------------------------------------------------------------
    def body_label_map(self, grid: ImageGrid) -> NDArray[np.int16]:
        """VerSe ids of the vertebral bodies (all drawn levels) at the voxel centres."""
        out = np.zeros(grid.shape_kji, dtype=np.int16)
        for name, g in self.geometry.items():
            crop = _crop_for(grid, *g.body.box_lps())
            if crop is None:
                continue
            sl, x, y, z = crop
            inside = g.body.sdf(x, y, z) <= 0.0
            out[sl][inside] = P.VERSE_IDS[name]
        return out

    def body_mask(self, level: str, grid: ImageGrid) -> BoolArray:
        g = self._geom(level)
        return _mask(grid, [g.body.box_lps()], lambda x, y, z: g.body.sdf(x, y, z) <= 0.0)

    def pedicle_mask(self, level: str, side: str, grid: ImageGrid) -> BoolArray:
        """Pedicle (cortex included) between the body surface and the posterior entry."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        g = self._geom(level)
        tube = g.pedicles[side].tube
        t_entry = _entry_t(g, side)

        def inside(x: F, y: F, z: F) -> BoolArray:
            _, t, _ = tube.frame.local(x, y, z)
            return (tube.sdf(x, y, z) <= 0.0) & (g.body.sdf(x, y, z) > 0.0) & (t >= t_entry)

        return _mask(grid, [tube.box_lps()], inside)

    def vertebra_mask(self, level: str, grid: ImageGrid) -> BoolArray:
        """Whole vertebra: body and posterior elements."""
        return _union_mask(grid, self._geom(level))

    def canal_mask(self, level: str, grid: ImageGrid) -> BoolArray:
        """Spinal canal between the planes of the level's endplates at the posterior wall."""
        g = self._geom(level)
        body = g.body
        half = body.h_centre / 2.0 + 0.5 * body.depth * abs(body.tan_wedge) / 2.0
        v_wall = np.array(body.depth / 2.0)
        top = float(body.top(np.array(0.0), v_wall))
        bot = float(body.bottom(np.array(0.0), v_wall))
        lo_l = np.array([-g.params.canal_width, 0.0, -half - 2.0])
        hi_l = np.array([g.params.canal_width, g.canal_centre_v + g.params.canal_ap, half + 2.0])
        box = g.frame.box_lps(lo_l, hi_l)

        def inside(x: F, y: F, z: F) -> BoolArray:
            _, _, w = g.frame.local(x, y, z)
            d = self.canal.sdfs(x, y, z)["canal"]
            return (d <= 0.0) & (w >= bot) & (w <= top)

        return _mask(grid, [box], inside) & ~_union_mask(grid, g)

    def level_anatomy(self, level: str, grid: ImageGrid, margin_mm: float = 3.0) -> LevelAnatomy:
        """:class:`~planner.anatomy.LevelAnatomy` from the analytic masks on a crop of ``grid``
        around the level (whole vertebra plus ``margin_mm``)."""
        g = self._geom(level)
        boxes = [p.box_lps() for p in g.parts.values()]  # type: ignore[attr-defined]
        lo = np.min([b[0] for b in boxes], axis=0) - margin_mm
        hi = np.max([b[1] for b in boxes], axis=0) + margin_mm
        start, stop = _crop_range(grid, lo, hi)
        crop = grid.crop(start, stop)
        lt = self.level(level)
        return LevelAnatomy(
            level=level, grid=crop, offset_kji=start,
            body=self.body_mask(level, crop),
            pedicle_left=self.pedicle_mask(level, "left", crop),
            pedicle_right=self.pedicle_mask(level, "right", crop),
            canal=self.canal_mask(level, crop), frame=lt.frame,
            vertebra=self.vertebra_mask(level, crop),
        )

    # --- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        gap = None
        if self.cortical_gap is not None:
            c, r, wall = self.cortical_gap
            gap = {"level": self.fractured_level, "centre_lps": [round(v, 4) for v in c],
                   "radius_mm": r, "wall": wall}
        return {
            "format": "vertebral-augmentation-planner demo ground truth",
            "format_version": 1,
            "coordinate_system": "LPS",
            "units": {"length": "mm", "volume": "mL", "angle": "deg", "density": "HU"},
            "seed": self.seed,
            "variant": self.variant,
            "height_positions_frac": _height_positions(),
            "fractured_level": self.fractured_level,
            "levels": [lv.to_json() for lv in self.levels],
            "cortical_gap": gap,
        }


def _height_positions() -> dict[str, float]:
    from planner.anatomy import HEIGHT_POSITIONS_FRAC

    return dict(HEIGHT_POSITIONS_FRAC)


# --- rasterisation helpers ------------------------------------------------------------------
def _crop_range(grid: ImageGrid, lo: F, hi: F) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                        for c in (lo[2], hi[2])])
    ijk = grid.lps_to_voxel(corners)
    a = np.floor(ijk.min(axis=0)).astype(int)
    b = np.ceil(ijk.max(axis=0)).astype(int) + 1
    n = np.array(grid.shape_kji[::-1])
    a, b = np.clip(a, 0, n), np.clip(b, 0, n)
    return (int(a[2]), int(a[1]), int(a[0])), (int(b[2]), int(b[1]), int(b[0]))


def _crop_for(grid: ImageGrid, lo: F, hi: F) -> tuple[tuple[slice, ...], F, F, F] | None:
    """Slices of the voxels of ``grid`` near the LPS box, and their centres' LPS coordinates
    (broadcastable 1-D arrays for an axis-aligned grid, full arrays otherwise)."""
    start, stop = _crop_range(grid, lo, hi)
    if any(b <= a for a, b in zip(start, stop, strict=True)):
        return None
    sl = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    m = grid.ijk_to_lps
    if np.allclose(m[:3, :3], np.diag(np.diag(m[:3, :3]))):
        k, j, i = (np.arange(a, b, dtype=np.float64) for a, b in zip(start, stop, strict=True))
        x = (m[0, 3] + i * m[0, 0])[None, None, :]
        y = (m[1, 3] + j * m[1, 1])[None, :, None]
        z = (m[2, 3] + k * m[2, 2])[:, None, None]
        return sl, x, y, z
    kk, jj, ii = np.meshgrid(*(np.arange(a, b) for a, b in zip(start, stop, strict=True)),
                             indexing="ij")
    pts = grid.voxel_to_lps(np.stack([ii, jj, kk], axis=-1).astype(np.float64))
    return sl, pts[..., 0], pts[..., 1], pts[..., 2]


def _mask(grid: ImageGrid, boxes: list[tuple[F, F]], inside: Any) -> BoolArray:
    out = np.zeros(grid.shape_kji, dtype=bool)
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    crop = _crop_for(grid, lo, hi)
    if crop is not None:
        sl, x, y, z = crop
        out[sl] = np.broadcast_to(inside(x, y, z), out[sl].shape)
    return out


def _union_mask(grid: ImageGrid, g: LevelGeometry) -> BoolArray:
    """Vertebra mask, each part evaluated only in its own box (fast)."""
    out = np.zeros(grid.shape_kji, dtype=bool)
    for part in g.parts.values():
        crop = _crop_for(grid, *part.box_lps())  # type: ignore[attr-defined]
        if crop is None:
            continue
        sl, x, y, z = crop
        out[sl] |= part.sdf(x, y, z) <= 0.0  # type: ignore[attr-defined]
    return out


def _union_sdf(g: LevelGeometry, x: F, y: F, z: F) -> F:
    d: F | None = None
    for part in g.parts.values():
        dp = part.sdf(x, y, z)  # type: ignore[attr-defined]
        d = dp if d is None else np.minimum(d, dp)
    assert d is not None
    return d


# --- truth computation ----------------------------------------------------------------------
def _axis_samples(g: LevelGeometry, side: str, t: F) -> F:
    pg = g.pedicles[side]
    pts_local = pg.isthmus_local[None, :] + t[:, None] * pg.axis_local[None, :]
    return g.frame.to_lps(pts_local)


def _entry_t(g: LevelGeometry, side: str) -> float:
    """Axis parameter (mm from the isthmus, + anterior) of the posterior bone entry."""
    t = -np.arange(0.0, 60.0, 0.01)
    pts = _axis_samples(g, side, t)
    d = _union_sdf(g, pts[:, 0], pts[:, 1], pts[:, 2])
    inside = np.nonzero(d <= 0.0)[0]
    i = int(inside.max())
    # linear interpolation of the zero crossing between samples i and i + 1
    f = d[i] / (d[i] - d[i + 1]) if d[i + 1] != d[i] else 0.0
    return float(t[i] + f * (t[i + 1] - t[i]))


def _exit_t(g: LevelGeometry, side: str) -> float:
    """Axis parameter where the axis leaves the body anteriorly (first exit after entering)."""
    t = np.arange(0.0, 90.0, 0.01)
    pts = _axis_samples(g, side, t)
    d = g.body.sdf(pts[:, 0], pts[:, 1], pts[:, 2])
    ins = d <= 0.0
    first_in = int(np.argmax(ins))
    after = np.nonzero(~ins[first_in:])[0]
    i = first_in + int(after[0]) - 1
    f = d[i] / (d[i] - d[i + 1]) if d[i + 1] != d[i] else 0.0
    return float(t[i] + f * (t[i + 1] - t[i]))


def pedicle_truth(g: LevelGeometry, side: str) -> PedicleTruth:
    pg = g.pedicles[side]
    axis = g.frame.rotation @ pg.axis_local
    t_in, t_out = _entry_t(g, side), _exit_t(g, side)
    entry = g.frame.to_lps(pg.isthmus_local + t_in * pg.axis_local)
    return PedicleTruth(
        side=side,
        isthmus_centre_lps=_tuple(g.frame.to_lps(pg.isthmus_local)),
        axis_dir_lps=_tuple(axis / np.linalg.norm(axis)),
        isthmus_width_mm=2.0 * pg.tube.a0,
        isthmus_height_mm=2.0 * pg.tube.b0,
        entry_lps=_tuple(entry),
        length_to_anterior_cortex_mm=float(t_out - t_in),
    )


def _tuple(v: F) -> Point:
    return (float(v[0]), float(v[1]), float(v[2]))


def _core_hu(g: LevelGeometry) -> float:
    """Noise-free mean HU of the cancellous core (deeper than CORE_DEPTH_MM)."""
    base = g.params.trabecular_hu
    if not g.fractured:
        return base
    from planner.demo.render import _fracture_band  # the same band the renderer paints

    lo, hi = g.body.box_lps()
    h = 0.5
    x, y, z = (np.arange(lo[a], hi[a], h) for a in range(3))
    x, y, z = x[None, None, :], y[None, :, None], z[:, None, None]
    core = g.body.sdf(x, y, z) <= -CORE_DEPTH_MM
    band = np.broadcast_to(_fracture_band(g, x, y, z), core.shape)
    return float(base + band[core].mean())


def level_truth(g: LevelGeometry) -> LevelTruth:
    body = g.body
    vol, c_local = body.integrate()
    vol_pre, _ = body.integrate(prefracture=True)
    centroid = g.frame.to_lps(c_local)
    r = g.frame.rotation
    frame = BodyFrame(centroid, r[:, 0], r[:, 1], r[:, 2])
    h = Heights(**body.heights())
    h_ref = Heights(**body.heights(prefracture=True))
    loss = max(1.0 - h.get(w) / h_ref.get(w) for w in ("anterior", "middle", "posterior"))
    grade = 0 if loss < 0.20 else 1 if loss < 0.25 else 2 if loss <= 0.40 else 3
    wedge = math.degrees(math.atan((h.posterior - h.anterior) / (0.8 * body.depth)))
    return LevelTruth(
        name=g.name, verse_id=P.VERSE_IDS[g.name], centroid_lps=_tuple(centroid), frame=frame,
        heights_mm=h, depth_mm=body.depth, width_mm=body.width,
        body_volume_ml=vol / 1000.0, wedge_angle_deg=wedge, genant_grade=grade,
        morphology="wedge" if grade > 0 else "normal", trabecular_hu=_core_hu(g),
        reference_heights_mm=h_ref, prefracture_volume_ml=vol_pre / 1000.0,
        posterior_wall="intact",
        pedicles={s: pedicle_truth(g, s) for s in ("left", "right")},
    )
