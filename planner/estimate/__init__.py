"""Estimates the surgeon plans with: balloon, cement volume, cement spread, height restoration.

Every number comes with its model, inputs, a range and its sources (DOMAIN.md §9); nothing is
presented as a guaranteed height, restored strength, pain relief or leak probability.
"""

from planner.estimate.balloon import BalloonResult, balloon_axis, inflate_balloon
from planner.estimate.balloon_catalog import BalloonCatalog, BalloonDevice, load_balloon_catalog
from planner.estimate.balloon_shape import capsule_radius_mm, capsule_volume_ml
from planner.estimate.cement import CementRecommendation, cement_recommendation
from planner.estimate.compare import Comparison, compare_procedures
from planner.estimate.geometry import FineBody, fine_body
from planner.estimate.leaks import LeakPoint
from planner.estimate.report import (
    ClosedForm,
    PlanEstimates,
    closed_form_estimates,
    compute_estimates,
    estimate_plan,
)
from planner.estimate.restoration import Band, Restoration, restoration_estimate
from planner.estimate.sources import SOURCES, Source, sources_json
from planner.estimate.spread import SpreadResult, simulate_spread

__all__ = [
    "SOURCES",
    "Band",
    "BalloonCatalog",
    "BalloonDevice",
    "BalloonResult",
    "CementRecommendation",
    "ClosedForm",
    "Comparison",
    "FineBody",
    "LeakPoint",
    "PlanEstimates",
    "Restoration",
    "Source",
    "SpreadResult",
    "balloon_axis",
    "capsule_radius_mm",
    "capsule_volume_ml",
    "cement_recommendation",
    "closed_form_estimates",
    "compare_procedures",
    "compute_estimates",
    "estimate_plan",
    "fine_body",
    "inflate_balloon",
    "load_balloon_catalog",
    "restoration_estimate",
    "simulate_spread",
    "sources_json",
]
