"""Rigid transforms between two patient frames (CT and MRI), and their comparison.

Notes
-----
A :class:`RigidTransform` maps a point given in the CT's patient LPS frame (mm) to the same
anatomical point in the MRI's patient LPS frame: ``p_mri = rotation @ p_ct + translation_mm``.
The two scans have their own frames of reference (the patient lay differently on the two
tables), so the DICOM coordinates of one vertebra differ between them by this transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def rotation_from_euler_deg(rx: float, ry: float, rz: float) -> FloatArray:
    """Rotation matrix ``Rz @ Ry @ Rx`` from angles (degrees) about the LPS x, y, z axes."""
    a, b, c = (math.radians(v) for v in (rx, ry, rz))
    mx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    my = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    mz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return np.asarray(mz @ my @ mx, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """``p_mri = rotation @ p_ct + translation_mm`` (LPS mm in both frames).

    Parameters
    ----------
    rotation
        3x3 proper rotation matrix.
    translation_mm
        Translation (mm, MRI frame).
    """

    rotation: FloatArray
    translation_mm: FloatArray

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, dtype=np.float64).reshape(3, 3).copy()
        t = np.asarray(self.translation_mm, dtype=np.float64).reshape(3).copy()
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0.0:
            raise ValueError("rotation must be a proper rotation matrix (orthonormal, det +1)")
        if not np.all(np.isfinite(t)):
            raise ValueError("translation_mm must be finite")
        r.setflags(write=False)
        t.setflags(write=False)
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation_mm", t)

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def about_centre(cls, rotation: ArrayLike, centre_lps: ArrayLike,
                     shift_mm: ArrayLike) -> RigidTransform:
        """Rotate about ``centre_lps`` (CT frame), then shift by ``shift_mm``."""
        r = np.asarray(rotation, dtype=np.float64)
        c = np.asarray(centre_lps, dtype=np.float64)
        return cls(r, c - r @ c + np.asarray(shift_mm, dtype=np.float64))

    @classmethod
    def from_matrix(cls, m: ArrayLike) -> RigidTransform:
        a = np.asarray(m, dtype=np.float64)
        return cls(a[:3, :3], a[:3, 3])

    @property
    def matrix(self) -> FloatArray:
        """4x4 homogeneous matrix (CT LPS -> MRI LPS)."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.translation_mm
        return m

    def apply(self, points_lps: ArrayLike) -> FloatArray:
        """Map CT-frame points ``(..., 3)`` into the MRI frame."""
        p = np.asarray(points_lps, dtype=np.float64)
        return np.asarray(p @ self.rotation.T + self.translation_mm, dtype=np.float64)

    def inverse(self) -> RigidTransform:
        """The MRI -> CT transform."""
        rt = self.rotation.T
        return RigidTransform(rt, -rt @ self.translation_mm)

    def compose(self, first: RigidTransform) -> RigidTransform:
        """``self ∘ first`` (apply ``first``, then ``self``)."""
        return RigidTransform(self.rotation @ first.rotation,
                              self.rotation @ first.translation_mm + self.translation_mm)

    @property
    def angle_deg(self) -> float:
        """Rotation angle (degrees) of the axis-angle form."""
        c = (float(np.trace(self.rotation)) - 1.0) / 2.0
        return math.degrees(math.acos(max(-1.0, min(1.0, c))))

    def to_json(self) -> dict[str, Any]:
        return {
            "convention": "p_mri_lps = rotation @ p_ct_lps + translation_mm",
            "rotation": [[round(float(v), 8) for v in row] for row in self.rotation],
            "translation_mm": [round(float(v), 4) for v in self.translation_mm],
            "angle_deg": round(self.angle_deg, 4),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RigidTransform:
        return cls(np.asarray(d["rotation"]), np.asarray(d["translation_mm"]))


def transform_error(estimate: RigidTransform, truth: RigidTransform,
                    points_ct_lps: ArrayLike) -> tuple[float, float]:
    """(rotation error in degrees, largest displacement in mm over ``points_ct_lps``).

    Notes
    -----
    The displacement is the target registration error at the given CT points (e.g. the
    vertebral body centres): ``max |estimate(p) - truth(p)|``, mm in the MRI frame.
    """
    diff = estimate.compose(truth.inverse())
    pts = np.atleast_2d(np.asarray(points_ct_lps, dtype=np.float64))
    disp = np.linalg.norm(estimate.apply(pts) - truth.apply(pts), axis=1)
    return diff.angle_deg, float(disp.max())
