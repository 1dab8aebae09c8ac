"""Shared pieces of the planning panels: the analysis undo command, plan creation, number text.

Numbers shown to the surgeon always carry their unit, and a tooltip with the model, the
inputs and the sources (original citations): :func:`fmt_band` and :func:`sources_tooltip`
build those strings so every panel says it the same way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ui.document.document import Document


def push_analysis(doc: Document, new: Any, text: str) -> None:
    """Put an analysis into the case (one undo step); planned levels follow its confirmations."""
    doc.push_case(doc.with_analysis(new), text)


def renamed_result(result: Any, name: str, confirmed: bool) -> Any:
    """A ``LevelResult`` under another name; anatomy and morphometry carry the name too."""
    from planner.vertebra.types import LevelResult

    if name == result.level:  # a confirmation: share the segmentation (nothing to redraw)
        return LevelResult(
            result.candidate.renamed(name, confirmed), result.anatomy, result.morphometry
        )
    return LevelResult(
        result.candidate.renamed(name, confirmed),
        replace(result.anatomy, level=name),
        replace(result.morphometry, level=name),
    )


def new_plan(doc: Document, level: str) -> Any:
    """A fresh plan bound to the document's series (SeriesInstanceUID + geometry fingerprint)."""
    from planner.plan.model import Plan, SeriesBinding

    vol = doc.volume
    if vol is None:
        raise ValueError("no study is open")
    return Plan(series=SeriesBinding(vol.series_uid, vol.grid.fingerprint()), level=level)


def plan_or_new(doc: Document, level: str | None = None) -> Any:
    """The active level's plan, or a new one at ``level``.

    Never picks a level by itself: with no active level and no ``level`` it raises
    ``InputError`` asking the user to choose one.
    """
    if doc.plan is not None:
        return doc.plan
    if level is None:
        from planner.errors import InputError

        raise InputError(
            "no level is chosen: add a level to the plan in the Levels panel "
            "(select it, then Add to plan) before planning"
        )
    return new_plan(doc, level)


def fmt(value: float | None, unit: str, digits: int = 1) -> str:
    """``"12.3 mm"``; ``"—"`` for None or NaN (never a made-up number)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f} {unit}".rstrip()


def fmt_band(median: float, p10: float, p90: float, unit: str, digits: int = 1) -> str:
    """``"4.4 mm (1.6–7.6)"``: median with its 10th–90th percentile band."""
    return f"{median:.{digits}f} {unit} ({p10:.{digits}f}–{p90:.{digits}f})"


def fmt_range(lo: float, hi: float, unit: str, digits: int = 1) -> str:
    return f"{lo:.{digits}f}–{hi:.{digits}f} {unit}"


def source_lines(ids: Iterable[str]) -> list[str]:
    """Citations of source ids (planner.estimate.SOURCES), with their kind."""
    from planner.estimate.sources import SOURCES

    out = []
    for i in ids:
        s = SOURCES.get(i)
        if s is None:
            out.append(i)
            continue
        kind = "" if s.kind == "clinical" else f" [{s.kind}]"
        out.append(f"{s.citation} — {s.used_for}{kind}")
    return out


def sources_tooltip(model: str, inputs: str, ids: Iterable[str], notes: Iterable[str] = ()) -> str:
    """Rich-text tooltip: model, inputs, notes and sources of one number."""
    parts = [f"<b>Model</b>: {html.escape(model)}"]
    if inputs:
        parts.append(f"<b>Inputs</b>: {html.escape(inputs)}")
    for n in notes:
        parts.append(f"<i>{html.escape(n)}</i>")
    srcs = source_lines(ids)
    if srcs:
        parts.append("<b>Sources</b>:<br>" + "<br>".join("• " + html.escape(s) for s in srcs))
    return "<qt>" + "<br>".join(parts) + "</qt>"
