"""Plan values: immutable, validated, shared between versions.

All points are patient LPS millimetres. Editing returns a new value (``dataclasses.replace``
or the ``with_*`` helpers); unchanged parts are the same objects, so ``old.balloons is
new.balloons`` tells a view it has nothing to redraw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from planner.constants import MIN_NEEDLE_LENGTH_MM
from planner.plan.levels import LEVEL_NAMES as LEVEL_NAMES  # re-exported

Point = tuple[float, float, float]
Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
APPROACHES = ("transpedicular", "parapedicular")
PROCEDURES = ("vertebroplasty", "kyphoplasty")
VISCOSITIES = ("high", "standard", "low")
ACUITIES = ("acute", "chronic", "unknown")


def _point(name: str, value: object) -> Point:
    try:
        p = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be three numbers (LPS mm), got {value!r}") from exc
    if len(p) != 3 or not all(math.isfinite(v) for v in p):
        raise ValueError(f"{name} must be three finite numbers (LPS mm), got {value!r}")
    return p


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class Trajectory:
    """One working needle.

    Parameters
    ----------
    side
        Patient side of the entry ("left" or "right").
    approach
        "transpedicular" or "parapedicular" (extrapedicular).
    skin_entry_lps, bone_entry_lps, target_lps
        Points on the needle axis, LPS mm; the target is the needle tip.
    needle_id
        Catalog id of the needle (resources/devices.json), e.g. "11G".
    """

    side: Side
    approach: str
    skin_entry_lps: Point
    bone_entry_lps: Point
    target_lps: Point
    needle_id: str = "11G"

    def __post_init__(self) -> None:
        _choice("side", self.side, SIDES)
        _choice("approach", self.approach, APPROACHES)
        for name in ("skin_entry_lps", "bone_entry_lps", "target_lps"):
            object.__setattr__(self, name, _point(name, getattr(self, name)))
        if math.dist(self.skin_entry_lps, self.target_lps) < MIN_NEEDLE_LENGTH_MM:
            raise ValueError(
                f"skin entry and target must be at least {MIN_NEEDLE_LENGTH_MM:g} mm apart"
            )


@dataclass(frozen=True, slots=True)
class BalloonPlacement:
    """A kyphoplasty balloon on the trajectory of the same side.

    Parameters
    ----------
    side
        Side of the trajectory carrying the balloon.
    device_id
        Catalog id (resources/balloons.json).
    tip_offset_mm
        Distance from the needle tip back along the trajectory to the balloon's distal end
        (0 = balloon starts at the tip; the balloon extends towards the cannula).
    inflation_ml
        Inflation volume in mL.
    """

    side: Side
    device_id: str
    tip_offset_mm: float = 0.0
    inflation_ml: float = 2.0

    def __post_init__(self) -> None:
        _choice("side", self.side, SIDES)
        if not (0.0 <= self.tip_offset_mm <= 40.0):
            raise ValueError(f"tip_offset_mm must be within 0-40 mm, got {self.tip_offset_mm}")
        if not (0.0 <= self.inflation_ml <= 10.0):
            raise ValueError(f"inflation_ml must be within 0-10 mL, got {self.inflation_ml}")


@dataclass(frozen=True, slots=True)
class ClinicalInputs:
    """Inputs the CT cannot give: fracture age, oedema, cement, optional positional heights."""

    fracture_age_weeks: float | None = None
    acuity: str = "unknown"  # from MRI oedema or age: acute | chronic | unknown
    cement_viscosity: str = "standard"
    intravertebral_cleft: bool = False
    supine_heights_mm: tuple[float, float, float] | None = None  # anterior, middle, posterior
    extra_interdigitation_ml: float = 0.0

    def __post_init__(self) -> None:
        _choice("acuity", self.acuity, ACUITIES)
        _choice("cement_viscosity", self.cement_viscosity, VISCOSITIES)
        if self.fracture_age_weeks is not None and not (0 <= self.fracture_age_weeks <= 520):
            raise ValueError(
                f"fracture_age_weeks must be within 0-520, got {self.fracture_age_weeks}"
            )
        if not (0.0 <= self.extra_interdigitation_ml <= 5.0):
            raise ValueError("extra_interdigitation_ml must be within 0-5 mL")

    @property
    def effective_acuity(self) -> str:
        """Acuity from oedema if given, else from age (≤ 6 weeks acute; DOMAIN.md §5.2)."""
        if self.acuity != "unknown":
            return self.acuity
        if self.fracture_age_weeks is None:
            return "unknown"
        return "acute" if self.fracture_age_weeks <= 6 else "chronic"


MEASUREMENT_POINTS = {"distance": 2, "angle": 3}


@dataclass(frozen=True, slots=True)
class PlanMeasurement:
    """A distance or angle drawn by the user in a 2D view, kept with the plan.

    Notes
    -----
    ``points_lps`` are patient LPS millimetres: two for a distance, three for an angle with the
    vertex in the middle. ``view`` names the view it was drawn in ('axial', 'coronal',
    'sagittal'); it is a display hint, the points alone define the value.
    """

    kind: str
    points_lps: tuple[Point, ...]
    view: str = "axial"

    def __post_init__(self) -> None:
        _choice("measurement kind", self.kind, tuple(MEASUREMENT_POINTS))
        pts = tuple(_point(f"{self.kind} point", p) for p in self.points_lps)
        if len(pts) != MEASUREMENT_POINTS[self.kind]:
            raise ValueError(
                f"a {self.kind} needs {MEASUREMENT_POINTS[self.kind]} points, got {len(pts)}"
            )
        object.__setattr__(self, "points_lps", pts)


@dataclass(frozen=True, slots=True)
class SeriesBinding:
    """The series a plan was made on: SeriesInstanceUID and geometry fingerprint."""

    series_uid: str
    geometry_fingerprint: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A vertebral augmentation plan for one level."""

    series: SeriesBinding
    level: str = "L1"
    procedure: str = "vertebroplasty"
    trajectories: tuple[Trajectory, ...] = ()
    balloons: tuple[BalloonPlacement, ...] = ()
    clinical: ClinicalInputs = field(default_factory=ClinicalInputs)
    notes: str = ""
    measurements: tuple[PlanMeasurement, ...] = ()

    def __post_init__(self) -> None:
        _choice("level", self.level, LEVEL_NAMES)
        _choice("procedure", self.procedure, PROCEDURES)
        object.__setattr__(self, "trajectories", tuple(self.trajectories))
        object.__setattr__(self, "balloons", tuple(self.balloons))
        object.__setattr__(self, "measurements", tuple(self.measurements))
        sides = [t.side for t in self.trajectories]
        if len(sides) != len(set(sides)):
            raise ValueError("at most one trajectory per side")
        bsides = [b.side for b in self.balloons]
        if len(bsides) != len(set(bsides)):
            raise ValueError("at most one balloon per side")
        for b in self.balloons:
            if b.side not in sides:
                raise ValueError(f"balloon on the {b.side} side needs a {b.side} trajectory")

    def trajectory(self, side: Side) -> Trajectory | None:
        return next((t for t in self.trajectories if t.side == side), None)

    def balloon(self, side: Side) -> BalloonPlacement | None:
        return next((b for b in self.balloons if b.side == side), None)

    def with_trajectory(self, traj: Trajectory) -> Plan:
        others = tuple(t for t in self.trajectories if t.side != traj.side)
        return replace(self, trajectories=tuple(sorted(others + (traj,), key=lambda t: t.side)))

    def without_trajectory(self, side: Side) -> Plan:
        return replace(
            self,
            trajectories=tuple(t for t in self.trajectories if t.side != side),
            balloons=tuple(b for b in self.balloons if b.side != side),
        )

    def with_balloon(self, balloon: BalloonPlacement) -> Plan:
        others = tuple(b for b in self.balloons if b.side != balloon.side)
        return replace(self, balloons=tuple(sorted(others + (balloon,), key=lambda b: b.side)))

    @property
    def is_unipedicular(self) -> bool:
        return len(self.trajectories) == 1
