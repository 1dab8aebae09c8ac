"""Cement-volume rules of DOMAIN.md §9a, with the worked example's figures."""

from __future__ import annotations

import pytest

from planner.estimate import SOURCES, cement_recommendation
from planner.estimate.sources import cite, sources_json


def test_vp_target_and_band_match_the_domain_example() -> None:
    rec = cement_recommendation(20.0, "vertebroplasty")
    assert rec.recommended_ml == pytest.approx(4.8)
    assert rec.range_ml == pytest.approx((3.2, 6.0))
    assert "0.24 × V_VB" in rec.method and "20.0" in rec.method
    assert rec.flags == {}
    assert any("r² 0.21 / 0.27" in n for n in rec.notes)
    assert {"molloy2003", "neurospine2023", "fe_jkns2012"} <= set(rec.sources)


def test_bkp_fills_the_cavity_within_the_band() -> None:
    assert cement_recommendation(
        20.0, "kyphoplasty", cavity_ml=5.0
    ).recommended_ml == pytest.approx(5.0)
    assert cement_recommendation(
        20.0, "kyphoplasty", cavity_ml=1.0
    ).recommended_ml == pytest.approx(3.2)
    high = cement_recommendation(20.0, "kyphoplasty", cavity_ml=9.0)
    assert high.recommended_ml == pytest.approx(6.0)
    assert any("exceeds 0.30" in n for n in high.notes)
    extra = cement_recommendation(20.0, "kyphoplasty", cavity_ml=4.0, extra_interdigitation_ml=0.5)
    assert extra.recommended_ml == pytest.approx(4.5)
    assert "no_ratio" in extra.sources


def test_risk_flags_move_the_recommendation_to_the_lower_half() -> None:
    rec = cement_recommendation(
        20.0, "vertebroplasty", flags=["cortical_disruption", "low_viscosity_cement"]
    )
    assert rec.recommended_ml == pytest.approx(3.9)  # middle of the lower half 3.2-4.6
    assert rec.preferred_range_ml == pytest.approx((3.2, 4.6))
    assert (
        "5.56" in rec.flags["cortical_disruption"] and "3.32" in rec.flags["low_viscosity_cement"]
    )
    assert any("0.59 mL" in n for n in rec.notes)
    # BKP: the cavity is still filled when it is within the band
    bkp = cement_recommendation(20.0, "kyphoplasty", cavity_ml=5.0, flags=["intravertebral_cleft"])
    assert bkp.recommended_ml == pytest.approx(5.0)
    assert "1.40" in bkp.flags["intravertebral_cleft"]


def test_unipedicular_hemibody_check() -> None:
    rec = cement_recommendation(20.0, "vertebroplasty", unipedicular_tip_short_of_midline=True)
    assert rec.hemi_body_limit_ml == pytest.approx(2.8)
    assert "13.68" in rec.flags["unipedicular_hemibody"]
    assert "bmcmsk2022" in rec.sources
    small = cement_recommendation(
        10.0,
        "vertebroplasty",
        unipedicular_tip_short_of_midline=True,
        flags=["cortical_disruption"],
    )
    assert small.recommended_ml == pytest.approx(1.95)
    assert "unipedicular_hemibody" in small.flags  # 1.95 > 1.4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"body_volume_ml": 0.0, "procedure": "vertebroplasty"}, "body_volume_ml"),
        ({"body_volume_ml": 20.0, "procedure": "stenting"}, "procedure"),
        ({"body_volume_ml": 20.0, "procedure": "kyphoplasty", "cavity_ml": -1.0}, "cavity_ml"),
        (
            {"body_volume_ml": 20.0, "procedure": "vertebroplasty", "flags": ["bad"]},
            "unknown risk flag",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_field_name(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cement_recommendation(**kwargs)


def test_sources_registry_resolves_every_cited_id() -> None:
    rec = cement_recommendation(
        20.0,
        "kyphoplasty",
        cavity_ml=5.0,
        flags=["cortical_disruption", "posterior_wall_involvement"],
        unipedicular_tip_short_of_midline=True,
    )
    js = sources_json(rec.sources)
    assert [s["id"] for s in js] == list(rec.sources)
    assert all(s["citation"] and s["section"].startswith("§") for s in js)
    assert all(s.kind in ("clinical", "derived", "assumption") for s in SOURCES.values())
    with pytest.raises(KeyError, match="register it"):
        cite(["not-a-source"])
