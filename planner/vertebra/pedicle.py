"""Pedicles and posterior elements of one level, segmented from the CT (ANATOMY.md §4 step).

Method (body frame of the level, :mod:`planner.anatomy`; all lengths mm):

1. The CT is resampled on an isotropic lattice aligned with the body frame (spacing
   :func:`_lattice_step`) over the level's slab, wide enough for the transverse processes.
2. *Bone* is where the lightly smoothed CT exceeds the half-maximum between the cortex (a high
   percentile of the HU on the body's shell) and soft tissue (:data:`SOFT_TISSUE_HU`): the
   usual CT edge criterion, so the level follows the patient's own cortex (30 HU porotic
   trabecular bone is enclosed by its shell, not thresholded). Small holes in each axial
   section (cancellous interiors, < :data:`HOLE_MAX_MM2`) are filled.
3. *Canal*: the large hole (≥ :data:`HOLE_MAX_MM2`) behind the body in the axial sections
   where the ring of body, pedicles and laminae is closed; its footprint is extruded over
   the slab. Without any closed ring the analysis' canal is kept.
4. *Pedicle*: the bone bridge joining body and canal. In coronal sections (planes of constant
   AP position) behind the posterior wall, the bone component beside the canal is tracked
   backwards from the wall until its area exceeds :data:`MERGE_AREA_RATIO` times the smallest
   area (it merges with the laminae, articular and transverse processes). Its axis is the
   least-squares line through the section centroids; the isthmus is the section whose outer
   width, measured on the CT at the half-maximum edges through its centroid, is smallest.
   The isthmus section is swept backwards along the axis through the bone behind it (the
   entry point of a transpedicular needle), so that entry is part of the pedicle's tube.
5. *Other bone* is named by where it lies: transverse process (beside the pedicle, behind the
   wall), lamina/facet (behind or above/below the pedicle), rib head / costovertebral joint
   (thoracic levels, beside the body), neighbouring vertebra (beyond the endplates in front
   of the canal).

Sources: half-maximum edges and the bridge definition, ANATOMY.md §4 (Knez & Vrtovec, Image
Anal Stereol, parametric pedicle models); thresholds marked "tool assumption" are ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.grid import FloatArray, ImageGrid
from planner.volume import CTVolume

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
#: The tracked pedicle section has merged with the arch once its area exceeds this multiple of
#: the smallest section (tool assumption).
MERGE_AREA_RATIO = 2.2
#: Lateral / posterior / slab margins of the lattice around the body (mm; tool assumption).
LATTICE_MARGIN_MM = (26.0, 60.0, 14.0)
#: Pedicle sections are looked for up to this far lateral of the canal's edge: wider than the
#: widest lumbar pedicle (L5 ≈ 18 mm outer width, Zindrick et al., Spine 1987), so the
#: transverse process beyond it does not join the section.
PEDICLE_MAX_WIDTH_MM = 16.0
#: Pedicles join the cranial part of the body (thoracolumbar pedicle height 12-17 mm against a
#: body height of 22-30 mm; Panjabi et al., Spine 1991/1992): sections are looked for from
#: this fraction of the body height below its middle up to the superior endplate, which
#: leaves out the articular processes above and below (tool assumption).
PEDICLE_LOW_FRAC = 0.3
#: Pedicles flank the anterior part of the canal; behind this fraction of its depth the bone
#: beside it is lamina and articular processes (tool assumption).
PEDICLE_CANAL_FRAC = 0.6
#: An axis fitted through fewer sections, or more than this far off the AP axis, is replaced
#: by the AP axis through the isthmus (tool assumption).
AXIS_MAX_DEG = 40.0

# structure codes of :attr:`PosteriorSegmentation.labels`
NONE, BODY, PEDICLE_LEFT, PEDICLE_RIGHT, CANAL = 0, 1, 2, 3, 4
ARCH, TRANSVERSE, RIB, NEIGHBOUR, OTHER = 5, 6, 7, 8, 9
#: What each code is called in findings.
STRUCTURE_NAMES = {
    BODY: "vertebral body",
    PEDICLE_LEFT: "left pedicle",
    PEDICLE_RIGHT: "right pedicle",
    CANAL: "spinal canal",
    ARCH: "lamina / facet",
    TRANSVERSE: "transverse process",
    RIB: "rib head / costovertebral joint",
    NEIGHBOUR: "neighbouring vertebra",
    OTHER: "other bone",
}
SIDES = {"left": 1.0, "right": -1.0}
LabelArray = NDArray[np.int8]


@dataclass(frozen=True, eq=False)
class PedicleSection:
    """One pedicle as found in the CT, body coordinates (left, posterior, superior; mm).

    ``axis_dir`` points anterior; ``isthmus_width_mm`` is the minimum outer width at the
    half-maximum edges, ``isthmus_height_mm`` the craniocaudal extent of that section.
    """

    side: str
    axis_point: FloatArray
    axis_dir: FloatArray
    isthmus_point: FloatArray
    isthmus_width_mm: float
    isthmus_height_mm: float
    p_start: float
    p_end: float


@dataclass(frozen=True, eq=False)
class PosteriorSegmentation:
    """Level anatomy on a crop wide enough for the posterior elements, and structure labels.

    ``anatomy`` keeps the body and frame of the analysis and replaces pedicles, canal and
    vertebra (body ∪ pedicles ∪ own arch) with the CT's; ``labels`` (same grid) holds the
    structure codes of this module (``STRUCTURE_NAMES``); ``pedicles`` per side (None if
    not found); ``notes`` say what could not be found.
    """

    anatomy: LevelAnatomy
    labels: LabelArray
    pedicles: dict[str, PedicleSection | None]
    edge_hu: float
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Lattice:
    """Isotropic body-frame lattice: index [s, p, l] ↔ body coordinates."""

    lo: FloatArray  # body coordinates (l, p, s) of index 0
    step: float
    shape: tuple[int, int, int]  # (ns, np, nl)

    def coords(self, axis: int) -> FloatArray:
        """Body coordinate along lattice axis 0 (s), 1 (p) or 2 (l)."""
        comp = (2, 1, 0)[axis]
        return self.lo[comp] + self.step * np.arange(self.shape[axis])

    def body_points(self) -> FloatArray:
        s, p, lr = (self.coords(a) for a in range(3))
        S, P, L = np.meshgrid(s, p, lr, indexing="ij")
        return np.stack([L, P, S], axis=-1)

    def index_of(self, body: FloatArray) -> FloatArray:
        """Fractional (s, p, l) indices of body coordinates ``(..., 3)``."""
        b = (np.asarray(body, dtype=np.float64) - self.lo) / self.step
        return b[..., ::-1]


def _lattice_step(volume: CTVolume) -> float:
    """Lattice spacing: the CT's finest spacing, kept within 0.8-1.5 mm (finer costs time
    without resolving more at 2-3 mm slices; tool assumption)."""
    return float(np.clip(volume.grid.spacing_mm.min(), 0.8, 1.5))


def _body_coords(anatomy: LevelAnatomy, mask: NDArray[np.bool_]) -> FloatArray:
    kji = np.argwhere(mask)
    return anatomy.frame.to_body(anatomy.grid.voxel_to_lps(kji[:, ::-1].astype(np.float64)))


def _lattice_to_kji(lat: _Lattice, frame: BodyFrame, grid: ImageGrid) -> tuple[FloatArray,
                                                                                FloatArray]:
    """(3x3 matrix, offset) mapping lattice indices (s, p, l) to ``grid`` indices (k, j, i)."""
    # lattice (s, p, l) → body (l, p, s) → LPS → grid (i, j, k) → (k, j, i)
    swap = np.eye(3)[::-1]
    to_body = swap * lat.step
    lps_m = frame.rotation @ to_body
    lps_o = frame.rotation @ lat.lo + frame.origin_lps
    inv = grid.lps_to_ijk
    m = swap @ (inv[:3, :3] @ lps_m)
    o = swap @ (inv[:3, :3] @ lps_o + inv[:3, 3])
    return m, o


def _sample(lat: _Lattice, frame: BodyFrame, grid: ImageGrid, array: NDArray[np.generic],
            order: int, cval: float) -> FloatArray:
    """``array`` (on ``grid``) sampled at every lattice point."""
    from scipy.ndimage import affine_transform

    m, o = _lattice_to_kji(lat, frame, grid)
    src = array if array.dtype != bool else array.astype(np.float32)
    return np.asarray(affine_transform(src, m, o, output_shape=lat.shape, order=order,
                                       mode="constant", cval=cval, prefilter=False,
                                       output=np.float32 if order else src.dtype))


def segment_posterior(volume: CTVolume, anatomy: LevelAnatomy) -> PosteriorSegmentation:
    """Pedicles, canal and posterior elements of one level from the CT (module notes).

    Parameters
    ----------
    volume
        The CT (HU).
    anatomy
        The level's body and frame from the vertebra analysis (its pedicle and canal masks
        are only a fall-back for the canal).

    Returns
    -------
    PosteriorSegmentation
        Masks on a crop of the CT grid (LPS placement identical to the CT's).
    """
    from scipy import ndimage as ndi

    frame = anatomy.frame
    b = _body_coords(anatomy, anatomy.body)
    ext_lo, ext_hi = b.min(axis=0), b.max(axis=0)
    step = _lattice_step(volume)
    m_l, m_p, m_s = LATTICE_MARGIN_MM
    half_w = max(abs(ext_lo[0]), abs(ext_hi[0]))
    lo = np.array([-half_w - m_l, ext_lo[1] - 3.0, ext_lo[2] - m_s])
    hi = np.array([half_w + m_l, ext_hi[1] + m_p, ext_hi[2] + m_s])
    shape = tuple(int(np.ceil((hi[c] - lo[c]) / step)) + 1 for c in (2, 1, 0))
    lat = _Lattice(lo, step, shape)  # type: ignore[arg-type]
    pts_b = lat.body_points()
    hu = _sample(lat, frame, volume.grid, volume.hu, 1, -1000.0)
    body = _sample(lat, frame, anatomy.grid, anatomy.body, 1, 0.0) >= 0.5
    notes: list[str] = []
    edge = _edge_hu(hu, body)
    sm = ndi.gaussian_filter(hu, 0.6 / step)
    bone = _fill_small_holes(sm >= edge, step) | body
    canal = _canal(bone, body, pts_b, step)
    if canal is None:
        notes.append("no closed canal ring in the CT: the analysis' canal is used")
        given = _sample(lat, frame, anatomy.grid, anatomy.canal, 1, 0.0)
        canal = (given >= 0.5) & ~bone
    labels = np.zeros(shape, dtype=np.int8)
    labels[bone] = OTHER
    labels[body] = BODY
    labels[canal] = CANAL
    peds: dict[str, PedicleSection | None] = {}
    for side, code in (("left", PEDICLE_LEFT), ("right", PEDICLE_RIGHT)):
        found = _pedicle(lat, pts_b, bone & ~body, canal, body, hu, edge, side)
        if found is None:
            notes.append(f"no {side} pedicle found in the CT")
            peds[side] = None
            continue
        peds[side], tube = found
        labels[tube & bone & ~body] = code
    _name_other_bone(labels, pts_b, peds, anatomy.level, ext_lo, ext_hi)
    out_anat, out_labels = _to_ct_crop(volume, anatomy, lat, labels)
    return PosteriorSegmentation(out_anat, out_labels, peds, edge, tuple(notes))


def _edge_hu(hu: FloatArray, body: NDArray[np.bool_]) -> float:
    """Half maximum between the cortex on the body's shell and soft tissue (module notes)."""
    from scipy import ndimage as ndi

    shell = body & ~ndi.binary_erosion(body, iterations=2)
    if shell.sum() < 20:
        return float(np.mean(EDGE_HU_RANGE))
    cortex = float(np.percentile(hu[shell], CORTEX_PERCENTILE))
    return float(np.clip(0.5 * (cortex + SOFT_TISSUE_HU), *EDGE_HU_RANGE))


def _fill_small_holes(bone: NDArray[np.bool_], step: float) -> NDArray[np.bool_]:
    """Fill holes smaller than :data:`HOLE_MAX_MM2` in every axial section (lattice axis 0)."""
    from scipy import ndimage as ndi

    holes = ndi.binary_fill_holes(bone, structure=_in_plane(0)) & ~bone
    lab, n = ndi.label(holes, structure=_in_plane(0))
    if n == 0:
        return bone
    area = ndi.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1)) * step * step
    small = np.concatenate([[False], area < HOLE_MAX_MM2])
    return bone | small[lab]


def _in_plane(axis: int) -> NDArray[np.bool_]:
    """4-connectivity structure within planes normal to lattice ``axis``."""
    st = np.zeros((3, 3, 3), dtype=bool)
    idx: list[slice | int] = [slice(None)] * 3
    idx[axis] = 1
    plane = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    st[tuple(idx)] = plane
    return st


def _canal(bone: NDArray[np.bool_], body: NDArray[np.bool_], pts_b: FloatArray,
           step: float) -> NDArray[np.bool_] | None:
    """Canal: the large axial holes behind the body, footprint extruded over the slab."""
    from scipy import ndimage as ndi

    holes = ndi.binary_fill_holes(bone, structure=_in_plane(0)) & ~bone
    lab, n = ndi.label(holes, structure=_in_plane(0))
    if n == 0:
        return None
    idx = np.arange(1, n + 1)
    area = ndi.sum(np.ones_like(lab), lab, idx) * step * step
    lr = ndi.mean(pts_b[..., 0], lab, idx)
    p_wall = _posterior_wall(body, pts_b)
    pp = ndi.mean(pts_b[..., 1], lab, idx)
    ok = (area >= HOLE_MAX_MM2) & (np.abs(lr) < 12.0) & (pp > p_wall) & (pp < p_wall + 40.0)
    if not ok.any():
        return None
    keep = np.concatenate([[False], ok])[lab]
    foot = keep.any(axis=0)  # (p, l) footprint
    s = pts_b[..., 2]
    s_body = s[body]
    in_slab = (s >= s_body.min() - 8.0) & (s <= s_body.max() + 8.0)
    return np.broadcast_to(foot, bone.shape) & in_slab & ~bone & ~body


def _posterior_wall(body: NDArray[np.bool_], pts_b: FloatArray) -> float:
    """AP coordinate of the body's posterior wall near the midline (median over height)."""
    mid = body & (np.abs(pts_b[..., 0]) < 6.0)
    return float(np.median(pts_b[..., 1][mid].max())) if mid.any() else float(
        pts_b[..., 1][body].max())


def _canal_half_width(canal: NDArray[np.bool_], pts_b: FloatArray) -> float:
    lr = np.abs(pts_b[..., 0][canal])
    return float(np.clip(np.percentile(lr, 98), 5.0, 14.0)) if lr.size > 10 else 8.0


def _lateral_runs(bone: NDArray[np.bool_], canal: NDArray[np.bool_], lat: _Lattice, side: str,
                  s_range: tuple[float, float], j0: int, j1: int
                  ) -> list[tuple[int, NDArray[np.bool_]]]:
    """Coronal sections (s, l) of the pedicle: in every axial row beside the canal, the bone run
    that starts at the canal's lateral wall (the pedicle's medial cortex) and ends at the soft
    tissue lateral to it, at most :data:`PEDICLE_MAX_WIDTH_MM` wide."""
    sg = SIDES[side]
    lr = lat.coords(2)
    s = lat.coords(0)
    u = sg * lr
    s_mid, h = 0.5 * (s_range[0] + s_range[1]), s_range[1] - s_range[0]
    rows = np.flatnonzero((s >= s_mid - PEDICLE_LOW_FRAC * h) & (s <= s_range[1] + 1.0))
    foot = canal.any(axis=0)  # (p, l)
    order = np.argsort(u)
    out: list[tuple[int, NDArray[np.bool_]]] = []
    for j in range(j0, j1):
        cu = u[foot[j]]
        if cu.size == 0:
            continue
        edge = float(cu.max())
        cols = order[(u[order] > edge) & (u[order] <= edge + PEDICLE_MAX_WIDTH_MM)]
        if cols.size == 0:
            continue
        sec = np.zeros((lat.shape[0], lat.shape[2]), dtype=bool)
        run = bone[np.ix_(rows, [j], cols)][:, 0, :]
        start = run[:, : max(1, int(round(2.0 / lat.step)))].any(axis=1)
        stop = np.where(run.all(axis=1), run.shape[1], np.argmin(run, axis=1))
        first = np.argmax(run, axis=1)
        for r_i, row in enumerate(rows):
            if start[r_i]:
                end = first[r_i] + np.argmin(np.append(run[r_i, first[r_i]:], False))
                sec[row, cols[first[r_i]:end]] = True
        del stop
        if sec.sum() * lat.step**2 >= 10.0:
            out.append((j, sec))
    return _longest_run(out)


def _longest_run(secs: list[tuple[int, NDArray[np.bool_]]]
                 ) -> list[tuple[int, NDArray[np.bool_]]]:
    """The longest series of consecutive sections (one pedicle, not pieces of the arch)."""
    best: list[tuple[int, NDArray[np.bool_]]] = []
    cur: list[tuple[int, NDArray[np.bool_]]] = []
    for item in secs:
        if cur and item[0] != cur[-1][0] + 1:
            cur = []
        cur.append(item)
        if len(cur) > len(best):
            best = list(cur)
    return best


def _half_max_width(profile: FloatArray, inside: NDArray[np.bool_], step: float) -> float:
    """Outer width (mm) of a bone section along one row: from its cortex peaks outwards to the
    half-maximum between each peak and the tissue beyond it."""
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return float("nan")
    a, z = int(idx[0]), int(idx[-1])
    n = len(profile)
    ends = []
    for lo_end, direction in ((a, -1), (z, 1)):
        span = np.arange(lo_end - direction * 3, lo_end + direction * 1 + direction, direction)
        span = span[(span >= 0) & (span < n)]
        if span.size == 0:
            return float("nan")
        ipk = int(span[np.argmax(profile[span])])
        beyond = np.arange(lo_end + 2 * direction, lo_end + 6 * direction, direction)
        beyond = beyond[(beyond >= 0) & (beyond < n)]
        out = float(np.median(profile[beyond])) if beyond.size else SOFT_TISSUE_HU
        half = 0.5 * (profile[ipk] + out)
        pos = float(ipk)
        i = ipk
        while 0 <= i + direction < n and profile[i + direction] >= half:
            i += direction
        if 0 <= i + direction < n:
            v0, v1 = profile[i], profile[i + direction]
            pos = i + direction * float((v0 - half) / (v0 - v1)) if v0 != v1 else float(i)
        else:
            pos = float(i)
        ends.append(pos)
    return float(abs(ends[1] - ends[0]) * step)


def _pedicle(lat: _Lattice, pts_b: FloatArray, rest: NDArray[np.bool_],
             canal: NDArray[np.bool_], body: NDArray[np.bool_], hu: FloatArray, edge: float,
             side: str) -> tuple[PedicleSection, NDArray[np.bool_]] | None:
    """The pedicle's tube on the lattice and its section facts (module notes, step 4)."""
    sg = SIDES[side]
    cw = _canal_half_width(canal, pts_b)
    s_b = pts_b[..., 2][body]
    s_range = (float(s_b.min()), float(s_b.max()))
    p = lat.coords(1)
    near = body & (sg * pts_b[..., 0] >= 0.5 * cw) & (sg * pts_b[..., 0] <= cw + 15.0)
    p_wall = float(pts_b[..., 1][near].max()) if near.any() else _posterior_wall(body, pts_b)
    foot_p = p[canal.any(axis=(0, 2))]
    if foot_p.size == 0:
        return None
    c_front, c_back = float(foot_p.min()), float(foot_p.max())
    j0 = int(np.searchsorted(p, min(p_wall, c_front) - 1.0))
    j1 = int(np.searchsorted(p, c_front + PEDICLE_CANAL_FRAC * (c_back - c_front)))
    secs = _lateral_runs(rest, canal, lat, side, s_range, j0, min(j1, lat.shape[1]))
    if len(secs) < 3:
        return None
    lr, s = lat.coords(2), lat.coords(0)
    cents, widths, heights = [], [], []
    for j, sec in secs:
        ss, ll = np.nonzero(sec)
        cl, cs = float(lr[ll].mean()), float(s[ss].mean())
        cents.append([cl, float(p[j]), cs])
        row = int(np.clip(np.rint((cs - lat.lo[2]) / lat.step), 0, lat.shape[0] - 1))
        widths.append(_half_max_width(hu[row, j, :], sec.any(axis=0), lat.step))
        heights.append(float(np.ptp(s[ss])) + lat.step)
    c = np.array(cents)
    w = np.array(widths)
    inner = np.arange(len(secs))
    inner = inner[1:-1] if len(secs) > 4 else inner  # not the cut at the wall or the merge
    w_in = np.where(np.isfinite(w[inner]), w[inner], np.inf)
    k = int(inner[int(np.argmin(w_in))])
    coef_l = np.polyfit(c[:, 1], c[:, 0], 1)
    coef_s = np.polyfit(c[:, 1], c[:, 2], 1)
    d = np.array([-coef_l[0], -1.0, -coef_s[0]])
    d /= np.linalg.norm(d)
    if len(secs) < 4 or -d[1] < np.cos(np.radians(AXIS_MAX_DEG)):
        coef_l, coef_s = np.array([0.0, c[k, 0]]), np.array([0.0, c[k, 2]])
        d = np.array([0.0, -1.0, 0.0])
    axis_pt = np.array([np.polyval(coef_l, c[k, 1]), c[k, 1], np.polyval(coef_s, c[k, 1])])
    tube = np.zeros(lat.shape, dtype=bool)
    for j, sec in secs:
        tube[:, j, :] = sec
    _sweep_back(tube, secs[k], secs[-1][0], coef_l, coef_s, lat, rest)
    cols = np.nonzero(secs[k][1])[1]
    width = float(w[k]) if np.isfinite(w[k]) else float(np.ptp(cols) + 1) * lat.step
    info = PedicleSection(side, axis_pt, d, c[k].copy(), width, heights[k],
                          float(p[secs[0][0]]), float(p[secs[-1][0]]))
    return info, tube


def _sweep_back(tube: NDArray[np.bool_], isthmus: tuple[int, NDArray[np.bool_]], j_last: int,
                coef_l: FloatArray, coef_s: FloatArray, lat: _Lattice,
                bone: NDArray[np.bool_]) -> None:
    """Sweep the isthmus section back along the axis through the bone behind the pedicle (the
    transpedicular entry), until it has left the bone."""
    from scipy import ndimage as ndi

    j_i, sec = isthmus
    sec = ndi.binary_dilation(sec)
    p = lat.coords(1)
    for j in range(j_last + 1, lat.shape[1]):
        dl = (np.polyval(coef_l, p[j]) - np.polyval(coef_l, p[j_i])) / lat.step
        ds = (np.polyval(coef_s, p[j]) - np.polyval(coef_s, p[j_i])) / lat.step
        moved = ndi.shift(sec.astype(np.uint8), (ds, dl), order=0, cval=0).astype(bool)
        inb = moved & bone[:, j, :]
        if inb.sum() < 0.3 * max(int(moved.sum()), 1):
            break
        tube[:, j, :] |= inb


def _name_other_bone(labels: LabelArray, pts_b: FloatArray,
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


def _to_ct_crop(volume: CTVolume, anatomy: LevelAnatomy, lat: _Lattice,
                labels: LabelArray) -> tuple[LevelAnatomy, LabelArray]:
    """Labels on a crop of the CT grid covering the lattice; anatomy with the CT's masks."""
    from scipy.ndimage import affine_transform

    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    ext = np.array([lat.shape[2], lat.shape[1], lat.shape[0]], float) - 1
    body_c = lat.lo + corners * ext * lat.step
    ijk = volume.grid.lps_to_voxel(anatomy.frame.to_lps(body_c))
    shape = np.array(volume.shape_kji)
    start = np.clip(np.floor(ijk.min(axis=0)).astype(int)[::-1], 0, shape)
    stop = np.clip(np.ceil(ijk.max(axis=0)).astype(int)[::-1] + 1, 0, shape)
    a0 = np.asarray(anatomy.offset_kji)
    a1 = a0 + np.asarray(anatomy.grid.shape_kji)
    start, stop = np.minimum(start, a0), np.maximum(stop, a1)
    st = (int(start[0]), int(start[1]), int(start[2]))
    sp = (int(stop[0]), int(stop[1]), int(stop[2]))
    grid = volume.grid.crop(st, sp)
    m, o = _lattice_to_kji(lat, anatomy.frame, grid)  # lattice → crop; inverted below
    m_inv = np.linalg.inv(m)
    out = affine_transform(labels, m_inv, -m_inv @ o, output_shape=grid.shape_kji, order=0,
                           mode="constant", cval=NONE, prefilter=False).astype(np.int8)
    body = np.zeros(grid.shape_kji, dtype=bool)
    off = a0 - start
    body[off[0]:off[0] + anatomy.body.shape[0], off[1]:off[1] + anatomy.body.shape[1],
         off[2]:off[2] + anatomy.body.shape[2]] = anatomy.body
    out[body] = BODY  # lattice BODY voxels outside the exact mask stay BODY (its edge)
    ped_l, ped_r = out == PEDICLE_LEFT, out == PEDICLE_RIGHT
    # the corridor is what the level's own bone allows: body, pedicles and arch (crossing the
    # arch or a transverse process is judged by the trajectory findings, not as a breach)
    vertebra = body | ped_l | ped_r | (out == ARCH) | (out == TRANSVERSE)
    new = LevelAnatomy(anatomy.level, grid, st, body, ped_l, ped_r, out == CANAL,
                       anatomy.frame, vertebra)
    return new, out
