"""The body frame from the endplates (issue 4: measurements independent of posture).

Method: the star surface points within 30° of the superior (inferior) axis are the superior
(inferior) endplate; a least-squares plane (SVD) is fitted to each. The craniocaudal axis is
the mean of the two plane normals, so a wedge-shaped body gets the bisector of its endplates.
The posterior axis is the body-to-canal direction orthogonalised to it; left completes the
right-handed LPS frame (:class:`planner.anatomy.BodyFrame`).
"""

from __future__ import annotations

import numpy as np

from planner.grid import FloatArray
from planner.vertebra.body import N_THETA, StarShape


def _plane_normal(points: FloatArray, towards: FloatArray) -> FloatArray | None:
    if len(points) < 12:
        return None
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    n = vt[-1]
    return n if np.dot(n, towards) > 0 else -n


def endplate_normals(star: StarShape) -> tuple[FloatArray | None, FloatArray | None]:
    """Unit normals (pointing out of the body) of the superior and inferior endplate planes."""
    surf = star.surface_lps()
    cap = int(round(N_THETA * 30 / 180))
    sup = surf[:cap].reshape(-1, 3)
    inf = surf[-cap:].reshape(-1, 3)
    return _plane_normal(sup, star.superior), _plane_normal(inf, -star.superior)


def superior_axis(star: StarShape) -> FloatArray:
    """Cranial axis: mean of the endplate normals (falls back to the star's own axis)."""
    ns, ni = endplate_normals(star)
    axis = np.zeros(3)
    for n in (ns, None if ni is None else -ni):
        if n is not None and np.dot(n, star.superior) > np.cos(np.deg2rad(35)):
            axis += n
    if np.linalg.norm(axis) < 1e-6:
        return np.asarray(star.superior, float)
    return axis / np.linalg.norm(axis)
