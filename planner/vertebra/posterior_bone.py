"""Bone, canal and the naming of other bone on the body-frame lattice
(:mod:`planner.vertebra.pedicle`, steps 2, 3 and 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray
from planner.vertebra.posterior_types import (
    ARCH,
    BODY,
    NEIGHBOUR,
    OTHER,
    RIB,
    SIDES,
    TRANSVERSE,
    LabelArray,
    PedicleSection,
)

#: Soft tissue reference for the half-maximum bone edge (muscle ≈ 40 HU; tool assumption).
SOFT_TISSUE_HU = 40.0
#: The bone edge threshold is kept in this range (tool assumption: below it marrow fat /
#: blood would pass as bone, above it a thin sharp-kernel cortex would be lost).
EDGE_HU_RANGE = (120.0, 350.0)
#: Percentile of the HU on the body's shell taken as the cortex level (tool assumption).
CORTEX_PERCENTILE = 90.0
#: Holes in an axial section smaller than this are cancellous bone, larger ones the canal
#: (a lumbar canal is 200-300 mm², a pedicle's cancellous core < 60 mm²; tool assumption).
HOLE_MAX_MM2 = 100.0


def edge_hu(hu: FloatArray, body: NDArray[np.bool_]) -> float:
    """Half maximum between the cortex on the body's shell and soft tissue (module notes).

    The cortex level is the highest :data:`CORTEX_PERCENTILE` of the HU on two-voxel shells
    of the body's outline moved by -1, 0 and +1 lattice voxels: an outline a voxel inside or
    outside the cortex puts the plain shell on cancellous bone or soft tissue (tptbox L3: a
    one-voxel erosion took the edge from 223 to 152 HU and lost the right pedicle)."""
    from scipy import ndimage as ndi

    levels = []
    for grown in (ndi.binary_erosion(body), body, ndi.binary_dilation(body)):
        shell = grown & ~ndi.binary_erosion(grown, iterations=2)
        if shell.sum() >= 20:
            levels.append(float(np.percentile(hu[shell], CORTEX_PERCENTILE)))
    if not levels:
        return float(np.mean(EDGE_HU_RANGE))
    return float(np.clip(0.5 * (max(levels) + SOFT_TISSUE_HU), *EDGE_HU_RANGE))


@dataclass(frozen=True, eq=False)
class AxialHoles:
    """The holes left in the axial sections (lattice axis 0) of the solid bone: labels
    (4-connected within each section), their count and areas (mm²)."""

    labels: NDArray[np.int32]
    count: int
    area_mm2: FloatArray


def solid_bone(bone: NDArray[np.bool_], body: NDArray[np.bool_],
               step: float) -> tuple[NDArray[np.bool_], AxialHoles]:
    """Bone with its cancellous interior, joined with the body: cortical shells closed by one
    voxel and filled in sagittal and coronal sections (where the canal, running
    craniocaudally, is no hole), then axial holes smaller than :data:`HOLE_MAX_MM2`; and the
    larger axial holes left (the canal's candidates, :func:`canal_from_bone`)."""
    from scipy import ndimage as ndi

    closed = ndi.binary_closing(bone, structure=ndi.generate_binary_structure(3, 1))
    closed |= bone
    sag = ndi.binary_fill_holes(closed, structure=_in_plane(2))
    cor = ndi.binary_fill_holes(closed, structure=_in_plane(1))
    solid = bone | sag | cor | body
    holes = ndi.binary_fill_holes(solid, structure=_in_plane(0)) & ~solid
    # 8-connected within the section: a one-voxel recess of the canal that touches it only
    # diagonally is canal, not a small hole filled as bone
    lab, n = ndi.label(holes, structure=_in_plane(0, full=True))
    if n == 0:
        return solid, AxialHoles(lab, 0, np.zeros(0))
    area = np.asarray(ndi.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1)) * step * step,
                      dtype=np.float64)
    small = np.concatenate([[False], area < HOLE_MAX_MM2])
    solid = np.asarray(solid | small[lab], dtype=bool)
    return solid, AxialHoles(lab, int(n), np.where(area < HOLE_MAX_MM2, 0.0, area))


#: The canal starts at most this far in front of the body's posterior wall (mm; the wall's
#: median position varies over its height; tool assumption).
CANAL_FRONT_MARGIN_MM = 2.0


def _in_plane(axis: int, full: bool = False) -> NDArray[np.bool_]:
    """4-connectivity (8 with ``full``) structure within planes normal to lattice ``axis``."""
    st = np.zeros((3, 3, 3), dtype=bool)
    idx: list[slice | int] = [slice(None)] * 3
    idx[axis] = 1
    plane = np.array([[full, 1, full], [1, 1, 1], [full, 1, full]], dtype=bool)
    st[tuple(idx)] = plane
    return st


def canal_from_bone(bone: NDArray[np.bool_], holes: AxialHoles, body: NDArray[np.bool_],
                    pts_b: FloatArray, step: float) -> NDArray[np.bool_] | None:
    """Canal: the large axial holes behind the body, their common footprint
    (:func:`_canal_footprint`) extruded over the slab."""
    from scipy import ndimage as ndi

    lab, n, area = holes.labels, holes.count, holes.area_mm2
    if n == 0:
        return None
    idx = np.arange(1, n + 1)
    lr = ndi.mean(pts_b[..., 0], lab, idx)
    p_wall = posterior_wall(body, pts_b)
    pp = ndi.mean(pts_b[..., 1], lab, idx)
    front = ndi.minimum(pts_b[..., 1], lab, idx)  # the canal lies against the posterior wall
    ok = (area >= HOLE_MAX_MM2) & (np.abs(lr) < 12.0) & (pp > p_wall) & (front < p_wall + 4.0)
    if not ok.any():
        return None
    keep = np.concatenate([[False], ok])[lab]
    foot = _canal_footprint(keep, step)
    s = pts_b[..., 2]
    s_body = s[body]
    in_slab = (s >= s_body.min() - 8.0) & (s <= s_body.max() + 8.0)
    # a hole reaching forward through a gap in a porotic body's outline is canal only behind
    # the posterior wall
    behind = pts_b[..., 1] >= p_wall - CANAL_FRONT_MARGIN_MM
    return np.asarray(np.broadcast_to(foot, bone.shape) & in_slab & behind & ~bone & ~body,
                      dtype=bool)


#: A lattice column (p, l) belongs to the canal's footprint when it is canal in at least this
#: share of the axial sections where the ring is closed: a hole reaching through a gap in a
#: porotic cortex (pedicle root, the neighbour's body) is a one- or two-section leak (tool
#: assumption; tptbox L3 at 1.5 mm: one section below the body reached 23 mm lateral).
CANAL_VOTE_SHARE = 0.5
#: Strips of the footprint narrower than twice this (mm) are leaks along a wall, not canal
#: (a lumbar canal is 15-25 mm wide; tool assumption).
CANAL_OPEN_MM = 2.0


def _canal_footprint(keep: NDArray[np.bool_], step: float) -> NDArray[np.bool_]:
    """(p, l) footprint of the canal from its holes ``keep`` in the axial sections: the
    columns that are canal in :data:`CANAL_VOTE_SHARE` of those sections, opened by a disc
    of radius :data:`CANAL_OPEN_MM` (the plain union when that leaves nothing)."""
    from scipy import ndimage as ndi

    n_sec = int(keep.any(axis=(1, 2)).sum())
    votes = keep.sum(axis=0)
    union = votes > 0
    foot = votes >= max(1.0, CANAL_VOTE_SHARE * n_sec)
    r = int(round(CANAL_OPEN_MM / step))
    if r >= 1:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        foot = ndi.binary_opening(foot, structure=yy**2 + xx**2 <= r * r)
    return np.asarray(foot if foot.any() else union, dtype=bool)


def posterior_wall(body: NDArray[np.bool_], pts_b: FloatArray) -> float:
    """AP coordinate of the body's posterior wall near the midline (median over height)."""
    mid = body & (np.abs(pts_b[..., 0]) < 6.0)
    return float(np.median(pts_b[..., 1][mid].max())) if mid.any() else float(
        pts_b[..., 1][body].max())


def canal_half_width(canal: NDArray[np.bool_], pts_b: FloatArray) -> float:
    lr = np.abs(pts_b[..., 0][canal])
    return float(np.clip(np.percentile(lr, 98), 5.0, 14.0)) if lr.size > 10 else 8.0



def name_other_bone(labels: LabelArray, pts_b: FloatArray,
                     peds: dict[str, PedicleSection | None], level: str,
                     ext_lo: FloatArray, ext_hi: FloatArray) -> None:
    """Name the bone that is neither body, pedicle nor canal by where it lies (step 5)."""
    other = labels == OTHER
    b = pts_b[other]
    lr, p, s = b[:, 0], b[:, 1], b[:, 2]
    thoracic = level.startswith("T")
    p_wall = float(ext_hi[1])
    half_w = max(abs(float(ext_lo[0])), abs(float(ext_hi[0])))
    beyond = (s > ext_hi[2] + 2.0) | (s < ext_lo[2] - 2.0)
    code = np.full(len(b), ARCH, dtype=np.int8)
    front = p <= p_wall - 4.0
    code[front & beyond] = NEIGHBOUR
    code[front & ~beyond] = RIB if thoracic else BODY
    code[front & ~beyond & (np.abs(lr) < half_w - 3.0)] = BODY
    for side, info in peds.items():
        sg = SIDES[side]
        if info is None:
            lat_edge, p_end = 20.0, p_wall + 20.0
        else:
            lat_edge = sg * info.isthmus_point[0] + 0.5 * info.isthmus_width_mm
            p_end = info.p_end
        lateral = ~front & (sg * lr > lat_edge + 1.5) & (p < p_end + 15.0)
        code[lateral] = TRANSVERSE
        if thoracic and info is not None:
            code[lateral & (p < info.isthmus_point[1])] = RIB
    far = ~front & ((s > ext_hi[2] + 8.0) | (s < ext_lo[2] - 8.0))
    code[far] = NEIGHBOUR
    labels[other] = code

