"""Vertebral body segmentation by star-shaped ray casting from the body centre.

Method (classical, no learned model)
------------------------------------
A vertebral body is close to star-shaped about its centre: every ray from the centre leaves
the body once, through the cortical shell (sides), an endplate (top/bottom) or the posterior
wall (back). So the body is described by one radius per direction, found on the lightly
smoothed HU profile along the ray as the *first strong falling edge* (cortex → soft tissue,
endplate → disc, posterior wall → canal), located at sub-sample precision by its half-maximum
crossing. This works for dense and for osteoporotic bone alike, because only the cortex has
to be brighter than the outside; the cancellous interior may be as dark as muscle (the real
L3 in ../shared/data/tptbox_l3 has a median trabecular HU of ~50).

The radius map (polar angle from the superior axis × azimuth) is cleaned of outliers with a
median filter, and clamped by the posterior-wall plane so the pedicles are cut at the wall
(the body as defined in issue 4; the pedicle base lies just behind this plane). The mask is
every voxel whose centre is inside the interpolated radius, so the volume is unbiased to well
under a voxel of surface error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray, ImageGrid
from planner.vertebra.common import half_max_crossing, half_max_crossings, voxel_centres_lps
from planner.vertebra.ray_edges import (
    MIN_EDGE_HU,
    cortex_fraction,
    edge_candidates,
    first_edges,
    row_limits,
    skip_internal_bands,
)

N_THETA, N_PHI = 36, 72
R_MAX_MM = 34.0
#: Edge level between the trough outside (0) and the cortical peak inside (1); above one half
#: because the thin cortex is blurred into a lower, wider peak (measured on the demo case).
EDGE_LEVEL = 0.6
CANAL_HU = 70.0  # CSF ~10, epidural fat < 0: the canal stays below this


@dataclass(frozen=True, eq=False)
class StarShape:
    """Radius per direction of a star-shaped body about ``centre_lps``.

    ``radius_mm[t, p]`` is the distance along the direction with polar angle
    ``(t + 0.5) * pi / N_THETA`` from ``superior`` and azimuth ``p * 2 pi / N_PHI`` measured
    from ``posterior`` towards ``left``.
    """

    centre_lps: FloatArray
    left: FloatArray
    posterior: FloatArray
    superior: FloatArray
    radius_mm: FloatArray
    posterior_wall_mm: float
    #: Share of the side and front rays within 10° of the equator that end at a cortex
    #: (≥ ``MIN_EDGE_HU`` within 3 mm inside the surface); see :func:`cortex_fraction`.
    cortex_fraction: float = 1.0

    def directions(self) -> FloatArray:
        return ray_directions(self.left, self.posterior, self.superior)

    def surface_lps(self) -> FloatArray:
        return self.centre_lps + self.directions() * self.radius_mm[..., None]


def ray_directions(left: FloatArray, posterior: FloatArray, superior: FloatArray) -> FloatArray:
    t = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    p = np.arange(N_PHI) * 2 * np.pi / N_PHI
    st, ct = np.sin(t)[:, None, None], np.cos(t)[:, None, None]
    sp, cp = np.sin(p)[None, :, None], np.cos(p)[None, :, None]
    return st * (cp * posterior + sp * left) + ct * superior


def _median_wrap(r: FloatArray, size: int) -> FloatArray:
    from scipy import ndimage as ndi

    h = size // 2
    padded = np.concatenate([r[:, -h:], r, r[:, :h]], axis=1)
    return np.asarray(ndi.median_filter(padded, size=size, mode="nearest")[:, h:-h], np.float64)


def _clean_radius(radius: FloatArray) -> FloatArray:
    """Fill rays without an edge and replace outliers by the local median.

    A wide median first removes inward notches only (premature stops on internal structure
    such as the basivertebral channel); the rims, which stick out, survive it. A narrow median
    then removes isolated outliers either way.
    """
    r = np.where(np.isfinite(radius), radius, np.nanmedian(radius))
    wide = _median_wrap(r, 9)
    r = np.where(~np.isfinite(radius) | (r < wide - 3.0), wide, r)
    for _ in range(2):
        med = _median_wrap(r, 5)
        r = np.where(np.abs(r - med) > 2.5, med, r)
    return r


def _cut_pedicle_bases(radius: FloatArray, cosp: FloatArray) -> FloatArray:
    """Stop posterolateral mid-height rays at the lateral wall instead of inside a pedicle.

    The pedicles leave the body at its posterolateral upper corners without a cortex in
    between, so rays there run on into the pedicle. In each posterolateral azimuth the wall is
    near-vertical, so the horizontal distance ``r sin(theta)`` of the rays within 30° of the
    equator is capped at its 30th percentile + 1 mm (the pedicle takes less than half of that
    band).
    """
    theta = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    band = np.abs(theta - np.pi / 2) <= np.deg2rad(30)
    st = np.sin(theta[band])[:, None]
    horiz = radius[band] * st
    cap = np.percentile(horiz, 30, axis=0) + 1.0
    cols = np.max(cosp[band], axis=0) > 0.2
    out = radius.copy()
    out[band] = np.where(cols[None, :], np.minimum(radius[band], cap[None, :] / st),
                         radius[band])
    return out


def _clamp_caps(radius: FloatArray, cap_deg: float = 40.0, bulge_mm: float = 3.0) -> FloatArray:
    """Stop rays that leak through an endplate into the disc and the next body.

    Near the poles the rays are nearly parallel, so a leak (an endplate too thin to show an
    edge on 3 mm slices) takes whole rows and survives the median filters. An endplate is
    flat or concave, never bulging outwards: each cap's height ``r cos(theta)`` is capped at its
    median over the cap + ``bulge_mm``.
    """
    theta = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    out = radius.copy()
    for rows in (theta < np.deg2rad(cap_deg), theta > np.pi - np.deg2rad(cap_deg)):
        c = np.abs(np.cos(theta[rows]))[:, None]
        h = radius[rows] * c
        limit = float(np.nanmedian(h)) + bulge_mm if np.isfinite(h).any() else np.inf
        out[rows] = np.minimum(radius[rows], limit / c)
    return out


def _posterior_wall(prof: FloatArray, r: FloatArray, cosp: FloatArray,
                    radius: FloatArray) -> float:
    """Distance from the centre to the posterior wall, mm, along the body's posterior axis.

    Along rays within 15° of straight back the canal is the first stretch of ≥ 4 mm below
    ``CANAL_HU`` after the ray has crossed bone; the wall is the half-maximum of the last
    falling edge before it. This skips the basivertebral vein channel, a low-HU gap inside the
    posterior third of the body that a first-edge rule would take for the wall.
    """
    step = float(r[1] - r[0])
    run = max(2, int(round(4.0 / step)))
    w = max(2, int(round(2.5 / step)))
    found = []
    for t, p in zip(*np.nonzero(cosp > np.cos(np.deg2rad(15))), strict=True):
        q = prof[t, p]
        seen_bone = np.maximum.accumulate(q) >= MIN_EDGE_HU
        for n in range(int(3.0 / step), len(q) - run):
            if seen_bone[n] and q[n:n + run].max() < CANAL_HU:
                edge = max(1, n - 1)
                a = max(0, edge - 3 * w)
                ip = a + int(np.argmax(q[a:edge + 1]))
                drops = q[ip:edge + 1][:-1] - q[ip:edge + 1][1:]
                i_edge = ip + int(np.argmax(drops)) if len(drops) else edge
                found.append(half_max_crossing(r, q, i_edge, w) * cosp[t, p])
                break
    if len(found) >= 2:
        return float(np.median(found))
    back = cosp > np.cos(np.deg2rad(20))
    return float(np.median(radius[back] * cosp[back]))


def cast_star(sm: NDArray[np.float32], grid: ImageGrid, centre: FloatArray, left: FloatArray,
              posterior: FloatArray, superior: FloatArray,
              raw: NDArray[np.float32] | None = None) -> StarShape:
    """Find the body surface along rays from ``centre`` in the smoothed crop ``sm``.

    Edges are detected on ``sm`` and, when ``raw`` (the unsmoothed crop) is given, located on
    it: smoothing widens the thin bright cortex and would move its half-maximum outwards.
    """
    return star_from_profiles(cast_profiles(sm, grid, centre, left, posterior, superior, raw))


@dataclass(frozen=True, eq=False)
class RayProfiles:
    """HU profiles along the rays of one cast (internal working value of the body fit)."""

    prof: FloatArray  # smoothed HU, (rays, samples)
    fine: FloatArray  # unsmoothed HU (the smoothed again without a raw crop)
    r: FloatArray  # sample distances from the centre, mm
    cand: NDArray[np.bool_]  # candidate edges
    first: NDArray[np.intp]  # first candidate edge per ray (-1: none)
    frame: tuple[FloatArray, FloatArray, FloatArray, FloatArray]  # centre, left, post, sup


def cast_profiles(sm: NDArray[np.float32], grid: ImageGrid, centre: FloatArray,
                  left: FloatArray, posterior: FloatArray, superior: FloatArray,
                  raw: NDArray[np.float32] | None = None) -> RayProfiles:
    """Sample the rays of :func:`cast_star` and find their candidate edges."""
    from scipy import ndimage as ndi

    step = min(0.5, float(np.min(grid.spacing_mm)) / 2)
    r = np.arange(0.0, R_MAX_MM + step, step)
    dirs = ray_directions(left, posterior, superior).reshape(-1, 3)
    c_vox = grid.lps_to_voxel(centre)[::-1]  # (k, j, i)
    d_vox = (grid.lps_to_ijk[:3, :3] @ dirs.T)[::-1]  # (3, n) in (k, j, i)
    coords = c_vox[:, None, None] + d_vox[:, :, None] * r[None, None, :]
    prof = ndi.map_coordinates(sm, coords.reshape(3, -1), order=1, mode="constant",
                               cval=-1000.0).reshape(len(dirs), len(r))
    fine = prof
    if raw is not None:
        fine = ndi.map_coordinates(raw, coords.reshape(3, -1), order=1, mode="constant",
                                   cval=-1000.0).reshape(len(dirs), len(r))
    cand = edge_candidates(prof, step)
    return RayProfiles(prof, fine, r, cand, first_edges(cand),
                       (np.asarray(centre, float), left, posterior, superior))


def star_from_profiles(rays: RayProfiles, skip_bands: bool = False,
                       fill_notches: bool = False) -> StarShape:
    """The star of one cast; with ``skip_bands``, side and front edges are moved from
    internal sclerotic bands to the cortex (:func:`planner.vertebra.ray_edges.skip_internal_bands`),
    and with ``fill_notches`` too, out of notches to the convex outline
    (:func:`fill_notches_to_hull`).

    ``skip_bands`` is meant for the final outline of a found body
    (:func:`planner.vertebra.segment.refine_outline`), not for the casts that find it.
    """
    first = rays.first
    if skip_bands:
        _, left, posterior, superior = rays.frame
        dirs = ray_directions(left, posterior, superior).reshape(-1, 3)
        theta = np.repeat((np.arange(N_THETA) + 0.5) * np.pi / N_THETA, N_PHI)
        front = (np.abs(theta - np.pi / 2) <= np.deg2rad(50)) & (dirs @ posterior < 0.5)
        step = float(rays.r[1] - rays.r[0])
        first = skip_internal_bands(rays.prof, rays.cand, first, step, front,
                                    row_limits(first, N_THETA, step))
        if fill_notches:
            first = fill_notches_to_hull(rays, first, front)
    return _star_from_edges(rays.prof, rays.fine, rays.r, first, rays.frame)


#: A side or front ray stopping this far inside its row's convex outline is notched
#: **[engineering threshold]**.
NOTCH_MM = 2.0
HULL_SEARCH_MM = (2.5, 1.5)  # the new edge lies this far inside / outside the hull
#: Rows within this angle of the equator leave through the side and front walls (a body
#: 25 mm tall and 15-20 mm from centre to wall: up to ~32°); rows nearer the poles leave
#: through the concave endplates, whose section is not convex.
HULL_BAND_DEG = 25.0


def _row_hull_radius(h: FloatArray, phi: FloatArray) -> FloatArray:
    """Radius along each azimuth of the convex hull of one row's horizontal outline."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.stack([h * np.cos(phi), h * np.sin(phi)], axis=1)
    try:
        eq = ConvexHull(pts).equations  # n . x + c <= 0 inside
    except QhullError:
        return h
    u = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    dot = u @ eq[:, :2].T
    dist = np.where(dot > 1e-9, -eq[None, :, 2] / np.where(dot > 1e-9, dot, 1.0), np.inf)
    return np.asarray(dist.min(axis=1), np.float64)


def fill_notches_to_hull(rays: RayProfiles, first: NDArray[np.intp],
                         front: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Move a side or front ray's edge out of a notch to the cortex at the row's convex outline.

    A body's side and front walls are convex in every horizontal section; a ray within
    :data:`HULL_BAND_DEG` of the equator that stops
    well inside its row's convex outline stopped on internal structure (trabecular streaks,
    vein channels) over more rays than the median filters remove. Such a ray takes the strong
    edge nearest the outline (2.5 mm inside to 1.5 mm outside) if bone runs between the two
    (no fat plane, ``BETWEEN_MIN_HU``).
    """
    from planner.vertebra.ray_edges import BETWEEN_MIN_HU

    step = float(rays.r[1] - rays.r[0])
    w = max(2, int(round(2.5 / step)))
    radius = half_max_crossings(step, rays.fine, first, w, EDGE_LEVEL)
    if np.isfinite(radius).sum() < radius.size // 4:
        return first
    clean = _clean_radius(radius.reshape(N_THETA, N_PHI))
    raw = np.where(np.isfinite(radius), radius, 0.0).reshape(N_THETA, N_PHI)
    theta = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    phi = np.arange(N_PHI) * 2 * np.pi / N_PHI
    out = first.copy()
    fr = front.reshape(N_THETA, N_PHI) & (np.abs(theta - np.pi / 2)
                                          <= np.deg2rad(HULL_BAND_DEG))[:, None]
    for t in np.nonzero(fr.any(axis=1))[0]:
        st = float(np.sin(theta[t]))
        hull = _row_hull_radius(clean[t] * st, phi) / st
        for p in np.nonzero(fr[t] & (raw[t] < hull - NOTCH_MM))[0]:
            ray = t * N_PHI + p
            lo = int(np.floor((hull[p] - HULL_SEARCH_MM[0]) / step))
            hi = int(np.ceil((hull[p] + HULL_SEARCH_MM[1]) / step))
            e0 = max(int(first[ray]), 0)
            lo, hi = max(lo, e0 + 1), min(hi, rays.cand.shape[1] - 1)
            hits = np.nonzero(rays.cand[ray, lo:hi + 1])[0] + lo
            if not len(hits):
                continue
            e2 = int(hits[np.argmin(np.abs(hits * step - hull[p]))])
            if rays.prof[ray, e0:e2].min() >= BETWEEN_MIN_HU:
                out[ray] = e2
    return out


def _star_from_edges(prof: FloatArray, fine: FloatArray, r: FloatArray,
                     first: NDArray[np.intp],
                     frame: tuple[FloatArray, FloatArray, FloatArray, FloatArray]) -> StarShape:
    """The cleaned, clamped star from the edge index per ray (``frame``: centre and axes)."""
    centre, left, posterior, superior = frame
    step = float(r[1] - r[0])
    w = max(2, int(round(2.5 / step)))
    radius = half_max_crossings(step, fine, first, w, EDGE_LEVEL)
    if np.isfinite(radius).sum() < radius.size // 4:
        from planner.errors import AnalysisError

        raise AnalysisError(f"no body surface around {np.round(centre, 1).tolist()} (LPS mm): "
                            "most rays see no cortical edge")
    radius = _clean_radius(radius.reshape(N_THETA, N_PHI))
    dirs = ray_directions(left, posterior, superior).reshape(-1, 3)
    cosp = (dirs @ posterior).reshape(N_THETA, N_PHI)
    radius = _cut_pedicle_bases(radius, cosp)
    radius = _clamp_caps(radius)
    wall = _posterior_wall(prof.reshape(N_THETA, N_PHI, -1), r, cosp, radius)
    cone = cosp > np.cos(np.deg2rad(35))
    plane = wall / np.maximum(cosp, 0.05)
    radius = np.where(cosp > 0.05, np.minimum(radius, plane), radius)
    radius = np.where(cone, np.maximum(np.minimum(radius, plane), plane - 2.0), radius)
    cortex = cortex_fraction(fine.reshape(N_THETA, N_PHI, -1), r, radius, cosp)
    return StarShape(centre, left, posterior, superior, radius, wall, cortex)


def star_centroid(shape: StarShape) -> FloatArray:
    """Volume centroid of the star shape, LPS mm (each ray's cone has its centroid at 3r/4)."""
    theta = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    w = np.sin(theta)[:, None] * shape.radius_mm**3
    d = shape.directions()
    num = (w[..., None] * 0.75 * shape.radius_mm[..., None] * d).sum(axis=(0, 1))
    return np.asarray(shape.centre_lps + num / w.sum(), dtype=np.float64)


def star_volume_mm3(shape: StarShape) -> float:
    """Volume enclosed by the star surface, mm³ (each ray's cone: r³/3 per steradian)."""
    theta = (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    d_omega = np.sin(theta)[:, None] * (np.pi / N_THETA) * (2 * np.pi / N_PHI)
    return float(np.sum(shape.radius_mm**3 / 3.0 * d_omega))


def star_bbox(shape: StarShape, grid: ImageGrid, margin_mm: float = 1.5) -> tuple[
        tuple[int, int, int], tuple[int, int, int]]:
    """Index box [start, stop) of ``grid`` enclosing the star surface plus a margin."""
    surf = shape.surface_lps().reshape(-1, 3)
    ijk = grid.lps_to_voxel(surf)
    pad = margin_mm / grid.spacing_mm
    lo = np.clip(np.floor(ijk.min(axis=0) - pad).astype(int), 0, None)
    hi = np.minimum(np.ceil(ijk.max(axis=0) + pad).astype(int) + 1, grid.shape_kji[::-1])
    return (int(lo[2]), int(lo[1]), int(lo[0])), (int(hi[2]), int(hi[1]), int(hi[0]))


def star_mask(shape: StarShape, grid: ImageGrid) -> NDArray[np.bool_]:
    """Voxels of ``grid`` whose centres lie inside the star shape."""
    from scipy import ndimage as ndi

    a, b = star_bbox(shape, grid)
    out = np.zeros(grid.shape_kji, dtype=bool)
    if min(y - x for x, y in zip(a, b, strict=True)) <= 0:
        return out
    sub = grid.crop(a, b)
    v = voxel_centres_lps(sub) - shape.centre_lps
    dist = np.linalg.norm(v, axis=-1)
    safe = np.maximum(dist, 1e-9)
    ct = np.clip((v @ shape.superior) / safe, -1, 1)
    theta = np.arccos(ct)
    phi = np.mod(np.arctan2(v @ shape.left, v @ shape.posterior), 2 * np.pi)
    ti = theta / (np.pi / N_THETA) - 0.5
    pi_ = phi / (2 * np.pi / N_PHI) + 1.0  # +1: one wrapped column padded in front
    rad = shape.radius_mm
    padded = np.concatenate([rad[:, -1:], rad, rad[:, :1]], axis=1)
    rr = ndi.map_coordinates(padded, [ti.ravel(), pi_.ravel()], order=1, mode="nearest")
    out[a[0]:b[0], a[1]:b[1], a[2]:b[2]] = dist <= rr.reshape(dist.shape)
    return out
