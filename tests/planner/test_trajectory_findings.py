"""Deliberately bad trajectories are caught with the right finding, grade and direction."""

from __future__ import annotations

import numpy as np
import pytest

from planner.plan.catalog import get_needle
from planner.plan.model import Trajectory
from planner.trajectory import Finding, TrajectoryContext, evaluate
from planner.trajectory.geometry import perpendicular
from tests.planner.trajectory_phantom import Phantom

R11 = get_needle("11G").radius_mm


@pytest.fixture(scope="module")
def ph_ctx() -> tuple[Phantom, TrajectoryContext]:
    ph = Phantom(
        spacing=0.7,
        yaw_deg=-8.0,
        with_vertebra=True,
        lung_gap=True,
        box_lo=(-50.3, -25.17, -20.41),
        box_mm=(110.0, 105.0, 40.0),
    )
    vol, an = ph.build()
    return ph, TrajectoryContext.build(vol, an)


def _shifted(
    ph: Phantom, side: str, offset_body: np.ndarray, depth_frac: float = 0.75
) -> Trajectory:
    skin, entry, tip = ph.axis_trajectory_points(side, depth_frac)
    return Trajectory(
        side,
        "transpedicular",
        ph.lps(skin + offset_body),
        ph.lps(entry + offset_body),
        ph.lps(tip + offset_body),
    )


def _codes(res) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in res.findings}


def test_the_pedicle_axis_is_clean(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    for side in ("left", "right"):
        res = evaluate(ctx, _shifted(ph, side, np.zeros(3)), "11G")
        assert res.metrics.breach_grade == 0
        assert res.findings == ()


@pytest.mark.parametrize(
    ("side", "direction", "breach_mm", "grade"),
    [
        ("left", "medial", 1.0, 1),
        ("left", "medial", 3.0, 2),
        ("right", "medial", 5.0, 3),
        ("right", "lateral", 1.0, 1),
        ("left", "lateral", 3.0, 2),
        ("left", "superior", 3.0, 2),
        ("right", "inferior", 1.0, 1),
    ],
)
def test_shifted_needles_breach_with_grade_and_direction(
    ph_ctx: tuple[Phantom, TrajectoryContext],
    side: str,
    direction: str,
    breach_mm: float,
    grade: int,
) -> None:
    ph, ctx = ph_ctx
    sign = 1.0 if side == "left" else -1.0
    _, axis = ph.pedicle_axis(side)
    unit = {
        "medial": np.array([-sign, 0, 0]),
        "lateral": np.array([sign, 0, 0]),
        "superior": np.array([0, 0, 1.0]),
        "inferior": np.array([0, 0, -1.0]),
    }[direction]
    shift = perpendicular(unit.astype(float), axis) * (ph.ped_r - R11 + breach_mm)
    res = evaluate(ctx, _shifted(ph, side, shift), "11G")
    m = res.metrics
    assert m.breach_direction == direction
    assert m.breach_grade == grade
    assert m.breach_mm == pytest.approx(breach_mm, abs=0.35)
    f = next(f for f in res.findings if f.code == f"{direction}_breach")
    assert f.severity == ("danger" if direction == "medial" or grade == 3 else "warning")
    assert f.location_lps is not None


def test_canal_entry_and_low_canal_margin(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    # straight AP needle down the midline of the canal into the body
    skin, tip = np.array([0.0, ph.skin_p - 1, 0.0]), np.array([0.0, -5.0, 0.0])
    res = evaluate(
        ctx,
        Trajectory("left", "transpedicular", ph.lps(skin), ph.lps([0, 40.0, 0]), ph.lps(tip)),
        "11G",
    )
    assert "canal_entered" in _codes(res)
    assert res.metrics.canal_clearance_mm < -ph.canal_r + 0.5
    assert next(f for f in res.findings if f.code == "canal_entered").severity == "danger"
    # parallel to the canal wall at ~1 mm: a warning, not an entry
    x = ph.canal_r + R11 + 1.0
    res = evaluate(
        ctx,
        Trajectory(
            "left",
            "transpedicular",
            ph.lps([x, ph.skin_p - 1, ph.body_h + 5]),
            ph.lps([x, 40, ph.body_h + 5]),
            ph.lps([x, 20, ph.body_h + 5]),
        ),
        "11G",
    )
    assert "canal_margin_low" in _codes(res)
    assert res.metrics.canal_clearance_mm == pytest.approx(1.0, abs=0.35)


def test_tip_through_the_anterior_cortex(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    res = evaluate(ctx, _shifted(ph, "left", np.zeros(3), depth_frac=1.15), "11G")
    f = next(f for f in res.findings if f.code == "tip_through_anterior_cortex")
    assert f.severity == "danger"
    assert res.metrics.tip_to_anterior_cortex_mm < -3.0
    short = evaluate(ctx, _shifted(ph, "left", np.zeros(3), depth_frac=0.4), "11G")
    assert "tip_short_of_anterior_third" in _codes(short)


def test_fluoroscopic_rule_is_violated_by_a_steep_medial_path(
    ph_ctx: tuple[Phantom, TrajectoryContext],
) -> None:
    ph, ctx = ph_ctx
    # from far lateral straight at the posterior wall's midline: crosses the pedicle's medial
    # border (AP view) while still behind the posterior wall (lateral view)
    skin, tip = np.array([45.0, 40.0, 0.0]), np.array([-2.0, 14.0, 0.0])
    res = evaluate(
        ctx,
        Trajectory("left", "transpedicular", ph.lps(skin), ph.lps([30, 32, 0]), ph.lps(tip)),
        "11G",
    )
    assert res.metrics.fluoro_rule_ok is False
    assert res.metrics.fluoro_rule_margin_mm < 0
    assert "fluoro_medial_before_wall" in _codes(res)
    f = next(f for f in res.findings if f.code == "fluoro_medial_before_wall")
    assert f"{-res.metrics.fluoro_rule_margin_mm:.1f} mm before it passes the posterior wall" in (
        f.message
    )


def test_fluoroscopic_rule_when_the_tip_never_passes_the_posterior_wall(
    ph_ctx: tuple[Phantom, TrajectoryContext],
) -> None:
    ph, ctx = ph_ctx
    # the same steep path stopped 4 mm behind the posterior wall (p = body_b): the medial
    # border is crossed, the wall never passed; the margin is -inf, the message says so in words
    skin, tip = np.array([45.0, 40.0, 0.0]), np.array([0.0, ph.body_b + 4.0, 0.0])
    res = evaluate(
        ctx,
        Trajectory("left", "transpedicular", ph.lps(skin), ph.lps([30, 32, 0]), ph.lps(tip)),
        "11G",
    )
    m = res.metrics
    assert m.fluoro_rule_ok is False
    assert m.fluoro_rule_margin_mm == -np.inf
    assert m.as_dict()["fluoro_rule_margin_mm"] is None
    f = next(f for f in res.findings if f.code == "fluoro_medial_before_wall")
    assert f.severity == "danger"
    assert f.message == (
        "left needle crosses the medial pedicle border on the AP view while the tip never "
        "passes the posterior wall on the lateral view"
    )
    assert "inf" not in f.message and "nan" not in f.message
    assert f.location_lps is not None


def test_pedicle_too_narrow_for_the_needle() -> None:
    ph = Phantom(ped_r=2.3, spacing=0.7, box_lo=(-40.3, -25.17, -15.41), box_mm=(80.0, 105.0, 30.0))
    vol, an = ph.build()
    ctx = TrajectoryContext.build(vol, an)
    traj = _shifted(ph, "left", np.zeros(3))
    warn = next(f for f in evaluate(ctx, traj, "11G").findings if f.code == "pedicle_too_narrow")
    assert warn.severity == "warning"  # 4.6 mm - 3.05 mm = 1.55 mm total clearance
    danger = next(f for f in evaluate(ctx, traj, "8G").findings if f.code == "pedicle_too_narrow")
    assert danger.severity == "danger"  # 4.6 mm - 4.19 mm < 1 mm
    assert "pedicle_too_narrow" not in _codes(evaluate(ctx, traj, "15G"))


def test_unipedicular_tip_short_of_midline(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    res = evaluate(ctx, _shifted(ph, "right", np.zeros(3)), "11G", unipedicular=True)
    assert "tip_short_of_midline" in _codes(res)
    assert "tip_short_of_midline" not in _codes(
        evaluate(ctx, _shifted(ph, "right", np.zeros(3)), "11G")
    )


def test_path_through_air_is_reported(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    # far-lateral approach on the left crosses the phantom's air pocket (lung stand-in)
    skin, tip = np.array([70.0, 60.0, 0.0]), np.array([5.0, -6.0, 0.0])
    res = evaluate(
        ctx,
        Trajectory("left", "parapedicular", ph.lps(skin), ph.lps([20, 8, 0]), ph.lps(tip)),
        "11G",
    )
    assert res.metrics.air_path_mm > 5.0
    assert next(f for f in res.findings if f.code == "path_crosses_air").severity == "danger"


def test_finding_validates_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("x", "fatal", "message")
    f = Finding("x", "info", "m", (1, 2, 3))
    assert f.location_lps == (1.0, 2.0, 3.0)
    assert f.as_dict()["location_lps"] == [1.0, 2.0, 3.0]


def test_tip_outside_the_body_and_endplate_graze(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    ph, ctx = ph_ctx
    # through the pedicle and up out of the body through the superior endplate
    skin, entry, _ = ph.axis_trajectory_points("left")
    res = evaluate(
        ctx,
        Trajectory(
            "left",
            "transpedicular",
            ph.lps(skin),
            ph.lps(entry),
            ph.lps([9.0, -2.0, ph.body_h + 6.0]),
        ),
        "11G",
    )
    assert next(f for f in res.findings if f.code == "tip_outside_body").severity == "danger"
    # a posterolateral needle whose upper surface grazes the superior endplate by ~0.5 mm
    s = ph.body_h - 1.0
    graze = Trajectory(
        "left",
        "parapedicular",
        ph.lps([45.0, 40.0, s]),
        ph.lps([20.0, 9.0, s]),
        ph.lps([5.0, -8.0, s]),
    )
    m = evaluate(ctx, graze, "11G").metrics
    assert m.body_wall_clearance_mm == pytest.approx(1.0 - R11, abs=0.35)
    assert "body_wall_breach" in _codes(evaluate(ctx, graze, "11G"))


def test_bullseye_angles_and_pedicle_axis(ph_ctx: tuple[Phantom, TrajectoryContext]) -> None:
    from planner.drr import carm_angles

    ph, ctx = ph_ctx
    traj = _shifted(ph, "right", np.zeros(3))
    m = evaluate(ctx, traj, "11G").metrics
    want = carm_angles(np.subtract(traj.target_lps, traj.skin_entry_lps))
    assert (m.bullseye_lao_deg, m.bullseye_cranial_deg) == pytest.approx(
        (want.lao_deg, want.cranial_deg)
    )
    centre, axis = ctx.pedicle_axis_lps("right")
    _, truth_axis = ph.pedicle_axis("right")
    assert float(axis @ (ph.frame().rotation @ truth_axis)) > np.cos(np.radians(3.0))
    assert ctx.in_crop(centre[None])[0]
