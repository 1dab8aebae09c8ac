"""Pedicle isthmus width along a needle: bone chords refined to the CT's cortical edge.

Why the CT: the bone surface of :mod:`planner.trajectory.fields` comes from a voxel mask. A
pedicle wall that runs nearly parallel to a grid plane (pedicles converge by only a few degrees
at T11–L1, DOMAIN.md §1.2; the demo's 4–13°, and CT rows run left-right) sits at the same voxel
boundary for several mm along the pedicle, so the mask places it up to half a voxel (0.35 mm at
0.7 mm pixels) off, with a staircase that steps every ``voxel / tan(angle)`` mm. Chords through
the needle axis then swing by ± one voxel along the pedicle and their minimum — the isthmus
width — is biased low by up to 0.4 mm (demo T11: 7.11 mm for 7.5 mm). The CT still holds the
wall's sub-voxel position in the partial-volume grey values of its edge voxels, so each chord
end is moved to the half-maximum crossing between the cortex and the tissue outside it (the
usual CT edge criterion), searched within :data:`EDGE_SEARCH_MM` of the mask's surface. The
width is then the narrowest mean of the chords over a 2 mm slab (:data:`SLAB_HALF_MM`), not the
smallest single chord, so the remaining noise does not bias it low either.
"""

from __future__ import annotations

import math

import numpy as np

from planner.grid import FloatArray
from planner.trajectory.context import TrajectoryContext

#: The CT edge is searched this far either side of the mask's surface and must lie within
#: :data:`EDGE_ACCEPT_MM` of it (a segmentation is trusted to about a voxel). [engineering choice]
EDGE_SEARCH_MM = 1.5
EDGE_ACCEPT_MM = 1.0
EDGE_STEP_MM = 0.1
#: The cortex peak is looked for inside the mask up to this far past its surface (half a voxel).
PEAK_BEYOND_MM = 0.35
#: The width is the mean chord over a slab of ± this along the needle (3 chords 1 mm apart),
#: taken at the narrowest slab: what is left of the staircase (e.g. on an image without
#: partial volume) averages out instead of the smallest of many noisy chords being taken.
#: Bias from the pedicle's flare is ~0.05 mm (half-width + 0.03 mm/mm², demo). [engineering choice]
SLAB_HALF_MM = 1.0
#: HU outside the bone: the median of the profile from this far past the mask's surface on.
OUTSIDE_FROM_MM = 0.8
#: Cortex − outside contrast below which the CT edge is not trusted (the mask's surface is
#: kept): a pedicle cortex is several hundred HU above muscle, fat or CSF, whereas a chord
#: running on into dense bone (rib head, facet) shows no such step. [engineering choice]
EDGE_MIN_CONTRAST_HU = 250.0


def isthmus_width(
    ctx: TrajectoryContext,
    pts: FloatArray,
    dirs: FloatArray,
    dist: FloatArray,
    cap_mm: float = math.inf,
) -> float:
    """Narrowest medial + lateral chord of bone through the needle axis (mm): chord ends
    refined to the CT's cortical edge, chords averaged over ±:data:`SLAB_HALF_MM` along the
    needle, the smallest such mean.

    Parameters
    ----------
    ctx : TrajectoryContext
        The level's context (CT and bone field).
    pts : ndarray, shape (n, 3)
        Needle-axis points (LPS mm) near the isthmus, in order along the needle.
    dirs : ndarray, shape (2, 3)
        Unit medial and lateral directions perpendicular to the needle (LPS).
    dist : ndarray, shape (n, 2)
        Distance (mm) from each point to the mask's bone surface along each direction.
    cap_mm : float
        Distances this large mean no surface was found along the ray (not refined).

    Returns
    -------
    float
        The width in mm; NaN without points.

    Notes
    -----
    LPS mm. Chord ends without a surface within the ray cap, without a clear cortical edge
    (contrast below :data:`EDGE_MIN_CONTRAST_HU`) or whose edge lies farther than
    :data:`EDGE_ACCEPT_MM` from the mask's surface keep the mask's distance.
    """
    if len(pts) == 0:
        return math.nan
    n = len(pts)
    p = np.repeat(pts, 2, axis=0)
    d = np.tile(dirs, (n, 1))
    flat = np.asarray(dist, dtype=np.float64).reshape(-1)
    hit = flat < cap_mm
    refined = flat.copy()
    refined[hit] = refine_to_ct_edge(ctx, p[hit], d[hit], flat[hit])
    chords = refined.reshape(n, 2).sum(axis=1)
    t = np.linalg.norm(pts - pts[0], axis=1)  # along the needle (points are in order)
    near = np.abs(t[:, None] - t[None, :]) <= SLAB_HALF_MM + 1e-6
    slab = (near * chords[None, :]).sum(axis=1) / near.sum(axis=1)
    return float(slab.min())


def refine_to_ct_edge(
    ctx: TrajectoryContext, pts: FloatArray, dirs: FloatArray, dist: FloatArray
) -> FloatArray:
    """Distances ``(n,)`` from ``pts`` along ``dirs`` to the outer cortical edge in the CT:
    the first half-maximum crossing outwards of the cortex peak, between that peak and the
    median HU outside the mask (LPS mm; see module notes)."""
    s = np.arange(-EDGE_SEARCH_MM, EDGE_SEARCH_MM + EDGE_STEP_MM / 2, EDGE_STEP_MM)
    out = np.asarray(dist, dtype=np.float64).copy()
    ok = np.isfinite(out) & (out > 0)
    if not ok.any():
        return out
    rows = np.flatnonzero(ok)
    r = out[rows, None] + s[None, :]
    hu = ctx.hu(pts[rows, None, :] + dirs[rows, None, :] * r[..., None])
    inner = s <= PEAK_BEYOND_MM
    ipk = np.argmax(np.where(inner[None, :], hu, -np.inf), axis=1)
    peak = hu[np.arange(len(rows)), ipk]
    outside = np.median(hu[:, s >= OUTSIDE_FROM_MM], axis=1)
    half = 0.5 * (peak + outside)
    col = np.arange(len(s))[None, :]
    below = (col > ipk[:, None]) & (hu < half[:, None])
    k = np.argmax(below, axis=1)
    found = below.any(axis=1) & np.all(np.isfinite(hu), axis=1)
    found &= peak - outside >= EDGE_MIN_CONTRAST_HU
    k = np.maximum(k, 1)
    a = hu[np.arange(len(rows)), k - 1]
    b = hu[np.arange(len(rows)), k]
    with np.errstate(divide="ignore", invalid="ignore"):
        e = s[k - 1] + EDGE_STEP_MM * (a - half) / (a - b)
    good = found & np.isfinite(e) & (np.abs(e) <= EDGE_ACCEPT_MM)
    out[rows[good]] = out[rows[good]] + e[good]
    return out
