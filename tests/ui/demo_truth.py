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


def with_points(analysis: Any) -> Any:
    """The truth analysis with its six points (the height lines the sagittal view draws)."""
    from dataclasses import replace

    from ui.render.vertebra_actors import height_line_points

    levels = []
    for r in analysis.levels:
        lines = {
            w: (tuple(map(float, a)), tuple(map(float, b)))
            for w, (a, b) in height_line_points(r.anatomy, r.morphometry).items()
        }
        levels.append(replace(r, morphometry=replace(r.morphometry, height_lines_lps=lines)))
    return replace(analysis, levels=tuple(levels))


def open_truth_demo(win: Any, demo_case: Any, centre: str | None = "L1", settle: int = 5) -> Any:
    """Open the demo in ``win`` with its truth analysis (six points included); centre the
    crosshair on level ``centre`` (None: leave it); return the analysis."""
    import numpy as np
    from PySide6.QtWidgets import QApplication

    win.doc.set_study(demo_case.volume, (), "demo:")
    analysis = with_points(truth_analysis(demo_case))
    win.doc._apply_analysis(analysis)
    if centre is not None:
        win.state.set_cursor(np.asarray(analysis.level(centre).anatomy.frame.origin_lps))
    for _ in range(settle):
        QApplication.processEvents()
    return analysis
