"""Estimates on the built-in demo (analytic ground-truth L1 segmentation)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.estimate import estimate_plan, fine_body, simulate_spread
from planner.plan.model import BalloonPlacement, ClinicalInputs, Plan, SeriesBinding, Trajectory

demo = pytest.importorskip("planner.demo", reason="demo generator not importable in this build")


def level_inputs(case, level: str = "L1"):
    lt = case.truth.level(level)
    anatomy = case.truth.level_anatomy(level, case.volume.grid)
    morph = lt.morphometry()
    return lt, anatomy, morph


def trajectory(lt, side: str, frac: float = 0.75) -> Trajectory:
    p = lt.pedicles[side]
    e, d = np.asarray(p.entry_lps), np.asarray(p.axis_dir_lps)
    return Trajectory(
        side,
        "transpedicular",
        tuple(e - 40 * d),
        tuple(e),
        tuple(e + frac * p.length_to_anterior_cortex_mm * d),
    )


@pytest.fixture(scope="module")
def gap_case():
    case = demo.generate_demo(variant="cortical_gap")
    lt, anatomy, morph = level_inputs(case)
    return (
        case,
        lt,
        anatomy,
        morph,
        fine_body(
            anatomy,
            case.volume.hu[
                tuple(
                    slice(o, o + s)
                    for o, s in zip(anatomy.offset_kji, anatomy.grid.shape_kji, strict=True)
                )
            ],
        ),
    )


def test_planted_gap_is_detected_and_reported_where_it_is(gap_case) -> None:
    case, lt, anatomy, morph, fine = gap_case
    centre, radius, _ = case.truth.cortical_gap
    g = np.argwhere(fine.gap)
    pts = fine.grid.voxel_to_lps(g[:, ::-1].astype(float))
    assert np.all(np.linalg.norm(pts - np.asarray(centre), axis=1) <= radius + 2.0)  # nothing else
    r = simulate_spread(case.volume, anatomy, [trajectory(lt, "left").target_lps], 8.0, fine=fine)
    gaps = [lp for lp in r.leak_points if lp.kind == "cortical_gap"]
    assert len(gaps) == 1
    assert np.linalg.norm(np.asarray(gaps[0].location_lps) - np.asarray(centre)) <= radius + 1.0
    assert r.volume_ml == pytest.approx(8.0, rel=0.02)
    assert not (r.cloud & ~fine.body).any()


def test_kyphoplasty_plan_on_the_demo(gap_case) -> None:
    case, lt, anatomy, morph, _ = gap_case
    plan = Plan(
        SeriesBinding(case.volume.identity.series_uid, case.volume.grid.fingerprint()),
        "L1",
        "kyphoplasty",
        (trajectory(lt, "left"), trajectory(lt, "right")),
        (
            BalloonPlacement("left", "kyphon-xpander-ii-15-3", 0.0, 3.0),
            BalloonPlacement("right", "kyphon-xpander-ii-15-3", 0.0, 3.0),
        ),
        ClinicalInputs(acuity="acute"),
    )
    out = estimate_plan(case.volume, anatomy, morph, plan)
    assert out["cement"]["body_volume_ml"] == pytest.approx(lt.body_volume_ml, abs=0.01)
    assert "cortical_disruption" in out["cement"]["flags"]
    assert out["spread"]["volume_ml"] == pytest.approx(out["cement"]["recommended_ml"], rel=0.02)
    lost = lt.reference_heights_mm.anterior - lt.heights_mm.anterior
    assert out["restoration"]["inputs"]["lost_height_mm"]["anterior"] == pytest.approx(
        lost, abs=0.01
    )
    imm = out["restoration"]["immediate_mm"]["anterior"]
    assert 0.0 <= imm["p10"] < imm["median"] < imm["p90"] <= lost
    for b in out["balloons"]:
        assert b["cavity_ml"] <= b["volume_ml"] + 1e-6


def test_standard_demo_has_no_gap_and_keeps_cement_in_the_body() -> None:
    case = demo.generate_demo(variant="standard")
    lt, anatomy, _ = level_inputs(case)
    tips = [trajectory(lt, "left").target_lps, trajectory(lt, "right").target_lps]
    r = simulate_spread(case.volume, anatomy, tips, 8.0)
    assert not [lp for lp in r.leak_points if lp.kind in ("cortical_gap", "disc")]
    fine = fine_body(anatomy)
    assert r.grid.shape_kji == fine.grid.shape_kji
    assert not (r.cloud & ~fine.body).any()
    assert r.volume_ml == pytest.approx(8.0, rel=0.02)
