"""Shared, cached inputs of the vertebra tests (the demo and its analysis are built once)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def demo_case() -> Any:
    from planner.demo import generate_demo

    return generate_demo()


@lru_cache(maxsize=1)
def demo_analysis() -> Any:
    from planner.vertebra import analyze_spine

    return analyze_spine(demo_case().volume)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2.0 * (a & b).sum() / (a.sum() + b.sum()))


def full_mask(shape: tuple[int, int, int], anatomy: Any) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    o, s = anatomy.offset_kji, anatomy.grid.shape_kji
    out[o[0]:o[0] + s[0], o[1]:o[1] + s[1], o[2]:o[2] + s[2]] = anatomy.body
    return out
