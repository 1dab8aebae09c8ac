"""Render the demo CT: trunk, vessels, canal, discs, vertebrae, noise.

Notes
-----
Grid: axial, head-first supine, i -> +x (patient left), j -> +y (posterior), k -> +z
(superior), 0.7 x 0.7 mm in plane, 1 mm slices. Bone = cortical shell (1.0 mm body,
1.3 mm posterior elements, ~1250 HU before partial volume) over cancellous bone with a
zero-mean trabecular texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.demo import params as P
from planner.demo.canvas import Canvas, occupancy, touched
from planner.demo.ribs import rib_capsules
from planner.demo.shapes import Capsule, F
from planner.demo.spine import Column, LevelGeometry
from planner.demo.spine_soft import Canal, DiscShape
from planner.demo.tissue import (
    Trunk,
    background_slices,
    blend_along_z,
    kidneys,
    noisy_int16,
    paint_psoas,
    paint_vessels,
    thorax_lungs,
    thorax_organs,
)

SPACING_MM = np.array([0.7, 0.7, 1.0])
SHAPE_IJ = (380, 290)  # 266 x 203 mm field of view


@dataclass(frozen=True, eq=False)
class CorticalGap:
    centre_lps: F
    radius_mm: float
    wall: str


def grid_origin(column: Column, levels: list[LevelGeometry],
                shape_ij: tuple[int, int] = SHAPE_IJ) -> tuple[F, int]:
    """Origin (LPS of voxel 0) and number of slices: from the last level's centre (L4) up to
    the first one's (T10)."""
    z_lo = float(levels[-1].frame.origin_lps[2])
    z_hi = float(levels[0].frame.origin_lps[2])
    nk = int(np.floor(z_hi - z_lo)) + 1
    ni, nj = shape_ij
    y_mid = float(np.mean(column.points[:, 1])) - 2.0
    origin = np.array([-(ni - 1) / 2.0 * SPACING_MM[0],
                       round(y_mid - (nj - 1) / 2.0 * SPACING_MM[1] + 8.0, 1), round(z_lo, 1)])
    return origin, nk


def _texture(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float32]:
    """Zero-mean, unit-variance trabecular texture: uniform variates summed over 2x2 voxels in
    plane and 4 slices along z, so the grain is elongated craniocaudally like the vertical
    trabeculae that dominate osteoporotic bone (the horizontal ones are lost first)."""
    nk = 4
    n = rng.random((shape[0] + nk - 1, shape[1] + 1, shape[2] + 1), dtype=np.float32)
    acc = np.zeros(shape, dtype=np.float32)
    for dk in range(nk):
        for dj in (0, 1):
            for di in (0, 1):
                acc += n[dk:dk + shape[0], dj:dj + shape[1], di:di + shape[2]]
    count = 4 * nk
    acc -= np.float32(count / 2.0)
    acc *= np.float32(np.sqrt(12.0 / count))  # a sum of n uniforms has variance n/12
    return acc


def _level_box(canvas: Canvas, lv: LevelGeometry) -> tuple[slice, slice, slice] | None:
    boxes = [part.box_lps() for part in lv.parts.values()]  # type: ignore[attr-defined]
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    whole = canvas.box(lo, hi)
    return None if whole is None else whole[0]


def _sub_slices(outer: tuple[slice, ...], inner: tuple[slice, ...]) -> tuple[slice, ...]:
    return tuple(slice(i.start - o.start, i.stop - o.start) for o, i in zip(outer, inner,
                                                                            strict=True))


def paint_vertebra(canvas: Canvas, lv: LevelGeometry, texture: NDArray[np.float32],
                   gap: CorticalGap | None) -> None:
    """Paint one vertebra; ``texture`` is a trabecular field at least as large as its box."""
    sl = _level_box(canvas, lv)
    if sl is None:
        return
    shape = canvas.hu[sl].shape
    d_body = np.full(shape, 50.0, dtype=np.float32)
    d_post = np.full(shape, 50.0, dtype=np.float32)
    band = np.zeros(shape, dtype=np.float32)
    for name, part in lv.parts.items():
        b = canvas.box(*part.box_lps())  # type: ignore[attr-defined]
        if b is None:
            continue
        psl, x, y, z = b
        sub = _sub_slices(sl, psl)
        target = d_body if name == "body" else d_post
        target[sub] = np.minimum(target[sub], part.sdf(x, y, z))  # type: ignore[attr-defined]
        if name == "body" and lv.fractured:
            band[sub] = _fracture_band(lv, x, y, z)
    d_all = np.minimum(d_body, d_post)
    idx = touched(d_all)
    db, dp = d_body[idx], d_post[idx]
    outer = occupancy(d_all[idx])
    inner = np.maximum(occupancy(db + P.CORTEX_BODY_MM), occupancy(dp + P.CORTEX_POSTERIOR_MM))
    if gap is not None:
        _cut_gap(canvas, sl, idx, outer, inner, gap)
    t = P.TISSUE
    core = np.where(db < dp, np.float32(lv.params.trabecular_hu),
                    np.float32(t.posterior_cancellous))
    core += texture[:shape[0], :shape[1], :shape[2]][idx] * np.float32(P.TRABECULAR_TEXTURE_HU)
    core += band[idx]
    _composite(canvas.hu[sl], idx, outer, inner, core)


def _composite(region: NDArray[np.float32], idx: tuple[NDArray[np.intp], ...],
               outer: NDArray[np.float32], inner: NDArray[np.float32],
               core: NDArray[np.float32] | np.float32) -> None:
    """Bone over whatever is there: cortex between the outer and inner surfaces, ``core``
    inside, partial volume on both surfaces."""
    cur = region[idx]
    region[idx] = cur * (1.0 - outer) + (outer - inner) * np.float32(P.TISSUE.cortex) + (
        inner * core)


def paint_ribs(canvas: Canvas, capsules: list[Capsule]) -> None:
    """Ribs: union of the capsules, 1 mm cortex over marrow-rich cancellous bone."""
    if not capsules:
        return
    boxes = [c.box_lps() for c in capsules]
    whole = canvas.box(np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes],
                                                                      axis=0))
    if whole is None:
        return
    sl = whole[0]
    d = np.full(canvas.hu[sl].shape, 50.0, dtype=np.float32)
    for cap, box in zip(capsules, boxes, strict=True):
        b = canvas.box(*box)
        if b is None:
            continue
        psl, x, y, z = b
        sub = _sub_slices(sl, psl)
        d[sub] = np.minimum(d[sub], cap.sdf(x, y, z))
    idx = touched(d)
    dd = d[idx]
    _composite(canvas.hu[sl], idx, occupancy(dd), occupancy(dd + 1.0),
               np.float32(P.RIB_MARROW_HU))


def _fracture_band(lv: LevelGeometry, x: F, y: F, z: F) -> NDArray[np.float32]:
    """Compacted trabeculae under the collapsed part of the superior endplate (+HU)."""
    body = lv.body
    u, v, w = body.frame.local(x, y, z)
    depth_below = body.top(u, v) - w
    weight = np.clip(body.fracture_loss(v) / body.loss_anterior, 0.0, 1.0)
    prof = np.clip(1.0 - np.abs(depth_below - 3.5) / 2.5, 0.0, 1.0)
    return (P.TISSUE.fracture_band * weight * prof).astype(np.float32)


def _cut_gap(canvas: Canvas, sl: tuple[slice, ...], idx: tuple[NDArray[np.intp], ...],
             outer: NDArray[np.float32], inner: NDArray[np.float32], gap: CorticalGap) -> None:
    """Remove the cortex inside a sphere: the shell there becomes surrounding soft tissue."""
    ax = canvas.axes()
    x = ax[0][sl[2]][idx[2]]
    y = ax[1][sl[1]][idx[1]]
    z = ax[2][sl[0]][idx[0]]
    c = gap.centre_lps
    r = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2)
    g = occupancy(r - gap.radius_mm)
    outer -= g * (outer - inner)


def render(column: Column, levels: list[LevelGeometry], discs: list[DiscShape], canal: Canal,
           trunk: Trunk, seed: int, gap: CorticalGap | None,
           shape_ij: tuple[int, int] = SHAPE_IJ,
           gap_level: str = P.FRACTURED_LEVEL) -> tuple[Canvas, NDArray[np.int16]]:
    """Paint the demo CT; returns the noise-free float canvas and the final int16 HU.

    ``shape_ij`` and ``gap_level`` differ from the demo's only for training variants; lungs
    are added when the case reaches above T10."""
    # the anatomy (fat marbling, trabecular texture) is the same for every seed; the seed
    # drives only the image noise
    anatomy_rng = np.random.default_rng(20260101)
    noise_rng = np.random.default_rng([seed, 7])
    origin, nk = grid_origin(column, levels, shape_ij)
    ni, nj = shape_ij
    x = origin[0] + np.arange(ni) * SPACING_MM[0]
    y = origin[1] + np.arange(nj) * SPACING_MM[1]
    variants = background_slices(x[None, :], y[:, None], trunk, anatomy_rng)
    hu = np.empty((nk, nj, ni), dtype=np.float32)
    blend_along_z(hu, variants)
    canvas = Canvas(hu, origin, SPACING_MM)
    l1 = next(lv for lv in levels if lv.name == "L1")
    if any(lv.name in ("T5", "T6", "T7", "T8", "T9") for lv in levels):
        z_t12 = next(float(lv.frame.origin_lps[2]) for lv in levels if lv.name == "T12")
        for shape, value in thorax_lungs(trunk.spine_y, z_t12 + 20.0,
                                         float(levels[0].frame.origin_lps[2])):
            canvas.paint_shape(shape, value)
    body_front = -float(np.mean([lv.params.depth for lv in levels])) / 2.0
    paint_vessels(canvas, column.points, body_front)
    paint_psoas(canvas, column.points, float(l1.frame.origin_lps[2]) + 10.0,
                l1.params.width / 2.0)
    z_of = {lv.name: float(lv.frame.origin_lps[2]) for lv in levels}
    organs = thorax_organs(trunk.spine_y, z_of["T11"], z_of["T12"])
    for shape, value in organs[:2] + kidneys(trunk.spine_y, z_of["L1"]) + organs[2:]:
        canvas.paint_shape(shape, value)
    for disc in discs:
        _paint_disc(canvas, disc)
    _paint_canal(canvas, canal, column)
    # one texture block serves every level (their boxes sit at different places)
    boxes = [_level_box(canvas, lv) for lv in levels]
    tex_shape = tuple(max(b[a].stop - b[a].start for b in boxes if b) for a in range(3))
    texture = _texture(anatomy_rng, tex_shape)
    for lv in levels:
        paint_ribs(canvas, rib_capsules(lv))
        paint_vertebra(canvas, lv, texture, gap if lv.name == gap_level else None)
    return canvas, noisy_int16(canvas.hu, noise_rng)


def _paint_disc(canvas: Canvas, disc: DiscShape) -> None:
    b = canvas.box(*disc.box_lps())
    if b is None:
        return
    sl, x, y, z = b
    t = P.TISSUE
    r = np.clip(disc.radial(x, y, z), 0.0, 1.0)
    value = t.disc_nucleus + (t.disc_annulus - t.disc_nucleus) * r * r
    canvas.paint(sl, disc.sdf(x, y, z), value)


def _paint_canal(canvas: Canvas, canal: Canal, column: Column, chunk: int = 16) -> None:
    """Canal contents, in slabs of ``chunk`` slices whose boxes follow the column."""
    t = P.TISSUE
    vmax = float(canal.centre_v.max() + canal.half_ap.max()) + 6.0
    vmin = float(canal.centre_v.min() - canal.half_ap.max()) - 3.0
    amax = float(canal.half_width.max()) + 5.0
    nk = canvas.hu.shape[0]
    for k0 in range(0, nk, chunk):
        z0 = canvas.origin[2] + k0 * canvas.spacing[2]
        z1 = canvas.origin[2] + min(nk, k0 + chunk) * canvas.spacing[2]
        near = np.abs(column.points[:, 2] - (z0 + z1) / 2.0) < (z1 - z0) / 2.0 + 15.0
        ys = column.points[near, 1]
        lo = np.array([-amax, ys.min() + vmin - 5.0, z0 - 0.1])
        hi = np.array([amax, ys.max() + vmax + 5.0, z1 - 0.5])
        b = canvas.box(lo, hi)
        if b is None:
            continue
        sl, x, y, z = b
        d = canal.sdfs(x, y, z)
        canvas.paint(sl, d["flavum"], t.ligament)
        canvas.paint(sl, d["canal"], t.epidural_fat)
        canvas.paint(sl, d["sac"], t.csf)
        canvas.paint(sl, d["cord"], t.cord)
