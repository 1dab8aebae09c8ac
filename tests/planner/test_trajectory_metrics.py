"""Trajectory metrics against analytic values on a synthetic vertebra (no segmentation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.plan.catalog import get_needle
from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, gr_grade
from planner.trajectory.geometry import direction_from_angles, needle_angles_deg
from tests.planner.trajectory_phantom import Phantom

R11 = get_needle("11G").radius_mm


@pytest.fixture(scope="module")
def fine() -> tuple[Phantom, TrajectoryContext]:
    """0.5 mm voxels, body frame rotated against the scanner axes."""
    ph = Phantom(
        spacing=0.5,
        yaw_deg=12.0,
        pitch_deg=-7.0,
        skin_p=45.0,
        box_lo=(-35.3, -20.17, -15.41),
        box_mm=(70.0, 70.0, 30.0),
    )
    vol, an = ph.build()
    return ph, TrajectoryContext.build(vol, an)


def _axis_traj(ph: Phantom, side: str = "left", depth_frac: float = 0.75) -> Trajectory:
    skin, entry, tip = ph.axis_trajectory_points(side, depth_frac)
    return Trajectory(side, "transpedicular", ph.lps(skin), ph.lps(entry), ph.lps(tip))


def test_angle_conventions_round_trip_in_a_rotated_frame() -> None:
    ph = Phantom(yaw_deg=20.0, pitch_deg=10.0)
    rot = ph.frame().rotation
    for sign in (1.0, -1.0):
        d = direction_from_angles(15.0, -8.0, rot, sign)
        med, cc = needle_angles_deg(d, rot, sign)
        assert med == pytest.approx(15.0, abs=1e-9)
        assert cc == pytest.approx(-8.0, abs=1e-9)
        # a tip medial to the entry: for the left side it moves towards the patient's right
        assert float(d @ rot[:, 0]) * sign < 0


def test_lengths_angles_and_tip_depth_match_the_analytic_values(
    fine: tuple[Phantom, TrajectoryContext],
) -> None:
    ph, ctx = fine
    skin, entry, tip = ph.axis_trajectory_points("left", 0.75)
    m = evaluate(ctx, _axis_traj(ph), "11G").metrics
    assert m.length_skin_to_tip_mm == pytest.approx(np.linalg.norm(tip - skin), abs=1e-6)
    assert m.length_bone_to_tip_mm == pytest.approx(np.linalg.norm(tip - entry), abs=1e-6)
    assert m.medial_angle_deg == pytest.approx(ph.ped_angle_deg, abs=0.5)
    assert m.craniocaudal_angle_deg == pytest.approx(0.0, abs=0.5)
    # relative to the table the frame's yaw/pitch show up (yaw 12° adds to the left needle)
    d_lps = ph.lps(tip) - ph.lps(skin)
    med_t, cc_t = needle_angles_deg(d_lps, np.eye(3), 1.0)
    assert m.medial_angle_table_deg == pytest.approx(med_t, abs=1e-6)
    assert abs(m.medial_angle_table_deg - m.medial_angle_deg) > 5.0
    # depth: body AP depth 2*body_b; tip at 75 %; anterior cortex 8 mm ahead along the needle
    assert ctx.body.depth_mm == pytest.approx(2 * ph.body_b, abs=0.3)
    # the tip's depth is taken on the AP line through the tip: the ellipse's half-depth there
    half = ph.body_b * np.sqrt(1 - (tip[0] / ph.body_a) ** 2)
    assert m.tip_depth_frac == pytest.approx((half - tip[1]) / (2 * half), abs=0.02)
    c, d = ph.pedicle_axis("left")
    # exact exit of the line from the ellipse (l/a)^2 + (p/b)^2 = 1, beyond the tip
    ts = np.linspace(0, 30, 300001)
    pts = tip[None] + ts[:, None] * d
    inside = (pts[:, 0] / ph.body_a) ** 2 + (pts[:, 1] / ph.body_b) ** 2 <= 1
    exact = ts[np.argmin(inside)]
    assert m.tip_to_anterior_cortex_mm == pytest.approx(exact, abs=0.3)


def test_clearances_and_isthmus_width_match_the_cylinder(
    fine: tuple[Phantom, TrajectoryContext],
) -> None:
    ph, ctx = fine
    m = evaluate(ctx, _axis_traj(ph, "right"), "11G").metrics
    expected = ph.ped_r - R11
    for name in ("medial", "lateral", "superior", "inferior"):
        assert getattr(m, f"clearance_{name}_mm") == pytest.approx(expected, abs=0.3), name
    assert m.isthmus_width_mm == pytest.approx(2 * ph.ped_r, abs=0.3)
    assert m.bone_margin_mm == pytest.approx(expected, abs=0.3)
    assert m.breach_grade == 0 and m.breach_direction == "none"
    # canal: the needle axis passes the vertical canal cylinder; exact distance by dense sampling
    skin, entry, tip = ph.axis_trajectory_points("right")
    ts = np.linspace(0, 1, 20001)[:, None]
    line = skin + ts * (tip - skin)
    dist = np.hypot(line[:, 0], line[:, 1] - ph.canal_p).min() - ph.canal_r
    assert m.canal_clearance_mm == pytest.approx(dist - R11, abs=0.3)


def test_unipedicular_midline_and_fluoroscopic_rule(
    fine: tuple[Phantom, TrajectoryContext],
) -> None:
    ph, ctx = fine
    m = evaluate(ctx, _axis_traj(ph), "11G", unipedicular=True).metrics
    skin, entry, tip = ph.axis_trajectory_points("left")
    assert m.tip_midline_offset_mm == pytest.approx(tip[0], abs=1e-6)
    assert m.tip_reaches_midline is False
    assert m.fluoro_rule_ok  # stays lateral of the medial pedicle border until inside the body


@pytest.mark.parametrize(
    ("mm", "grade"), [(0.0, 0), (-0.5, 0), (0.4, 1), (1.99, 1), (2.0, 2), (4.0, 2), (4.01, 3)]
)
def test_gertzbein_robbins_bins(mm: float, grade: int) -> None:
    assert gr_grade(mm) == grade


def test_metrics_serialise_to_json_numbers(fine: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = fine
    d = evaluate(ctx, _axis_traj(ph), "11G").as_dict()
    assert set(d) == {"metrics", "findings"}
    m = d["metrics"]
    assert m["needle_od_mm"] == pytest.approx(3.048)
    assert all(v is None or isinstance(v, bool | int | float | str) for v in m.values())
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in m.values())
