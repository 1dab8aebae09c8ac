"""Running the vertebra analysis for the needle planner (worker thread side)."""

from __future__ import annotations

from typing import Any

from planner.progress import Progress


def run_level_analysis(volume: Any, progress: Progress) -> Any:
    """``planner.vertebra.analyze_spine`` on the whole study (worker thread)."""
    from planner.vertebra import analyze_spine

    return analyze_spine(volume, progress=progress)
