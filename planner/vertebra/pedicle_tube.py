"""The pedicle as the bottleneck of the bone bridge beside the canal
(:mod:`planner.vertebra.pedicle`, step 4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray
from planner.vertebra.posterior_bone import canal_half_width, posterior_wall
from planner.vertebra.posterior_lattice import Lattice
from planner.vertebra.posterior_types import SIDES, PedicleSection

#: A section has merged with the body or the arch once its area exceeds this multiple of the
#: smallest (isthmus) section; only unmerged sections set the axis (tool assumption; on the
#: demo 1.3 puts the axis within 0.1 mm / 4° of the truth, 2.2 within 0.4 mm / 6°).
MERGE_AREA_RATIO = 1.3
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
#: ...and so is an axis that runs laterally towards the body by more than this: pedicles
#: converge medially from T1 (~27°) to T12 (near 0°) and from L1 (~11°) to L5 (~30°;
#: Zindrick et al., Spine 1987); a diverging fit is the body's posterolateral corner pulling
#: the section centroids at coarse slices (tool assumption).
AXIS_DIVERGE_MAX_DEG = 5.0
#: A smallest section below this is noise, not a pedicle (a T1 pedicle's section is ≥ 15 mm²,
#: outer width ≥ 4 mm, height ≥ 7 mm; Panjabi et al., Spine 1991; tool assumption).
MIN_SECTION_MM2 = 6.0
#: Consecutive sections of one pedicle: the centroid moves less than this (mm; the pedicle
#: axis turns by < 40° so it moves < 0.9 mm per mm of AP, tool assumption).
CHAIN_JUMP_MM = 3.0
#: The tube reaches this far (mm) behind the pedicle's last section: further back the axis
#: runs through the articular processes, where the facet joint is not resolved at 1-3 mm
#: and the neighbour's inferior articular process joins the bone (tptbox L3: 23 % of a tube
#: to the axis' exit lay outside the level's expert label; tool assumption).
TUBE_BEYOND_MM = 3.0
#: Bone chords through the isthmus are sampled this finely and this far (mm).
CHORD_STEP_MM = 0.1
CHORD_MAX_MM = 20.0
#: The width is the narrowest left-right chord within this distance (mm, along the axis) of
#: the smallest section: the isthmus width is the pedicle's minimum transverse width (Zindrick
#: et al., Spine 1987), and the smallest-area section can sit a voxel off it, where the pedicle
#: already flares towards the lamina.
WIDTH_WINDOW_MM = 1.5
#: Gaps in a pedicle section's cortical ring up to this wide are closed before it is filled
#: (a porotic cortex under 1 mm is not resolved everywhere; tool assumption): two closing
#: iterations on the 1.0-1.5 mm lattice. One (3 mm at 1.5 mm) left totalseg L4 left's ring
#: open, its 50 HU marrow outside the section and the width 7.3 mm (label 15.8 mm).
RING_GAP_MM = 4.5
#: Chord ends: the cortex peak is looked for this far inside the solid bone's end; the HU
#: outside is the median this far beyond it (mm); the half-maximum edge must lie within
#: EDGE_ACCEPT_MM of the solid's end and the cortex stand this far above the outside (the
#: usual CT edge criterion, cf. Treece et al., Med Image Anal 2010; tool assumption).
PEAK_WINDOW_MM = 2.0
OUTSIDE_MM = (1.5, 4.0)
EDGE_ACCEPT_MM = 1.5
EDGE_MIN_CONTRAST_HU = 100.0
#: A porotic pedicle's thin cortex can stay below the bone edge threshold (tptbox L3: 170-
#: 190 HU against an edge of 223 HU); outwards of the solid bone the peak is looked for
#: while the CT stays above this (soft tissue 40 ± 30 HU at 1.5 mm; tool assumption).
CORTEX_MIN_HU = 120.0
#: The inner cortical edge is reported only where the cortex stands this far above the
#: cancellous core (below it the cortex is thinner than the CT resolves; tool assumption).
INNER_MIN_CONTRAST_HU = 150.0
#: ...and only from CT sampled at most this coarsely (mm): a 1-2 mm pedicle cortex spans fewer
#: than two samples beyond it (tool assumption; cf. Treece et al., Med Image Anal 2010)...
INNER_MAX_STEP_MM = 1.0
#: ...and when the cortex it implies is this thick (mm; pedicle walls 0.5-2.5 mm, the medial
#: wall the thickest; tool assumption).
CORTEX_RANGE_MM = (0.3, 3.0)


@dataclass(frozen=True, slots=True)
class _Section:
    """One coronal section of the bone bridge beside the canal (lattice index ``j``)."""

    j: int
    area_mm2: float
    centre_l: float
    centre_s: float


def find_pedicle(lat: Lattice, pts_b: FloatArray, solid: NDArray[np.bool_],
                 canal: NDArray[np.bool_], body: NDArray[np.bool_], hu: FloatArray,
                 side: str) -> tuple[PedicleSection, NDArray[np.bool_]] | None:
    """The pedicle as the bottleneck of the bone bridge beside the canal (module notes).

    In each coronal section (constant AP position) between the body's posterior wall and the
    back of the pedicle zone, the largest bone component beside the canal is the bridge's
    section; the isthmus is the section of smallest area (the bridge's narrowest point between
    the thick body and the thick arch). The axis is a line through the centroids of the
    unmerged sections (area ≤ :data:`MERGE_AREA_RATIO` × the isthmus') within
    :data:`AXIS_WINDOW_MM` of it. Width and height are the bone chords through the isthmus
    centre perpendicular to the axis, left-right and craniocaudal, their ends at the CT's
    half-maximum edge (:func:`_chord`). The tube is the elliptic cylinder of the section along
    the axis, clipped to the bone, from the body to :data:`TUBE_BEYOND_MM` behind the last
    section (:func:`_tube`).
    """
    zone, p_wall, jj = _zone(lat, pts_b, canal, body, side)
    if jj is None:
        return None
    solid = solid.copy()
    secs = _chain([sc for j in range(*jj) if (sc := _section(lat, solid, canal, zone, j))
                   is not None], lat.step)
    if len(secs) < 2:
        return None
    iso = min(secs, key=lambda sc: sc.area_mm2)
    if iso.area_mm2 < MIN_SECTION_MM2:
        return None
    p = lat.coords(1)
    win = [sc for sc in secs if abs(p[sc.j] - p[iso.j]) <= AXIS_WINDOW_MM
           and sc.area_mm2 <= MERGE_AREA_RATIO * iso.area_mm2]
    coef_l = np.array([0.0, iso.centre_l])
    coef_s = np.array([0.0, iso.centre_s])
    if len(win) >= 3:
        pw = np.array([p[sc.j] for sc in win])
        coef_l = np.polyfit(pw, [sc.centre_l for sc in win], 1)
        coef_s = np.polyfit(pw, [sc.centre_s for sc in win], 1)
    d = np.array([-coef_l[0], -1.0, -coef_s[0]])
    d /= np.linalg.norm(d)
    if -d[1] < np.cos(np.radians(AXIS_MAX_DEG)) or (
            SIDES[side] * d[0] > np.sin(np.radians(AXIS_DIVERGE_MAX_DEG))):
        coef_l, coef_s = np.array([0.0, iso.centre_l]), np.array([0.0, iso.centre_s])
        d = np.array([0.0, -1.0, 0.0])
    centre = np.array([np.polyval(coef_l, p[iso.j]), p[iso.j], np.polyval(coef_s, p[iso.j])])
    left = np.array([1.0, 0.0, 0.0]) - d[0] * d
    left /= np.linalg.norm(left)
    up = np.cross(d, left)
    up *= np.sign(up[2]) or 1.0
    own = solid & ~canal & zone[:, None, :]  # not on into the transverse process
    width, inner_w = _narrowest(lat, own, hu, centre, d, left)
    height, inner_h = _chord(lat, own, hu, centre, up)
    tube, p_end = _tube(lat, pts_b, solid & ~canal, coef_l, coef_s, width / abs(left[0]),
                        height / abs(up[2]), (p_wall, float(p[secs[-1].j])), iso.j)
    info = PedicleSection(side, centre.copy(), d, centre, width, height, p_wall, p_end,
                          _inner(width, inner_w, lat.step), _inner(height, inner_h, lat.step))
    return info, tube


def _inner(outer: float, inner: float, step: float) -> float:
    """``inner`` if the CT resolves the cortex (lattice step ≤ :data:`INNER_MAX_STEP_MM`) and
    the cortex it implies is :data:`CORTEX_RANGE_MM` thick; else NaN."""
    cortex = 0.5 * (outer - inner)
    ok = step <= INNER_MAX_STEP_MM + 1e-9 and CORTEX_RANGE_MM[0] <= cortex <= CORTEX_RANGE_MM[1]
    return inner if ok else math.nan


def _zone(lat: Lattice, pts_b: FloatArray, canal: NDArray[np.bool_], body: NDArray[np.bool_],
          side: str) -> tuple[NDArray[np.bool_], float, tuple[int, int] | None]:
    """(section zone in (s, l), AP of the posterior wall beside the canal, AP index range of
    the sections) on one side; None range when the canal or the zone is missing."""
    sg = SIDES[side]
    cw = canal_half_width(canal, pts_b)
    s_b = pts_b[..., 2][body]
    s_lo, s_hi = float(s_b.min()), float(s_b.max())
    lr, p, s = lat.coords(2), lat.coords(1), lat.coords(0)
    u = sg * lr
    zone = ((u >= 0.5 * cw) & (u <= cw + PEDICLE_MAX_WIDTH_MM))[None, :] & (
        (s >= 0.5 * (s_lo + s_hi) - PEDICLE_LOW_FRAC * (s_hi - s_lo)) & (s <= s_hi + 1.0)
    )[:, None]
    near = body & (u[None, None, :] >= 0.5 * cw) & (u[None, None, :] <= cw + 15.0)
    p_wall = float(pts_b[..., 1][near].max()) if near.any() else posterior_wall(body, pts_b)
    foot_p = p[canal.any(axis=(0, 2))]
    if foot_p.size == 0:
        return zone, p_wall, None
    c_front, c_back = float(foot_p.min()), float(foot_p.max())
    j0 = int(np.searchsorted(p, p_wall + 1.0))
    j1 = min(int(np.searchsorted(p, c_front + PEDICLE_CANAL_FRAC * (c_back - c_front))),
             lat.shape[1])
    return zone, p_wall, ((j0, j1) if j1 - j0 >= 2 else None)


def _chain(secs: list[_Section], step: float) -> list[_Section]:
    """The sections continuing the first one (from the body backwards) until the centroid
    jumps by more than :data:`CHAIN_JUMP_MM` (or a section is missing): beyond such a jump
    the bone beside the canal is another structure (lamina, articular process). A first
    section that nothing continues is the body's wall where the outline stops short of it
    (totalseg L4 with the body mask eroded by a 3 mm voxel): the chain then starts at the
    second."""
    first = _follow(secs, step)
    return _follow(secs[1:], step) if len(first) == 1 and len(secs) > 2 else first


def _follow(secs: list[_Section], step: float) -> list[_Section]:
    """The sections continuing ``secs[0]`` without a jump (:func:`_chain`)."""
    out = secs[:1]
    for sc in secs[1:]:
        prev = out[-1]
        jump = math.hypot(sc.centre_l - prev.centre_l, sc.centre_s - prev.centre_s)
        if sc.j != prev.j + 1 or jump > max(CHAIN_JUMP_MM, 1.5 * step):
            break
        out.append(sc)
    return out


def _section(lat: Lattice, solid: NDArray[np.bool_], canal: NDArray[np.bool_],
             zone: NDArray[np.bool_], j: int) -> _Section | None:
    """The largest bone component of coronal section ``j`` within ``zone`` (None if none),
    its cortical ring closed over gaps up to :data:`RING_GAP_MM` and filled: a porotic
    pedicle's cancellous core lies below the bone edge and its thin cortex shows gaps.
    ``solid`` is updated with the filled section, and loses the one-voxel strips the section
    sheds (:func:`_without_strips`)."""
    from scipy import ndimage as ndi

    sec = solid[:, j, :] & ~canal[:, j, :] & zone
    lab, n = ndi.label(sec)
    if n == 0:
        return None
    sizes = np.bincount(lab.ravel())[1:]
    k = int(np.argmax(sizes)) + 1
    comp = lab == k
    it = max(1, int(round(RING_GAP_MM / (2.0 * lat.step))))
    pad = np.pad(comp, it)
    closed = ndi.binary_closing(pad, iterations=it)[it:-it, it:-it] | comp
    filled = _without_strips(ndi.binary_fill_holes(closed) & zone & ~canal[:, j, :])
    solid[:, j, :] &= ~(comp & ~filled)
    solid[:, j, :] |= filled
    ks, kl = np.nonzero(filled)
    s, lr = lat.coords(0), lat.coords(2)
    return _Section(j, float(ks.size) * lat.step**2, float(lr[kl].mean()),
                    float(s[ks].mean()))


def _without_strips(sec: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The largest part of a filled section left by an opening of one voxel: a one-voxel
    strip hanging from it is no pedicle (the sagittal fill of :func:`solid_bone` closes the
    neural foramen below the pedicle where its bony ring is closed at 1.5 mm: tptbox L3 read
    17.2 mm tall with the outline's pedicle bases in the body, 13.0 without); the section
    itself when the opening leaves nothing."""
    from scipy import ndimage as ndi

    core = ndi.binary_opening(sec)
    lab, n = ndi.label(core)
    if n == 0:
        return sec
    part = lab == int(np.argmax(np.bincount(lab.ravel())[1:])) + 1
    return np.asarray(sec & ndi.binary_dilation(part), dtype=bool)


def _narrowest(lat: Lattice, own: NDArray[np.bool_], hu: FloatArray, centre: FloatArray,
               axis: FloatArray, left: FloatArray) -> tuple[float, float]:
    """The narrowest left-right chord within :data:`WIDTH_WINDOW_MM` of ``centre`` along the
    axis. A chord under half the central one is a piece of a porotic cortical ring (the
    channel inside it is dark), not the pedicle's width, and is not taken."""
    here = _chord(lat, own, hu, centre, left)
    best = here
    for dp in np.arange(-WIDTH_WINDOW_MM, WIDTH_WINDOW_MM + 1e-9, 0.5 * lat.step):
        w = _chord(lat, own, hu, centre + dp * axis, left, centred=True)
        if 0.5 * here[0] <= w[0] < best[0]:
            best = w
    return best


def _chord(lat: Lattice, solid: NDArray[np.bool_], hu_lat: FloatArray,
           centre: FloatArray, direction: FloatArray,
           centred: bool = False) -> tuple[float, float]:
    """(outer, inner) lengths (mm) of the bone chord through ``centre`` along ``direction``
    (body coords): between the outer cortical edges, and between the inner ones (the
    cancellous channel; NaN where a cortex is not resolved).

    Each end is where the solid bone ends, moved to the CT's local half-maximum edge
    (:func:`_edges_near`). With ``centred`` a chord whose bone run does not contain ``centre``
    is 0 (not measured there).
    """
    from scipy.ndimage import map_coordinates

    t = np.arange(-CHORD_MAX_MM, CHORD_MAX_MM + 1e-9, CHORD_STEP_MM)
    pts = centre[None, :] + t[:, None] * direction[None, :]
    idx = ((pts - lat.lo) / lat.step)[:, ::-1].T  # (s, p, l) lattice indices
    inside = map_coordinates(solid.astype(np.uint8), idx, order=0, mode="constant", cval=0) > 0
    if not inside.any():
        return 0.0, math.nan
    hu = map_coordinates(hu_lat, idx, order=1, mode="constant", cval=-1000.0)
    # the run of bone through the centre, or nearest to it (a curved section's centroid can
    # lie just outside its bone)
    edges = np.flatnonzero(np.diff(np.r_[0, inside.astype(np.int8), 0]))
    runs = edges.reshape(-1, 2)
    c = len(t) // 2
    if centred and not inside[c]:
        return 0.0, math.nan
    a, z = min(runs, key=lambda r: 0 if r[0] <= c < r[1] else min(abs(r[0] - c),
                                                                   abs(r[1] - 1 - c)))
    mid = 0.5 * float(t[a] + t[z - 1])
    hi, hi_in = _edges_near(t, hu, float(t[z - 1]) + 0.5 * CHORD_STEP_MM, mid)
    lo, lo_in = _edges_near(-t[::-1], hu[::-1], -float(t[a]) + 0.5 * CHORD_STEP_MM, -mid)
    return float(hi + lo), float(hi_in + lo_in)


def _edges_near(t: FloatArray, hu: FloatArray, end: float, mid: float) -> tuple[float, float]:
    """(outer, inner) cortical edges near the solid's ``end`` on the profile ``hu(t)``.

    Outer: the first crossing, outwards of the cortex peak (highest HU from
    :data:`PEAK_WINDOW_MM` inside ``end`` to half of it outside, or as far as a porotic cortex
    below the bone edge continues, :func:`_cortex_reach`), of the mean of that peak and the
    median HU :data:`OUTSIDE_MM` beyond it; ``end`` itself without a clear cortex (contrast
    below :data:`EDGE_MIN_CONTRAST_HU`). The marrow between the cortices is counted inside.
    Inner: the first crossing, inwards of the peak, of the mean of the peak and the
    cancellous bone (the lowest HU between ``mid`` and the peak); NaN when the cortex stands
    less than :data:`INNER_MIN_CONTRAST_HU` above it (not resolved).
    """
    reach = _cortex_reach(t, hu, end)
    win = np.flatnonzero((t >= end - PEAK_WINDOW_MM)
                         & (t <= max(reach, end + 0.5 * PEAK_WINDOW_MM)))
    if win.size == 0:
        return end, math.nan
    ipk = int(win[np.argmax(hu[win])])
    ref = max(reach, float(t[ipk]))
    beyond = hu[(t >= ref + OUTSIDE_MM[0]) & (t <= ref + OUTSIDE_MM[1])]
    if beyond.size == 0:
        return end, math.nan
    peak, outside = float(hu[ipk]), float(np.median(beyond))
    if peak - outside < EDGE_MIN_CONTRAST_HU:
        return end, math.nan
    outer = _crossing(t, hu, ipk, 0.5 * (peak + outside), +1)
    if not math.isfinite(outer) or abs(outer - ref) > EDGE_ACCEPT_MM:
        outer = end
    core = np.flatnonzero((t >= mid) & (t < t[ipk]))
    if core.size == 0 or peak - float(hu[core].min()) < INNER_MIN_CONTRAST_HU:
        return outer, math.nan
    inner = _crossing(t, hu, ipk, 0.5 * (peak + float(hu[core].min())), -1)
    return outer, (inner if math.isfinite(inner) and inner >= mid else math.nan)


def _cortex_reach(t: FloatArray, hu: FloatArray, end: float) -> float:
    """How far outwards of the solid's ``end`` (at most :data:`PEAK_WINDOW_MM`) the CT stays
    above :data:`CORTEX_MIN_HU` without a break: a porotic cortex below the bone edge
    threshold lies outside the solid bone; ``end`` when the next sample is already below."""
    out = np.flatnonzero((t > end) & (t <= end + PEAK_WINDOW_MM))
    if out.size == 0:
        return end
    low = np.flatnonzero(hu[out] < CORTEX_MIN_HU)
    n = int(low[0]) if low.size else out.size
    return float(t[out[n - 1]]) if n > 0 else end


def _crossing(t: FloatArray, hu: FloatArray, start: int, level: float, way: int) -> float:
    """Where ``hu`` first falls below ``level`` going from index ``start`` in direction
    ``way`` (+1 / -1), linearly interpolated; NaN if it never does."""
    seq = hu[start::way] if way > 0 else hu[start::-1]
    below = np.flatnonzero(seq < level)
    if below.size == 0:
        return math.nan
    i = start + way * int(below[0])
    j = i - way
    a, b = float(hu[j]), float(hu[i])
    return float(t[j] + (t[i] - t[j]) * (a - level) / (a - b)) if a != b else float(t[i])


def _tube(lat: Lattice, pts_b: FloatArray, bone: NDArray[np.bool_], coef_l: FloatArray,
          coef_s: FloatArray, width: float, height: float, p_span: tuple[float, float],
          j_iso: int) -> tuple[NDArray[np.bool_], float]:
    """Elliptic cylinder of the isthmus section along the axis, clipped to bone, from the body
    (``p_span[0]``, the posterior wall) to :data:`TUBE_BEYOND_MM` behind the last section
    (``p_span[1]``) or where the axis leaves the bone behind the pedicle if sooner; and
    that AP position where the axis leaves the bone (mm; the transpedicular entry)."""
    p_wall, p_back = p_span
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
    span = (pp >= p_wall - 2.0) & (pp <= min(float(p[j_end]), p_back + TUBE_BEYOND_MM))
    return np.asarray(ell & span & bone), float(p[j_end])

