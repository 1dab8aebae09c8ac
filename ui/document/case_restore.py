"""Putting a plan read from a file (or a recovery file) back into the document, exactly.

The plan file holds the levels, their confirmations and procedures, the active level, the
unipedicular intents, the measurements and the user's corrections; the analysis itself is not
in the file. Restoring therefore (1) re-runs the analysis in the background when the open study
has none, (2) applies the plan's level names (``level_name`` corrections) and confirmations to
that analysis, and (3) makes the whole result current as ONE undo step, so every metric, finding
and estimate is shown without the user pressing anything. What cannot be restored (a planned
level the analysis does not find, a correction kind the analysis cannot take back) is named in
a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from planner.session import Case, CasePlan
from planner.session.edit import ANATOMY_KINDS
from ui.document.document import Document

log = logging.getLogger(__name__)


def document_case_plan(doc: Document) -> CasePlan | None:
    """What a plan file holds: the case's plan with the on-screen measurements (None: no level
    planned yet)."""
    from ui.tools.measurement import to_plan_measurement

    case = doc.case
    if case is None or not case.plan.levels:
        return None
    return replace(case.plan, measurements=tuple(map(to_plan_measurement, doc.measurements)))


def analysis_for_plan(analysis: Any, plan: CasePlan) -> tuple[Any, list[str]]:
    """``analysis`` with the plan's level names and confirmations applied.

    Returns the new analysis and the notes of what could not be applied.
    """
    from ui.panels.level_ops import confirm_levels

    notes: list[str] = []
    for c in plan.corrections:
        if c.kind not in ("level_name", *ANATOMY_KINDS):  # anatomy: Case.corrected_analysis
            notes.append(
                f"{c.level}: the corrected {c.kind.replace('_', ' ')} ({c.key}) is kept in the "
                "plan file but not re-applied to the new analysis; check it on the images"
            )
    analysis = _renamed(analysis, plan, notes)
    notes += _not_reapplied(analysis, plan)
    names = [r.level for r in analysis.levels]
    todo = [names.index(lp.level) for lp in plan.levels if lp.confirmed and lp.level in names]
    if todo:
        analysis = confirm_levels(analysis, todo)
    for lp in plan.levels:
        if lp.level not in names:
            notes.append(
                f"{lp.level} is planned but the analysis did not find it: its needles are "
                "shown without metrics, findings or estimates"
            )
    return analysis, notes


def _not_reapplied(analysis: Any, plan: CasePlan) -> list[str]:
    """The anatomy corrections the new analysis cannot take (e.g. an outline drawn on another
    analysis' mask), as the notes the corrected levels carry."""
    from planner.session.corrections import apply_corrections

    if analysis is None or not any(c.kind in ANATOMY_KINDS for c in plan.corrections):
        return []
    try:
        corrected = apply_corrections(analysis, plan.corrections, strict=False)
    except (ValueError, KeyError) as exc:
        return [f"the plan's corrections could not be re-applied ({exc})"]
    return [
        f"{r.level}: {n.split(':', 1)[1].strip()}"
        for r in corrected.levels
        for n in r.morphometry.notes
        if n.startswith("edited:") and "not applied" in n
    ]


def _renamed(analysis: Any, plan: CasePlan, notes: list[str]) -> Any:
    """The analysis with the user's level names (``level_name`` corrections), all at once."""
    from planner.vertebra.types import SpineAnalysis
    from ui.panels.common import renamed_result

    mapping = {str(c.automatic): str(c.value) for c in plan.corrections if c.kind == "level_name"}
    if not mapping:
        return analysis
    names = [r.level for r in analysis.levels]
    missing = [a for a in mapping if a not in names]
    new_names = [mapping.get(n, n) for n in names]
    if missing or len(set(new_names)) != len(new_names):
        notes.append(
            "the level names you gave ("
            + ", ".join(f"{a} → {v}" for a, v in mapping.items())
            + ") do not fit the new analysis; check and rename the levels"
        )
        return analysis
    levels = tuple(
        renamed_result(r, mapping[r.level], r.candidate.confirmed) if r.level in mapping else r
        for r in analysis.levels
    )
    return SpineAnalysis(levels, analysis.warnings)


def restored_case(base: Case, plan: CasePlan) -> tuple[Case, list[str]]:
    """``base`` (the open series and its analysis) with ``plan`` (measurements left out)."""
    notes: list[str] = []
    analysis = base.analysis
    if analysis is not None:
        analysis, notes = analysis_for_plan(analysis, plan)
    case = replace(base, plan=replace(plan, measurements=()), analysis=analysis)
    return case, notes


def apply_restored(doc: Document, base: Case, plan: CasePlan, text: str) -> list[str]:
    """Make ``plan`` current on ``base`` with its measurements: ONE undo step. Returns notes."""
    from ui.tools.measurement import from_plan_measurement

    case, notes = restored_case(base, plan)
    stack = doc.undo_stack
    stack.beginMacro(text)
    doc.push_case(case, text)
    doc.push_measurements(tuple(map(from_plan_measurement, plan.measurements)), "Measurements")
    stack.endMacro()
    return notes


def restore(
    window: Any, plan: CasePlan, text: str, done: Callable[[list[str]], None] | None = None
) -> None:
    """Restore ``plan`` in ``window``'s document; analyses first when needed (background).

    ``done(notes)`` runs once the plan is current (at once, or when the analysis ends).
    """
    doc: Document = window.doc
    service = window.trajectory.service

    def finish(base: Case, extra: list[str]) -> None:
        notes = extra + apply_restored(doc, base, plan, text)
        if notes:
            from ui.shell.errors import show_message

            show_message(
                window,
                "warning",
                "Not everything could be restored",
                "The plan was opened, but:\n• " + "\n• ".join(notes),
                "",
            )
        for n in notes:
            log.warning("restore: %s", n)
        if done is not None:
            done(notes)

    if doc.analysis is not None or not plan.levels:
        finish(doc.edited_case(), [])
        return
    volume = doc.volume
    task = service.run_analysis(then=lambda case: finish(case, []))
    if task is None:  # an analysis is already running: restore without it
        finish(doc.edited_case(), ["the analysis was busy; press Analyse to see the metrics"])
        return
    task.failed.connect(
        lambda exc: finish(doc.edited_case(), [f"the analysis failed ({exc}); no metrics"])
        if doc.volume is volume
        else None
    )
