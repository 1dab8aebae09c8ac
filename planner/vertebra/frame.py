"""The body frame from the endplates (issue 4: measurements independent of posture).

Method: the star surface points within 45° of the superior (inferior) axis are the superior
(inferior) endplate; a least-squares plane (SVD) is fitted to each. The craniocaudal axis is
the mean of the two plane normals (the bisector for physiological wedging); for a fractured
wedge, the normal of the endplate best aligned with the posterior wall (see superior_axis).
The posterior axis is the body-to-canal direction orthogonalised to it; left completes the
right-handed LPS frame (:class:`planner.anatomy.BodyFrame`).
"""

from __future__ import annotations

import numpy as np

from planner.grid import FloatArray
from planner.vertebra.body import N_THETA, StarShape

#: Endplates more than this far from parallel mark a wedged (fractured) body; physiological
#: wedging is at most ~5° at T9-L5 (Masharawi 2010, DOMAIN.md §1.2).
WEDGE_SPLIT_DEG = 10.0
#: Surface points within this angle of the axis belong to an endplate.
CAP_DEG = 45.0


def _plane_normal(points: FloatArray, towards: FloatArray) -> FloatArray | None:
    if len(points) < 12:
        return None
    keep = np.ones(len(points), dtype=bool)
    for _ in range(3):  # trim the side-wall points the wide cap catches near the rims
        mean = points[keep].mean(axis=0)
        _, _, vt = np.linalg.svd(points[keep] - mean, full_matrices=False)
        n = vt[-1]
        res = np.abs((points - mean) @ n)
        keep = res <= max(1.5, float(np.percentile(res, 80)))
    return np.asarray(n if np.dot(n, towards) > 0 else -n, dtype=np.float64)


def endplate_normals(star: StarShape) -> tuple[FloatArray | None, FloatArray | None]:
    """Unit normals (pointing out of the body) of the superior and inferior endplate planes."""
    surf = star.surface_lps()
    cap = int(round(N_THETA * CAP_DEG / 180))
    sup = surf[:cap].reshape(-1, 3)
    inf = surf[-cap:].reshape(-1, 3)
    return _plane_normal(sup, star.superior), _plane_normal(inf, -star.superior)


def posterior_wall_direction(star: StarShape) -> FloatArray | None:
    """Cranial direction of the posterior wall line in the mid-sagittal plane, or None."""
    surf = star.surface_lps()
    theta = (np.arange(N_THETA) + 0.5) * 180.0 / N_THETA
    rows = (theta > 50) & (theta < 130)
    pts = surf[rows][:, [0, 1, -1]].reshape(-1, 3)  # azimuths 0 and ±5° (straight back)
    if len(pts) < 6:
        return None
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)
    d = vt[0]
    return np.asarray(d if np.dot(d, star.superior) > 0 else -d, dtype=np.float64)


def superior_axis(star: StarShape) -> FloatArray:
    """Cranial axis of the body.

    The mean of the two endplate normals, unless they disagree by more than
    ``WEDGE_SPLIT_DEG`` (a fractured, wedged body): then the normal of the endplate closer to
    perpendicular to the posterior wall, which is the least deformed part of a wedge
    compression fracture (Kunkel 2010, DOMAIN.md §2.3, uses posterior height as the anchor).
    Falls back to the star's own axis.
    """
    ns, ni = endplate_normals(star)
    normals = [n for n in (ns, None if ni is None else -ni)
               if n is not None and np.dot(n, star.superior) > np.cos(np.deg2rad(35))]
    if not normals:
        return np.asarray(star.superior, float)
    if len(normals) == 2:
        angle = np.degrees(np.arccos(np.clip(np.dot(normals[0], normals[1]), -1, 1)))
        wall = posterior_wall_direction(star)
        if angle > WEDGE_SPLIT_DEG and wall is not None:
            return max(normals, key=lambda n: float(np.dot(n, wall)))
    axis = np.sum(normals, axis=0)
    return np.asarray(axis / np.linalg.norm(axis), dtype=np.float64)
