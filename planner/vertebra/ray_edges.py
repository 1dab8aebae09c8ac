"""Edges along the rays of the body fit: the cortex, internal sclerotic bands, a cortical wall.

Every function works on HU profiles sampled outwards from a centre, one row per ray, every
``step`` mm (:func:`planner.vertebra.body.cast_profiles`): a strong falling edge is bright bone
(≥ ``MIN_EDGE_HU``) dropping by ≥ ``MIN_DROP_HU`` to soft tissue (≤ ``MAX_OUTSIDE_HU``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray

MIN_EDGE_HU = 140.0  # the cortex/endplate must reach this (cortical bone ≫ soft tissue ~40)
MIN_DROP_HU = 70.0
MAX_OUTSIDE_HU = 130.0  # disc ~80-110, muscle ~50, canal ~20 (outside the body is soft tissue)
#: Fewest equatorial rays ending at a cortex for a fit to be a body, not a disc outlined
#: between two endplates (:func:`cortex_fraction`). Measured on ../shared/data/tptbox_l3
#: (porotic L3, fits from 16 starts): discs 0.45-0.59, the body 0.92-0.99.
MIN_CORTEX_FRACTION = 0.75


def edge_candidates(prof: FloatArray, step: float) -> NDArray[np.bool_]:
    """Strong falling edges per ray (bright bone → soft tissue), beyond 3 mm."""
    from scipy import ndimage as ndi

    w = max(1, int(round(2.5 / step)))
    drop = prof[:, :-1] - prof[:, 1:]
    peak_before = ndi.maximum_filter1d(prof, 2 * w + 1, axis=1, origin=w)[:, :-1]
    trough_after = ndi.minimum_filter1d(prof, 2 * w + 1, axis=1, origin=-w)[:, 1:]
    local_max = ndi.maximum_filter1d(drop, 2 * w + 1, axis=1) == drop
    strong = ((peak_before >= MIN_EDGE_HU) & (peak_before - trough_after >= MIN_DROP_HU)
              & (trough_after <= MAX_OUTSIDE_HU))
    cand: NDArray[np.bool_] = local_max & strong & (drop > 0)
    cand[:, : int(3.0 / step)] = False
    return cand


def first_edges(cand: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Index of the first candidate edge per ray (-1 where none)."""
    return np.where(cand.any(axis=1), np.argmax(cand, axis=1), -1)


#: An internal sclerotic band is followed by cancellous bone (reaching ≥ this 2.5-8 mm beyond
#: its edge; 110-145 HU behind the bands in totalseg L2), the cortex by soft tissue, fat, a
#: disc or a ligament (≤ 108 HU in front of the demo's T11).
BONE_BEHIND_HU = 110.0
#: Soft tissue behind a true cortex: the profile stays below this 2.5-6 mm beyond its edge
#: (psoas 40-60, fat < 0; measured behind the anterior cortex of totalseg L2: -80-75).
SOFT_BEHIND_HU = 80.0
#: Cancellous bone between a band and the cortex stays above this (a fat plane between the
#: cortex and a contrast-filled aorta does not; a vein channel behind a band in totalseg L2
#: dips to 30-40), and the cortex lies ≤ 18 mm beyond the band (14-16 mm there).
BETWEEN_MIN_HU = 25.0
BAND_TO_CORTEX_MM = 18.0


def row_limits(first: NDArray[np.intp], n_rows: int, step: float) -> FloatArray:
    """Per ray: the upper quartile of its polar row's first edges + 3 mm (sample index).

    ``first`` holds the rays row by row (``n_rows`` polar rows of equal length).
    """
    rows = first.reshape(n_rows, -1).astype(np.float64)
    rows[rows < 0] = np.nan
    found = np.isfinite(rows).any(axis=1)
    q3 = np.full(len(rows), np.inf)  # a row without edges sets no limit
    if found.any():
        q3[found] = np.nanpercentile(rows[found], 75, axis=1)
    return np.repeat(q3 + 3.0 / step, rows.shape[1])


def skip_internal_bands(prof: FloatArray, cand: NDArray[np.bool_], first: NDArray[np.intp],
                         step: float, rays: NDArray[np.bool_],
                         limit: FloatArray) -> NDArray[np.intp]:
    """Move a side or front ray's edge from an internal sclerotic band to the cortex beyond.

    A bright band inside the body (a sclerotic line, a bone island under an endplate) gives
    a falling edge like the cortex's, and over a wide patch of rays, so the median filters of
    the star fit keep the notch (totalseg L2: rays stopped 7-9 mm from the centre over
    60° x 65° where the cortex lies at 20-24 mm). The two differ by what lies beyond:
    cancellous bone behind the band, soft tissue behind the cortex. On the ``rays`` given,
    an edge with bone behind it is replaced by the next edge that has soft tissue behind it,
    if cancellous bone (no fat plane) runs between the two and they are ≤ 18 mm apart.
    No edge moves beyond ``limit`` (:func:`row_limits`: the upper quartile of its row's
    first edges + 3 mm): a ray leaving the body near an endplate has the disc (80-110 HU)
    and the neighbour's endplate behind the cortex, and would otherwise run on into the
    neighbour (demo T11, rays 45-50° from the equator: 14 → 28 mm, while the rest of their
    row ends at 14-17 mm).
    """
    out = first.copy()
    n = prof.shape[1]
    a, b = int(round(2.5 / step)), int(round(8.0 / step))
    s0, s1 = int(round(2.5 / step)), int(round(6.0 / step))
    span = int(round(BAND_TO_CORTEX_MM / step))
    for ray in np.nonzero(rays & (first >= 0))[0]:
        q, e = prof[ray], int(first[ray])
        if e + b >= n or q[e + a:e + b].max() < BONE_BEHIND_HU:
            continue
        for e2 in np.nonzero(cand[ray, e + a:min(n, e + span)])[0] + e + a:
            if e2 > limit[ray]:
                break
            if e2 + s1 >= n or q[e2 + s0:e2 + s1].max() >= SOFT_BEHIND_HU:
                continue
            if q[e + a:e2].min() >= BETWEEN_MIN_HU:
                out[ray] = e2
            break
    return out


def cortex_fraction(prof: FloatArray, r: FloatArray, radius: FloatArray,
                    cosp: FloatArray) -> float:
    """Share of the equatorial side and front rays that end at a cortical wall.

    A body is walled at mid-height by its cortex (≥ ``MIN_EDGE_HU``); an intervertebral disc
    is not: its annulus fibrosus is soft tissue (~80-110 HU). Where the cancellous bone is as
    dark as the disc (osteoporosis: -50-80 HU on the real L3 in ../shared/data/tptbox_l3), a
    ray cast from inside a disc finds the two endplates beside it and outlines a "body"
    between them; only its equator tells it apart. Rays within 10° of the equator that are
    not in the posterior quarter (the wall there is clamped to a plane) count; a ray ends at a
    cortex when its profile reaches ``MIN_EDGE_HU`` within 3 mm inside its radius.
    """
    n_theta = radius.shape[0]
    theta = (np.arange(n_theta) + 0.5) * np.pi / n_theta
    band = np.abs(theta - np.pi / 2) <= np.deg2rad(10.0)
    rays = band[:, None] & (cosp < 0.5)
    rad = radius[rays]
    if len(rad) == 0:
        return 0.0
    near = (r[None, :] >= rad[:, None] - 3.0) & (r[None, :] <= rad[:, None] + 0.5)
    peak = np.max(np.where(near, prof[rays], -np.inf), axis=1)
    return float(np.mean(peak >= MIN_EDGE_HU))
