"""Anatomy values shared by the vertebra analysis, the trajectories and the estimates.

The vertebra analysis (:mod:`planner.vertebra`) produces them; trajectories
(:mod:`planner.trajectory`) and estimates (:mod:`planner.estimate`) consume them. Masks live on
a crop of the CT grid (same voxel placement, ``offset_kji`` = crop start in the CT array) so a
level costs a few MB, not the whole scan.

Frame convention: a body frame has unit vectors ``left`` (+ towards the patient's left),
``posterior`` (+ towards the back) and ``superior`` (+ towards the head), right-handed in LPS
(``left × posterior = superior``), so for an upright, unrotated body it equals the LPS axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.grid import FloatArray, ImageGrid

BoolArray = NDArray[np.bool_]
WALLS = ("anterior", "middle", "posterior")

#: Where the three heights are measured, as a fraction of the body's AP depth from its
#: anterior edge, in the mid-sagittal plane of the body frame, between the outer surfaces of
#: the two endplates (cortex included). The demo's ground truth and the vertebra analysis both
#: use this definition (6-point morphometry places its points near the corners; Chou & Vokes
#: 2015, DOMAIN.md §2.2; a 10 % inset keeps off the rounded rims).
HEIGHT_POSITIONS_FRAC = {"anterior": 0.10, "middle": 0.50, "posterior": 0.90}


@dataclass(frozen=True, eq=False)
class BodyFrame:
    """A vertebral body's own frame, so measurements do not depend on posture.

    Parameters
    ----------
    origin_lps
        Body centroid, LPS mm.
    left, posterior, superior
        Orthonormal unit vectors in LPS (see module notes).
    """

    origin_lps: FloatArray
    left: FloatArray
    posterior: FloatArray
    superior: FloatArray

    def __post_init__(self) -> None:
        for name in ("origin_lps", "left", "posterior", "superior"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(3).copy()
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        m = self.rotation
        if not np.allclose(m.T @ m, np.eye(3), atol=1e-6) or np.linalg.det(m) < 0:
            raise ValueError("BodyFrame axes must be orthonormal and right-handed")

    @property
    def rotation(self) -> FloatArray:
        """3x3 matrix whose columns are left, posterior, superior (body → LPS)."""
        return np.column_stack([self.left, self.posterior, self.superior])

    def to_body(self, lps: Any) -> FloatArray:
        """LPS points ``(..., 3)`` → body coordinates (left, posterior, superior) in mm."""
        return (np.asarray(lps, dtype=np.float64) - self.origin_lps) @ self.rotation

    def to_lps(self, body: Any) -> FloatArray:
        """Body coordinates ``(..., 3)`` → LPS mm."""
        return np.asarray(body, dtype=np.float64) @ self.rotation.T + self.origin_lps

    @classmethod
    def axis_aligned(cls, origin_lps: Any) -> BodyFrame:
        return cls(np.asarray(origin_lps, float), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]),
                   np.array([0, 0, 1.0]))


@dataclass(frozen=True, eq=False)
class LevelAnatomy:
    """Segmentation of one vertebral level on a crop of the CT grid.

    Parameters
    ----------
    level
        Level name, e.g. ``"L1"``.
    grid
        Crop grid (voxel placement identical to the CT's).
    offset_kji
        Start of the crop in the CT array.
    body
        Vertebral body incl. cortical shell, cut from the pedicles at the posterior wall.
    pedicle_left, pedicle_right
        Pedicle masks (cortex included), patient left / right.
    canal
        Spinal canal at this level.
    frame
        The body's frame.
    vertebra
        Whole vertebra (body + posterior elements) if known.
    pedicle_axes_lps
        Pedicle axes the surgeon set (side → (entry, exit), LPS mm); the trajectory context
        uses them instead of the axes fitted to the pedicle masks. Empty: automatic.
    body_corners
        The part of ``body`` that is a lumbar body's posterolateral corners (the pedicle
        bases in front of the posterior-wall plane; :mod:`planner.vertebra.corners`), if any.
    """

    level: str
    grid: ImageGrid
    offset_kji: tuple[int, int, int]
    body: BoolArray
    pedicle_left: BoolArray
    pedicle_right: BoolArray
    canal: BoolArray
    frame: BodyFrame
    vertebra: BoolArray | None = None
    pedicle_axes_lps: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = (
        field(default_factory=dict))
    body_corners: BoolArray | None = None

    def __post_init__(self) -> None:
        for name in ("body", "pedicle_left", "pedicle_right", "canal", "vertebra",
                     "body_corners"):
            a = getattr(self, name)
            if a is None:
                continue
            a = np.ascontiguousarray(a, dtype=bool)
            if a.shape != tuple(self.grid.shape_kji):
                raise ValueError(f"{name} shape {a.shape} != grid {self.grid.shape_kji}")
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def pedicle(self, side: str) -> BoolArray:
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return self.pedicle_left if side == "left" else self.pedicle_right

    @property
    def body_volume_ml(self) -> float:
        return float(self.body.sum()) * self.grid.voxel_volume_mm3 / 1000.0


@dataclass(frozen=True, slots=True)
class Heights:
    """Anterior, middle and posterior body heights in mm (body frame, mid-sagittal plane)."""

    anterior: float
    middle: float
    posterior: float

    def as_dict(self) -> dict[str, float]:
        return {"anterior": self.anterior, "middle": self.middle, "posterior": self.posterior}

    def get(self, wall: str) -> float:
        return float(getattr(self, wall))


@dataclass(frozen=True, slots=True)
class Morphometry:
    """Measurements of one level (vertebra analysis output; inputs to the estimates).

    Notes
    -----
    Heights in mm between endplates in the body's mid-sagittal plane; volumes in mL;
    HU from an eroded trabecular core; wedge angle in degrees, + = anterior lower (ventral
    wedge). ``reference_heights`` come from the nearest intact neighbours (DOMAIN.md §2.3).
    """

    level: str
    centroid_lps: tuple[float, float, float]
    body_volume_ml: float
    heights_mm: Heights
    depth_mm: float
    width_mm: float
    wedge_angle_deg: float
    trabecular_hu: float
    reference_heights_mm: Heights | None = None
    height_loss_pct: dict[str, float] = field(default_factory=dict)
    genant_grade: int = 0
    morphology: str = "normal"  # normal | short | wedge | biconcave | crush
    posterior_wall: str = "intact"  # intact | bulging | retropulsion | unknown
    prefracture_volume_ml: float | None = None
    notes: tuple[str, ...] = ()
    #: SD of each height from the CT's sampling along the body axis, mm (0: exact, e.g. a
    #: model; see :mod:`planner.vertebra.grade_uncertainty`).
    height_sd_mm: float = 0.0
    #: Where each height was measured: wall → (inferior, superior) endplate points, LPS mm
    #: (for drawing the three height lines on the mid-sagittal view).
    height_lines_lps: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = (
        field(default_factory=dict))
