"""Rigid transform from matched points (vertebra centres clicked in the CT and the MRI).

Notes
-----
Three or more pairs: least-squares rotation and translation by the Kabsch algorithm (Kabsch
1976, Acta Cryst A32:922-923; the SVD form with the reflection fix of Umeyama 1991, IEEE
TPAMI 13:376-380). Two pairs fix the line through the points but not the rotation about it:
the smallest rotation that turns the CT line onto the MRI line is used, which assumes the
patient lay with the same roll on both tables (said in the result's notes). All points in
LPS mm, CT points in the CT frame, MRI points in the MRI frame.
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
    if len(p) == 2:
        r = _minimal_rotation(a[1] / np.linalg.norm(a[1]), b[1] / np.linalg.norm(b[1]))
        notes.append("2 points: the rotation about the line through them is not determined; "
                     "the same roll as on the CT is assumed")
    else:
        u, _, vt = np.linalg.svd(a.T @ b)
        d = np.sign(np.linalg.det(vt.T @ u.T))
        r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
        sv = np.linalg.svd(a, compute_uv=False)
        if sv[1] < 1e-3 * max(sv[0], 1e-9):
            notes.append("the points are (nearly) on one line: the roll about it is uncertain")
    t = RigidTransform(r, qc - r @ pc)
    rms = float(np.sqrt(np.mean(np.sum((t.apply(p) - q) ** 2, axis=1))))
    return PointFit(t, rms, tuple(notes))
