"""The planning session: one case, many levels, edits as pure functions, derived results.

>>> case = Case(SeriesBinding(uid, fingerprint), analysis=spine_analysis)
>>> case = edit.add_level(case, "L1", "kyphoplasty")          # active level: L1
>>> case = edit.place_needle(case, "L1", trajectory)
>>> check = level_check(volume, case, "L1")                    # metrics + findings
>>> per_level, total = case_estimates(volume, case)            # estimates + total cement
>>> content = report_content(volume, case)                     # what the report renders

Qt-free; see :mod:`planner.session.model` (values), :mod:`planner.session.edit` (edits),
:mod:`planner.session.derive` (findings, estimates, cached by value) and
:mod:`planner.session.report` (report content). Plan files: :mod:`planner.plan.file`.
"""

from planner.session import edit
from planner.session.derive import (
    CementTotal,
    LevelCheck,
    LevelFinding,
    case_checks,
    case_estimates,
    check_level_plan,
    clear_caches,
    level_check,
    level_closed_form,
    level_context,
    level_estimates,
    total_cement,
)
from planner.session.model import (
    CORRECTION_KINDS,
    AnalysisLike,
    Attempt,
    Case,
    CasePlan,
    Correction,
    LevelAnalysis,
    LevelData,
    LevelPlan,
    LevelsAnalysis,
)
from planner.session.report import LevelReport, ReportContent, report_content

__all__ = [
    "CORRECTION_KINDS",
    "AnalysisLike",
    "Attempt",
    "Case",
    "CasePlan",
    "CementTotal",
    "Correction",
    "LevelAnalysis",
    "LevelCheck",
    "LevelData",
    "LevelFinding",
    "LevelPlan",
    "LevelReport",
    "LevelsAnalysis",
    "ReportContent",
    "case_checks",
    "case_estimates",
    "check_level_plan",
    "clear_caches",
    "edit",
    "level_check",
    "level_closed_form",
    "level_context",
    "level_estimates",
    "report_content",
    "total_cement",
]
