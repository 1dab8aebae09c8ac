"""Edits of a vertebra analysis the user makes in the levels panel (no Qt).

Each returns a new ``SpineAnalysis`` (values are immutable) plus the old → new name map, so
the panel can push one undoable command and keep ``plan.level`` on the same body.
"""

from __future__ import annotations

from typing import Any

from planner.errors import InputError
from planner.plan.levels import LEVEL_NAMES, NAMES_TEXT, renumbered
from ui.panels.common import renamed_result


def rename_level(
    analysis: Any, index: int, new_name: str, renumber: bool
) -> tuple[Any, dict[str, str]]:
    """Rename level ``index`` (it becomes confirmed); optionally renumber the others by counting.

    Counting includes T13 / L6 only when that name is chosen or another level bears it
    (:func:`planner.plan.levels.renumbered`).

    Renumbered neighbours lose their confirmation (their name changed under them); a plain
    rename refuses a name another level already has.
    """
    from planner.vertebra.types import SpineAnalysis

    if new_name not in LEVEL_NAMES:
        raise InputError(f"{new_name!r} is not a level name; use one of {NAMES_TEXT}")
    levels = list(analysis.levels)
    old_name = levels[index].level
    mapping: dict[str, str] = {}
    if renumber and old_name in LEVEL_NAMES:
        counted = renumbered([r.level for r in levels], index, new_name)
        if counted is None:
            raise InputError(
                f"renumbering {old_name} as {new_name} would move a level past C1 or S1; "
                "rename this level alone, or remove the level from the analysis first"
            )
        mapping.update(counted)
    else:
        taken = [r.level for n, r in enumerate(levels) if n != index]
        if new_name in taken:
            raise InputError(
                f"another level is already named {new_name}; rename it first, or tick "
                "'renumber the other levels'"
            )
        mapping[old_name] = new_name
    out = []
    for n, r in enumerate(levels):
        name = mapping.get(r.level, r.level)
        if n == index:
            out.append(renamed_result(r, name, True))
        elif name != r.level:
            out.append(renamed_result(r, name, False))
        else:
            out.append(r)
    return SpineAnalysis(tuple(out), analysis.warnings), {
        k: v for k, v in mapping.items() if k != v
    }


def confirm_levels(analysis: Any, indices: list[int]) -> Any:
    """The analysis with the levels at ``indices`` confirmed (others unchanged, shared)."""
    from planner.vertebra.types import SpineAnalysis

    levels = list(analysis.levels)
    for n in indices:
        r = levels[n]
        if not r.candidate.confirmed:
            levels[n] = renamed_result(r, r.level, True)
    return SpineAnalysis(tuple(levels), analysis.warnings)
