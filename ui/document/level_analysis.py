"""Running the vertebra analysis for the needle planner (worker thread side), and keeping a
case's planned levels in step with the analysis' confirmations (no Qt)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from planner.progress import Progress
from planner.session import Case


def run_level_analysis(volume: Any, progress: Progress) -> Any:
    """``planner.vertebra.analyze_spine`` on the whole study (worker thread)."""
    from planner.vertebra import analyze_spine

    return analyze_spine(volume, progress=progress)


def synced_confirmations(case: Case) -> Case:
    """``case`` with its planned levels' confirmations taken from its analysis (where the
    analysis names the level); the same object when nothing changes."""
    an: Any = case.analysis
    if an is None or not case.plan.levels:
        return case
    conf = {r.candidate.level: bool(r.candidate.confirmed) for r in an.levels}
    levels = tuple(
        replace(lp, confirmed=conf[lp.level])
        if lp.level in conf and conf[lp.level] != lp.confirmed
        else lp
        for lp in case.plan.levels
    )
    if all(a is b for a, b in zip(levels, case.plan.levels, strict=True)):
        return case
    return replace(case, plan=replace(case.plan, levels=levels))
