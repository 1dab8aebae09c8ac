"""What the OR sheet says: per level and per needle, the numbers a surgeon sets up with.

Everything here is plain data computed from the plan, the level's segmentation and the
estimates; the images are rendered by :mod:`planner.orsheet.images` and the pages laid out by
:mod:`planner.orsheet.layout`. Units: mm, degrees, mL; points LPS mm.

Entry relative to the pedicle (AP view)
---------------------------------------
The bone entry point and the pedicle's isthmus centre are projected on a *true AP* of the level
(beam along the body's antero-posterior axis, so the endplates are lines). ``entry_lateral_mm``
is the entry's offset from the pedicle centre towards the needle's side (+ = lateral),
``entry_superior_mm`` towards the head (+ = superior). The clock face is read on the printed AP
image (radiological display: patient's left on the image right, superior up, 12 o'clock up,
3 o'clock image right), so a left pedicle's lateral border is at 3 o'clock and a right
pedicle's at 9 o'clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.anatomy import LevelAnatomy, Morphometry
from planner.estimate.report import PlanEstimates, compute_estimates
from planner.plan.catalog import load_catalog
from planner.plan.model import Plan, Trajectory
from planner.trajectory import TrajectoryContext, TrajectoryMetrics, TrajectoryResult, evaluate
from planner.trajectory.context import SIDE_SIGN
from planner.vertebra.grading import grade_text
from planner.volume import CTVolume

SEVERITY_ORDER = {"danger": 0, "warning": 1, "info": 2}
#: Printed on every sheet (the limits of what the plan claims).
CAVEATS = (
    "A planning aid, not a prescription: verify level, side and every path on the patient's "
    "own images and under fluoroscopy before and during the procedure.",
    "Volumes and restoration are population-level bands, not predictions for this patient; "
    "risk flags are not probabilities. No guaranteed height, strength, pain relief or leak "
    "probability is claimed.",
    "Simulated fluoroscopy is a parallel-beam projection of the CT's bone (soft tissue "
    "subtracted, no cone-beam magnification): distances are true mm at the vertebra; the live "
    "image will look different.",
    "Angles 'to the body' are in the vertebra's own frame (endplates, midline); 'to the table' "
    "in the CT's axes (patient as scanned, supine).",
)


@dataclass(frozen=True, slots=True)
class SheetFinding:
    """One finding as printed: severity, where (level/side), message."""

    severity: str
    level: str
    side: str
    message: str


@dataclass(frozen=True, slots=True)
class BalloonLine:
    """A balloon as printed (mL; mm)."""

    side: str
    device_id: str
    device_name: str
    inflation_ml: float
    volume_ml: float
    tip_offset_mm: float
    warnings: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class NeedleSheet:
    """One needle: its trajectory, metrics, findings and AP entry position."""

    trajectory: Trajectory
    gauge: str
    metrics: TrajectoryMetrics
    findings: tuple[SheetFinding, ...]
    entry_lateral_mm: float
    entry_superior_mm: float
    entry_clock: float  # hours on the printed AP image (see module notes)
    pedicle_centre_lps: tuple[float, float, float]

    @property
    def side(self) -> str:
        return self.trajectory.side

    @property
    def clock_label(self) -> str:
        return clock_label(self.entry_clock)


@dataclass(frozen=True, eq=False)
class LevelSheet:
    """One treated level: morphometry, needles, balloons, cement, restoration, findings."""

    plan: Plan
    anatomy: LevelAnatomy
    morphometry: Morphometry
    estimates: PlanEstimates
    needles: tuple[NeedleSheet, ...]
    balloons: tuple[BalloonLine, ...]
    findings: tuple[SheetFinding, ...]
    indications: tuple[str, ...]
    confirmed: bool = True

    @property
    def level(self) -> str:
        return self.plan.level

    @property
    def cement_ml(self) -> float:
        return float(self.estimates.cement.recommended_ml)

    @property
    def cement_band_ml(self) -> tuple[float, float]:
        lo, hi = self.estimates.cement.preferred_range_ml
        return float(lo), float(hi)


@dataclass(frozen=True, eq=False)
class SheetContent:
    """The whole OR sheet: series, optional patient, levels, totals, caveats, sources."""

    series_uid: str
    study_uid: str
    description: str
    levels: tuple[LevelSheet, ...]
    patient: dict[str, str] | None = None
    caveats: tuple[str, ...] = CAVEATS
    source_ids: tuple[str, ...] = field(default=())
    indication: tuple[tuple[str, str], ...] = ()
    binding_message: str = ""

    @property
    def total_cement_ml(self) -> float:
        return sum(lv.cement_ml for lv in self.levels)

    @property
    def total_cement_range_ml(self) -> tuple[float, float]:
        """Sum of the levels' biomechanical ranges (the session's total band rule)."""
        return (
            sum(lv.estimates.cement.range_ml[0] for lv in self.levels),
            sum(lv.estimates.cement.range_ml[1] for lv in self.levels),
        )

    @property
    def total_cement_band_ml(self) -> tuple[float, float]:
        return (
            sum(lv.cement_band_ml[0] for lv in self.levels),
            sum(lv.cement_band_ml[1] for lv in self.levels),
        )

    @property
    def findings(self) -> tuple[SheetFinding, ...]:
        allf = [f for lv in self.levels for f in lv.findings]
        return tuple(sorted(allf, key=lambda f: SEVERITY_ORDER.get(f.severity, 3)))


def clock_label(hours: float) -> str:
    """``"10:30"``-style reading of a clock position to the nearest half hour."""
    h = round(hours * 2) / 2 % 12
    whole = int(h) or 12
    return f"{whole}:{'30' if h % 1 else '00'}"


def entry_on_ap(
    ctx: TrajectoryContext, traj: Trajectory
) -> tuple[float, float, float, tuple[float, float, float]]:
    """(lateral mm, superior mm, clock hours, pedicle centre LPS) of the bone entry.

    See the module notes for the conventions.
    """
    ped = ctx.pedicles[traj.side]
    centre_b = np.asarray(ped.isthmus_point, dtype=np.float64)
    entry_b = ctx.frame.to_body(np.asarray(traj.bone_entry_lps, dtype=np.float64))
    d_left = float(entry_b[0] - centre_b[0])  # + = towards the patient's left = image right
    d_sup = float(entry_b[2] - centre_b[2])
    lateral = SIDE_SIGN[traj.side] * d_left
    hours = (math.degrees(math.atan2(d_left, d_sup)) / 30.0) % 12.0
    centre = tuple(float(v) for v in ctx.frame.to_lps(centre_b))
    return lateral, d_sup, hours, (centre[0], centre[1], centre[2])


def _needle_sheet(
    ctx: TrajectoryContext,
    plan: Plan,
    traj: Trajectory,
    result: TrajectoryResult | None,
    unipedicular: bool,
) -> NeedleSheet:
    needle = load_catalog().needle(traj.needle_id)
    res = result or evaluate(ctx, traj, needle, unipedicular=unipedicular)
    lat, sup, hours, centre = entry_on_ap(ctx, traj)
    finds = tuple(SheetFinding(f.severity, plan.level, traj.side, f.message) for f in res.findings)
    return NeedleSheet(traj, needle.id, res.metrics, finds, lat, sup, hours, centre)


def _device_name(device_id: str) -> str:
    from planner.errors import InputError
    from planner.estimate.balloon_catalog import load_balloon_catalog

    try:
        return load_balloon_catalog().get(device_id).name
    except InputError:
        return device_id


def _indications(plan: Plan, morph: Morphometry, est: PlanEstimates) -> tuple[str, ...]:
    """Plan-specific indications and flags: fracture, acuity, wall, cement flags, notes."""
    out = [
        f"{plan.level}: Genant grade {grade_text(morph)}, posterior wall "
        f"{morph.posterior_wall}, acuity {plan.clinical.effective_acuity}, trabecular "
        f"{morph.trabecular_hu:.0f} HU; {plan.procedure}, {plan.clinical.cement_viscosity} "
        "viscosity cement."
    ]
    out += [  # the surgeon's corrections of the automatic anatomy ("edited")
        f"{plan.level} edited: {n.split(':', 1)[1].strip()}"
        for n in morph.notes
        if n.startswith("edited:")
    ]
    out += list(est.cement.flags.values())
    out += list(est.cement.notes) + list(est.notes)
    if est.spread is not None:
        out += list(est.spread.warnings)
    return tuple(dict.fromkeys(out))


def build_level_sheet(
    volume: CTVolume,
    plan: Plan,
    anatomy: LevelAnatomy,
    morphometry: Morphometry,
    estimates: PlanEstimates | None = None,
    results: dict[str, TrajectoryResult] | None = None,
    unipedicular: bool | None = None,
    confirmed: bool = True,
    context: TrajectoryContext | None = None,
) -> LevelSheet:
    """Gather one level's needles (metrics, findings, AP entry) and estimates for the sheet.

    ``results`` (per side), ``estimates`` and ``context`` come from the planning session
    when given (:func:`planner.orsheet.build.sheet_from_case`), so the sheet prints the
    session's numbers; missing parts are computed here the same way.
    """
    ctx = context or TrajectoryContext.build(volume, anatomy, morphometry)
    est = estimates or compute_estimates(volume, anatomy, morphometry, plan)
    uni = plan.is_unipedicular if unipedicular is None else unipedicular
    res = results or {}
    needles = tuple(
        _needle_sheet(ctx, plan, t, res.get(t.side), uni) for t in plan.trajectories
    )
    balloons = []
    for b in plan.balloons:
        br = next((r for r in est.balloons if r.side == b.side), None)
        balloons.append(
            BalloonLine(
                b.side,
                b.device_id,
                _device_name(b.device_id),
                b.inflation_ml,
                float(br.volume_ml) if br is not None else math.nan,
                b.tip_offset_mm,
                tuple(br.warnings) if br is not None else (),
            )
        )
    finds = [f for n in needles for f in n.findings]
    finds.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return LevelSheet(
        plan,
        anatomy,
        morphometry,
        est,
        needles,
        tuple(balloons),
        tuple(finds),
        _indications(plan, morphometry, est),
        confirmed,
    )


def build_sheet(
    volume: CTVolume,
    levels: list[LevelSheet],
    include_patient: bool = False,
    indication: tuple[tuple[str, str], ...] = (),
    binding_message: str = "",
) -> SheetContent:
    """The sheet for ``levels`` (cranial to caudal order kept as given)."""
    from planner.estimate.sources import cite

    ids: list[str] = []
    for lv in levels:
        ids.extend(lv.estimates.source_ids)
    patient: dict[str, Any] | None = None
    if include_patient:
        p = volume.patient
        patient = {
            "Name": p.patient_name,
            "ID": p.patient_id,
            "Birth date": p.birth_date,
            "Sex": p.sex,
            "Study date": p.study_date,
        }
    return SheetContent(
        volume.series_uid,
        getattr(volume.identity, "study_uid", "") or "",
        volume.identity.description or "",
        tuple(levels),
        patient,
        CAVEATS,
        cite(ids),
        indication,
        binding_message,
    )
