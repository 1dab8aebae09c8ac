"""estimate_plan / compare / the `estimate` command on a synthetic level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import cli
from planner.estimate import compare_procedures, compute_estimates, estimate_plan
from planner.estimate.synthetic import elliptic_body
from planner.plan.model import BalloonPlacement, ClinicalInputs, Plan, SeriesBinding, Trajectory

LEFT = Trajectory("left", "transpedicular", (25.0, 60.0, 0.0), (9.0, 15.0, 0.0), (4.0, -6.0, 0.0))
RIGHT = Trajectory(
    "right", "transpedicular", (-25.0, 60.0, 0.0), (-9.0, 15.0, 0.0), (-4.0, -6.0, 0.0)
)
CONTRACT = {
    "cement": {"recommended_ml", "range_ml", "method", "body_volume_ml", "flags"},
    "spread": {
        "volume_ml",
        "touches_both_endplates",
        "crosses_midline",
        "posterior_wall_distance_mm",
        "leak_points",
    },
    "restoration": {"immediate_mm", "follow_up_mm", "wedge_angle_change_deg"},
}


@pytest.fixture(scope="module")
def body():
    return elliptic_body(
        height_mm=20.0, spacing_mm=(0.8, 0.8, 1.0), reference_heights_mm=(26, 25, 21)
    )


def _plan(procedure: str, balloons: bool = True, **clinical) -> Plan:
    b = (
        (
            BalloonPlacement("left", "kyphon-xpander-ii-15-3", 3.0, 2.5),
            BalloonPlacement("right", "kyphon-xpander-ii-15-3", 3.0, 2.5),
        )
        if balloons
        else ()
    )
    return Plan(
        SeriesBinding("uid", "fp"), "L1", procedure, (LEFT, RIGHT), b, ClinicalInputs(**clinical)
    )


def _check_contract(out: dict) -> None:
    for key, fields in CONTRACT.items():
        assert fields <= set(out[key]), key
    for wall in ("anterior", "middle"):
        assert {"median", "p10", "p90"} <= set(out["restoration"]["immediate_mm"][wall])
        assert {"median", "p10", "p90"} <= set(out["restoration"]["follow_up_mm"][wall])
    assert {"median", "p10", "p90"} <= set(out["restoration"]["wedge_angle_change_deg"])
    for b in out["balloons"]:
        assert {"side", "volume_ml", "cavity_ml", "contacts"} <= set(b)
    ids = {s["id"] for s in out["sources"]}
    for part in (out["cement"], out["spread"], out["restoration"], *out["balloons"]):
        assert set(part["sources"]) <= ids
    json.dumps(out)


def test_kyphoplasty_plan(body) -> None:
    out = estimate_plan(
        body.hu, body.anatomy, body.morphometry, _plan("kyphoplasty", acuity="acute")
    )
    _check_contract(out)
    assert [b["side"] for b in out["balloons"]] == ["left", "right"]
    cav = sum(b["volume_ml"] for b in out["balloons"])
    assert cav == pytest.approx(5.0, abs=1e-3)
    assert out["cement"]["recommended_ml"] == pytest.approx(5.0, abs=0.01)
    assert out["spread"]["volume_ml"] == pytest.approx(5.0, rel=0.02)
    lost_a = 26 - body.morphometry.heights_mm.anterior
    assert out["restoration"]["inputs"]["lost_height_mm"]["anterior"] == pytest.approx(
        lost_a, abs=0.01
    )


def test_vertebroplasty_flags_and_unipedicular(body) -> None:
    plan = Plan(
        SeriesBinding("uid", "fp"),
        "L1",
        "vertebroplasty",
        (LEFT,),
        (),
        ClinicalInputs(cement_viscosity="low", intravertebral_cleft=True),
    )
    est = compute_estimates(body.hu, body.anatomy, body.morphometry, plan)
    out = est.to_json()
    _check_contract(out)
    assert set(out["cement"]["flags"]) >= {
        "low_viscosity_cement",
        "intravertebral_cleft",
        "unipedicular_hemibody",
    }
    v = body.morphometry.body_volume_ml
    assert out["cement"]["recommended_ml"] == pytest.approx(0.195 * v, abs=0.01)
    assert out["balloons"] == []
    assert est.spread is not None and est.spread.cloud.any()
    assert set(est.timings_s) == {"prepare", "balloons", "cement_spread", "restoration_compare"}


def test_without_reference_heights_restoration_is_not_invented() -> None:
    s = elliptic_body(spacing_mm=(0.8, 0.8, 1.0))
    out = estimate_plan(s.hu, s.anatomy, s.morphometry, _plan("vertebroplasty", balloons=False))
    assert out["restoration"]["immediate_mm"] is None
    assert "not estimated" in out["restoration"]["note"]


def test_compare_side_by_side() -> None:
    c = compare_procedures(
        20.0, {"anterior": 10.0, "middle": 6.0}, "acute", ["cortical_disruption"], cavity_ml=5.0
    )
    vp, kp = c.vertebroplasty, c.kyphoplasty
    assert vp.cement.range_ml == kp.cement.range_ml == pytest.approx((3.2, 6.0))
    assert vp.cement.recommended_ml == pytest.approx(
        3.9
    ) and kp.cement.recommended_ml == pytest.approx(5.0)
    assert (
        kp.restoration.immediate_mm["anterior"].median
        > vp.restoration.immediate_mm["anterior"].median
    )
    assert "5.56" in vp.leak_flags["cortical_disruption"] == kp.leak_flags["cortical_disruption"]
    assert "not a probability" in vp.published_leak_rates
    js = c.to_json()
    assert set(js) == {"vertebroplasty", "kyphoplasty", "notes", "sources"}
    assert compare_procedures(20.0, None).kyphoplasty.restoration is None


def test_estimate_command_end_to_end(tmp_path: Path, body, monkeypatch, capsys) -> None:
    from planner.commands import _common as cmd
    from planner.io_nifti import save_nifti
    from planner.loading import load_path
    from planner.plan.file import save_plan

    ct = tmp_path / "ct.nii.gz"
    save_nifti(body.hu, body.anatomy.grid, ct)
    vol = load_path(ct).volume
    plan = Plan(
        SeriesBinding(vol.identity.series_uid, vol.grid.fingerprint()),
        "L1",
        "kyphoplasty",
        (LEFT, RIGHT),
        _plan("kyphoplasty").balloons,
        ClinicalInputs(fracture_age_weeks=3),
    )
    plan_path = save_plan(plan, tmp_path / "plan.json")
    monkeypatch.setattr(
        cmd,
        "analyse_level",
        lambda volume, level, labels=None, seed=None: (body.anatomy, body.morphometry),
    )
    assert cli.main(["estimate", str(ct), str(plan_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    _check_contract(out)
    assert out["restoration"]["acuity"] == "acute"  # 3 weeks → acute (DOMAIN.md §5.2)
    other = Plan(SeriesBinding("1.2.3", "abc"), "L1", "vertebroplasty", (LEFT,))
    other_path = save_plan(other, tmp_path / "other.json")
    assert cli.main(["estimate", str(ct), str(other_path)]) == 2
    assert "1.2.3" in capsys.readouterr().err
