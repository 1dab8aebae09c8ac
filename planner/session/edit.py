"""Pure edits of a :class:`~planner.session.model.Case`: each returns a new case.

Nothing is changed in place; unchanged parts stay the same objects. Each function is one user
gesture (the UI pushes one undoable command per call). Invalid edits raise ``ValueError`` with
a message for the user. Points are patient LPS millimetres.
"""

from __future__ import annotations

from dataclasses import replace

from planner.plan.model import BalloonPlacement, PlanMeasurement, Side, Trajectory
from planner.session.model import Case, CasePlan, Correction, LevelPlan

#: Correction kinds that describe the vertebra (kept when its treatment plan is removed).
ANATOMY_KINDS = ("morphometry_point", "midsagittal_plane", "body_outline", "pedicle_axis")


def _plan(case: Case, **changes: object) -> Case:
    return replace(case, plan=replace(case.plan, **changes))  # type: ignore[arg-type]


def _level(case: Case, level: str) -> LevelPlan:
    lp = case.plan.level(level)
    if lp is None:
        raise ValueError(f"level {level} is not in the plan; add it first")
    return lp


def _put(case: Case, new: LevelPlan, old_name: str | None = None) -> Case:
    name = old_name or new.level
    levels = tuple(new if lp.level == name else lp for lp in case.plan.levels)
    active = case.plan.active_level
    if old_name is not None and active == old_name:
        active = new.level
    return _plan(case, levels=levels, active_level=active)


def add_level(
    case: Case, level: str, procedure: str = "vertebroplasty", *, activate: bool = True
) -> Case:
    """Add an empty level plan (unconfirmed); it becomes the active level unless told not to."""
    if case.plan.level(level) is not None:
        raise ValueError(f"level {level} is already planned")
    lp = LevelPlan(level, procedure=procedure)
    return _plan(
        case,
        levels=(*case.plan.levels, lp),
        active_level=level if activate else case.plan.active_level,
    )


def remove_level(case: Case, level: str) -> Case:
    """Remove a level and its needles; the active level becomes None if it was this one.

    Corrections of the level's anatomy (moved morphometry points, its mid-sagittal plane,
    body outline and pedicle axes) stay: they describe the vertebra, not its treatment plan.
    """
    _level(case, level)
    active = None if case.plan.active_level == level else case.plan.active_level
    return _plan(
        case,
        levels=tuple(lp for lp in case.plan.levels if lp.level != level),
        active_level=active,
        corrections=tuple(
            c for c in case.plan.corrections if c.level != level or c.kind in ANATOMY_KINDS
        ),
    )


def set_active_level(case: Case, level: str | None) -> Case:
    """Choose the level the user works on (None: no level chosen)."""
    if level is not None:
        _level(case, level)
    return _plan(case, active_level=level)


def rename_level(case: Case, old: str, new: str) -> Case:
    """Rename a level (the user corrects the automatic name); it stays unconfirmed."""
    lp = _level(case, old)
    if old == new:
        return case
    if case.plan.level(new) is not None:
        raise ValueError(f"level {new} is already planned")
    return _put(case, replace(lp, level=new, confirmed=False), old)


def confirm_level(case: Case, level: str, confirmed: bool = True) -> Case:
    """Mark the level's name as confirmed (or back to a proposal) by the user."""
    return _put(case, replace(_level(case, level), confirmed=confirmed))


def set_procedure(case: Case, level: str, procedure: str) -> Case:
    """Vertebroplasty or kyphoplasty; switching to vertebroplasty removes the balloons."""
    lp = _level(case, level)
    balloons = lp.balloons if procedure == "kyphoplasty" else ()
    return _put(case, replace(lp, procedure=procedure, balloons=balloons))


def place_needle(case: Case, level: str, trajectory: Trajectory) -> Case:
    """Put (or replace) the needle of ``trajectory.side`` on ``level``."""
    lp = _level(case, level)
    others = tuple(t for t in lp.trajectories if t.side != trajectory.side)
    trajs = tuple(sorted((*others, trajectory), key=lambda t: t.side))
    return _put(case, replace(lp, trajectories=trajs))


move_needle = place_needle
"""Moving a needle is placing its new trajectory (one gesture, one edit)."""


def accept_suggestion(case: Case, level: str, trajectory: Trajectory) -> Case:
    """Put an auto-suggested trajectory into the plan (same as placing it)."""
    return place_needle(case, level, trajectory)


def remove_needle(case: Case, level: str, side: Side) -> Case:
    """Remove the needle of ``side`` and its balloon."""
    lp = _level(case, level)
    return _put(
        case,
        replace(
            lp,
            trajectories=tuple(t for t in lp.trajectories if t.side != side),
            balloons=tuple(b for b in lp.balloons if b.side != side),
        ),
    )


def set_balloon(case: Case, level: str, balloon: BalloonPlacement | None, side: Side) -> Case:
    """Set (or with None remove) the balloon of ``side``; the level must be kyphoplasty."""
    lp = _level(case, level)
    others = tuple(b for b in lp.balloons if b.side != side)
    new = others if balloon is None else tuple(sorted((*others, balloon), key=lambda b: b.side))
    return _put(case, replace(lp, balloons=new))


def set_unipedicular(case: Case, level: str, intent: bool | None) -> Case:
    """The user's explicit unipedicular choice (None: no choice, derived from the needles)."""
    return _put(case, replace(_level(case, level), unipedicular=intent))


def set_clinical(case: Case, level: str, clinical: object) -> Case:
    """Replace the clinical inputs of a level (a ``ClinicalInputs``)."""
    return _put(case, replace(_level(case, level), clinical=clinical))  # type: ignore[arg-type]


def add_measurement(case: Case, measurement: PlanMeasurement) -> Case:
    return _plan(case, measurements=(*case.plan.measurements, measurement))


def remove_measurement(case: Case, index: int) -> Case:
    ms = case.plan.measurements
    if not 0 <= index < len(ms):
        raise ValueError(f"no measurement {index}; the plan has {len(ms)}")
    return _plan(case, measurements=ms[:index] + ms[index + 1 :])


def add_correction(case: Case, correction: Correction) -> Case:
    """Record a correction; a newer one of the same (level, kind, key) replaces the older."""
    k = (correction.level, correction.kind, correction.key)
    kept = tuple(c for c in case.plan.corrections if (c.level, c.kind, c.key) != k)
    return _plan(case, corrections=(*kept, correction))


def set_indication(case: Case, item: str, answer: str) -> Case:
    """Answer one indication checklist item (item id and answer are strings).

    The same answer again returns ``case`` itself (nothing to undo).
    """
    if (item, answer) in case.plan.indication:
        return case
    kept = tuple((k, v) for k, v in case.plan.indication if k != item)
    return _plan(case, indication=(*kept, (item, answer)))


def clear_indication(case: Case, item: str) -> Case:
    """Forget the answer to one checklist item (it is unknown again); ``case`` itself when the
    item was not answered."""
    kept = tuple((k, v) for k, v in case.plan.indication if k != item)
    if len(kept) == len(case.plan.indication):
        return case
    return _plan(case, indication=kept)


def set_plan(case: Case, plan: CasePlan) -> Case:
    """Replace the whole plan (opening a plan file: one undo step)."""
    return replace(case, plan=plan)
