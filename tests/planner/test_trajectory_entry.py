"""Bone entry of a hand-placed needle line."""

from __future__ import annotations

import numpy as np

from planner.trajectory.entry import STEP_MM, bone_entry_lps


def _slab(lo_mm: float, hi_mm: float):  # type: ignore[no-untyped-def]
    """Bone where lo <= y <= hi (LPS y, mm)."""
    return lambda pts: (pts[:, 1] >= lo_mm) & (pts[:, 1] <= hi_mm)


def test_entry_is_the_first_sample_of_a_bone_run() -> None:
    skin, tip = np.array([0.0, 60.0, 0.0]), np.array([0.0, 0.0, 0.0])
    # posterior to anterior (y decreasing): bone from y = 40 down to y = 10
    entry = bone_entry_lps(skin, tip, _slab(10.0, 40.0))
    assert entry[1] == np.float64(40.0) and entry[0] == 0.0


def test_a_lone_bright_sample_is_not_bone() -> None:
    skin, tip = np.array([0.0, 60.0, 0.0]), np.array([0.0, 0.0, 0.0])
    speck_then_bone = lambda p: (np.abs(p[:, 1] - 50.0) < STEP_MM / 2) | (p[:, 1] <= 30.0)  # noqa: E731
    assert bone_entry_lps(skin, tip, speck_then_bone)[1] == 30.0


def test_no_bone_or_no_length_returns_the_tip() -> None:
    skin, tip = np.array([0.0, 60.0, 0.0]), np.array([1.0, 2.0, 3.0])
    assert np.array_equal(bone_entry_lps(skin, tip, _slab(100.0, 200.0)), tip)
    assert np.array_equal(bone_entry_lps(tip, tip, _slab(-1e9, 1e9)), tip)
