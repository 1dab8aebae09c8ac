"""Ribs traced as connected bone from each body's costovertebral region (ANATOMY.md §3).

Method
------
Bone (> :data:`planner.constants.RIB_TRACE_HU`) is taken from a box around the column on the
CT grid, pooled in-plane to ~1.1 mm, and cut along the column: every voxel within 25-32 mm of
the column centre (left-right, at its height; :data:`CUT_BEYOND_BODY_MM` beyond the body's
wall when its width is known) is removed, which detaches each rib, transverse process and
scapula from the vertebrae. A trace starts only where bone leaves the column through the cut
(bone on both sides of it), beside a body: between its lower endplate and
:data:`SEED_ABOVE_MM` above its upper one, from 8 mm in front of its centre to 45 mm behind
(its costovertebral and costotransverse joints); a rib passing by, with soft tissue between,
starts nothing. The pieces (face-connected bone, :func:`scipy.ndimage.label`) are followed by
a geodesic distance through the bone (Dijkstra, :func:`scipy.sparse.csgraph.dijkstra`). A
piece that a more cranial body leaves the column from over a much larger contact is that
body's rib passing by (:func:`_owned_seeds`): ribs hang down from their own vertebra; a piece
kept by two bodies (two ribs glued by partial volume) is split between them, each voxel going
to the body it is reached from first (a geodesic Voronoi split). A side
bears a rib when its piece is at least :data:`RIB_MIN_LENGTH_MM` long along the bone and
reaches :data:`RIB_MIN_REACH_MM` from the mid-line: a thoracic rib is ≥ 38 mm long and arises
at the vertebra (Yun et al., Korean J Radiol 2018); the transverse process of L1 ends 30-45 mm
from the mid-line and is < ~30 mm long.

Measured on ../shared/data/cptac_chest_ct (3 mm, sharp kernel, contrast; from the centres
read by eye): T1-T11 77-120 mm on both sides (120 is the trace limit), T12 92 / 77 mm, L1 2 /
23 mm (its transverse processes; the left 12th rib touches L1's articular process on its way
down), L2 20 / 0 mm. On the demo: T11 120, T12 103, L1 21, L2 27, L3 32 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from scipy import sparse
from scipy.sparse import csgraph

from planner.constants import RIB_MIN_LENGTH_MM, RIB_TRACE_HU
from planner.grid import FloatArray
from planner.volume import CTVolume

#: Half width (mm, left-right from the column centre) of the column cut where the bodies'
#: widths are not known: the body (half width 14-22 mm T1-L1), pedicles and laminae; rib
#: necks and transverse processes reach beyond it.
COLUMN_HALF_WIDTH_MM = 25.0
#: Where a body's half width is known the cut lies this far beyond it (a lumbar body's
#: articular pillars stand beside its lateral wall), within :data:`CUT_RANGE_MM`.
CUT_BEYOND_BODY_MM = 4.0
CUT_RANGE_MM = (25.0, 32.0)
#: Costovertebral region front and back (mm, posterior positive, from the body centre): the
#: first rib's head lies beside T1's mid-depth, the lower ribs' necks behind the body.
SEED_AP_MM = (-8.0, 45.0)
#: Above the body's top (mm): the rib heads of T1-T10 articulate across the disc above.
SEED_ABOVE_MM = 4.0
#: A rib also reaches this far from the column centre (mm, left-right); the transverse process
#: of L1 ends 30-45 mm from the mid-line (a contrast-filled aorta beside the body, < 45 mm).
RIB_MIN_REACH_MM = 50.0
#: Tracing stops this far (mm, along the bone) from the costovertebral region.
TRACE_LIMIT_MM = 120.0
#: Box around the column (mm): left-right beyond the column, front, back, below the lowest
#: body (the lower ribs run 40-60 mm caudally), above the highest.
BOX_LATERAL_MM = 130.0
BOX_FRONT_MM = 60.0
BOX_BACK_MM = 80.0
BOX_BELOW_MM = 60.0
BOX_ABOVE_MM = 15.0
#: In-plane pooling target (mm): every grid finer than this is pooled to at least this size
#: (0.56-1.0 mm pixels 2 x 2; rounding instead left 0.85 mm pixels unpooled, and the thin
#: cortex of a rib partial-volumed below the bone threshold broke the trace).
POOL_MM = 1.1
#: A piece that a more cranial body leaves the column from over this many times the contact
#: (voxels) is that body's rib passing by, not this body's (measured on
#: ../shared/data/cptac_chest_ct: the left 12th rib touches T12 over 2 voxels, L1's processes
#: over 1; the right 11th and 12th ribs, glued, touch T11 and T12 over 70 and 55).
PASSING_CONTACT_RATIO = 2.0
#: Face neighbours only: a partial-volume contact between a rib and a transverse process
#: is often diagonal.
_CONNECTIVITY = ndi.generate_binary_structure(3, 1)


@dataclass(frozen=True, slots=True)
class RibTrace:
    """The bone traced from one body's costovertebral regions, (left, right).

    ``length_mm``: longest geodesic path from the region along the piece (mm, 0 without one);
    ``reach_mm``: how far the piece gets from the column centre, left-right (mm).
    """

    length_mm: tuple[float, float]
    reach_mm: tuple[float, float]

    def side_bears_rib(self, side: int) -> bool:
        return (self.length_mm[side] >= RIB_MIN_LENGTH_MM
                and self.reach_mm[side] >= RIB_MIN_REACH_MM)

    @property
    def bears_ribs(self) -> bool:
        """Rib on both sides."""
        return self.side_bears_rib(0) and self.side_bears_rib(1)


@dataclass(frozen=True, slots=True)
class _Bone:
    """Pooled bone mask of the box and the LPS affine of its voxels (index k, j, i)."""

    mask: NDArray[np.bool_]
    start: NDArray[np.int64]
    pool: NDArray[np.int64]
    spacing_kji: FloatArray

    def lps(self, volume: CTVolume, kji: NDArray[np.int64]) -> FloatArray:
        src = self.start + kji * self.pool + (self.pool - 1) / 2.0
        return volume.grid.voxel_to_lps(src[:, ::-1])


def trace_ribs(volume: CTVolume, centres_lps: FloatArray, superiors: FloatArray,
               heights_mm: FloatArray, half_widths_mm: FloatArray | None = None,
               ) -> list[RibTrace]:
    """Rib traces of the bodies (cranial first), each given by centre, cranial axis, height.

    Parameters
    ----------
    volume
        The CT.
    centres_lps, superiors
        ``(n, 3)`` body centres (LPS mm) and unit cranial axes (the axes are taken along the
        column through the centres when there are two bodies or more).
    heights_mm
        ``(n,)`` body heights (mm).
    half_widths_mm
        ``(n,)`` body half widths, left-right (mm), or None when not known.
    """
    centres = np.asarray(centres_lps, float).reshape(-1, 3)
    sups = _column_axes(centres, np.asarray(superiors, float).reshape(-1, 3))
    heights = np.asarray(heights_mm, float).reshape(-1)
    empty = RibTrace((0.0, 0.0), (0.0, 0.0))
    bone = _bone_box(volume, centres, heights)
    if bone is None:
        return [empty] * len(centres)
    idx = np.argwhere(bone.mask)
    pts = bone.lps(volume, idx)
    lat = pts[:, 0] - _column_x(centres, pts[:, 2])
    cut = _cut_half_width(centres, half_widths_mm, pts[:, 2])
    keep = np.abs(lat) >= cut
    mask = np.zeros_like(bone.mask)
    mask[tuple(idx[keep].T)] = True
    attached = _attached(volume, bone, idx, lat, cut)[keep]
    idx, pts, lat = idx[keep], pts[keep], lat[keep]
    seeds = _seed_masks(centres, sups, heights, pts, lat, attached)
    if not np.any(seeds):
        return [empty] * len(centres)
    labels, _ = ndi.label(mask, structure=_CONNECTIVITY)
    comp = labels[tuple(idx.T)]
    seeds = _owned_seeds(seeds, comp)
    sel = np.isin(comp, np.unique(comp[seeds.any(axis=0)]))
    dist, owner = _geodesic(idx[sel], seeds[:, sel], bone.spacing_kji * bone.pool, mask.shape)
    lat_sel = lat[sel]
    out = []
    for n in range(len(centres)):
        length, reach = [0.0, 0.0], [0.0, 0.0]
        for s, sign in enumerate((1.0, -1.0)):
            mine = owner == 2 * n + s
            if np.any(mine):
                length[s] = float(dist[mine].max())
                reach[s] = float((sign * lat_sel[mine]).max())
        out.append(RibTrace((length[0], length[1]), (reach[0], reach[1])))
    return out


def _owned_seeds(seeds: NDArray[np.bool_], comp: NDArray[np.int32]) -> NDArray[np.bool_]:
    """``seeds`` without the pieces that a more cranial body on the same side leaves the
    column from over a contact :data:`PASSING_CONTACT_RATIO` times larger or more: a rib
    hangs down from its own vertebra, so the 12th rib touching L1's processes on its way down
    stays T12's, not L1's; two ribs glued by partial volume stay both bodies'."""
    out = seeds.copy()
    for side in (0, 1):
        best: dict[int, int] = {}  # piece -> largest contact of a more cranial body so far
        for row in range(side, len(seeds), 2):
            pieces, counts = np.unique(comp[seeds[row]], return_counts=True)
            for piece, count in zip(pieces.tolist(), counts.tolist(), strict=True):
                if best.get(piece, 0) >= PASSING_CONTACT_RATIO * count:
                    out[row] &= comp != piece
            for piece, count in zip(pieces.tolist(), counts.tolist(), strict=True):
                best[piece] = max(best.get(piece, 0), count)
    return out


def _column_axes(centres: FloatArray, superiors: FloatArray) -> FloatArray:
    """Cranial unit axes along the column through the centres (cranial first); the given
    axes where there is one body (a profile body's own axis can be 30-40° off on a sharp
    scan; the line through its neighbours is not)."""
    if len(centres) < 2:
        return superiors
    axes = -np.gradient(centres, axis=0)
    axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), 1e-9)
    return np.asarray(axes, float)


def _cut_half_width(centres: FloatArray, half_widths: FloatArray | None,
                    z: FloatArray) -> FloatArray:
    """Half width (mm) of the column cut at heights ``z``."""
    if half_widths is None:
        return np.full(len(z), COLUMN_HALF_WIDTH_MM)
    per_body = np.clip(np.asarray(half_widths, float) + CUT_BEYOND_BODY_MM, *CUT_RANGE_MM)
    order = np.argsort(centres[:, 2])
    return np.asarray(np.interp(z, centres[order, 2], per_body[order]), float)


def _column_x(centres: FloatArray, z: FloatArray) -> FloatArray:
    """Left-right position (LPS x, mm) of the column centre at heights ``z``."""
    order = np.argsort(centres[:, 2])
    return np.asarray(np.interp(z, centres[order, 2], centres[order, 0]), float)


def _bone_box(volume: CTVolume, centres: FloatArray, heights: FloatArray) -> _Bone | None:
    """The pooled bone mask in the box around the column, or None if it is empty."""
    lo = centres.min(axis=0) - [BOX_LATERAL_MM, BOX_FRONT_MM, 0.0]
    hi = centres.max(axis=0) + [BOX_LATERAL_MM, BOX_BACK_MM, 0.0]
    lo[2] = float((centres[:, 2] - heights / 2).min()) - BOX_BELOW_MM
    hi[2] = float((centres[:, 2] + heights / 2).max()) + BOX_ABOVE_MM
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])
    ijk = volume.grid.lps_to_voxel(corners)
    shape = np.asarray(volume.shape_kji)
    a = np.clip(np.floor(ijk.min(axis=0))[::-1].astype(np.int64), 0, shape)
    b = np.clip(np.ceil(ijk.max(axis=0))[::-1].astype(np.int64) + 1, 0, shape)
    spacing = np.asarray(volume.grid.spacing_mm, float)[::-1]  # k, j, i
    pool = np.maximum(1, np.ceil(POOL_MM / spacing - 0.05)).astype(np.int64)
    n = (b - a) // pool
    if np.any(n < 3):
        return None
    b = a + n * pool
    pooled = volume.hu[a[0]:b[0], a[1]:b[1], a[2]:b[2]] > RIB_TRACE_HU
    for axis in range(3):  # any bone in each pool (strided ORs: faster than a 6-D any)
        if pool[axis] > 1:
            parts = [pooled[(slice(None),) * axis + (slice(o, None, pool[axis]),)]
                     for o in range(pool[axis])]
            pooled = np.logical_or.reduce(parts)
    return _Bone(np.asarray(pooled, bool), a, pool, spacing)


def _attached(volume: CTVolume, bone: _Bone, idx: NDArray[np.int64],
              lat: FloatArray, cut: FloatArray) -> NDArray[np.bool_]:
    """Bone voxels just outside the column cut whose neighbour towards the mid-line is bone:
    where a rib or a transverse process leaves the vertebra (a rib passing by, with soft
    tissue between, is not)."""
    direction = volume.grid.ijk_to_lps[:3, :3]
    c = int(np.argmax(np.abs(direction[0])))  # the voxel axis (i, j or k) closest to L-R
    axis = 2 - c  # in k, j, i order
    step_mm = float(bone.spacing_kji[axis] * bone.pool[axis])
    layer = (np.abs(lat) >= cut) & (np.abs(lat) < cut + step_mm)
    nb = idx.copy()
    nb[:, axis] -= (np.sign(lat) * np.sign(direction[0, c])).astype(np.int64)
    ok = layer & (nb[:, axis] >= 0) & (nb[:, axis] < bone.mask.shape[axis])
    out = np.zeros(len(idx), bool)
    out[ok] = bone.mask[tuple(nb[ok].T)]
    return out


def _seed_masks(centres: FloatArray, sups: FloatArray, heights: FloatArray,
                pts: FloatArray, lat: FloatArray, near: NDArray[np.bool_],
                ) -> NDArray[np.bool_]:
    """``(2 * n_bodies, len(pts))``: whether each bone voxel where bone leaves the column
    (``near``) lies at body n, left (row 2n) or right (row 2n + 1), between its lower
    endplate and :data:`SEED_ABOVE_MM` above its upper one (neighbours' regions overlap)."""
    out = np.zeros((2 * len(centres), len(pts)), bool)
    for n, (c, s, h) in enumerate(zip(centres, sups, heights, strict=True)):
        d = pts - c
        up = d @ s
        ap = d[:, 1]
        inside = near & (up >= -h / 2) & (up <= h / 2 + SEED_ABOVE_MM)
        inside &= (ap >= SEED_AP_MM[0]) & (ap <= SEED_AP_MM[1])
        out[2 * n] = inside & (lat > 0)
        out[2 * n + 1] = inside & (lat < 0)
    return out


def _geodesic(idx: NDArray[np.int64], seeds: NDArray[np.bool_], step_mm: FloatArray,
              shape: tuple[int, ...]) -> tuple[FloatArray, NDArray[np.int64]]:
    """Geodesic distance (mm) through the voxels ``idx`` from the nearest seed, and the row of
    ``seeds`` it came from (-1 where not reached within :data:`TRACE_LIMIT_MM`)."""
    n = len(idx)
    lookup = np.full(shape, -1, np.int32)
    lookup[tuple(idx.T)] = np.arange(n)
    rows, cols, w = [], [], []
    for d in np.argwhere(_CONNECTIVITY) - 1:
        if tuple(d) <= (0, 0, 0):
            continue  # each undirected edge once
        nb = idx + d
        ok = np.all((nb >= 0) & (nb < np.asarray(shape)), axis=1)
        j = np.full(n, -1, np.int64)
        j[ok] = lookup[tuple(nb[ok].T)]
        has = j >= 0
        rows.append(np.nonzero(has)[0])
        cols.append(j[has])
        w.append(np.full(int(has.sum()), float(np.linalg.norm(d * step_mm))))
    graph = sparse.csr_matrix((np.concatenate(w), (np.concatenate(rows),
                                                   np.concatenate(cols))), shape=(n, n))
    row_of = np.full(n, -1, np.int64)
    seed_rows, seed_voxels = np.nonzero(seeds)
    row_of[seed_voxels] = seed_rows
    src = np.nonzero(row_of >= 0)[0]
    dist, _, nearest = csgraph.dijkstra(graph, directed=False, indices=src, min_only=True,
                                        return_predecessors=True, limit=TRACE_LIMIT_MM)
    owner = np.where(nearest >= 0, row_of[np.maximum(nearest, 0)], -1)
    return np.asarray(dist, float), owner.astype(np.int64)
