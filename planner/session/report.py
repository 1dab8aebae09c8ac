"""Report content of a case: a plain data structure the HTML/PDF report renders.

:func:`report_content` gathers, per planned level, the confirmation, procedure, needles with
their findings (from :func:`~planner.session.derive.level_check`) and the estimates (from
:func:`~planner.session.derive.level_estimates`), plus the case's cement total and the
binding check against the open volume. No formatting here: renderers decide the layout.
Points LPS mm, volumes mL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.estimate.balloon_catalog import BalloonCatalog
from planner.estimate.report import PlanEstimates
from planner.plan.model import PlanMeasurement, Trajectory
from planner.session.corrections import edited_levels
from planner.session.derive import (
    CementTotal,
    LevelCheck,
    level_check,
    level_estimates,
    total_cement,
)
from planner.session.model import Case, Correction
from planner.volume import CTVolume


@dataclass(frozen=True, eq=False)
class LevelReport:
    """One level's section of the report.

    ``check`` is None and ``estimates`` is None when the level has no analysis (the renderer
    says so); ``status`` is ``"confirmed"`` or ``"proposed"``.
    """

    level: str
    status: str
    procedure: str
    unipedicular: bool
    active: bool
    trajectories: tuple[Trajectory, ...]
    check: LevelCheck | None
    estimates: PlanEstimates | None
    notes: str
    #: Kinds of the user's corrections on this level's anatomy (``()``: automatic).
    edited: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "edited": list(self.edited),
            "status": self.status,
            "procedure": self.procedure,
            "approach": "unipedicular" if self.unipedicular else "bipedicular",
            "active": self.active,
            "findings": [] if self.check is None else [f.to_json() for f in self.check.findings],
            "estimates": None if self.estimates is None else self.estimates.to_json(),
            "notes": self.notes,
        }


@dataclass(frozen=True, eq=False)
class ReportContent:
    """Everything the report shows for a case.

    ``binding_ok`` is False when the plan is bound to another series than ``volume``'s
    (``binding_message`` says which): renderers must print a warning.
    """

    series_uid: str
    geometry_fingerprint: str
    binding_ok: bool
    binding_message: str
    levels: tuple[LevelReport, ...]
    total_cement: CementTotal
    measurements: tuple[PlanMeasurement, ...]
    indication: tuple[tuple[str, str], ...]
    notes: str
    #: The user's corrections, each with the automatic value beside it (points LPS mm).
    corrections: tuple[Correction, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "series_uid": self.series_uid,
            "geometry_fingerprint": self.geometry_fingerprint,
            "binding_ok": self.binding_ok,
            "binding_message": self.binding_message,
            "levels": [lv.to_json() for lv in self.levels],
            "total_cement_ml": self.total_cement.to_json(),
            "measurements": len(self.measurements),
            "corrections": [
                {
                    "level": c.level,
                    "kind": c.kind,
                    "key": c.key,
                    "automatic": c.automatic,
                    "value": c.value,
                }
                for c in self.corrections
            ],
            "indication": dict(self.indication),
            "notes": self.notes,
        }


def report_content(
    volume: CTVolume,
    case: Case,
    balloon_catalog: BalloonCatalog | None = None,
    with_estimates: bool = True,
) -> ReportContent:
    """The report's data for ``case`` on ``volume`` (one section per planned level)."""
    b = case.series
    fp = volume.geometry_fingerprint()
    ok = b.series_uid == volume.series_uid and b.geometry_fingerprint == fp
    msg = (
        ""
        if ok
        else f"The plan is bound to series {b.series_uid} (geometry {b.geometry_fingerprint}), "
        f"not to the open series {volume.series_uid} (geometry {fp}): do not use this report "
        "for this study."
    )
    edited = edited_levels(case.plan.corrections)
    levels = []
    per: dict[str, PlanEstimates | None] = {}
    for lp in case.plan.levels:
        chk = level_check(volume, case, lp.level) if ok else None
        est = (
            level_estimates(volume, case, lp.level, balloon_catalog)
            if ok and with_estimates
            else None
        )
        per[lp.level] = est
        levels.append(
            LevelReport(
                lp.level,
                "confirmed" if lp.confirmed else "proposed",
                lp.procedure,
                lp.is_unipedicular,
                lp.level == case.plan.active_level,
                lp.trajectories,
                chk,
                est,
                lp.notes,
                edited.get(lp.level, ()),
            )
        )
    return ReportContent(
        b.series_uid,
        b.geometry_fingerprint,
        ok,
        msg,
        tuple(levels),
        total_cement(per),
        case.plan.measurements,
        case.plan.indication,
        case.plan.notes,
        case.plan.corrections,
    )
