"""The MRI step and the indication check on a planning session :class:`~planner.session.Case`.

- :func:`answer` stores one checklist answer in the plan (``CasePlan.indication``, plan file
  format 4), validated against :data:`planner.indication.ITEMS`.
- :func:`case_findings` / :func:`check_case`: the checklist for the case's planned levels,
  with the CT analysis and (optionally) the MRI result.
- :func:`apply_mri_acuity`: each planned level's MRI finding (oedema -> acute, no oedema ->
  chronic) replaces the typed acuity of its clinical inputs; returns the source per level.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from planner.indication import Findings, IndicationCheck, evaluate, grade_findings, validate_answers
from planner.mri.oedema import AcuityChoice, acuity_for_level
from planner.session import Case, edit


def answer(case: Case, item_id: str, value: str) -> Case:
    """The case with checklist item ``item_id`` answered ``value`` ("unknown" removes it)."""
    ((key, val),) = validate_answers([(item_id, value)])
    if val == "unknown":
        kept = tuple(a for a in case.plan.indication if a[0] != key)
        return edit.set_plan(case, replace(case.plan, indication=kept))
    return edit.set_indication(case, key, val)


def case_findings(case: Case, mri: Any = None) -> Findings:
    """:class:`~planner.indication.Findings` of the case's planned levels."""
    levels = case.plan.level_names()
    morphometry = {}
    for n in levels:
        data = case.level_data(n)
        if data is not None:
            morphometry[n] = data.morphometry
    walls = {n: str(m.posterior_wall) for n, m in morphometry.items()}
    oedema = {} if mri is None else {lv.level: lv.classification for lv in mri.levels}
    return Findings(levels, oedema, walls, *grade_findings(morphometry))


def check_case(case: Case, mri: Any = None) -> IndicationCheck:
    """The indication check of the case (its stored answers + the findings)."""
    return evaluate(case.plan.indication, case_findings(case, mri))


def apply_mri_acuity(case: Case, mri: Any) -> tuple[Case, dict[str, AcuityChoice]]:
    """Set each planned level's acuity from its MRI finding where it is determinate.

    Returns the new case and, per planned level, the acuity in use and its source.
    """
    out: dict[str, AcuityChoice] = {}
    for lp in case.plan.levels:
        c = lp.clinical
        choice = acuity_for_level(c.acuity, c.fracture_age_weeks, mri.level(lp.level))
        out[lp.level] = choice
        if choice.source.startswith("MRI") and c.acuity != choice.acuity:
            case = edit.set_clinical(case, lp.level, replace(c, acuity=choice.acuity))
    return case, out
