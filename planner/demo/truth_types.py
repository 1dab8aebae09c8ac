"""Ground-truth value types of the demo case (frozen, JSON-able).

Notes
-----
LPS millimetres; heights between the outer surfaces of the endplates along the body frame's
superior axis in its mid-sagittal plane at the positions of
:data:`planner.anatomy.HEIGHT_POSITIONS_FRAC`; volumes in mL; angles in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.anatomy import WALLS, BodyFrame, Heights, Morphometry

Point = tuple[float, float, float]


def _pt(v: Any) -> Point:
    a = np.asarray(v, dtype=float).reshape(3)
    return (float(a[0]), float(a[1]), float(a[2]))


def _r(v: float, nd: int = 4) -> float:
    return round(float(v), nd) + 0.0  # no '-0.0' in the JSON


@dataclass(frozen=True, slots=True)
class PedicleTruth:
    """One pedicle of one level.

    Parameters
    ----------
    side
        "left" or "right" (patient side).
    isthmus_centre_lps
        Centre of the pedicle's narrowest cross-section, on its axis.
    axis_dir_lps
        Unit vector along the pedicle axis from the posterior entry into the body (points
        anteriorly and medially).
    isthmus_width_mm, isthmus_height_mm
        Outer (cortex included) transverse width perpendicular to the axis in the body's axial
        plane, and height along the body's superior axis, at the isthmus.
    entry_lps
        Where the axis meets the posterior bone surface of the vertebra.
    length_to_anterior_cortex_mm
        From ``entry_lps`` along the axis to where it leaves the body's outer surface.
    """

    side: str
    isthmus_centre_lps: Point
    axis_dir_lps: Point
    isthmus_width_mm: float
    isthmus_height_mm: float
    entry_lps: Point
    length_to_anterior_cortex_mm: float

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "isthmus_centre_lps": [_r(v) for v in self.isthmus_centre_lps],
            "axis_dir_lps": [_r(v, 6) for v in self.axis_dir_lps],
            "isthmus_width_mm": _r(self.isthmus_width_mm),
            "isthmus_height_mm": _r(self.isthmus_height_mm),
            "entry_lps": [_r(v) for v in self.entry_lps],
            "length_to_anterior_cortex_mm": _r(self.length_to_anterior_cortex_mm),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PedicleTruth:
        return cls(d["side"], _pt(d["isthmus_centre_lps"]), _pt(d["axis_dir_lps"]),
                   float(d["isthmus_width_mm"]), float(d["isthmus_height_mm"]),
                   _pt(d["entry_lps"]), float(d["length_to_anterior_cortex_mm"]))


@dataclass(frozen=True, slots=True)
class LevelTruth:
    """Exact description of one complete level.

    Notes
    -----
    ``frame.origin_lps`` is the body centroid. ``depth_mm`` is the AP extent of the body in
    its mid-sagittal plane, ``width_mm`` its largest transverse extent. ``body_volume_ml`` is
    the body incl. cortex, cut from the pedicles at the posterior wall. ``wedge_angle_deg`` =
    atan((Hp - Ha) / (0.8 depth)), + = anterior lower. ``trabecular_hu`` is the noise-free mean
    of the body's cancellous core (deeper than 3 mm). ``reference_heights_mm`` and
    ``prefracture_volume_ml`` describe the level's own shape before fracture (equal to the
    current values for intact levels).
    """

    name: str
    verse_id: int
    centroid_lps: Point
    frame: BodyFrame
    heights_mm: Heights
    depth_mm: float
    width_mm: float
    body_volume_ml: float
    wedge_angle_deg: float
    genant_grade: int
    morphology: str
    trabecular_hu: float
    reference_heights_mm: Heights
    prefracture_volume_ml: float
    posterior_wall: str
    pedicles: dict[str, PedicleTruth]

    def morphometry(self) -> Morphometry:
        """The exact measurements as the vertebra analysis reports them (tests, benchmarks)."""
        ref = self.reference_heights_mm
        loss = {w: 100.0 * (1.0 - self.heights_mm.get(w) / ref.get(w)) for w in WALLS}
        return Morphometry(
            self.name,
            self.centroid_lps,
            self.body_volume_ml,
            self.heights_mm,
            self.depth_mm,
            self.width_mm,
            self.wedge_angle_deg,
            self.trabecular_hu,
            ref,
            loss,
            self.genant_grade,
            self.morphology,
            self.posterior_wall,
            self.prefracture_volume_ml,
        )

    def to_json(self) -> dict[str, Any]:
        f = self.frame
        return {
            "name": self.name,
            "verse_id": self.verse_id,
            "centroid_lps": [_r(v) for v in self.centroid_lps],
            "frame": {k: [_r(v, 9) for v in getattr(f, k)]
                      for k in ("origin_lps", "left", "posterior", "superior")},
            "heights_mm": {k: _r(v) for k, v in self.heights_mm.as_dict().items()},
            "depth_mm": _r(self.depth_mm),
            "width_mm": _r(self.width_mm),
            "body_volume_ml": _r(self.body_volume_ml, 5),
            "wedge_angle_deg": _r(self.wedge_angle_deg),
            "genant_grade": self.genant_grade,
            "morphology": self.morphology,
            "trabecular_hu": _r(self.trabecular_hu, 2),
            "reference_heights_mm": {k: _r(v) for k, v in
                                     self.reference_heights_mm.as_dict().items()},
            "prefracture_volume_ml": _r(self.prefracture_volume_ml, 5),
            "posterior_wall": self.posterior_wall,
            "pedicles": {s: p.to_json() for s, p in self.pedicles.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LevelTruth:
        fr = d["frame"]
        frame = BodyFrame(np.array(fr["origin_lps"]), np.array(fr["left"]),
                          np.array(fr["posterior"]), np.array(fr["superior"]))
        return cls(
            d["name"], int(d["verse_id"]), _pt(d["centroid_lps"]), frame,
            Heights(**d["heights_mm"]), float(d["depth_mm"]), float(d["width_mm"]),
            float(d["body_volume_ml"]), float(d["wedge_angle_deg"]), int(d["genant_grade"]),
            d["morphology"], float(d["trabecular_hu"]), Heights(**d["reference_heights_mm"]),
            float(d["prefracture_volume_ml"]), d["posterior_wall"],
            {s: PedicleTruth.from_json(p) for s, p in d["pedicles"].items()},
        )
