"""Rigid transform from matched points (vertebra centres clicked in the CT and the MRI).

Notes
-----
Three or more pairs: least-squares rotation and translation by the Kabsch algorithm (Kabsch
1976, Acta Cryst A32:922-923; the SVD form with the reflection fix of Umeyama 1991, IEEE
TPAMI 13:376-380). Two pairs fix the line through the points but not the rotation about it:
the smallest rotation that turns the CT line onto the MRI line is used, which assumes the
patient lay with the same roll on both tables (said in the result's notes). All points in
LPS mm, CT points in the CT frame, MRI points in the MRI frame. Vertebra centres lie nearly on
one line, so three of them fix the roll poorly too: when their second principal extent is
under a quarter of the first, they are treated like two points (and the result says so);
the automatic refinement then finds the roll from the images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from planner.errors import InputError
from planner.mri.rigid import FloatArray, RigidTransform


@dataclass(frozen=True, eq=False)
class PointFit:
    """Result of :func:`rigid_from_points`: the transform, its RMS residual (mm), notes."""

    transform: RigidTransform
    rms_mm: float
    notes: tuple[str, ...]


def _minimal_rotation(a: FloatArray, b: FloatArray) -> FloatArray:
    """Smallest rotation turning unit vector ``a`` onto unit vector ``b`` (Rodrigues)."""
    v = np.cross(a, b)
    s, c = float(np.linalg.norm(v)), float(a @ b)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        raise InputError("the two MRI points lie in the opposite order to the CT points")
    k = v / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.asarray(np.eye(3) + s * kx + (1 - c) * kx @ kx, dtype=np.float64)


#: Points whose second principal extent is below this share of the first are treated as a line
#: (vertebra centres nearly are: 1 mm of click error would tilt the roll by degrees).
LINE_RATIO = 0.25


def _principal(a: FloatArray, like: FloatArray | None = None) -> FloatArray:
    """Unit direction of the largest spread of centred points ``a`` (sign: along ``like``'s
    direction from its first to its last point, else from ``a``'s own)."""
    _, _, vt = np.linalg.svd(a)
    d = vt[0]
    ref = (like if like is not None else a)
    if float(d @ (ref[-1] - ref[0])) < 0.0:
        d = -d
    return np.asarray(d / np.linalg.norm(d), dtype=np.float64)


def rigid_from_points(ct_lps: ArrayLike, mri_lps: ArrayLike) -> PointFit:
    """Rigid CT -> MRI transform from 2 or more matched points.

    Parameters
    ----------
    ct_lps, mri_lps
        ``(n, 3)`` matched points, LPS mm, each in its own scan's frame.

    Raises
    ------
    InputError
        Fewer than 2 pairs, different counts, or (nearly) coincident points.
    """
    p = np.atleast_2d(np.asarray(ct_lps, dtype=np.float64))
    q = np.atleast_2d(np.asarray(mri_lps, dtype=np.float64))
    if p.shape != q.shape or p.shape[1:] != (3,):
        raise InputError(f"need matched (n, 3) point lists; got {p.shape} and {q.shape}")
    if len(p) < 2:
        raise InputError(f"need at least 2 matched points (vertebra centres); got {len(p)}")
    pc, qc = p.mean(axis=0), q.mean(axis=0)
    a, b = p - pc, q - qc
    if float(np.linalg.norm(a, axis=1).max()) < 5.0:
        raise InputError("the CT points lie within 5 mm of each other; pick centres of "
                         "different vertebrae")
    notes: list[str] = []
    sv = np.linalg.svd(a, compute_uv=False)
    if len(p) == 2 or sv[1] < LINE_RATIO * sv[0]:
        r = _minimal_rotation(_principal(a), _principal(b, like=a))
        notes.append(f"{len(p)} points (nearly) on one line: the rotation about it is not "
                     "determined; the same roll as on the CT is assumed")
    else:
        u, _, vt = np.linalg.svd(a.T @ b)
        d = np.sign(np.linalg.det(vt.T @ u.T))
        r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    t = RigidTransform(r, qc - r @ pc)
    rms = float(np.sqrt(np.mean(np.sum((t.apply(p) - q) ** 2, axis=1))))
    return PointFit(t, rms, tuple(notes))
