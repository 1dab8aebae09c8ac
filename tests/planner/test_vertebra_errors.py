"""Bad input gives a clear planner error, never a crash or a made-up number (issue 4)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.errors import AnalysisError
from planner.volume import CTVolume
from tests.planner.vertebra_cases import demo_case


def _phantom(spacing_z: float = 1.0, modality: str = "CT", fill: float = 40.0) -> CTVolume:
    hu = np.full((40, 60, 60), fill, dtype=np.int16)
    hu[:, :5] = -1000
    hu[0, 0, 0] = 400
    aff = np.diag([1.0, 1.0, spacing_z, 1.0])
    return CTVolume.from_array(hu, aff, "test", modality=modality, description="phantom")


def test_seed_outside_the_scan() -> None:
    from planner.vertebra import neighbours_from_seed

    with pytest.raises(AnalysisError, match="outside the scan"):
        neighbours_from_seed(demo_case().volume, np.array([0.0, 0.0, 900.0]), "L1")


def test_seed_outside_bone() -> None:
    from planner.vertebra import neighbours_from_seed

    case = demo_case()
    seed = np.add(case.truth.level("L2").centroid_lps, [0.0, -60.0, 0.0])  # in the abdomen
    with pytest.raises(AnalysisError, match="click inside the body"):
        neighbours_from_seed(case.volume, seed, "L2")


def test_unknown_level_name() -> None:
    from planner.vertebra import neighbours_from_seed

    case = demo_case()
    with pytest.raises(ValueError, match="unknown level"):
        neighbours_from_seed(case.volume, np.array(case.truth.level("L2").centroid_lps), "L9")


def test_level_outside_the_scan_is_reported_not_measured() -> None:
    from planner.vertebra import LevelCandidate, segment_level

    case = demo_case()
    far = LevelCandidate("T3", (0.0, 0.0, 500.0), "seed")
    with pytest.raises(AnalysisError, match="outside the scan"):
        segment_level(case.volume, far)


def test_scan_without_a_spine() -> None:
    from planner.vertebra import propose_levels

    with pytest.raises(AnalysisError, match="no vertebral"):
        propose_levels(_phantom())


def test_non_ct_and_thick_slices_are_refused() -> None:
    from planner.vertebra import analyze_spine

    with pytest.raises(AnalysisError, match="modality MR"):
        analyze_spine(_phantom(modality="MR"))
    with pytest.raises(AnalysisError, match="thicker than 3.5 mm"):
        analyze_spine(_phantom(spacing_z=5.0))
    # 5 mm slices reconstructed every 2.5 mm: as blurred as they are thick
    overlapping = dataclasses.replace(_phantom(spacing_z=2.5), slice_thickness_mm=5.0)
    with pytest.raises(AnalysisError, match=r"slices are 5.00 mm thick \(reconstructed every "
                                            r"2.50 mm\), thicker than 3.5 mm"):
        analyze_spine(overlapping)
    no_air = _phantom(fill=40.0)
    with pytest.raises(AnalysisError, match="not a CT in Hounsfield"):
        analyze_spine(CTVolume.from_array(np.clip(no_air.hu, 0, 200), no_air.ijk_to_lps, "x"))


def test_cancel_stops_the_analysis() -> None:
    from planner.errors import Cancelled
    from planner.progress import Progress
    from planner.vertebra import analyze_spine

    seen: list[str] = []
    progress = Progress(lambda f, msg: seen.append(msg))
    progress.cancel()
    with pytest.raises(Cancelled):
        analyze_spine(demo_case().volume, progress=progress)
    assert seen == []
