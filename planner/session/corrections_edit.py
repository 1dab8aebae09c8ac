"""The corrected analysis, remembered, and the checked correction edit.

:func:`corrected_analysis` is what :meth:`planner.session.model.Case.corrected_analysis`
returns (:func:`planner.session.corrections.apply_corrections`, remembered for the last few
(analysis, corrections) pairs so a drag update does not recompute it for every reader);
:func:`add_checked_correction` is the edit the workstation's correction gestures push.
"""

from __future__ import annotations

import threading
from typing import Any

from planner.session.corrections import APPLIED_KINDS, KIND, apply_corrections
from planner.session.corrections_levels import GEOMETRY_KINDS
from planner.session.edit import add_correction
from planner.session.model import Case, Correction


class _Memo:
    """The last few corrected analyses, by (analysis identity, corrections value)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: list[tuple[object, tuple[Correction, ...], object]] = []
        self._lock = threading.Lock()

    def get(self, analysis: object, corrections: tuple[Correction, ...]) -> Any:
        with self._lock:
            for a, c, out in self._items:
                if a is analysis and c == corrections:
                    return out
        out = apply_corrections(analysis, corrections, strict=False)
        self.put(analysis, corrections, out)
        return out

    def put(self, analysis: object, corrections: tuple[Correction, ...], out: object) -> None:
        with self._lock:
            self._items.insert(0, (analysis, corrections, out))
            del self._items[self.size :]


_MEMO = _Memo()


def corrected_analysis(analysis: Any, corrections: tuple[Correction, ...]) -> Any:
    """:func:`apply_corrections`, remembered for the last few (analysis, corrections) pairs."""
    if not any(c.kind in APPLIED_KINDS for c in corrections):
        return analysis
    return _MEMO.get(analysis, corrections)


def add_checked_correction(case: Case, correction: Correction) -> Case:
    """:func:`planner.session.edit.add_correction` after checking the correction applies
    (possible points, an outline made on this analysis, a readable plane or axis).

    Raises
    ------
    ValueError
        With a message for the user (the case is unchanged).
    """
    new = add_correction(case, correction)
    if case.analysis is None:
        return new
    try:
        out = apply_corrections(case.analysis, new.plan.corrections, strict=True)
    except ValueError:
        try:
            apply_corrections(case.analysis, case.plan.corrections, strict=True)
        except ValueError:  # an older correction cannot apply (a plan made on another
            _check_alone(case.analysis, new, correction)  # analysis): judge the new one alone
            return new
        raise
    _MEMO.put(case.analysis, new.plan.corrections, out)  # strict found nothing to refuse
    return new


def _check_alone(analysis: Any, case: Case, correction: Correction) -> None:
    """Apply ``correction`` strictly with only what it depends on (its level's corrections of
    its kind, and the level's plane for moved points)."""
    plane = GEOMETRY_KINDS[0]
    subset = tuple(
        c
        for c in case.plan.corrections
        if c.level == correction.level
        and (c.kind == correction.kind or (c.kind == plane and correction.kind == KIND))
    )
    apply_corrections(analysis, subset, strict=True)
