"""The built-in demo case: a synthetic thoracolumbar CT (T10-L4) with an L1 wedge fracture
and its exact ground truth, generated deterministically from a seed in about a second.

Public API: :func:`generate_demo`, :class:`DemoCase`, :class:`DemoTruth`,
:class:`LevelTruth`, :class:`PedicleTruth`. LPS millimetres throughout.
"""

from planner.demo.case import DESCRIPTION, VARIANTS, DemoCase, demo_uid, generate_demo
from planner.demo.truth import DemoTruth
from planner.demo.truth_types import LevelTruth, PedicleTruth

__all__ = [
    "DESCRIPTION",
    "VARIANTS",
    "DemoCase",
    "DemoTruth",
    "LevelTruth",
    "PedicleTruth",
    "demo_uid",
    "generate_demo",
]
