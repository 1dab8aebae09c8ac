"""Per-level precomputation for live trajectory checks: distance fields and anatomy facts.

Built once per level (a few hundred ms); every later :func:`~planner.trajectory.evaluate`
call only samples these arrays, which keeps a metric update under 10 ms while the user drags.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from planner.anatomy import BodyFrame, LevelAnatomy, Morphometry
from planner.grid import FloatArray, ImageGrid
from planner.trajectory.fields import DistanceField, FieldSampler
from planner.volume import CTVolume

log = logging.getLogger(__name__)

SIDE_SIGN = {"left": 1.0, "right": -1.0}
#: Without a whole-vertebra mask the pedicle mask ends in a cut face posteriorly; the bone
#: field extrudes each pedicle this far backwards so the cut does not look like a cortex.
EXTRUDE_MM = 12.0


@dataclass(frozen=True, slots=True)
class BodyExtent:
    """The body's extent in its own frame (mm; see :mod:`planner.anatomy` for the axes).

    ``p_anterior``/``p_posterior`` are measured in a central column (mid-sagittal, mid-height)
    and define the AP depth used for the tip depth; ``p_posterior_max`` is the most posterior
    point of the body anywhere, the posterior wall as a lateral projection shows it.
    """

    p_anterior: float
    p_posterior: float
    p_posterior_max: float
    l_min: float
    l_max: float
    s_min: float
    s_max: float

    @property
    def depth_mm(self) -> float:
        return self.p_posterior - self.p_anterior

    @property
    def width_mm(self) -> float:
        return self.l_max - self.l_min

    @property
    def height_mm(self) -> float:
        return self.s_max - self.s_min


@dataclass(frozen=True, slots=True)
class PedicleInfo:
    """One pedicle in body coordinates (left, posterior, superior; mm).

    ``axis_point``/``axis_dir`` are a least-squares line through the centroids of its
    cross-sections (direction pointing anterior); ``isthmus_point`` is the centroid of the
    smallest cross-section. ``u_medial`` is the medial border as an AP projection shows it,
    as a distance from the midline towards this side.
    """

    side: str
    p_min: float
    p_max: float
    u_medial: float
    axis_point: FloatArray
    axis_dir: FloatArray
    isthmus_point: FloatArray
    voxels: int


@dataclass(frozen=True, eq=False)
class TrajectoryContext:
    """Everything :func:`evaluate` and :func:`suggest` need for one level.

    Notes
    -----
    Fields are signed distances in mm (+ inside) on the level's crop grid: ``bone`` (body ∪
    pedicles ∪ vertebra, pedicles extruded backwards when no vertebra mask is given),
    ``body`` and ``canal`` (:class:`~planner.trajectory.fields.DistanceField`). Geometry in LPS mm; body
    coordinates via ``frame``.
    """

    volume: CTVolume
    anatomy: LevelAnatomy
    morphometry: Morphometry | None
    sampler: FieldSampler
    ct_sampler: FieldSampler
    fields: dict[str, DistanceField]
    frame: BodyFrame
    body: BodyExtent
    pedicles: dict[str, PedicleInfo]
    half_voxel_mm: float

    @classmethod
    def build(
        cls, volume: CTVolume, anatomy: LevelAnatomy, morphometry: Morphometry | None = None
    ) -> TrajectoryContext:
        """Precompute distance fields and anatomy facts for one level (once per level)."""
        grid = anatomy.grid
        half = 0.5 * float(grid.spacing_mm.mean())
        frame = anatomy.frame
        pedicles = {s: _pedicle_info(anatomy, s, half) for s in ("left", "right")}
        bone = anatomy.body | anatomy.pedicle_left | anatomy.pedicle_right
        if anatomy.vertebra is not None:
            bone = bone | anatomy.vertebra
        else:
            for info in pedicles.values():
                if info.voxels:
                    bone = bone | _extrude(anatomy.pedicle(info.side), frame, info, grid)
        fields = {
            "bone": DistanceField.from_mask(bone, grid),
            "body": DistanceField.from_mask(anatomy.body, grid),
            "canal": DistanceField.from_mask(anatomy.canal, grid),
        }
        return cls(
            volume=volume,
            anatomy=anatomy,
            morphometry=morphometry,
            sampler=FieldSampler(grid),
            ct_sampler=FieldSampler(volume.grid),
            fields=fields,
            frame=frame,
            body=_body_extent(anatomy, half),
            pedicles=pedicles,
            half_voxel_mm=half,
        )

    def sample(self, name: str, lps: FloatArray) -> FloatArray:
        """Approximate signed distance (grid, trilinear) of field ``name`` at LPS points."""
        return self.sampler.sample(self.fields[name].grid_sdf, lps)

    def exact(self, name: str, lps: FloatArray) -> FloatArray:
        """Signed distance of field ``name`` to its sub-voxel surface at LPS points."""
        return self.fields[name].exact(self.sampler, lps)

    def indicator(self, name: str, lps: FloatArray) -> FloatArray:
        """Smoothed mask − 0.5 (≥ 0 inside) of field ``name``: for locating crossings on rays."""
        return self.sampler.sample(self.fields[name].indicator, lps)

    def gradient(self, name: str, lps: FloatArray) -> FloatArray:
        """Gradient (per mm, LPS) of the approximate distance of field ``name``, ``(n, 3)``."""
        return self.sampler.gradient(self.fields[name].grid_sdf, lps)

    def hu(self, lps: FloatArray) -> FloatArray:
        """Trilinear HU at LPS points; NaN outside the image."""
        return self.ct_sampler.sample(self.volume.hu, lps, cval=np.nan)


def _voxel_body_coords(anatomy: LevelAnatomy, mask: np.ndarray) -> FloatArray:
    kji = np.argwhere(mask)
    lps = anatomy.grid.voxel_to_lps(kji[:, ::-1].astype(np.float64))
    return anatomy.frame.to_body(lps)


def _body_extent(anatomy: LevelAnatomy, half: float) -> BodyExtent:
    b = _voxel_body_coords(anatomy, anatomy.body)
    if b.shape[0] == 0:
        raise ValueError(f"level {anatomy.level}: the body mask is empty")
    l, p, s = b[:, 0], b[:, 1], b[:, 2]
    s_lo, s_hi = s.min() - half, s.max() + half
    h = s_hi - s_lo
    col = (np.abs(l) <= max(3.0, 2 * half)) & (np.abs(s - 0.5 * (s_lo + s_hi)) <= 0.25 * h)
    pc = p[col] if col.any() else p
    return BodyExtent(
        p_anterior=float(pc.min() - half),
        p_posterior=float(pc.max() + half),
        p_posterior_max=float(p.max() + half),
        l_min=float(l.min() - half),
        l_max=float(l.max() + half),
        s_min=float(s_lo),
        s_max=float(s_hi),
    )


def _pedicle_info(anatomy: LevelAnatomy, side: str, half: float) -> PedicleInfo:
    sign = SIDE_SIGN[side]
    b = _voxel_body_coords(anatomy, anatomy.pedicle(side))
    if b.shape[0] < 4:
        nan3 = np.full(3, np.nan)
        return PedicleInfo(side, np.nan, np.nan, np.nan, nan3, nan3, nan3, int(b.shape[0]))
    p = b[:, 1]
    step = max(1.0, 2 * half)
    edges = np.arange(p.min(), p.max() + step, step)
    cents, areas = [], []
    for lo in edges[:-1]:
        sel = (p >= lo) & (p < lo + step)
        if sel.sum() >= 3:
            cents.append(b[sel].mean(axis=0))
            areas.append(int(sel.sum()))
    c = np.array(cents)
    if len(c) >= 2:
        # l(p) and s(p) as straight lines through the cross-section centroids
        coef_l = np.polyfit(c[:, 1], c[:, 0], 1)
        coef_s = np.polyfit(c[:, 1], c[:, 2], 1)
        d = np.array([-coef_l[0], -1.0, -coef_s[0]])  # towards anterior (−p)
        d /= np.linalg.norm(d)
    else:
        d = np.array([0.0, -1.0, 0.0])
    centre = b.mean(axis=0)
    inner = slice(1, -1) if len(areas) > 4 else slice(None)
    k = int(np.argmin(areas[inner])) + (1 if len(areas) > 4 else 0)
    return PedicleInfo(
        side=side,
        p_min=float(p.min() - half),
        p_max=float(p.max() + half),
        u_medial=float((sign * b[:, 0]).min() - half),
        axis_point=centre,
        axis_dir=d,
        isthmus_point=c[k] if len(c) else centre,
        voxels=int(b.shape[0]),
    )


def _extrude(mask: np.ndarray, frame: BodyFrame, info: PedicleInfo, grid: ImageGrid) -> np.ndarray:
    """The pedicle's posterior end face swept backwards along its axis by :data:`EXTRUDE_MM`.

    Only the last 2 mm of the pedicle are swept, so a pedicle wider at its base than at its
    isthmus is not widened.
    """
    from scipy.ndimage import shift

    kji = np.argwhere(mask)
    p = frame.to_body(grid.voxel_to_lps(kji[:, ::-1].astype(np.float64)))[:, 1]
    tail = np.zeros_like(mask)
    sel = kji[p >= p.max() - 2.0]
    tail[sel[:, 0], sel[:, 1], sel[:, 2]] = True
    back_lps = -(frame.rotation @ info.axis_dir)
    step_ijk = grid.lps_to_ijk[:3, :3] @ back_lps  # voxels per mm along the backward axis
    n = int(np.ceil(EXTRUDE_MM * np.abs(step_ijk).max()))
    out = mask.copy()
    t8 = tail.astype(np.uint8)
    for q in range(1, n + 1):
        d_ijk = step_ijk * (EXTRUDE_MM * q / n)
        out |= shift(t8, d_ijk[::-1], order=0, mode="constant", cval=0, prefilter=False).astype(bool)
    return out
