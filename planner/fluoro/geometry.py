"""C-arm geometry of a cone-beam (perspective) shot: source, isocentre, flat detector.

Notes
-----
Patient LPS mm. The C-arm pose is given by its angles in the angiographic convention of
:mod:`planner.drr` (detector in the patient's anterior hemisphere): ``lao_deg`` rotates the
beam axis about the patient's long axis (LAO + towards the patient's left, RAO −; 90° is a
lateral), ``cranial_deg`` tilts it (cranial +, caudal −). As in the room for a prone patient,
the X-ray source is under the table (anterior) and the detector over the back: at 0°/0° the
beam travels +y (anterior → posterior). The source is ``sod_mm`` from the isocentre and the
detector ``sid_mm`` from the source. Magnification at the isocentre is
``sid_mm / sod_mm`` (1000 / 600 = 1.67 by default; a mobile C-arm has a source-image distance
of about 1000 mm with the isocentre near 60 % of it, tool assumption from typical C-arm data
sheets).

Image convention (as :mod:`planner.drr`): the viewer looks along the beam; image right =
beam × up, image down = −up, up = the patient's superior axis projected on the detector. At
LAO 0° the image is an AP radiograph read from the front (the patient's left on the right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from planner.drr import CArmAngles, carm_angles
from planner.grid import FloatArray

#: Source-image (source-detector) distance, mm.
SID_MM = 1000.0
#: Source-isocentre distance, mm.
SOD_MM = 600.0
#: Side of the square flat detector, mm (a 30 cm panel).
DETECTOR_MM = 300.0
_LETTERS = {0: ("L", "R"), 1: ("P", "A"), 2: ("S", "I")}


@dataclass(frozen=True, slots=True)
class CArmPose:
    """Where the C-arm stands for one shot.

    Parameters
    ----------
    iso_lps
        Isocentre (the point the central ray passes through), LPS mm.
    lao_deg, cranial_deg
        C-arm angles (module notes); |lao| ≤ 120°, |cranial| ≤ 45°.
    sid_mm, sod_mm
        Source-detector and source-isocentre distances, mm (``sod_mm < sid_mm``).
    detector_mm
        Detector side, mm.
    """

    iso_lps: tuple[float, float, float]
    lao_deg: float = 0.0
    cranial_deg: float = 0.0
    sid_mm: float = SID_MM
    sod_mm: float = SOD_MM
    detector_mm: float = DETECTOR_MM

    def __post_init__(self) -> None:
        if len(self.iso_lps) != 3 or not all(math.isfinite(v) for v in self.iso_lps):
            raise ValueError(f"iso_lps must be 3 finite numbers; got {self.iso_lps!r}")
        if not abs(self.lao_deg) <= 120.0 or not abs(self.cranial_deg) <= 45.0:
            raise ValueError("C-arm angles out of range (|LAO/RAO| ≤ 120°, |cranial/caudal| ≤ 45°)")
        if not 0.0 < self.sod_mm < self.sid_mm or not self.detector_mm > 0.0:
            raise ValueError("need 0 < sod_mm < sid_mm and detector_mm > 0")

    @property
    def magnification(self) -> float:
        """Magnification of an object at the isocentre."""
        return self.sid_mm / self.sod_mm

    def beam_dir(self) -> FloatArray:
        """Unit beam direction (source → detector), LPS."""
        a, c = math.radians(self.lao_deg), math.radians(self.cranial_deg)
        anterior = np.array([math.sin(a) * math.cos(c), -math.cos(a) * math.cos(c), math.sin(c)])
        return -anterior  # the axis' anterior-hemisphere end is the source side

    def angles(self) -> CArmAngles:
        return carm_angles(self.beam_dir())

    def basis(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(beam, image right, image down) unit vectors, LPS."""
        f = self.beam_dir()
        up = np.array([0.0, 0.0, 1.0]) - f[2] * f
        if np.linalg.norm(up) < 1e-6:
            up = np.array([0.0, -1.0, 0.0]) - f[1] * f
        up /= np.linalg.norm(up)
        return f, np.cross(f, up), -up

    def source_lps(self) -> FloatArray:
        return np.asarray(self.iso_lps, dtype=np.float64) - self.sod_mm * self.beam_dir()


@dataclass(frozen=True, eq=False)
class Detector:
    """A square detector of ``size`` × ``size`` pixels for one pose.

    Pixel (col, row) centre lies at ``centre + (col − c)·p·right + (row − c)·p·down``,
    c = (size − 1)/2, p = ``pixel_mm`` (at the detector).
    """

    pose: CArmPose
    size: int

    @property
    def pixel_mm(self) -> float:
        return self.pose.detector_mm / self.size

    @property
    def pixel_mm_at_iso(self) -> float:
        """Pixel size projected back to the isocentre plane, mm."""
        return self.pixel_mm / self.pose.magnification

    def pixel_lps(self, col: ArrayLike, row: ArrayLike) -> FloatArray:
        """LPS position on the detector of pixel coordinates (broadcast), shape (..., 3)."""
        f, right, down = self.pose.basis()
        c = (self.size - 1) / 2.0
        centre = self.pose.source_lps() + self.pose.sid_mm * f
        u = (np.asarray(col, dtype=np.float64) - c) * self.pixel_mm
        v = (np.asarray(row, dtype=np.float64) - c) * self.pixel_mm
        return centre + u[..., None] * right + v[..., None] * down

    def project(self, lps: ArrayLike) -> FloatArray:
        """(col, row) pixel coordinates of LPS points ``(n, 3)`` (central projection)."""
        p = np.atleast_2d(np.asarray(lps, dtype=np.float64)) - self.pose.source_lps()
        f, right, down = self.pose.basis()
        depth = p @ f
        if np.any(depth <= 0.0):
            raise ValueError("a point lies behind the X-ray source")
        scale = self.pose.sid_mm / depth / self.pixel_mm
        c = (self.size - 1) / 2.0
        return np.stack([(p @ right) * scale + c, (p @ down) * scale + c], axis=-1)

    def magnification_at(self, lps: ArrayLike) -> FloatArray:
        """Magnification of objects at the given LPS points (n,)."""
        p = np.atleast_2d(np.asarray(lps, dtype=np.float64)) - self.pose.source_lps()
        return self.pose.sid_mm / (p @ self.pose.beam_dir())

    def orientation(self) -> dict[str, Any]:
        """Orientation marker: the patient direction at each image edge and the C-arm label.

        Each edge letter (L/R, A/P, S/I) names the patient direction that edge looks towards;
        two letters where the direction is oblique by more than 20° (e.g. ``"LA"``).
        """
        _, right, down = self.pose.basis()
        return {
            "right": _letters(right), "left": _letters(-right),
            "top": _letters(-down), "bottom": _letters(down),
            "label": self.pose.angles().label,
            "magnification": round(self.pose.magnification, 3),
        }


def _letters(v: FloatArray) -> str:
    order = np.argsort(-np.abs(v))
    out = ""
    for a in order[:2]:
        if abs(v[a]) >= math.sin(math.radians(20.0)) or not out:
            out += _LETTERS[int(a)][0 if v[a] > 0 else 1]
    return out
