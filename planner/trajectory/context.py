"""Per-level precomputation for live trajectory checks: distance fields and anatomy facts.

Built once per level (a few hundred ms); every later :func:`~planner.trajectory.evaluate`
call only samples these arrays, which keeps a metric update under 10 ms while the user drags.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, LevelAnatomy, Morphometry
from planner.grid import FloatArray, ImageGrid
from planner.trajectory.fields import DistanceField, FieldSampler
from planner.trajectory.geometry import last_crossing
from planner.trajectory.pedicles import SIDE_SIGN as SIDE_SIGN  # re-exported
from planner.trajectory.pedicles import (
    PedicleInfo,
    from_ct,
    pedicle_info,
    refine_isthmus,
)
from planner.vertebra.pedicle import PosteriorSegmentation, segment_posterior
from planner.vertebra.posterior_bone import SOFT_TISSUE_HU
from planner.vertebra.posterior_lattice import body_axis_field, body_extent
from planner.volume import CTVolume

log = logging.getLogger(__name__)

#: The body's cortex is looked for in the CT up to this far beyond its mask (a mask that
#: stops short of the cortex, e.g. a notch at the anterior wall; tool assumption).
CORTEX_SEARCH_MM = 10.0
#: Tissue outside the body: a run this long below the half-way level between the bone edge
#: and soft tissue (:data:`~planner.vertebra.posterior_bone.SOFT_TISSUE_HU`) after bone was
#: seen (cancellous bone between a notch and the cortex stays above it at 3 mm voxels)...
SOFT_RUN_MM = 3.0
#: ...or below this HU (fat) anywhere (tool assumption: cancellous bone, even porotic, is above).
FAT_HU = -30.0
#: The CT's own bone bounds the corridor within the body's craniocaudal extent ± this (mm).
OWN_SLAB_MARGIN_MM = 1.0
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


@dataclass(frozen=True, eq=False)
class TrajectoryContext:
    """Everything :func:`evaluate` and :func:`suggest` need for one level.

    Notes
    -----
    Fields are signed distances in mm (+ inside) on the level's crop grid: ``bone`` (body ∪
    pedicles ∪ vertebra, pedicles extruded backwards when no vertebra mask is given),
    ``body`` and ``canal`` (:class:`~planner.trajectory.fields.DistanceField`).
    Geometry in LPS mm; body
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
    #: Pedicles, canal and posterior elements from the CT (structure codes on the crop grid).
    posterior: PosteriorSegmentation | None = None
    posterior_sampler: FieldSampler | None = None
    #: Smoothed pedicle masks − 0.5 (≥ 0 inside) per side, on the level's crop grid.
    pedicle_indicator: dict[str, NDArray[np.float32]] | None = None

    @classmethod
    def build(
        cls, volume: CTVolume, anatomy: LevelAnatomy, morphometry: Morphometry | None = None
    ) -> TrajectoryContext:
        """Precompute distance fields and anatomy facts for one level (once per level).

        The posterior elements are also segmented from the CT
        (:func:`planner.vertebra.pedicle.segment_posterior`, a wider crop) to name the bone a
        path crosses, and each pedicle's axis, isthmus centre, width and height come from
        the CT's cortical tube where it was found
        (:func:`~planner.trajectory.pedicles.from_ct`); without a
        whole-vertebra mask, the CT's own bone of the level bounds the corridor too.
        """
        posterior = segment_posterior(volume, anatomy)
        grid = anatomy.grid
        half = 0.5 * float(grid.spacing_mm.mean())
        frame = anatomy.frame
        pedicles = {s: pedicle_info(anatomy, s, half) for s in ("left", "right")}
        bone = anatomy.body | anatomy.pedicle_left | anatomy.pedicle_right
        if anatomy.vertebra is not None:
            bone = bone | anatomy.vertebra
        else:
            for info in pedicles.values():
                if info.voxels:
                    bone = bone | _extrude(anatomy.pedicle(info.side), frame, grid, info.axis_dir)
            bone = bone | (_own_bone(posterior, anatomy) & ~anatomy.canal)
        sampler = FieldSampler(grid)
        fields = {
            "bone": DistanceField.from_mask(bone, grid),
            "body": DistanceField.from_mask(anatomy.body, grid),
            "canal": DistanceField.from_mask(anatomy.canal, grid),
        }
        pedicles = {
            s: refine_isthmus(pedicles[s], fields["bone"], sampler, frame) for s in pedicles
        }
        pedicles = {s: from_ct(pedicles[s], posterior) for s in pedicles}
        if anatomy.pedicle_axes_lps:  # the surgeon's axes (two clicks) replace the fitted ones
            from planner.trajectory.pedicle_axis import corrected_pedicle

            for s, (entry, exit_) in anatomy.pedicle_axes_lps.items():
                pedicles[s] = corrected_pedicle(pedicles[s], frame, entry, exit_)
        from scipy.ndimage import gaussian_filter

        own = {
            s: gaussian_filter(anatomy.pedicle(s).astype(np.float32), 0.7, mode="nearest") - 0.5
            for s in ("left", "right")
        }
        return cls(
            volume=volume,
            anatomy=anatomy,
            morphometry=morphometry,
            sampler=sampler,
            ct_sampler=FieldSampler(volume.grid),
            fields=fields,
            frame=frame,
            body=_body_extent(anatomy, half, fields["body"], sampler),
            pedicles=pedicles,
            half_voxel_mm=half,
            posterior=posterior,
            posterior_sampler=FieldSampler(posterior.anatomy.grid),
            pedicle_indicator=own,
        )

    def structure(self, lps: FloatArray) -> NDArray[np.int8]:
        """Structure codes (:data:`planner.vertebra.pedicle.STRUCTURE_NAMES`) at LPS points
        ``(..., 3)``, nearest voxel; 0 outside the crop or without a CT segmentation."""
        p = np.asarray(lps, dtype=np.float64)
        if self.posterior is None or self.posterior_sampler is None:
            return np.zeros(p.shape[:-1], dtype=np.int8)
        from scipy.ndimage import map_coordinates

        kji = self.posterior_sampler.kji(p.reshape(-1, 3)).T
        v = map_coordinates(self.posterior.labels, kji, order=0, mode="constant", cval=0)
        return np.asarray(v.reshape(p.shape[:-1]), dtype=np.int8)

    def ap_extent(self, l_mm: float, s_mm: float) -> tuple[float, float]:
        """(anterior, posterior) AP coordinates (body frame, mm) of the body's outline on the
        AP line at left ``l_mm`` and superior ``s_mm``: its first and last crossings, so a
        notch in the mask does not shorten it, the anterior end moved out to the CT's cortex
        where the mask stops short of it; the central extent where the line misses."""
        p = np.arange(-80.0, 80.0, 0.25)
        line = np.column_stack([np.full_like(p, l_mm), p, np.full_like(p, s_mm)])
        v = self.indicator("body", self.frame.to_lps(line))
        inside = np.flatnonzero(np.nan_to_num(v, nan=-1.0) >= 0)
        if inside.size < 20:
            return self.body.p_anterior, self.body.p_posterior
        a, z = int(inside[0]), int(inside[-1])
        def cross(i: int, j: int) -> float:
            va, vb = float(v[i]), float(v[j])
            return float(p[i] + (p[j] - p[i]) * va / (va - vb)) if va != vb else float(p[i])
        lo = cross(a, a - 1) if a > 0 else float(p[0])
        hi = cross(z, z + 1) if z + 1 < len(p) else float(p[-1])
        ant = self.frame.rotation @ np.array([0.0, -1.0, 0.0])
        # the anterior cortex from the CT where the mask stops short of it; not the posterior
        # wall, where the body continues into the pedicles
        lo -= self.cortex_beyond(self.frame.to_lps(np.array([l_mm, lo, s_mm])), ant)
        return lo, hi

    def cortex_beyond(self, start_lps: FloatArray, direction_lps: FloatArray) -> float:
        """How far (mm) the CT's cortex extends beyond the mask's surface at ``start_lps``
        along ``direction_lps`` (outwards): the last half-maximum bone edge
        (:attr:`PosteriorSegmentation.edge_hu`) within :data:`CORTEX_SEARCH_MM`, before the
        tissue outside (≥ :data:`SOFT_RUN_MM` below the half-way level between edge and soft
        tissue after bone was seen, or of fat).
        0 when the CT shows no bone beyond the mask (the mask is on the cortex)."""
        if self.posterior is None:
            return 0.0
        edge = self.posterior.edge_hu
        soft = 0.5 * (edge + SOFT_TISSUE_HU)  # below: tissue, above: (porotic) cancellous bone
        t = np.arange(0.0, CORTEX_SEARCH_MM + 1e-9, 0.25)
        hu = self.hu(np.asarray(start_lps)[None] + t[:, None] * np.asarray(direction_lps)[None])
        hu = np.nan_to_num(hu, nan=-1000.0)
        run = int(round(SOFT_RUN_MM / 0.25))
        seen, last = False, -1
        for i in range(len(t)):
            if hu[i] >= edge:
                seen, last = True, i
                continue
            tail = hu[i : i + run]
            if (seen and np.all(tail < soft)) or np.all(tail < FAT_HU):
                break
        if last < 0 or last + 1 >= len(t):
            return 0.0
        a, b = float(hu[last]), float(hu[last + 1])
        return float(t[last] + 0.25 * (a - edge) / (a - b)) if a != b else float(t[last])

    def in_pedicle(self, side: str, lps: FloatArray) -> NDArray[np.bool_]:
        """True where LPS points ``(..., 3)`` lie inside the level's ``side`` pedicle."""
        if self.pedicle_indicator is None:
            return np.zeros(np.asarray(lps).shape[:-1], dtype=bool)
        v = self.sampler.sample(self.pedicle_indicator[side], lps, cval=-0.5)
        return np.asarray(v >= 0)

    def signed(self, name: str, lps: FloatArray) -> FloatArray:
        """Signed distance (mm, + inside) of field ``name`` at LPS points ``(..., 3)``."""
        return self.fields[name].signed(self.sampler, lps)

    def indicator(self, name: str, lps: FloatArray) -> FloatArray:
        """Smoothed mask − 0.5 (≥ 0 inside) of field ``name``; NaN outside the level's crop."""
        return self.sampler.sample(self.fields[name].indicator, lps, cval=np.nan)

    def in_crop(self, lps: FloatArray, margin_vox: float = 1.0) -> NDArray[np.bool_]:
        """True where LPS points lie inside the level's crop (by ``margin_vox`` voxels)."""
        ijk = self.anatomy.grid.lps_to_voxel(lps)
        hi = np.array(self.anatomy.grid.shape_kji[::-1], dtype=np.float64) - 1 - margin_vox
        return np.asarray(np.all((ijk >= margin_vox) & (ijk <= hi), axis=-1), dtype=bool)

    def outward(self, name: str, lps: FloatArray) -> FloatArray:
        """Unit LPS vector from the nearest surface point of field ``name`` towards the outside."""
        p = np.asarray(lps, dtype=np.float64).reshape(3)
        _, near = self.fields[name].nearest(p, bound_mm=60.0)
        v = p - near[0]
        n = float(np.linalg.norm(v))
        if not np.isfinite(n) or n < 1e-9:
            return np.zeros(3)
        inside = self.indicator(name, p[None])[0] >= 0
        return np.asarray(-v / n if inside else v / n, dtype=np.float64)

    def pedicle_axis_lps(self, side: str) -> tuple[FloatArray, FloatArray]:
        """(isthmus centre, unit axis direction towards anterior) of a pedicle in LPS mm, e.g.
        for the bull's-eye view (:func:`planner.drr.render_drr` ``direction_lps``)."""
        info = self.pedicles[side]
        return self.frame.to_lps(info.isthmus_point), self.frame.rotation @ info.axis_dir

    def hu(self, lps: FloatArray) -> FloatArray:
        """Trilinear HU at LPS points; NaN outside the image."""
        return self.ct_sampler.sample(self.volume.hu, lps, cval=np.nan)


def _body_extent(
    anatomy: LevelAnatomy, half: float, body: DistanceField, sampler: FieldSampler
) -> BodyExtent:
    """Extents from the voxel centres, with the AP depth measured with sub-voxel precision
    along the posterior axis through the body's origin (where the smoothed mask crosses 0.5
    for the last time: a notch in the mask that the ray dips out through does not shorten
    the depth)."""
    if not anatomy.body.any():
        raise ValueError(f"level {anatomy.level}: the body mask is empty")
    lo, hi = body_extent(anatomy, anatomy.body)
    frame = anatomy.frame
    steps = np.arange(0.0, 80.0, 0.25)
    ends = []
    for sign in (1.0, -1.0):
        ray = frame.to_lps(np.outer(sign * steps, [0.0, 1.0, 0.0]))
        ends.append(sign * last_crossing(sampler.sample(body.indicator, ray, cval=-0.5), 0.25))
    p_post, p_ant = ends
    if not (np.isfinite(p_post) and np.isfinite(p_ant)) or p_post - p_ant < 5.0:
        p_ant, p_post = float(lo[1] - half), float(hi[1] + half)  # origin not inside the body
    l_lo, l_hi = float(lo[0]), float(hi[0])
    if anatomy.body_corners is not None and (anatomy.body & ~anatomy.body_corners).any():
        # the width the needle targets are spread over: not widened by the pedicle bases a
        # lumbar body holds (planner.vertebra.corners)
        core_lo, core_hi = body_extent(anatomy, anatomy.body & ~anatomy.body_corners)
        l_lo, l_hi = float(core_lo[0]), float(core_hi[0])
    return BodyExtent(
        p_anterior=float(p_ant),
        p_posterior=float(p_post),
        p_posterior_max=float(hi[1] + half),
        l_min=float(l_lo - half),
        l_max=float(l_hi + half),
        s_min=float(lo[2] - half),
        s_max=float(hi[2] + half),
    )


def _own_bone(posterior: PosteriorSegmentation, anatomy: LevelAnatomy) -> NDArray[np.bool_]:
    """The level's own bone found in the CT (body, pedicles, arch, transverse processes) on the
    level's crop: without a vertebra mask, the corridor is what this bone allows."""
    from planner.vertebra.pedicle import ARCH, BODY, PEDICLE_LEFT, PEDICLE_RIGHT, TRANSVERSE

    own = np.isin(posterior.labels, (BODY, PEDICLE_LEFT, PEDICLE_RIGHT, ARCH, TRANSVERSE))
    off = np.asarray(anatomy.offset_kji) - np.asarray(posterior.anatomy.offset_kji)
    n = np.asarray(anatomy.grid.shape_kji)
    out = np.zeros(tuple(n), dtype=bool)
    lo = np.maximum(off, 0)
    hi = np.minimum(off + n, np.asarray(own.shape))
    if np.any(hi <= lo):
        return out
    src = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    dst = tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, off, strict=True))
    out[dst] = own[src]
    # the lattice is coarser than a fine CT: shrink by the difference so that the CT's bone
    # does not widen the exact masks it is joined to (it is only meant to bridge their gaps)
    from scipy.ndimage import binary_erosion

    finest = float(anatomy.grid.spacing_mm.min())
    shrink = int(np.ceil(max(posterior.lattice_step_mm - finest, 0.0) / finest - 1e-6))
    if shrink:
        out = binary_erosion(out, iterations=shrink)
    # only within the body's craniocaudal extent: above and below it the articular processes
    # of this level interlock with those of its neighbours
    lo, hi = body_extent(anatomy, anatomy.body)
    s_all = body_axis_field(anatomy.grid, anatomy.frame, 2)
    in_slab = (s_all >= lo[2] - OWN_SLAB_MARGIN_MM) & (s_all <= hi[2] + OWN_SLAB_MARGIN_MM)
    return np.asarray(out & in_slab, dtype=bool)


def _extrude(
    mask: np.ndarray, frame: BodyFrame, grid: ImageGrid, axis_dir: FloatArray
) -> np.ndarray:
    """The pedicle's posterior end face swept backwards along its axis by :data:`EXTRUDE_MM`.

    Only the last 2 mm of the pedicle are swept, so a pedicle wider at its base than at its
    isthmus is not widened.
    """
    kji = np.argwhere(mask)
    p = frame.to_body(grid.voxel_to_lps(kji[:, ::-1].astype(np.float64)))[:, 1]
    tail = kji[p >= p.max() - 2.0]
    back = -(frame.rotation @ axis_dir)
    step_kji = (grid.lps_to_ijk[:3, :3] @ back)[::-1]  # voxels per mm, (k, j, i)
    out = mask.copy()
    shape = np.array(mask.shape)
    for q in np.arange(0.5, EXTRUDE_MM + 1e-6, 0.5):
        moved = np.rint(tail + q * step_kji).astype(int)
        ok = np.all((moved >= 0) & (moved < shape), axis=1)
        out[tuple(moved[ok].T)] = True
    return out
