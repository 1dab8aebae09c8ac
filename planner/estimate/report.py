"""All estimates for one plan: balloons, cement, spread, restoration, comparison, sources.

:func:`compute_estimates` returns the objects (masks included) for the workstation panels;
:func:`estimate_plan` returns the JSON dict of the ``estimate`` command.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.anatomy import LevelAnatomy, Morphometry
from planner.estimate.balloon import BalloonResult, inflate_balloon
from planner.estimate.balloon_catalog import BalloonCatalog, load_balloon_catalog
from planner.estimate.cement import CementRecommendation, cement_recommendation
from planner.estimate.compare import Comparison, compare_procedures
from planner.estimate.geometry import INFERIOR, SUPERIOR, FineBody, fine_body
from planner.estimate.restoration import WALLS_ESTIMATED, Restoration, restoration_estimate
from planner.estimate.sources import cite, sources_json
from planner.estimate.spread import SpreadResult, _crop_hu, simulate_spread
from planner.plan.model import Plan
from planner.progress import Progress, report
from planner.vertebra.grading import known_intact

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PlanEstimates:
    """Everything the estimate panels show for one plan (objects, masks included)."""

    level: str
    procedure: str
    fine: FineBody
    balloons: tuple[BalloonResult, ...]
    cement: CementRecommendation
    spread: SpreadResult | None
    restoration: Restoration | None
    comparison: Comparison
    notes: tuple[str, ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def source_ids(self) -> tuple[str, ...]:
        ids: list[str] = list(self.cement.sources)
        for b in self.balloons:
            ids.extend(b.sources)
        if self.spread is not None:
            ids.extend(self.spread.sources)
        if self.restoration is not None:
            ids.extend(self.restoration.sources)
        ids.extend(self.comparison.sources)
        return cite(ids)

    def to_json(self) -> dict[str, Any]:
        rest: dict[str, Any]
        if self.restoration is None:
            rest = {
                "immediate_mm": None,
                "follow_up_mm": None,
                "wedge_angle_change_deg": None,
                "note": "no reference (pre-fracture) heights: restoration not estimated",
            }
        else:
            rest = self.restoration.to_json()
        spread: dict[str, Any] | None = None if self.spread is None else self.spread.to_json()
        return {
            "level": self.level,
            "procedure": self.procedure,
            "cement": self.cement.to_json(),
            "balloons": [b.to_json() for b in self.balloons],
            "spread": spread,
            "restoration": rest,
            "compare": self.comparison.to_json(),
            "notes": list(self.notes),
            "sources": sources_json(self.source_ids),
        }


def risk_flags(plan: Plan, morph: Morphometry, fine: FineBody) -> tuple[list[str], list[str]]:
    """Risk flags (keys of :data:`~planner.estimate.cement.RISK_FLAGS`) and notes for a plan.

    Notes
    -----
    Cortical / endplate disruption come from the CT gap heuristic of :func:`fine_body`,
    posterior-wall involvement from the morphometry, cleft and viscosity from the plan.
    """
    flags, notes = [], []
    if fine.gap.any():
        on_endplate = np.isin(fine.label[fine.gap], (SUPERIOR, INFERIOR))
        if (~on_endplate).sum() > 0:
            flags.append("cortical_disruption")
        if on_endplate.sum() > 0:
            flags.append("endplate_disruption")
        notes.append(
            "Cortical / endplate gaps were detected from missing cortical HU (a heuristic "
            "of this tool); confirm on the images."
        )
    if morph.posterior_wall in ("bulging", "retropulsion"):
        flags.append("posterior_wall_involvement")
    elif morph.posterior_wall == "unknown":
        notes.append("Posterior-wall state unknown: check it on the images.")
    if plan.clinical.intravertebral_cleft:
        flags.append("intravertebral_cleft")
    if plan.clinical.cement_viscosity == "low":
        flags.append("low_viscosity_cement")
    return flags, notes


def tip_short_of_midline(plan: Plan, fine: FineBody, unipedicular: bool | None = None) -> bool:
    """True for a unipedicular plan whose tip stays on its entry side of the body's midline.

    ``unipedicular`` is the session's definition
    (:attr:`planner.session.LevelPlan.is_unipedicular`); None falls back to "one needle".
    """
    uni = plan.is_unipedicular if unipedicular is None else unipedicular
    if not uni or len(plan.trajectories) != 1:
        return False
    t = plan.trajectories[0]
    x = float(fine.frame.to_body(np.asarray(t.target_lps))[0])
    return x > 0 if t.side == "left" else x < 0


def _heights(morph: Morphometry) -> tuple[dict[str, float] | None, dict[str, float]]:
    cur = morph.heights_mm.as_dict()
    ref = None if morph.reference_heights_mm is None else morph.reference_heights_mm.as_dict()
    return ref, cur


@dataclass(frozen=True, eq=False)
class ClosedForm:
    """The closed-form estimates (< 1 ms once the fine body exists): no balloon or spread run.

    ``flags`` are the cement risk flags, ``notes`` the notes on them.
    """

    cement: CementRecommendation
    restoration: Restoration | None
    comparison: Comparison
    flags: tuple[str, ...]
    notes: tuple[str, ...]


def closed_form_estimates(
    plan: Plan,
    morphometry: Morphometry,
    fine: FineBody | None,
    cavity_ml: float | None,
    unipedicular: bool | None = None,
) -> ClosedForm:
    """Cement volume, expected restoration and the VP/BKP comparison of a plan.

    Parameters
    ----------
    plan, morphometry
        The level's plan and measurements.
    fine
        The body's fine model (cortex/endplate gap flags, midline); None while it is being
        built: only the posterior-wall and clinical flags are known and the tip is not judged.
    cavity_ml
        Balloon cavity volume (mL) of a kyphoplasty plan, or None.
    unipedicular
        The session's unipedicular decision (None: one needle = unipedicular).

    Notes
    -----
    The one implementation :func:`compute_estimates` and the workstation's live panel share.
    Volumes mL, heights mm.
    """
    if fine is not None:
        flags, notes = risk_flags(plan, morphometry, fine)
        short = tip_short_of_midline(plan, fine, unipedicular)
    else:
        flags, notes, short = [], ["Cortex and endplate gaps are still being checked."], False
        if morphometry.posterior_wall in ("bulging", "retropulsion"):
            flags.append("posterior_wall_involvement")
        if plan.clinical.intravertebral_cleft:
            flags.append("intravertebral_cleft")
        if plan.clinical.cement_viscosity == "low":
            flags.append("low_viscosity_cement")
    extra = plan.clinical.extra_interdigitation_ml
    v = morphometry.body_volume_ml
    cement = cement_recommendation(v, plan.procedure, cavity_ml, short, flags, extra)
    ref, cur = _heights(morphometry)
    lost = None if ref is None else {w: ref[w] - cur[w] for w in WALLS_ESTIMATED}
    sup = plan.clinical.supine_heights_mm
    supine = (
        None if sup is None else dict(zip(("anterior", "middle", "posterior"), sup, strict=True))
    )
    acuity = plan.clinical.effective_acuity
    intact = known_intact(morphometry)
    rest = (
        None
        if lost is None
        else restoration_estimate(lost, plan.procedure, acuity, supine, cur, intact=intact)
    )
    comparison = compare_procedures(
        v, lost, acuity, flags, cavity_ml, short, supine, cur, extra, intact=intact
    )
    return ClosedForm(cement, rest, comparison, tuple(flags), tuple(notes))


def compute_estimates(
    volume: Any,
    anatomy: LevelAnatomy,
    morphometry: Morphometry,
    plan: Plan,
    needle_catalog: Any = None,
    balloon_catalog: BalloonCatalog | None = None,
    progress: Progress | None = None,
    unipedicular: bool | None = None,
) -> PlanEstimates:
    """Run the balloon, cement, spread, restoration and comparison models for a plan.

    Parameters
    ----------
    volume
        CT (:class:`~planner.volume.CTVolume` or its HU array, or the HU crop of the level).
    anatomy, morphometry
        The plan level's segmentation and measurements.
    plan
        The plan (procedure, trajectories, balloons, clinical inputs).
    needle_catalog
        Unused by the estimates (kept for a uniform call; needle sizes do not enter §9).
    balloon_catalog
        Balloon catalog; the default resources/balloons.json if None.
    progress
        Progress sink, or None.
    unipedicular
        The session's unipedicular decision for this level (None: one needle = unipedicular).

    Returns
    -------
    PlanEstimates

    Notes
    -----
    LPS mm, mL, degrees. Every number carries its sources (:mod:`planner.estimate.sources`).
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = time.perf_counter() - t0 - sum(timings.values())

    report(progress, 0.0, "preparing the body")
    fine = fine_body(anatomy, _crop_hu(volume, anatomy))
    lap("prepare")
    notes: list[str] = []
    balloons = _inflate_all(plan, anatomy, morphometry, fine, balloon_catalog, notes)
    lap("balloons")
    report(progress, 0.3, "cement volume")
    cavity_ml = sum(b.volume_ml for b in balloons) if balloons else None
    cf = closed_form_estimates(plan, morphometry, fine, cavity_ml, unipedicular)
    notes.extend(cf.notes)
    report(progress, 0.4, "cement spread")
    spread = _spread(volume, anatomy, plan, cf.cement.recommended_ml, balloons, fine, notes)
    lap("cement_spread")
    cement, rest, comparison = cf.cement, cf.restoration, cf.comparison
    report(progress, 0.8, "height restoration")
    lap("restoration_compare")  # computed above with the cement volume (closed form)
    report(progress, 1.0, "done")
    log.info("estimates for %s: %s", plan.level, {k: round(t, 3) for k, t in timings.items()})
    return PlanEstimates(
        plan.level,
        plan.procedure,
        fine,
        tuple(balloons),
        cement,
        spread,
        rest,
        comparison,
        tuple(notes),
        timings,
    )


def _inflate_all(
    plan: Plan,
    anatomy: LevelAnatomy,
    morph: Morphometry,
    fine: FineBody,
    catalog: BalloonCatalog | None,
    notes: list[str],
) -> list[BalloonResult]:
    if plan.procedure != "kyphoplasty":
        if plan.balloons:
            notes.append("Balloons in a vertebroplasty plan are ignored.")
        return []
    if not plan.balloons:
        notes.append("Kyphoplasty plan without balloons: the cement target uses 0.24 × V_VB.")
        return []
    catalog = catalog or load_balloon_catalog()
    ref, cur = _heights(morph)
    out = []
    for b in plan.balloons:
        traj = plan.trajectory(b.side)
        assert traj is not None  # Plan validates that a balloon has its trajectory
        out.append(inflate_balloon(anatomy, traj, b, catalog.get(b.device_id), ref, cur, fine=fine))
    return out


def _spread(
    volume: Any,
    anatomy: LevelAnatomy,
    plan: Plan,
    volume_ml: float,
    balloons: list[BalloonResult],
    fine: FineBody,
    notes: list[str],
) -> SpreadResult | None:
    tips = [t.target_lps for t in plan.trajectories]
    if not tips:
        notes.append("No trajectories: cement spread not simulated.")
        return None
    cav = np.logical_or.reduce([b.cavity_fine for b in balloons]) if balloons else None
    spread = simulate_spread(
        volume, anatomy, tips, volume_ml, cav, plan.clinical.cement_viscosity, fine=fine
    )
    reach = "reaches" if spread.touches_both_endplates else "does not reach"
    notes.append(
        f"The planned cloud {reach} both endplates: cement touching both endplates was "
        "associated with about one third of the recompression rate (5.2 % vs 16.5 %, "
        "PMC7427078)."
    )
    return spread


_flags = risk_flags  # names used by ui/panels/estimates_state.py before they were public
_tip_short_of_midline = tip_short_of_midline


def estimate_plan(
    volume: Any,
    anatomy: LevelAnatomy,
    morphometry: Morphometry,
    plan: Plan,
    needle_catalog: Any = None,
    balloon_catalog: BalloonCatalog | None = None,
) -> dict[str, Any]:
    """The ``estimate`` command's JSON dict (see :func:`compute_estimates`)."""
    return compute_estimates(
        volume, anatomy, morphometry, plan, needle_catalog, balloon_catalog
    ).to_json()
