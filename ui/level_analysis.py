"""Running the vertebra analysis for the needle planner (worker thread side).

``run_level_analysis`` calls :func:`planner.vertebra.analyze_spine`; for the built-in demo, if
the analysis is not available in the build, the demo's exact ground truth stands in (and says
so in the analysis warnings).
"""

from __future__ import annotations

import inspect
from typing import Any

from planner.progress import Progress


def _analyze_spine() -> Any | None:
    try:
        from planner.vertebra import analyze_spine  # type: ignore[attr-defined]
    except ImportError:
        return None
    return analyze_spine


def demo_truth_analysis(volume: Any, level: str) -> Any:
    """A :class:`SpineAnalysis` of one demo level from the demo's exact ground truth.

    Used only for the built-in demo when the vertebra analysis is not available in the build.
    """
    from planner.anatomy import Morphometry
    from planner.demo import generate_demo
    from planner.vertebra.types import LevelCandidate, LevelResult, SpineAnalysis

    truth = generate_demo().truth
    lt = truth.level(level)
    anatomy = truth.level_anatomy(level, volume.grid)
    morph = Morphometry(
        level=level,
        centroid_lps=lt.centroid_lps,
        body_volume_ml=lt.body_volume_ml,
        heights_mm=lt.heights_mm,
        depth_mm=lt.depth_mm,
        width_mm=lt.width_mm,
        wedge_angle_deg=lt.wedge_angle_deg,
        trabecular_hu=lt.trabecular_hu,
        reference_heights_mm=lt.reference_heights_mm,
        genant_grade=lt.genant_grade,
        morphology=lt.morphology,
        posterior_wall=lt.posterior_wall,
        prefracture_volume_ml=lt.prefracture_volume_ml,
        notes=("demo ground truth (vertebra analysis not available)",),
    )
    cand = LevelCandidate(level, lt.centroid_lps, "seed", True)
    return SpineAnalysis(
        (LevelResult(cand, anatomy, morph),),
        ("demo ground truth used: the vertebra analysis is not available",),
    )


def run_level_analysis(volume: Any, level: str, is_demo: bool, progress: Progress) -> Any:
    """The vertebra analysis for ``level`` (worker thread)."""
    fn = _analyze_spine()
    if fn is None:
        if is_demo:
            progress.update(0.2, f"Demo ground truth for {level}")
            return demo_truth_analysis(volume, level)
        from planner.errors import AnalysisError

        raise AnalysisError(
            "the vertebra analysis (planner.vertebra.analyze_spine) is not available "
            "in this build; needle metrics need the level's segmentation"
        )
    kwargs: dict[str, Any] = (
        {"progress": progress} if "progress" in inspect.signature(fn).parameters else {}
    )
    return fn(volume, **kwargs)
