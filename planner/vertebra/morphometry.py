"""Morphometry of one segmented level: heights, depth, width, volume, wedge angle, density.

Method
------
All lengths are measured in the body frame (:class:`planner.anatomy.BodyFrame`). The mask
gives each edge to the voxel; the edge is then located on the raw HU profile along the
measuring line by its half-maximum crossing (between the cortical peak inside and the trough
outside, linearly interpolated), i.e. to a fraction of a voxel. Heights are taken in the
mid-sagittal plane at :data:`planner.anatomy.HEIGHT_POSITIONS_FRAC` of the AP depth from the
anterior edge (DOMAIN.md §2.2, 6-point morphometry), between the outer endplate surfaces.
The wedge angle is ``atan((Hp - Ha) / (x_p - x_a))``, + = anterior lower (Masharawi 2010
sign). Trabecular HU is the mean raw HU of the body deeper than 3 mm from its surface
(an eroded core, clear of the cortex; DOMAIN.md §7.1 thresholds apply to it).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import HEIGHT_POSITIONS_FRAC, WALLS, Heights, LevelAnatomy
from planner.errors import AnalysisError
from planner.grid import FloatArray
from planner.vertebra.common import half_max_crossing, voxel_centres_lps
from planner.volume import CTVolume

STEP_MM = 0.1
CORE_DEPTH_MM = 3.0
#: Edge level between the trough (0) and the cortical peak (1); see planner.vertebra.body.
EDGE_LEVEL = 0.6
#: Level for the endplates: their thin cortex is blurred more along the slice axis (1 mm
#: slices); 0.65 removes the mean outward bias measured on the demo case (0.4 mm at 0.5).
ENDPLATE_LEVEL = 0.65
#: Along thicker sampling (> 1.25 mm per voxel along the cranial axis, e.g. 3 mm slices) the
#: blur of the plate is dominated by the slice profile, and the endplate is located at half
#: maximum (0.5): 0.65 there put the edges ~0.8 mm inside the CT's half-maximum endplate
#: edges on every level of ../shared/data/totalseg_example.
THICK_SAMPLING_MM = 1.25
#: Endplate edges are fitted over lines ±3 mm (AP) around each measuring point; a line
#: (quadratic in the concave middle) through them averages the slice-phase error.
PATCH_MM = 3.0


def refine_edge(volume: CTVolume, origin: FloatArray, direction: FloatArray,
                guess_mm: float, window_mm: float = 2.5, level: float | None = None) -> float:
    """Distance along ``direction`` from ``origin`` of the body surface near ``guess_mm``."""
    t = np.arange(guess_mm - window_mm, guess_mm + window_mm + STEP_MM / 2, STEP_MM)
    prof = volume.sample_lps(origin + t[:, None] * direction, fill=-1000.0)
    if not np.isfinite(prof).all():
        return float(guess_mm)
    i_edge = int(np.argmin(np.abs(t - guess_mm)))
    # the steepest descent within ±1.5 mm of the mask edge is the surface
    lo, hi = max(1, i_edge - 15), min(len(t) - 1, i_edge + 15)
    d = prof[lo - 1:hi - 1] - prof[lo + 1:hi + 1]
    i_edge = lo + int(np.argmax(d))
    return half_max_crossing(t, prof, i_edge, int(window_mm / STEP_MM),
                             EDGE_LEVEL if level is None else level)


class BodyCoords:
    """Body-frame coordinates of the mask voxels (left, posterior, superior), mm."""

    def __init__(self, anatomy: LevelAnatomy) -> None:
        pts = voxel_centres_lps(anatomy.grid)[anatomy.body]
        if len(pts) < 50:
            raise AnalysisError(f"the body mask of {anatomy.level} is empty or tiny "
                                f"({len(pts)} voxels); segment the level again")
        self.frame = anatomy.frame
        self.xyz = anatomy.frame.to_body(pts)
        self.tol = float(np.max(anatomy.grid.spacing_mm))

    def extent(self, axis: int, fixed: dict[int, float]) -> tuple[float, float]:
        """Mask extent along ``axis`` on the line where the other coordinates are ``fixed``."""
        sel = np.ones(len(self.xyz), dtype=bool)
        for ax, val in fixed.items():
            sel &= np.abs(self.xyz[:, ax] - val) <= self.tol
        if sel.sum() < 2:
            raise AnalysisError("the measuring line misses the body mask; check the segmentation")
        v = self.xyz[sel, axis]
        return float(v.min()), float(v.max())

    def edges(self, volume: CTVolume, axis: int, fixed: dict[int, float]) -> tuple[float, float]:
        lo, hi = self.extent(axis, fixed)
        point = np.zeros(3)
        for ax, val in fixed.items():
            point[ax] = val
        origin = self.frame.to_lps(point)
        d = self.frame.rotation[:, axis]
        return -refine_edge(volume, origin, -d, -lo), refine_edge(volume, origin, d, hi)


def _endplates(volume: CTVolume, bc: BodyCoords, x: float, wall: str) -> tuple[float, float]:
    """Inferior and superior endplate positions (superior coordinate) at AP position ``x``."""
    offs = {"anterior": np.linspace(0, 2 * PATCH_MM, 7), "middle": np.linspace(
        -PATCH_MM, PATCH_MM, 7), "posterior": np.linspace(-2 * PATCH_MM, 0, 7)}[wall]
    tops, bots, used = [], [], []
    step = 1.0 / float(np.linalg.norm(volume.grid.lps_to_ijk[:3, :3] @ bc.frame.superior))
    level = ENDPLATE_LEVEL if step <= THICK_SAMPLING_MM else 0.5
    for dx in offs:
        try:
            lo, hi = bc.extent(2, {0: 0.0, 1: x + dx})
        except AnalysisError:
            continue
        origin = bc.frame.to_lps([0.0, x + dx, 0.0])
        d = bc.frame.superior
        tops.append(refine_edge(volume, origin, d, hi, level=level))
        bots.append(-refine_edge(volume, origin, -d, -lo, level=level))
        used.append(dx)
    if len(used) < 3:
        lo, hi = bc.edges(volume, 2, {0: 0.0, 1: x})
        return lo, hi
    deg = 2 if wall == "middle" and len(used) >= 5 else 1
    return _robust_at_zero(used, bots, deg), _robust_at_zero(used, tops, deg)


def _robust_at_zero(x: list[float], y: list[float], deg: int) -> float:
    """Polynomial fit of y(x) evaluated at 0, refitted without points off by > 0.5 mm."""
    xa, ya = np.asarray(x), np.asarray(y)
    keep = np.ones(len(xa), dtype=bool)
    for _ in range(2):
        coef = np.polyfit(xa[keep], ya[keep], deg)
        res = np.abs(np.polyval(coef, xa) - ya)
        new = res <= max(0.5, 2.5 * float(np.median(res[keep])))
        if new.sum() < deg + 2 or (new == keep).all():
            break
        keep = new
    return float(np.polyval(coef, 0.0))


def heights_and_geometry(volume: CTVolume, anatomy: LevelAnatomy) -> dict[str, object]:
    """Heights, depth, width, wedge angle and the measuring points (body frame)."""
    bc = BodyCoords(anatomy)
    ant, post = bc.edges(volume, 1, {0: 0.0, 2: 0.0})
    depth = post - ant
    heights: dict[str, float] = {}
    xs: dict[str, float] = {}
    ends: dict[str, tuple[float, float]] = {}
    for wall in WALLS:
        x = ant + HEIGHT_POSITIONS_FRAC[wall] * depth
        lo, hi = _endplates(volume, bc, x, wall)
        heights[wall], xs[wall], ends[wall] = hi - lo, x, (lo, hi)
    right, left = bc.edges(volume, 0, {1: 0.5 * (ant + post), 2: 0.0})
    dx = xs["posterior"] - xs["anterior"]
    wedge = float(np.degrees(np.arctan2(heights["posterior"] - heights["anterior"], dx)))
    return {"heights": Heights(**heights), "depth": depth, "width": left - right,
            "wedge": wedge, "x": xs, "ends": ends, "ap": (ant, post)}


def trabecular_hu(volume: CTVolume, anatomy: LevelAnatomy) -> float:
    """Mean HU of the body deeper than 3 mm (2 mm if the core would be too small).

    The distance map is computed on the body's bounding box plus one empty voxel (the
    anatomy crop also holds the canal and the pedicles, ~3x more voxels): the nearest voxel
    outside the body is never further than that margin, so the depths are the same.
    """
    from scipy import ndimage as ndi

    body = anatomy.body
    if not body.any():
        return float("nan")
    box = []
    for axis in range(3):
        hit = np.nonzero(body.any(axis=tuple(a for a in range(3) if a != axis)))[0]
        box.append(slice(max(0, int(hit[0]) - 1), int(hit[-1]) + 2))
    part = body[tuple(box)]
    sub = np.pad(part, 1)  # a voxel of background on every face
    dist = ndi.distance_transform_edt(sub, sampling=anatomy.grid.spacing_mm[::-1])
    dist = dist[1:-1, 1:-1, 1:-1]
    k0, j0, i0 = (o + b.start for o, b in zip(anatomy.offset_kji, box, strict=True))
    nk, nj, ni = part.shape
    hu = volume.hu[k0:k0 + nk, j0:j0 + nj, i0:i0 + ni]
    for depth in (CORE_DEPTH_MM, 2.0, 1.0):
        core: NDArray[np.bool_] = dist > depth
        if core.sum() >= 30:
            return float(hu[core].mean())
    return float(hu[part].mean())


def posterior_wall_bulge_mm(volume: CTVolume, anatomy: LevelAnatomy,
                            geom: dict[str, object]) -> float:
    """Largest protrusion of the mid-sagittal posterior wall behind the line of its corners."""
    bc = BodyCoords(anatomy)
    lo, hi = geom["ends"]["posterior"]  # type: ignore[index]
    zs = np.linspace(lo + 0.15 * (hi - lo), hi - 0.15 * (hi - lo), 9)
    wall = np.array([bc.edges(volume, 1, {0: 0.0, 2: float(z)})[1] for z in zs])
    line = np.interp(zs, [zs[0], zs[-1]], [wall[0], wall[-1]])
    return float(np.max(wall - line))


def body_points(anatomy: LevelAnatomy) -> FloatArray:
    """Body-frame coordinates of the body voxels (for shape comparison)."""
    return BodyCoords(anatomy).xyz
