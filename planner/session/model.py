"""Session values: a case with a multi-level plan, immutable and validated.

A :class:`Case` binds one series (UID + geometry fingerprint), keeps a *reference* to the
analysis of that series (the analysis object itself is not copied or changed) and holds the
:class:`CasePlan`: any number of :class:`LevelPlan` (one per treated level), the active level
(explicit, never a default), the user's measurements, corrections, indication answers and
training counters. Everything saved in a plan file lives in :class:`CasePlan`.

All points are patient LPS millimetres. Edits are pure functions in
:mod:`planner.session.edit`; derived results (findings, estimates, report content) are in
:mod:`planner.session.derive`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Protocol

from planner.anatomy import LevelAnatomy, Morphometry
from planner.plan.model import (
    LEVEL_NAMES,
    PROCEDURES,
    BalloonPlacement,
    ClinicalInputs,
    Plan,
    PlanMeasurement,
    SeriesBinding,
    Side,
    Trajectory,
)

log = logging.getLogger(__name__)

CORRECTION_KINDS = (
    "morphometry_point",
    "midsagittal_plane",
    "pedicle_axis",
    "body_outline",
    "level_name",
)


class LevelData(Protocol):
    """One analysed level: what the derived results need (a ``LevelResult`` fits)."""

    @property
    def anatomy(self) -> LevelAnatomy: ...

    @property
    def morphometry(self) -> Morphometry: ...


class AnalysisLike(Protocol):
    """An analysis of the series (``planner.vertebra.SpineAnalysis`` fits).

    ``level(name)`` raises ``KeyError`` for a level that was not analysed.
    """

    def level(self, name: str) -> LevelData: ...


@dataclass(frozen=True, slots=True)
class LevelAnalysis:
    """A :class:`LevelData` built from an anatomy and its morphometry (CLI, tests)."""

    anatomy: LevelAnatomy
    morphometry: Morphometry


@dataclass(frozen=True, slots=True)
class LevelsAnalysis:
    """A minimal :class:`AnalysisLike`: analysed levels by name (the CLI builds one)."""

    levels: tuple[tuple[str, LevelAnalysis], ...]

    def level(self, name: str) -> LevelData:
        for n, data in self.levels:
            if n == name:
                return data
        raise KeyError(name)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The plan of one treated level.

    Parameters
    ----------
    level
        Level name (``LEVEL_NAMES``), e.g. ``"L1"``.
    confirmed
        True once the user confirmed the level's name (a proposal otherwise).
    procedure
        ``"vertebroplasty"`` or ``"kyphoplasty"``; balloons only on kyphoplasty.
    trajectories, balloons
        At most one per side; every balloon rides on the trajectory of its side (LPS mm).
    clinical
        Inputs the CT cannot give (fracture age, viscosity, ...).
    unipedicular
        The user's explicit choice (None: not chosen; see :attr:`is_unipedicular`).
    notes
        Free text of the user.
    """

    level: str
    confirmed: bool = False
    procedure: str = "vertebroplasty"
    trajectories: tuple[Trajectory, ...] = ()
    balloons: tuple[BalloonPlacement, ...] = ()
    clinical: ClinicalInputs = field(default_factory=ClinicalInputs)
    unipedicular: bool | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        _check_choice("level", self.level, LEVEL_NAMES)
        _check_choice("procedure", self.procedure, PROCEDURES)
        object.__setattr__(self, "trajectories", tuple(self.trajectories))
        object.__setattr__(self, "balloons", tuple(self.balloons))
        if self.balloons and self.procedure != "kyphoplasty":
            raise ValueError(
                f"level {self.level}: balloons need a kyphoplasty plan, this level is a "
                "vertebroplasty; remove the balloons or change the procedure"
            )
        # the single-level rules (one trajectory / balloon per side, balloon on a needle)
        self.legacy(SeriesBinding("-", "-"))

    @property
    def is_unipedicular(self) -> bool:
        """The one definition of "unipedicular" (findings and estimates use it).

        Two needles are never unipedicular; otherwise the user's explicit intent when set,
        else derived from the needles: one needle is unipedicular, none is not.
        """
        if len(self.trajectories) >= 2:
            return False
        if self.unipedicular is not None:
            return self.unipedicular
        return len(self.trajectories) == 1

    def trajectory(self, side: Side) -> Trajectory | None:
        return next((t for t in self.trajectories if t.side == side), None)

    def balloon(self, side: Side) -> BalloonPlacement | None:
        return next((b for b in self.balloons if b.side == side), None)

    def legacy(self, series: SeriesBinding, measurements: tuple[PlanMeasurement, ...] = ()) -> Plan:
        """This level as a single-level :class:`planner.plan.model.Plan` (compatibility)."""
        return Plan(
            series,
            self.level,
            self.procedure,
            self.trajectories,
            self.balloons,
            self.clinical,
            self.notes,
            measurements,
        )

    @classmethod
    def from_legacy(
        cls, plan: Plan, confirmed: bool = False, unipedicular: bool | None = None
    ) -> LevelPlan:
        """A level plan from a single-level plan (its measurements stay with the caller).

        Balloons of a vertebroplasty plan (which the estimates ignore) are left out, with a
        logged warning: a level plan never holds them.
        """
        balloons = plan.balloons
        if balloons and plan.procedure != "kyphoplasty":
            log.warning("%s: balloons of a vertebroplasty plan left out", plan.level)
            balloons = ()
        return cls(
            plan.level,
            confirmed,
            plan.procedure,
            plan.trajectories,
            balloons,
            plan.clinical,
            unipedicular,
            plan.notes,
        )


def _frozen_json(value: object) -> str:
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a correction value must be finite JSON data, got {value!r}") from exc
    return text


@dataclass(frozen=True, slots=True)
class Correction:
    """One correction the surgeon made to the automatic analysis.

    Parameters
    ----------
    level
        Level the correction applies to.
    kind
        One of :data:`CORRECTION_KINDS`.
    key
        What was corrected within the kind (e.g. ``"anterior_superior"``), free text.
    automatic_json, value_json
        The automatic value and the user's value as canonical JSON text (hashable); build
        with :meth:`make` and read with :attr:`automatic` / :attr:`value`. Points LPS mm.
    """

    level: str
    kind: str
    key: str
    automatic_json: str
    value_json: str

    def __post_init__(self) -> None:
        _check_choice("level", self.level, LEVEL_NAMES)
        _check_choice("correction kind", self.kind, CORRECTION_KINDS)
        for name in ("automatic_json", "value_json"):
            object.__setattr__(self, name, _frozen_json(json.loads(getattr(self, name))))

    @classmethod
    def make(cls, level: str, kind: str, key: str, automatic: object, value: object) -> Correction:
        return cls(level, kind, key, _frozen_json(automatic), _frozen_json(value))

    @property
    def automatic(self) -> object:
        return json.loads(self.automatic_json)

    @property
    def value(self) -> object:
        return json.loads(self.value_json)


@dataclass(frozen=True, slots=True)
class Attempt:
    """Training counters of one attempt: needle shots, redirections, elapsed seconds."""

    shots: int = 0
    redirections: int = 0
    time_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("shots", "redirections"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"attempt {name} must be a non-negative integer, got {v!r}")
        t = self.time_s
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise ValueError(f"attempt time_s must be finite and >= 0, got {self.time_s!r}")

    @classmethod
    def from_json(cls, d: object) -> Attempt:
        """From a plan file's ``"attempt"`` object (missing counters count as zero)."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError("'attempt' must be an object {shots, redirections, time_s}")
        return cls(d.get("shots", 0), d.get("redirections", 0), float(d.get("time_s", 0.0)))


@dataclass(frozen=True, slots=True)
class CasePlan:
    """Everything the plan file keeps: the levels and the user's work on the case.

    ``active_level`` is None or the name of one of ``levels`` (never a default). Levels are
    unique by name. ``indication`` maps checklist item ids to answers (both strings).
    """

    levels: tuple[LevelPlan, ...] = ()
    active_level: str | None = None
    measurements: tuple[PlanMeasurement, ...] = ()
    corrections: tuple[Correction, ...] = ()
    indication: tuple[tuple[str, str], ...] = ()
    attempt: Attempt | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        for name in ("levels", "measurements", "corrections", "indication"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        names = [lp.level for lp in self.levels]
        if len(names) != len(set(names)):
            raise ValueError(f"each level is planned once; got {', '.join(names)}")
        if self.active_level is not None and self.active_level not in names:
            raise ValueError(
                f"the active level {self.active_level} is not one of the planned levels"
            )
        ids = [k for k, _ in self.indication]
        for k, v in self.indication:
            if not isinstance(k, str) or not isinstance(v, str) or not k:
                raise ValueError(f"indication entries must be (item id, answer) strings: {k!r}")
        if len(ids) != len(set(ids)):
            raise ValueError("each indication item is answered once")

    def level(self, name: str) -> LevelPlan | None:
        return next((lp for lp in self.levels if lp.level == name), None)

    @property
    def active(self) -> LevelPlan | None:
        return None if self.active_level is None else self.level(self.active_level)

    def level_names(self) -> tuple[str, ...]:
        return tuple(lp.level for lp in self.levels)


@dataclass(frozen=True, slots=True)
class Case:
    """One case: the series binding, the analysis (a reference) and the plan.

    ``analysis`` is not part of the value (``==`` and hashing ignore it): derived results key
    their caches on the content of the anatomy they use, not on object identity.
    """

    series: SeriesBinding
    plan: CasePlan = field(default_factory=CasePlan)
    analysis: AnalysisLike | None = field(default=None, compare=False, hash=False)

    @property
    def levels(self) -> tuple[LevelPlan, ...]:
        return self.plan.levels

    @property
    def measurements(self) -> tuple[PlanMeasurement, ...]:
        return self.plan.measurements

    @property
    def corrections(self) -> tuple[Correction, ...]:
        return self.plan.corrections

    def level_data(self, level: str) -> LevelData | None:
        """The corrected analysis of ``level``, or None (no analysis, or not analysed)."""
        analysis = self.corrected_analysis()
        if analysis is None:
            return None
        try:
            return analysis.level(level)
        except KeyError:
            return None

    def corrected_analysis(self) -> AnalysisLike | None:
        """The analysis with the plan's corrections applied (None: no analysis).

        See :func:`planner.session.corrections.apply_corrections`; remembered per
        (analysis, corrections), so a drag update does not recompute it for every reader.
        """
        if self.analysis is None or not self.plan.corrections:
            return self.analysis
        from planner.session.corrections import corrected_analysis

        out: AnalysisLike = corrected_analysis(self.analysis, self.plan.corrections)
        return out

    def legacy_plan(self, level: str | None = None) -> Plan | None:
        """One level (default: the active one) as a single-level ``Plan`` (compatibility)."""
        lp = self.plan.active if level is None else self.plan.level(level)
        return None if lp is None else lp.legacy(self.series, self.plan.measurements)

    @classmethod
    def from_legacy(cls, plan: Plan, analysis: AnalysisLike | None = None) -> Case:
        """A one-level case (active level = the plan's) from a single-level ``Plan``."""
        lp = LevelPlan.from_legacy(plan)
        return cls(
            plan.series,
            CasePlan((lp,), lp.level, plan.measurements, notes=""),
            analysis,
        )
