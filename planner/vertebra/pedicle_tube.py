"""The pedicle as the bottleneck of the bone bridge beside the canal
(:mod:`planner.vertebra.pedicle`, step 4)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray
from planner.vertebra.posterior_bone import canal_half_width, posterior_wall
from planner.vertebra.posterior_lattice import Lattice
from planner.vertebra.posterior_types import SIDES, PedicleSection

#: The tracked pedicle section has merged with the arch once its area exceeds this multiple of
#: the smallest section (tool assumption).
MERGE_AREA_RATIO = 2.2
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


def find_pedicle(lat: Lattice, pts_b: FloatArray, solid: NDArray[np.bool_],
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


def edt_near_canal(solid: NDArray[np.bool_], canal: NDArray[np.bool_],
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


def _tube(lat: Lattice, pts_b: FloatArray, bone: NDArray[np.bool_], coef_l: FloatArray,
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

