"""Segment one level: body (star ray casting), frame (endplates), canal and pedicles.

Method for the posterior parts (see :mod:`planner.vertebra.body` for the body)
-------------------------------------------------------------------------------
- Canal: in the plane through the body centre ⊥ the craniocaudal axis, a 2D ray cast from a
  point 8 mm behind the posterior wall finds the bone around the dark canal (CSF/fat < 70 HU,
  bone ≥ 140 HU); its centroid, iterated twice, is the canal centre. The canal mask is this
  cross-section extruded over the body's craniocaudal extent. The body-to-canal direction is
  the posterior axis of the frame.
- Pedicles: the whole vertebra is the 3D hole-fill of the closed bone mask joined with the
  body (the cortex encloses the cancellous bone of pedicles and arch); the pedicles are its
  part between the posterior-wall plane and the back of the canal, lateral to the canal,
  within the body's craniocaudal extent (the pedicle base plane lies just behind the wall).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.errors import AnalysisError
from planner.grid import FloatArray, ImageGrid
from planner.vertebra.body import (
    RayProfiles,
    StarShape,
    cast_profiles,
    star_bbox,
    star_centroid,
    star_from_profiles,
    star_mask,
    star_volume_mm3,
)
from planner.vertebra.common import crop_box, orthonormal_frame, sample, smoothed_crop
from planner.vertebra.corners import LUMBAR_LEVELS, with_corners
from planner.vertebra.endplates import endplate_frame
from planner.vertebra.frame import superior_axis
from planner.vertebra.ray_edges import MIN_EDGE_HU
from planner.volume import CTVolume

HALF_CROP_MM = 44.0
CANAL_MAX_R_MM = 16.0
FIND_SIGMA_MM = 0.8


class BodyFit:
    """Star shape of one body and the smoothed crop it was found in (internal working value)."""

    def __init__(self, star: StarShape, grid: ImageGrid, start: tuple[int, int, int],
                 sm: NDArray[np.float32], raw: NDArray[np.float32] | None = None) -> None:
        self.star, self.grid, self.start, self.sm = star, grid, start, sm
        #: the unsmoothed crop (None for a fit whose outline was edited, e.g. clipped)
        self.raw = raw
        #: the ray profiles ``star`` was found on (:func:`refine_outline` reuses them)
        self.rays: RayProfiles | None = None
        self._mask: NDArray[np.bool_] | None = None
        #: (series UID, geometry fingerprint) of the volume the fit was made on
        self.source: tuple[str, str] = ("", "")
        #: (point, outward normal) of the planes the outline was cut at (LPS mm; e.g. the
        #: discs found on the column profile), kept so a refit can be cut the same way
        self.clip_planes: tuple[tuple[FloatArray, FloatArray], ...] = ()
        #: the level's centre is taken from its walls, not the volume centroid (a fit on a
        #: noisy image, see :mod:`planner.vertebra.noisy_fit`)
        self.centre_from_walls = False
        #: the fit before it was clipped (with its raw crop and rays), so the final outline
        #: can be refined and cut again (:func:`refine_outline`)
        self.unclipped: BodyFit | None = None

    @property
    def mask(self) -> NDArray[np.bool_]:
        """Body mask on the fit's crop grid (computed on first use)."""
        if self._mask is None:
            self._mask = star_mask(self.star, self.grid)
        return self._mask

    @property
    def centroid_lps(self) -> FloatArray:
        return star_centroid(self.star)

    @property
    def volume_ml(self) -> float:
        return float(self.mask.sum()) * self.grid.voxel_volume_mm3 / 1000.0

    def extent_along(self, axis: FloatArray) -> tuple[float, float]:
        """(min, max) of the surface along ``axis`` relative to the star centre, mm."""
        d = (self.star.surface_lps() - self.star.centre_lps) @ axis
        return float(d.min()), float(d.max())

    def pole_mm(self, direction: int) -> float:
        """Distance from the star centre to the superior (+1) or inferior (-1) endplate."""
        row = self.star.radius_mm[0 if direction > 0 else -1]
        return float(np.median(row))

    def with_mask(self, mask: NDArray[np.bool_]) -> BodyFit:
        """The same fit with its body mask replaced (e.g. posterolateral corners added)."""
        out = BodyFit(self.star, self.grid, self.start, self.sm, self.raw)
        out._mask = mask
        out.source = self.source
        return out

    def sub(self, start: tuple[int, int, int], stop: tuple[int, int, int]) -> BodyFit:
        """The same fit on a sub-box ``[start, stop)`` of its crop."""
        sl = tuple(slice(x, y) for x, y in zip(start, stop, strict=True))
        out = BodyFit(self.star, self.grid.crop(start, stop),
                      tuple(o + x for o, x in zip(self.start, start, strict=True)),  # type: ignore[arg-type]
                      self.sm[sl])
        out._mask = self.mask[sl]
        out.source = self.source
        return out


def fit_body(volume: CTVolume, centre: FloatArray, superior: FloatArray,
             posterior: FloatArray, iterations: int = 6,
             sigma_mm: float = FIND_SIGMA_MM, mirror_tol_mm: float | None = None) -> BodyFit:
    """Ray-cast the body from ``centre``, re-centring and re-orienting until stable.

    ``sigma_mm`` is the Gaussian smoothing of the crop the edges are detected on (they are
    located on the unsmoothed crop).
    """
    c = np.asarray(centre, float)
    sup = np.asarray(superior, float)
    post = np.asarray(posterior, float)
    start, stop = crop_box(volume.grid, c, HALF_CROP_MM)
    if min(b - a for a, b in zip(start, stop, strict=True)) < 4:
        raise AnalysisError(f"the point {np.round(c, 1).tolist()} (LPS mm) is outside the scan")
    grid = volume.grid.crop(start, stop)
    sm = smoothed_crop(volume, start, stop, sigma_mm=sigma_mm)
    raw = smoothed_crop(volume, start, stop, sigma_mm=0.0)
    fit = None
    for it in range(iterations):
        left, post, sup = orthonormal_frame(sup, post)
        rays = cast_profiles(sm, grid, c, left, post, sup, raw)
        fit = BodyFit(star_from_profiles(rays), grid, start, sm, raw)
        fit.rays = rays
        if mirror_tol_mm is not None:
            fit = mirror_capped(fit, mirror_tol_mm)
        new_c = fit.centroid_lps
        sup = superior_axis(fit.star)
        moved = float(np.linalg.norm(new_c - c))
        c = new_c
        if moved < 0.7 and it > 0:
            break
    if fit is not None:
        fit.source = (volume.series_uid, volume.grid.fingerprint())
    if fit is None or star_volume_mm3(fit.star) < 20 * grid.voxel_volume_mm3:
        raise AnalysisError(
            f"no vertebral body found at {np.round(centre, 1).tolist()} (LPS mm); click inside "
            "the body (cancellous bone), not in a disc, the canal or soft tissue")
    return fit


def mirror_capped(fit: BodyFit, tol_mm: float) -> BodyFit:
    """``fit`` with every ray capped at its mirror ray's radius (across the star's
    mid-sagittal plane) + ``tol_mm``."""
    from dataclasses import replace

    r = fit.star.radius_mm
    n_phi = r.shape[1]
    mirror = r[:, (-np.arange(n_phi)) % n_phi]
    capped = np.minimum(r, mirror + tol_mm)
    out = BodyFit(replace(fit.star, radius_mm=capped), fit.grid, fit.start, fit.sm)
    out.source = fit.source
    return out


def clip_fit(fit: BodyFit, planes: tuple[tuple[FloatArray, FloatArray], ...],
             ) -> BodyFit | None:
    """``fit`` with its outline cut at ``planes`` ((point, outward normal), LPS mm); None when
    the centre lies within 1 mm of a plane (or beyond it)."""
    from dataclasses import replace

    star = fit.star
    dirs = star.directions()
    radius = star.radius_mm.copy()
    for point, normal in planes:
        dn = dirs @ normal
        room = float((point - star.centre_lps) @ normal)
        if room <= 1.0:
            return None
        with np.errstate(divide="ignore"):
            radius = np.where(dn > 1e-6, np.minimum(radius, room / np.maximum(dn, 1e-6)),
                              radius)
    out = BodyFit(replace(star, radius_mm=radius), fit.grid, fit.start, fit.sm)
    out.source = fit.source
    out.clip_planes = planes
    out.centre_from_walls = fit.centre_from_walls
    out.unclipped = fit if fit.raw is not None else fit.unclipped
    return out


def refine_outline(fit: BodyFit, fill_notches: bool = False) -> BodyFit:
    """The found body's final outline: from the ray profiles of its last cast (re-cast from
    the same centre and axes if they were dropped), side and front edges moved from internal
    sclerotic bands to the cortex beyond them and out of notches to the cortex at the convex
    outline (:func:`planner.vertebra.body.fill_notches_to_hull`).

    Finding and following the bodies (seeds, hops, naming) uses the plain casts: moving edges
    there changes which starts converge where (measured: the automatic walk on
    ../shared/data/cptac_chest_ct, and seeds on tptbox_l3). A fit clipped at its discs (a
    body found on the column profile of a chest CT, or refitted on a noisy image) is refined
    before the cut, its notched side and front rays also moved to the convex outline
    (``fill_notches``), and cut again at the same planes; another fit without its raw crop
    (an edited outline) is returned unchanged.

    The notch fill is not applied to the other fits: on ../shared/data/totalseg_example it
    moved L1's front wall 2-3 mm forward onto its rim (anterior height 1.9 mm short of the
    CT's endplate edges, middle 2.0 mm long; limit 1.5) and changed tptbox_l3's pedicle
    width's dependence on the body outline to 0.8 mm (limit 0.5), where these outlines already
    have Dice 0.92-0.94 against the labels.
    """
    if fit.raw is None:
        if fit.unclipped is None or not fit.clip_planes:
            return fit
        whole = fit.unclipped
        inner = refine_outline(whole, fill_notches=True)
        if inner is whole:
            return fit  # nothing moved: keep the clipped fit and its mask
        return clip_fit(inner, fit.clip_planes) or fit
    s = fit.star
    rays = fit.rays
    if rays is None:
        rays = cast_profiles(fit.sm, fit.grid, s.centre_lps, s.left, s.posterior, s.superior,
                             fit.raw)
    star = star_from_profiles(rays, skip_bands=True, fill_notches=fill_notches)
    fit.rays = None  # ~2 MB per level, not needed again
    if np.array_equal(star.radius_mm, s.radius_mm):
        return fit  # no band: keep the fit and its mask
    out = BodyFit(star, fit.grid, fit.start, fit.sm, fit.raw)
    out.source = fit.source
    return out


def _canal_section(fit: BodyFit, frame_left: FloatArray, frame_post: FloatArray,
                   centre: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Canal centre (LPS) and its boundary radius per azimuth (36 rays in the axial plane)."""
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    dirs = np.cos(ang)[:, None] * frame_post + np.sin(ang)[:, None] * frame_left
    r = np.arange(0.0, CANAL_MAX_R_MM, 0.5)
    c = centre + (fit.star.posterior_wall_mm + 8.0) * frame_post
    radius = np.full(36, np.nan)
    for _ in range(3):
        prof = sample(fit.sm, fit.grid, c + dirs[:, None, :] * r[None, :, None], fill=np.nan)
        hit = prof >= MIN_EDGE_HU
        radius = np.where(hit.any(axis=1), r[np.argmax(hit, axis=1)], np.nan)
        if np.isfinite(radius).sum() < 12:
            break
        radius = np.where(np.isfinite(radius), radius, np.nanmedian(radius))
        c = c + (dirs * radius[:, None]).mean(axis=0)
    return c, radius


def _posterior_masks(fit: BodyFit, frame: BodyFrame, canal_c: FloatArray,
                     canal_r: FloatArray, si: tuple[float, float]) -> tuple[
                         NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    from scipy import ndimage as ndi

    from planner.vertebra.common import voxel_centres_lps

    body = frame.to_body(voxel_centres_lps(fit.grid))
    cb = frame.to_body(canal_c)
    rel_l, rel_p = body[..., 0] - cb[0], body[..., 1] - cb[1]
    in_si = (body[..., 2] >= si[0]) & (body[..., 2] <= si[1])
    phi = np.mod(np.arctan2(rel_l, rel_p), 2 * np.pi)
    rr = np.interp(phi, np.linspace(0, 2 * np.pi, 37), np.append(canal_r, canal_r[0]))
    canal = in_si & (np.hypot(rel_l, rel_p) <= rr) & ~fit.mask
    if not np.isfinite(canal_r).all():
        canal[:] = False
        canal_r = np.full_like(canal_r, 8.0)  # no canal wall found: a typical half-width
    half_w = float(np.max(np.abs(np.sin(np.linspace(0, 2 * np.pi, 37)[:-1]) * canal_r)))
    back = cb[1] + (0.0 if not np.isfinite(half_w) else 0.3 * half_w)
    bone = ndi.binary_closing(fit.sm >= MIN_EDGE_HU, iterations=1) | fit.mask
    vertebra = ndi.binary_fill_holes(bone)
    wall = fit.star.posterior_wall_mm + float(np.dot(fit.star.centre_lps - frame.origin_lps,
                                                     frame.posterior))
    zone = (in_si & (body[..., 1] > wall - 0.5) & (body[..., 1] <= back)
            & (np.abs(rel_l) > 0.6 * half_w) & (np.abs(rel_l) < half_w + 16.0))
    ped = vertebra & zone & ~fit.mask & ~canal
    return canal, ped & (rel_l > 0), ped & (rel_l < 0)


Box = tuple[tuple[int, int, int], tuple[int, int, int]]


def _union_box(p: Box, q: Box) -> Box:
    """Smallest index box [start, stop) holding both boxes."""
    a = tuple(min(u, v) for u, v in zip(p[0], q[0], strict=True))
    b = tuple(max(u, v) for u, v in zip(p[1], q[1], strict=True))
    return a, b  # type: ignore[return-value]


def _mask_box(mask: NDArray[np.bool_]) -> Box:
    """Index box [start, stop) of the true voxels of a non-empty mask."""
    idx = np.argwhere(mask)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return (int(lo[0]), int(lo[1]), int(lo[2])), (int(hi[0]), int(hi[1]), int(hi[2]))


def build_anatomy(level: str, fit: BodyFit) -> LevelAnatomy:
    """Frame, canal and pedicles around a fitted body (its outline refined first)."""
    fit = refine_outline(fit)
    if fit.centre_from_walls:
        from planner.vertebra.noisy_fit import wall_centre

        centroid = wall_centre(fit.star)
    else:
        centroid = fit.centroid_lps
    sup = superior_axis(fit.star)
    left, post, sup = orthonormal_frame(sup, fit.star.posterior)
    canal_c, canal_r = _canal_section(fit, left, post, centroid)
    d = canal_c - centroid
    if np.isfinite(canal_r).sum() >= 12 and np.linalg.norm(d) > 5:
        left, post, sup = orthonormal_frame(sup, d)
    frame = endplate_frame(fit.sm, fit.grid, fit.mask, BodyFrame(centroid, left, post, sup),
                           level=level)
    sup = frame.superior
    lo, hi = fit.extent_along(sup)
    off = float(np.dot(fit.star.centre_lps - centroid, sup))
    si = (lo + off + 2.0, hi + off - 2.0)
    a, b = star_bbox(fit.star, fit.grid, margin_mm=3.0)
    corners = np.zeros(fit.grid.shape_kji, dtype=bool)
    if level in LUMBAR_LEVELS:
        wall = fit.star.posterior_wall_mm + float(np.dot(fit.star.centre_lps - centroid,
                                                         frame.posterior))
        star_body = fit.mask
        fit = fit.with_mask(with_corners(star_body, fit.sm, fit.grid, frame, wall, fit.star))
        corners = fit.mask & ~star_body
        a, b = _union_box((a, b), _mask_box(fit.mask))
    ends = fit.grid.lps_to_voxel(canal_c + np.array([[s1, s2, s3] for s1 in (-1, 1)
                                                     for s2 in (-1, 1) for s3 in (-1, 1)]) * 22.0)
    lo = np.clip(np.floor(ends.min(axis=0)).astype(int), 0, None)[::-1]
    hi = np.minimum(np.ceil(ends.max(axis=0)).astype(int) + 1, fit.grid.shape_kji[::-1])[::-1]
    a, b = _union_box((a, b), ((int(lo[0]), int(lo[1]), int(lo[2])),
                               (int(hi[0]), int(hi[1]), int(hi[2]))))
    tight = fit.sub(a, b)
    canal, ped_l, ped_r = _posterior_masks(tight, frame, canal_c, canal_r, si)
    sl = tuple(slice(x, y) for x, y in zip(a, b, strict=True))
    return LevelAnatomy(level, tight.grid, tight.start, tight.mask, ped_l, ped_r, canal, frame,
                        body_corners=corners[sl] if corners.any() else None)
