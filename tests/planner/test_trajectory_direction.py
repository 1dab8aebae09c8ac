"""Breach direction on the demo case: medial/lateral never flip, a needle in the canal is medial.

Regression for a needle shifted medially into the spinal canal that was reported as a
*lateral* grade 3 breach: from inside the canal the nearest bone surface is often the body's
posterior wall, the lamina or the opposite pedicle, so its outward normal named the breach
inferior, superior or lateral. Each side's auto-suggested L1 path is shifted in the body frame
(medial = −left for a left needle, +left for a right one) and rotated across the midline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, gr_grade, suggest


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo

    return generate_demo()


@pytest.fixture(scope="module", params=["truth", "segmented"])
def l1(request, demo):  # type: ignore[no-untyped-def]
    """(context, {side: suggested trajectory}) for L1, analytic masks or planner.vertebra's."""
    if request.param == "truth":
        an = demo.truth.level_anatomy("L1", demo.volume.grid)
    else:
        from planner.vertebra import analyze_spine

        an = analyze_spine(demo.volume).level("L1").anatomy
    ctx = TrajectoryContext.build(demo.volume, an)
    return ctx, {side: suggest(ctx, side, "11G").trajectory for side in ("left", "right")}


def _moved(t: Trajectory, v: np.ndarray) -> Trajectory:
    s, b, p = (tuple(np.add(x, v)) for x in (t.skin_entry_lps, t.bone_entry_lps, t.target_lps))
    return Trajectory(t.side, t.approach, s, b, p, t.needle_id)  # type: ignore[arg-type]


def _codes(res) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in res.findings}


# (shift towards medial in mm, negative = lateral; expected direction, expected grade).
# Grades are given where the breach lies > 0.4 mm from a grade boundary on both anatomies;
# None: the depth is near a boundary (≈ 2 mm), so only grade ≥ 1 and consistency are checked.
SHIFTS = [
    (-8.0, "lateral", 3),
    (-6.0, "lateral", 2),
    (-4.0, "lateral", None),  # was "superior" with the analytic masks
    (3.0, "medial", 1),
    (4.0, "medial", None),  # was "superior": nearest surface straight behind, along the needle
    (6.0, "medial", 2),  # the UI report: ~6 mm medial into the canal
    (8.0, "medial", 3),
    (12.0, "medial", 3),
    (15.0, "medial", 3),  # was "inferior": nearest surface the body's posterior wall
    (18.0, "medial", 3),  # was "lateral": axis past the midline, nearest is the other pedicle
]


@pytest.mark.parametrize("side", ["left", "right"])
def test_shifted_suggested_path_breach_grade_and_direction(l1, side: str) -> None:  # type: ignore[no-untyped-def]
    ctx, paths = l1
    base = paths[side]
    m0 = evaluate(ctx, base, "11G").metrics
    assert m0.breach_grade == 0
    sign = 1.0 if side == "left" else -1.0
    medial_lps = -sign * ctx.frame.left  # body frame, never flipped
    d = np.subtract(base.target_lps, base.skin_entry_lps)
    d /= np.linalg.norm(d)
    perp = float(np.linalg.norm(medial_lps - (medial_lps @ d) * d))  # shift ⊥ to the needle
    for mm, direction, grade in SHIFTS:
        res = evaluate(ctx, _moved(base, medial_lps * mm), "11G")
        m = res.metrics
        label = (side, mm, m.breach_direction, round(m.breach_mm, 2))
        assert m.breach_direction == direction, label
        assert m.breach_grade == gr_grade(m.breach_mm) >= 1, label
        assert grade is None or m.breach_grade == grade, label
        f = next(f for f in res.findings if f.code == f"{direction}_breach")
        assert f.severity == (
            "danger" if direction == "medial" or m.breach_grade == 3 else "warning"
        )
        if abs(mm) in (6.0, 8.0):  # the wall moves by the shift ⊥ to the needle
            clear0 = m0.clearance_medial_mm if mm > 0 else m0.clearance_lateral_mm
            assert m.breach_mm == pytest.approx(abs(mm) * perp - clear0, abs=0.5), label
        if mm >= 4.0:  # in the canal: medial breach AND the canal finding
            assert m.canal_clearance_mm < 0, label
            assert "canal_entered" in _codes(res), label
        if mm < 0:
            assert m.canal_clearance_mm > 5.0, label
            assert not {"canal_entered", "medial_breach"} & _codes(res), label
    small = evaluate(ctx, _moved(base, medial_lps * 2.0), "11G")
    assert small.metrics.breach_grade == 0
    assert "canal_margin_low" in _codes(small)


@pytest.mark.parametrize("side", ["left", "right"])
def test_tip_rotated_across_the_midline_is_a_medial_canal_breach(l1, side: str) -> None:  # type: ignore[no-untyped-def]
    ctx, paths = l1
    base = paths[side]
    sign = 1.0 if side == "left" else -1.0
    entry, skin = np.array(base.bone_entry_lps), np.array(base.skin_entry_lps)
    tip_b = ctx.frame.to_body(base.target_lps)
    assert sign * tip_b[0] > 0  # the suggested tip stays on its own side
    for across in (0.0, 10.0):  # tip on the midline, then 10 mm into the other half
        tip = ctx.frame.to_lps(np.array([-sign * across, tip_b[1], tip_b[2]]))
        d = (tip - entry) / np.linalg.norm(tip - entry)
        traj = Trajectory(
            side, "transpedicular", tuple(entry - np.linalg.norm(skin - entry) * d),
            tuple(entry), tuple(tip), "11G",
        )  # fmt: skip
        res = evaluate(ctx, traj, "11G")
        m = res.metrics
        label = (side, across, m.breach_direction, round(m.breach_mm, 2))
        assert m.breach_direction == "medial", label
        assert m.breach_grade >= (2 if across else 1), label
        assert m.canal_clearance_mm < 0 and "canal_entered" in _codes(res), label
        assert math.isclose(m.tip_midline_offset_mm, -across, abs_tol=0.1)


def test_pedicle_half_width_matches_the_ground_truth(demo) -> None:  # type: ignore[no-untyped-def]
    """The breach direction scales offsets by the isthmus half-width/height (breach.py)."""
    lv = demo.truth.level("L1")
    ctx = TrajectoryContext.build(demo.volume, demo.truth.level_anatomy("L1", demo.volume.grid))
    for side, pt in lv.pedicles.items():
        ped = ctx.pedicles[side]
        assert 2 * ped.half_width_mm == pytest.approx(pt.isthmus_width_mm, abs=0.5), side
        assert ped.half_height_mm > ped.half_width_mm  # lumbar pedicles are taller than wide
        on_axis = ped.axis_at(np.array([ped.p_min, ped.isthmus_point[1], ped.p_max]))
        assert on_axis[1] == pytest.approx(ped.isthmus_point, abs=1e-9)
        assert np.allclose(on_axis[:, 1], [ped.p_min, ped.isthmus_point[1], ped.p_max])


def test_batched_nearest_surface_is_exact() -> None:
    """Large batches are queried on all cores with a larger k-d tree leaf: still exact."""
    from scipy.spatial.distance import cdist

    from planner.grid import ImageGrid
    from planner.trajectory.fields import KD_PARALLEL_MIN, DistanceField

    grid = ImageGrid((30, 40, 40), np.diag([0.7, 0.7, 1.0, 1.0]))  # type: ignore[arg-type]
    k, j, i = np.mgrid[:30, :40, :40]
    mask = (i - 20) ** 2 + (j - 20) ** 2 + ((k - 15) * 1.4) ** 2 < 12**2
    field = DistanceField.from_mask(mask, grid)
    pts = np.random.default_rng(1).uniform(0, 28, (KD_PARALLEL_MIN + 10, 3))
    dist, near = field.nearest(pts, bound_mm=100.0)
    brute = cdist(pts[:500], field.surface_lps)
    assert np.allclose(dist[:500], brute.min(axis=1))
    assert np.allclose(np.linalg.norm(near - pts, axis=1), dist)
