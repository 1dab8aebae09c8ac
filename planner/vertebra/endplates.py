"""A body frame that follows the endplates (six-point morphometry needs it).

Method
------
Heights are defined perpendicular to the endplates in the body's own mid-sagittal plane
(six-point method: Genant 1993; McCloskey 1993). A frame taken from the column's direction
or from the star surface caps is tilted wherever the caps catch rims, osteophytes or the
pedicle bases (on ../shared/data/totalseg_example L1 it was ~18° off and produced a false 19°
wedge). Here the endplates are located on the CT itself, column by column:

1. In the current frame, columns parallel to the cranial axis are laid every 2 mm over the
   central part of the body (20-80 % of its width, 15-85 % of its depth: clear of the rim,
   osteophytes and the pedicle bases; cf. the central-core advice of Tan et al., PMB 2012).
2. Along each column the upper (lower) endplate is the half-maximum crossing of the HU
   profile's falling edge next to where the body mask ends (cortical plate → disc).
3. A plane is fitted to each endplate's points by least squares, refitted twice without the
   points more than 2.5 median residuals off (a robust fit that ignores Schmorl nodes and a
   locally broken plate).
4. The cranial axis is the bisector of the two plane normals. When they differ by more than
   :data:`WEDGE_SPLIT_DEG` and the body is shorter in front (a wedged, fractured body) the
   normal closer to the previous axis is kept instead, so a collapsed endplate does not tilt
   the frame it is measured in. An L4, L5 (or L6) body taller in front keeps the bisector
   however wedged: that is the physiological lordotic wedge of the lower lumbar bodies, not a
   compression fracture (../shared/data/totalseg_example L5: planes 22° apart, L4 13-15°; one
   normal alone tilted the L5 frame 11° off the CT's endplate bisector and its posterior
   height was 1.7 mm short). Higher up it is not relied on: the porotic L3 of
   ../shared/data/tptbox_l3 has planes 15-21° apart, tilted sideways as much as sagittally.

Steps 1-4 run twice; the posterior axis is then re-orthogonalised (it keeps pointing from the
body to the canal), so the mid-sagittal plane contains the cranial axis.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame
from planner.grid import FloatArray, ImageGrid
from planner.vertebra.common import orthonormal_frame, sample

#: Endplate normals further apart than this mark a wedged (fractured) body when it is shorter
#: in front; physiological kyphotic wedging is at most ~6° at T11-L1 (Masharawi 2010).
WEDGE_SPLIT_DEG = 12.0
#: Levels whose body is physiologically taller in front (lordotic wedge; Masharawi 2010).
LORDOTIC_LEVELS = frozenset({"L4", "L5", "L6"})
COLUMN_STEP_MM = 2.0
T_STEP_MM = 0.25
T_MAX_MM = 32.0
#: The endplate's cortical peak lies within this distance inside the disc trough.
PEAK_WINDOW_MM = 4.0
#: The disc trough is looked for at most this far beyond where the body mask ends.
TROUGH_REACH_MM = 5.0


def _falling_edge(prof: FloatArray, t: FloatArray, guess: float,
                  level_frac: float = 0.5) -> float:
    """Endplate position on a profile running from inside the body outwards (``t`` rising).

    The disc is the darkest point within -3 mm..+TROUGH_REACH_MM of ``guess`` (mask end);
    the endplate is the falling edge just before it: the crossing of the level between the
    disc trough and the brightest sample within :data:`PEAK_WINDOW_MM` inside the trough.
    Taking the last edge before the disc, not the strongest edge near the mask, keeps a
    sclerotic bone island under the endplate (a strong internal edge) from being taken for
    the endplate; NaN when no edge stands out.
    """
    sel = np.nonzero((t >= guess - 3.0) & (t <= guess + TROUGH_REACH_MM))[0]
    if len(sel) < 6:
        return float("nan")
    i_tr = int(sel[np.argmin(prof[sel])])
    w = int(round(PEAK_WINDOW_MM / T_STEP_MM))
    a = max(0, i_tr - w)
    if i_tr - a < 2:
        return float("nan")
    i_peak = a + int(np.argmax(prof[a:i_tr]))
    peak, trough = float(prof[i_peak]), float(prof[i_tr])
    if peak - trough < 25.0:  # no edge: the mask ended in uniform tissue
        return float("nan")
    level = trough + level_frac * (peak - trough)
    for q in range(i_tr - 1, i_peak - 1, -1):
        if prof[q] >= level > prof[q + 1]:
            return float(t[q] + (prof[q] - level) / (prof[q] - prof[q + 1]) * T_STEP_MM)
    return float("nan")


def column_endplates(sm: NDArray[np.float32], grid: ImageGrid,
                     mask: NDArray[np.bool_] | NDArray[np.float32],
                     frame: BodyFrame, xy: FloatArray, level_frac: float = 0.5,
                     ) -> tuple[FloatArray, FloatArray]:
    """Lower and upper endplate (cranial body coordinate, mm) of columns at body ``(x, y)``.

    NaN where the column misses the body or shows no edge.
    """
    t = np.arange(-T_MAX_MM, T_MAX_MM + 1e-6, T_STEP_MM)
    body = np.zeros((len(xy), len(t), 3))
    body[..., 0] = xy[:, 0, None]
    body[..., 1] = xy[:, 1, None]
    body[..., 2] = t[None, :]
    lps = frame.to_lps(body)
    hu = sample(sm, grid, lps)
    mask_f: NDArray[np.float32] = (mask if mask.dtype == np.float32  # type: ignore[assignment]
                                   else mask.astype(np.float32))
    inside = sample(mask_f, grid, lps, fill=0.0) >= 0.5
    lo = np.full(len(xy), np.nan)
    hi = np.full(len(xy), np.nan)
    for n in range(len(xy)):
        w = np.nonzero(inside[n])[0]
        if len(w) < 8:
            continue
        hi[n] = _falling_edge(hu[n], t, float(t[w[-1]]), level_frac)
        lo[n] = -_falling_edge(hu[n][::-1], -t[::-1], float(-t[w[0]]), level_frac)
    return lo, hi


def _plane_normal(xy: FloatArray, z: FloatArray) -> FloatArray | None:
    """Unit normal (+z side) of the robust plane z = a x + b y + c through the points."""
    ok = np.isfinite(z)
    if ok.sum() < 8:
        return None
    a = np.column_stack([xy[ok], np.ones(int(ok.sum()))])
    zz = z[ok]
    keep = np.ones(len(zz), dtype=bool)
    coef: FloatArray = np.zeros(3)
    for _ in range(3):
        coef = np.asarray(np.linalg.lstsq(a[keep], zz[keep], rcond=None)[0], dtype=np.float64)
        res = np.abs(a @ coef - zz)
        keep = res <= max(1.0, 2.5 * float(np.median(res)))
        if keep.sum() < 6:
            break
    n = np.array([-coef[0], -coef[1], 1.0])
    out: FloatArray = n / np.linalg.norm(n)
    return out


def _taller_in_front(n_up: FloatArray, n_dn: FloatArray) -> bool:
    """Whether the endplate planes (body-frame normals, +z) close towards the back.

    Each plane is z = a x + b y + c with normal ∝ (-a, -b, 1); the height falls towards
    the back (+y) when the upper plane's slope ``b`` is below the lower one's.
    """
    b_up = -float(n_up[1]) / float(n_up[2])
    b_dn = -float(n_dn[1]) / float(n_dn[2])
    return b_up < b_dn


def central_columns(pts_body: FloatArray, step: float = COLUMN_STEP_MM) -> FloatArray:
    """(x, y) of columns over the central part of a body given its voxels' body coordinates."""
    x0, x1 = np.percentile(pts_body[:, 0], (20, 80))
    y0, y1 = np.percentile(pts_body[:, 1], (15, 85))
    xs = np.arange(x0, x1 + 1e-6, step)
    ys = np.arange(y0, y1 + 1e-6, step)
    return np.array([(x, y) for x in xs for y in ys], float).reshape(-1, 2)


def endplate_frame(sm: NDArray[np.float32], grid: ImageGrid, mask: NDArray[np.bool_],
                   frame: BodyFrame, iterations: int = 2, level: str = "") -> BodyFrame:
    """``frame`` turned so its cranial axis bisects the two endplate planes (see notes).

    ``sm`` is a lightly smoothed HU crop on ``grid``, ``mask`` the body on it; LPS mm.
    ``level`` (e.g. ``"L5"``) tells whether a lordotic wedge is physiological there.
    Returns ``frame`` unchanged when fewer than 8 columns show an endplate.
    """
    idx = np.argwhere(mask)
    if len(idx) < 50:
        return frame
    pts = grid.voxel_to_lps(idx[:: max(1, len(idx) // 20000), ::-1].astype(float))
    mask_f = mask.astype(np.float32)
    for _ in range(iterations):
        xy = central_columns(frame.to_body(pts))
        if len(xy) < 8:
            return frame
        lo, hi = column_endplates(sm, grid, mask_f, frame, xy)
        n_up, n_dn = _plane_normal(xy, hi), _plane_normal(xy, lo)
        if n_up is None or n_dn is None:
            return frame
        angle = float(np.degrees(np.arccos(np.clip(n_up @ n_dn, -1.0, 1.0))))
        lordotic = level in LORDOTIC_LEVELS and _taller_in_front(n_up, n_dn)
        if angle > WEDGE_SPLIT_DEG and not lordotic:
            axis_body = max((n_up, n_dn), key=lambda n: float(n[2]))
        else:
            axis_body = n_up + n_dn
        sup = frame.rotation @ axis_body
        left, post, sup = orthonormal_frame(sup, frame.posterior)
        frame = BodyFrame(frame.origin_lps, left, post, sup)
    return frame
