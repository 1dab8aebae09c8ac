"""Rows of the trajectory panel's metrics table: label, formatter, tooltip (units in labels)."""

from __future__ import annotations

import math
from typing import Any


def fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def _breach(m: Any) -> str:
    if m.breach_grade == 0:
        return "none"  # grade 0; the row is titled Gertzbein–Robbins
    return f"GR {m.breach_grade}: {m.breach_mm:.1f} mm {m.breach_direction}"


def _fluoro(m: Any) -> str:
    if m.fluoro_rule_ok:
        return (
            "ok"
            if not math.isfinite(m.fluoro_rule_margin_mm)
            else f"ok (+{m.fluoro_rule_margin_mm:.1f} mm)"
        )
    return f"VIOLATED ({m.fluoro_rule_margin_mm:.1f} mm)"


#: (row label, formatter of TrajectoryMetrics, tooltip)
METRIC_ROWS: tuple[tuple[str, Any, str], ...] = (
    (
        "Length skin → tip (mm)",
        lambda m: fmt(m.length_skin_to_tip_mm),
        "Needle length needed from the skin entry to the tip",
    ),
    (
        "Length bone → tip (mm)",
        lambda m: fmt(m.length_bone_to_tip_mm),
        "From the bone entry to the tip",
    ),
    (
        "Tip depth (% body AP)",
        lambda m: fmt(100 * m.tip_depth_frac, 0),
        "Tip position as a fraction of the body's AP depth from the posterior wall; "
        "target: anterior third (≥ 67 %)",
    ),
    (
        "Tip → anterior cortex (mm)",
        lambda m: fmt(m.tip_to_anterior_cortex_mm),
        "Distance along the needle from the tip to the anterior cortex (negative: through it)",
    ),
    (
        "Medial angle, body (°)",
        lambda m: fmt(m.medial_angle_deg),
        "Convergence relative to the vertebral body frame",
    ),
    (
        "Craniocaudal, body (°)",
        lambda m: fmt(m.craniocaudal_angle_deg),
        "+ = tip cranial to the entry, body frame",
    ),
    (
        "Medial angle, table (°)",
        lambda m: fmt(m.medial_angle_table_deg),
        "Convergence relative to the table (what the C-arm needs)",
    ),
    (
        "Craniocaudal, table (°)",
        lambda m: fmt(m.craniocaudal_angle_table_deg),
        "+ = tip cranial, relative to the table",
    ),
    (
        "Pedicle isthmus width (mm)",
        lambda m: fmt(m.isthmus_width_mm),
        "Narrowest bone width across the path in the pedicle",
    ),
    (
        "Bone margin around needle (mm)",
        lambda m: fmt(m.bone_margin_mm),
        "Smallest bone left around the needle surface in the pedicle",
    ),
    (
        "Canal clearance (mm)",
        lambda m: fmt(m.canal_clearance_mm),
        "Needle surface to the spinal canal, whole path",
    ),
    (
        "Clearance medial (mm)",
        lambda m: fmt(m.clearance_medial_mm),
        "Needle surface to the medial pedicle cortex",
    ),
    (
        "Clearance lateral (mm)",
        lambda m: fmt(m.clearance_lateral_mm),
        "Needle surface to the lateral pedicle cortex",
    ),
    (
        "Clearance superior (mm)",
        lambda m: fmt(m.clearance_superior_mm),
        "Needle surface to the superior pedicle cortex",
    ),
    (
        "Clearance inferior (mm)",
        lambda m: fmt(m.clearance_inferior_mm),
        "Needle surface to the inferior pedicle cortex",
    ),
    (
        "Breach (Gertzbein–Robbins)",
        _breach,
        "Grade 0 none, 1 < 2 mm, 2 2–4 mm, 3 > 4 mm (Gertzbein & Robbins 1990, Spine 15:11)",
    ),
    (
        "Tip to midline (mm)",
        lambda m: fmt(m.tip_midline_offset_mm),
        "+ = tip still on the entry side of the midsagittal plane",
    ),
    (
        "Air on path (mm)",
        lambda m: fmt(m.air_path_mm),
        "Longest run of air (lung, pleura) along the path outside bone",
    ),
    (
        "AP/lateral fluoro rule",
        _fluoro,
        "On AP the tip must not cross the medial pedicle border before, on the lateral view, "
        "it has passed the posterior wall",
    ),
    ("Needle OD (mm)", lambda m: fmt(m.needle_od_mm, 2), "Outer diameter used for every margin"),
)
