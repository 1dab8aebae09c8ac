"""Pedicles and posterior elements of one level, segmented from the CT (ANATOMY.md §4 step).

Method (body frame of the level, :mod:`planner.anatomy`; all lengths mm):

1. The CT is resampled on an isotropic lattice aligned with the body frame (spacing
   :func:`_lattice_step`) over the level's slab, wide enough for the transverse processes.
2. *Bone* is where the lightly smoothed CT exceeds the half-maximum between the cortex (a high
   percentile of the HU on the body's shell) and soft tissue (:data:`SOFT_TISSUE_HU`): the
   usual CT edge criterion, so the level follows the patient's own cortex (30 HU porotic
   trabecular bone is enclosed by its shell, not thresholded). Shells closed by one voxel are
   filled in sagittal and coronal sections (the canal, running craniocaudally, is no hole
   there) and small holes in axial sections (< :data:`HOLE_MAX_MM2`) too (:func:`_solid`).
3. *Canal*: the large hole (≥ :data:`HOLE_MAX_MM2`) behind the body in the axial sections
   where the ring of body, pedicles and laminae is closed; its footprint is extruded over
   the slab. Without any closed ring the analysis' canal is kept.
4. *Pedicle*: the bone bridge joining body and canal. In each coronal section (constant AP
   position) between the body's posterior wall and the front of the laminae, the deepest bone
   point beside the canal (largest distance to the bone surface) is the bridge's ridge; the
   isthmus is the section where that depth is smallest. The axis is a line through the ridge
   points near the isthmus; width and height are the bone runs through the isthmus ridge
   point; the tube is that elliptic section swept along the axis, clipped to the bone, up to
   where the axis leaves the bone behind (the transpedicular entry). See :func:`_pedicle`.
5. *Other bone* is named by where it lies: transverse process (beside the pedicle, behind the
   wall), lamina/facet (behind or above/below the pedicle), rib head / costovertebral joint
   (thoracic levels, beside the body), neighbouring vertebra (beyond the endplates in front
   of the canal).

Sources: half-maximum edges and the bridge definition follow the pedicle modelling literature
(Knez & Vrtovec, Image Anal Stereol: oblique-section widths); thresholds marked "tool
assumption" are ours. Accuracy (tptbox L3 against the expert arch sub-label): not yet good
enough to bound the corridor; see the README's trajectory limits.
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
LATTICE_MARGIN_MM = (22.0, 45.0, 10.0)
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
#: The axis is fitted through the ridge points within this distance of the isthmus (mm).
AXIS_WINDOW_MM = 6.0
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

    ``axis_dir`` points anterior; ``isthmus_width_mm`` is the left-right bone run through the
    isthmus (edges at the half-maximum bone edge), ``isthmus_height_mm`` the craniocaudal run;
    ``p_start`` is the body's posterior wall beside the canal, ``p_end`` where the axis leaves
    the bone behind the pedicle (the transpedicular entry).
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
    lattice_step_mm: float = 1.0


@dataclass(frozen=True, eq=False)
class _Lattice:
    """Isotropic body-frame lattice: index [s, p, l] ↔ body coordinates."""

    lo: FloatArray  # body coordinates (l, p, s) of index 0
    step: float
    shape: tuple[int, int, int]  # (ns, np, nl)

    def coords(self, axis: int) -> FloatArray:
        """Body coordinate along lattice axis 0 (s), 1 (p) or 2 (l)."""
        comp = (2, 1, 0)[axis]
        return np.asarray(self.lo[comp] + self.step * np.arange(self.shape[axis]), np.float64)

    def body_points(self) -> FloatArray:
        s, p, lr = (self.coords(a) for a in range(3))
        S, P, L = np.meshgrid(s, p, lr, indexing="ij")
        return np.stack([L, P, S], axis=-1)



def _lattice_step(volume: CTVolume) -> float:
    """Lattice spacing: the CT's finest spacing, kept within 1.0-1.5 mm (finer costs seconds
    per level; coarser loses thoracic pedicles; tool assumption)."""
    return float(np.clip(volume.grid.spacing_mm.min(), 1.0, 1.5))


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
    bone = _solid(sm >= edge, step) | body
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
    edt = _edt_near_canal(bone & ~canal, canal, step)
    for side, code in (("left", PEDICLE_LEFT), ("right", PEDICLE_RIGHT)):
        found = _pedicle(lat, pts_b, bone, canal, body, edt, side)
        if found is None:
            notes.append(f"no {side} pedicle found in the CT")
            peds[side] = None
            continue
        peds[side], tube = found
        labels[tube & bone & ~body] = code
    _name_other_bone(labels, pts_b, peds, anatomy.level, ext_lo, ext_hi)
    out_anat, out_labels = _to_ct_crop(volume, anatomy, lat, labels)
    return PosteriorSegmentation(out_anat, out_labels, peds, edge, tuple(notes), step)


def _edge_hu(hu: FloatArray, body: NDArray[np.bool_]) -> float:
    """Half maximum between the cortex on the body's shell and soft tissue (module notes)."""
    from scipy import ndimage as ndi

    shell = body & ~ndi.binary_erosion(body, iterations=2)
    if shell.sum() < 20:
        return float(np.mean(EDGE_HU_RANGE))
    cortex = float(np.percentile(hu[shell], CORTEX_PERCENTILE))
    return float(np.clip(0.5 * (cortex + SOFT_TISSUE_HU), *EDGE_HU_RANGE))


def _solid(bone: NDArray[np.bool_], step: float) -> NDArray[np.bool_]:
    """Bone with its cancellous interior: cortical shells closed by one voxel and filled in
    sagittal and coronal sections (where the canal, running craniocaudally, is no hole),
    then small axial holes (:func:`_fill_small_holes`)."""
    from scipy import ndimage as ndi

    closed = ndi.binary_closing(bone, structure=ndi.generate_binary_structure(3, 1))
    closed |= bone
    sag = ndi.binary_fill_holes(closed, structure=_in_plane(2))
    cor = ndi.binary_fill_holes(closed, structure=_in_plane(1))
    return _fill_small_holes(bone | sag | cor, step)


def _fill_small_holes(bone: NDArray[np.bool_], step: float) -> NDArray[np.bool_]:
    """Fill holes smaller than :data:`HOLE_MAX_MM2` in every axial section (lattice axis 0)."""
    from scipy import ndimage as ndi

    holes = ndi.binary_fill_holes(bone, structure=_in_plane(0)) & ~bone
    lab, n = ndi.label(holes, structure=_in_plane(0))
    if n == 0:
        return bone
    area = ndi.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1)) * step * step
    small = np.concatenate([[False], area < HOLE_MAX_MM2])
    return np.asarray(bone | small[lab], dtype=bool)


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
    front = ndi.minimum(pts_b[..., 1], lab, idx)  # the canal lies against the posterior wall
    ok = (area >= HOLE_MAX_MM2) & (np.abs(lr) < 12.0) & (pp > p_wall) & (front < p_wall + 4.0)
    if not ok.any():
        return None
    keep = np.concatenate([[False], ok])[lab]
    foot = keep.any(axis=0)  # (p, l) footprint
    s = pts_b[..., 2]
    s_body = s[body]
    in_slab = (s >= s_body.min() - 8.0) & (s <= s_body.max() + 8.0)
    return np.asarray(np.broadcast_to(foot, bone.shape) & in_slab & ~bone & ~body, dtype=bool)


def _posterior_wall(body: NDArray[np.bool_], pts_b: FloatArray) -> float:
    """AP coordinate of the body's posterior wall near the midline (median over height)."""
    mid = body & (np.abs(pts_b[..., 0]) < 6.0)
    return float(np.median(pts_b[..., 1][mid].max())) if mid.any() else float(
        pts_b[..., 1][body].max())


def _canal_half_width(canal: NDArray[np.bool_], pts_b: FloatArray) -> float:
    lr = np.abs(pts_b[..., 0][canal])
    return float(np.clip(np.percentile(lr, 98), 5.0, 14.0)) if lr.size > 10 else 8.0


def _pedicle(lat: _Lattice, pts_b: FloatArray, solid: NDArray[np.bool_],
             canal: NDArray[np.bool_], body: NDArray[np.bool_], edt: FloatArray,
             side: str) -> tuple[PedicleSection, NDArray[np.bool_]] | None:
    """The pedicle as the bottleneck of the bone bridge beside the canal (module notes).

    In each coronal section between the body's posterior wall and the back of the pedicle
    zone, the deepest bone point beside the canal (largest distance to the bone surface, the
    centre of the largest inscribed sphere) is the ridge of the bridge; the isthmus is the
    section where that depth is smallest (the bridge's narrowest point between the thick body
    and the thick arch). The axis is a line through the ridge points within
    :data:`AXIS_WINDOW_MM` of the isthmus; width and height are the bone runs through the
    isthmus ridge point along left-right and craniocaudal; the tube is the elliptic cylinder of
    that section along the axis, clipped to the bone, from the body to where the axis leaves
    the bone behind (the transpedicular entry).
    """
    sg = SIDES[side]
    cw = _canal_half_width(canal, pts_b)
    s_b = pts_b[..., 2][body]
    s_lo, s_hi = float(s_b.min()), float(s_b.max())
    lr, p, s = lat.coords(2), lat.coords(1), lat.coords(0)
    u = sg * lr
    zone = ((u >= 0.5 * cw) & (u <= cw + PEDICLE_MAX_WIDTH_MM))[None, :] & (
        (s >= 0.5 * (s_lo + s_hi) - PEDICLE_LOW_FRAC * (s_hi - s_lo)) & (s <= s_hi + 1.0)
    )[:, None]
    near = body & (u[None, None, :] >= 0.5 * cw) & (u[None, None, :] <= cw + 15.0)
    p_wall = float(pts_b[..., 1][near].max()) if near.any() else _posterior_wall(body, pts_b)
    foot_p = p[canal.any(axis=(0, 2))]
    if foot_p.size == 0:
        return None
    c_front, c_back = float(foot_p.min()), float(foot_p.max())
    j0 = int(np.searchsorted(p, p_wall + 1.0))
    j1 = min(int(np.searchsorted(p, c_front + PEDICLE_CANAL_FRAC * (c_back - c_front))),
             lat.shape[1])
    if j1 - j0 < 2:
        return None
    depth = np.where(zone[:, None, :], edt, 0.0)[:, j0:j1, :]
    best = depth.reshape(depth.shape[0], depth.shape[1], -1).max(axis=(0, 2))
    if not np.all(best > 0):
        return None
    ridge = [np.unravel_index(int(np.argmax(depth[:, q, :])), (lat.shape[0], lat.shape[2]))
             for q in range(depth.shape[1])]
    k = int(np.argmin(best))
    jk = j0 + k
    rs, rl = int(ridge[k][0]), int(ridge[k][1])
    win = [q for q in range(len(ridge)) if abs(p[j0 + q] - p[jk]) <= AXIS_WINDOW_MM]
    c = np.array([[lr[ridge[q][1]], p[j0 + q], s[ridge[q][0]]] for q in win])
    if len(win) >= 3:
        coef_l, coef_s = np.polyfit(c[:, 1], c[:, 0], 1), np.polyfit(c[:, 1], c[:, 2], 1)
    else:
        coef_l, coef_s = np.array([0.0, lr[rl]]), np.array([0.0, s[rs]])
    d = np.array([-coef_l[0], -1.0, -coef_s[0]])
    d /= np.linalg.norm(d)
    if -d[1] < np.cos(np.radians(AXIS_MAX_DEG)):
        coef_l, coef_s = np.array([0.0, lr[rl]]), np.array([0.0, s[rs]])
        d = np.array([0.0, -1.0, 0.0])
    sec = solid[:, jk, :] & ~canal[:, jk, :]
    width = _run(sec[rs, :], rl) * lat.step
    height = _run(sec[:, rl], rs) * lat.step
    iso = np.array([lr[rl], p[jk], s[rs]])
    tube, p_end = _tube(lat, pts_b, solid & ~canal, coef_l, coef_s, width, height, p_wall, jk)
    info = PedicleSection(side, iso.copy(), d, iso, width, height, p_wall, p_end)
    return info, tube


def _edt_near_canal(solid: NDArray[np.bool_], canal: NDArray[np.bool_],
                    step: float) -> FloatArray:
    """Distance (mm) to the bone surface inside ``solid``, computed only in the AP range of
    the canal (± 10 mm), where pedicles are looked for; 0 elsewhere."""
    from scipy import ndimage as ndi

    out = np.zeros(solid.shape, dtype=np.float64)
    js = np.flatnonzero(canal.any(axis=(0, 2)))
    if js.size == 0:
        return out
    pad = int(np.ceil(10.0 / step))
    a, z = max(int(js[0]) - pad, 0), min(int(js[-1]) + pad + 1, solid.shape[1])
    out[:, a:z, :] = ndi.distance_transform_edt(solid[:, a:z, :]) * step
    return out


def _run(line: NDArray[np.bool_], at: int) -> float:
    """Length (voxels) of the run of True through index ``at``."""
    if not line[at]:
        return 0.0
    a = at
    while a > 0 and line[a - 1]:
        a -= 1
    z = at
    while z + 1 < len(line) and line[z + 1]:
        z += 1
    return float(z - a + 1)


def _tube(lat: _Lattice, pts_b: FloatArray, bone: NDArray[np.bool_], coef_l: FloatArray,
          coef_s: FloatArray, width: float, height: float, p_wall: float,
          j_iso: int) -> tuple[NDArray[np.bool_], float]:
    """Elliptic cylinder of the isthmus section along the axis, clipped to bone, from the body
    to where the axis leaves the bone behind the pedicle; and that AP position (mm)."""
    p = lat.coords(1)
    j_end = j_iso
    out_run = 0
    for j in range(j_iso, lat.shape[1]):
        ax_l, ax_s = np.polyval(coef_l, p[j]), np.polyval(coef_s, p[j])
        idx = np.rint((np.array([ax_s, ax_l]) - lat.lo[[2, 0]]) / lat.step).astype(int)
        inside = (0 <= idx[0] < lat.shape[0] and 0 <= idx[1] < lat.shape[2]
                  and bool(bone[idx[0], j, idx[1]]))
        out_run = 0 if inside else out_run + 1
        if out_run * lat.step > 2.0:
            break
        j_end = j
    lr, pp, s = pts_b[..., 0], pts_b[..., 1], pts_b[..., 2]
    ax_l, ax_s = np.polyval(coef_l, pp), np.polyval(coef_s, pp)
    a, b = 0.5 * width + 0.5 * lat.step, 0.5 * height + 0.5 * lat.step
    ell = ((lr - ax_l) / a) ** 2 + ((s - ax_s) / b) ** 2 <= 1.0
    span = (pp >= p_wall - 2.0) & (pp <= p[j_end])
    return np.asarray(ell & span & bone), float(p[j_end])


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
