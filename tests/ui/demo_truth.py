"""The demo's exact ground truth as a vertebra analysis, so UI tests do not depend on the
segmentation's accuracy (or spend its run time)."""

from __future__ import annotations

from typing import Any


def truth_analysis(
    demo_case: Any,
    confirmed: tuple[str, ...] = (),
    source: str = "auto",
    levels: tuple[str, ...] | None = None,
) -> Any:
    """A SpineAnalysis built from the demo's exact ground truth (fast, no segmentation run)."""
    from planner.vertebra.types import LevelCandidate, LevelResult, SpineAnalysis

    out = []
    for lt in demo_case.truth.levels:
        if levels is not None and lt.name not in levels:
            continue
        cand = LevelCandidate(
            lt.name,
            lt.centroid_lps,
            source,
            lt.name in confirmed,
            tuple(lt.frame.superior),
            tuple(lt.frame.posterior),
        )
        morph = lt.morphometry()
        out.append(
            LevelResult(cand, demo_case.truth.level_anatomy(lt.name, demo_case.volume.grid), morph)
        )
    return SpineAnalysis(tuple(out))
