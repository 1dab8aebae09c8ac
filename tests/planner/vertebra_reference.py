"""Reference measurements of real bodies from a label map and the CT (tests and bench only).

Independent of the planner's own body frame: the body is the expert/TotalSegmentator label
(vertebra label ∩ body label); its endplates are located on the CT itself, column by column,
as the half-maximum crossing of the HU profile along the cranial axis next to the label's
upper and lower surface; a plane is fitted to each endplate's central part, the cranial axis
is the bisector of the two plane normals (iterated), and the heights are measured along that
axis (perpendicular to the endplates) in the body's mid-sagittal plane at 10/50/90 % of its
AP depth, averaged over a ±3 mm slab.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

FRACS = {"anterior": 0.1, "middle": 0.5, "posterior": 0.9}


def _lps_points(grid: Any, mask: np.ndarray) -> np.ndarray:
    idx = np.argwhere(mask)[:, ::-1].astype(float)
    return np.asarray(grid.voxel_to_lps(idx))


def _edge(prof: np.ndarray, t: np.ndarray, guess: float) -> float:
    """Half-maximum crossing of the falling edge (inside → outside) nearest ``guess``."""
    sel = np.abs(t - guess) <= 4.5
    tt, pp = t[sel], prof[sel]
    if len(tt) < 5:
        return guess
    i_peak = int(np.argmax(pp[: len(pp) // 2 + 3]))
    i_tr = i_peak + int(np.argmin(pp[i_peak:]))
    lev = 0.5 * (pp[i_peak] + pp[i_tr])
    for q in range(i_peak, i_tr):
        if pp[q] >= lev > pp[q + 1]:
            return float(tt[q] + (pp[q] - lev) / (pp[q] - pp[q + 1]) * (tt[q + 1] - tt[q]))
    return guess


def _column_edges(ct: Any, mask_f: np.ndarray, origin: np.ndarray, rot: np.ndarray,
                  xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper CT endplate edge (cranial coordinate) of columns at body (x, y)."""
    t = np.arange(-30.0, 30.01, 0.25)
    pts = (origin + xy[:, None, 0, None] * rot[:, 0] + xy[:, None, 1, None] * rot[:, 1]
           + t[None, :, None] * rot[:, 2])
    vox = ct.grid.lps_to_voxel(pts.reshape(-1, 3))[:, ::-1].T
    hu = ndi.map_coordinates(ct.hu.astype(np.float32), vox, order=1, cval=-1000.0)
    inside = ndi.map_coordinates(mask_f, vox, order=1, cval=0.0) >= 0.5
    hu, inside = hu.reshape(len(xy), -1), inside.reshape(len(xy), -1)
    lo, hi = np.full(len(xy), np.nan), np.full(len(xy), np.nan)
    for n in range(len(xy)):
        w = np.nonzero(inside[n])[0]
        if len(w) < 8:
            continue
        hi[n] = _edge(hu[n], t, t[w[-1]])
        lo[n] = -_edge(hu[n][::-1], -t[::-1], -t[w[0]])
    return lo, hi


def _plane_normal(xy: np.ndarray, z: np.ndarray) -> np.ndarray:
    ok = np.isfinite(z)
    a = np.column_stack([xy[ok], np.ones(ok.sum())])
    keep = np.ones(ok.sum(), bool)
    for _ in range(3):
        coef = np.linalg.lstsq(a[keep], z[ok][keep], rcond=None)[0]
        res = np.abs(a @ coef - z[ok])
        keep = res <= max(1.0, 2.5 * float(np.median(res)))
    n = np.array([-coef[0], -coef[1], 1.0])
    return n / np.linalg.norm(n)


def reference_heights(ct: Any, body: np.ndarray, vertebra: np.ndarray) -> dict[str, Any]:
    """Heights (mm) of one body measured on the CT's endplates (see module notes).

    ``body`` and ``vertebra`` are boolean masks on the CT grid. Returns ``heights``
    (anterior/middle/posterior), ``axis_lps`` (cranial), ``centroid_lps``.
    """
    pts = _lps_points(ct.grid, body)
    c = pts.mean(axis=0)
    back = _lps_points(ct.grid, vertebra).mean(axis=0) - c
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    sup = vt[-1] if vt[-1][2] > 0 else -vt[-1]
    mask_f = body.astype(np.float32)
    for _ in range(3):
        post = back - (back @ sup) * sup
        post /= np.linalg.norm(post)
        rot = np.column_stack([np.cross(post, sup), post, sup])
        b = (pts - c) @ rot
        xs = np.arange(np.percentile(b[:, 0], 20), np.percentile(b[:, 0], 80), 2.0)
        ys = np.arange(np.percentile(b[:, 1], 15), np.percentile(b[:, 1], 85), 2.0)
        xy = np.array([(x, y) for x in xs for y in ys])
        lo, hi = _column_edges(ct, mask_f, c, rot, xy)
        n_up, n_dn = _plane_normal(xy, hi), _plane_normal(xy, lo)
        axis = rot @ (n_up + n_dn)
        sup = axis / np.linalg.norm(axis)
    mid = np.abs(b[:, 0]) <= 3.0
    core = mid & (np.abs(b[:, 2]) <= 4.0)
    ant, pos = float(b[core, 1].min()) - 1.5, float(b[core, 1].max()) + 1.5
    heights = {}
    for wall, f in FRACS.items():
        y = ant + f * (pos - ant)
        xy = np.array([(x, y + dy) for x in (-3.0, -1.5, 0.0, 1.5, 3.0) for dy in (-1.0, 0, 1.0)])
        lo, hi = _column_edges(ct, mask_f, c, rot, xy)
        heights[wall] = float(np.nanmedian(hi - lo))
    return {"heights": heights, "axis_lps": sup, "centroid_lps": c}
