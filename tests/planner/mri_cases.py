"""The demo CT and its synthetic MRI, built once per test session (shared by the MRI tests)."""

from __future__ import annotations

from functools import lru_cache

from planner.demo import DemoCase, generate_demo
from planner.demo.mri import DemoMRI, generate_demo_mri
from planner.mri.oedema import BodyMask

LEVELS = ("T11", "T12", "L1", "L2", "L3")


@lru_cache(maxsize=1)
def demo_pair() -> tuple[DemoCase, DemoMRI]:
    case = generate_demo(0)
    return case, generate_demo_mri(case)


def truth_centroids(case: DemoCase) -> dict[str, tuple[float, float, float]]:
    return {lv.name: lv.centroid_lps for lv in case.truth.levels}


def truth_bodies(case: DemoCase) -> list[BodyMask]:
    """Exact CT body masks of the complete levels (on crops of the CT grid)."""
    out = []
    for name in LEVELS:
        anat = case.truth.level_anatomy(name, case.volume.grid)
        out.append(BodyMask(name, anat.body, anat.grid, case.truth.level(name).genant_grade))
    return out
