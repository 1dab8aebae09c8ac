"""Height-restoration bands (DOMAIN.md §9b) against closed form and a seeded Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from planner.estimate import restoration_estimate
from planner.estimate.restoration import BETA_PARAMS, fraction_quantiles

LOST = {"anterior": 10.0, "middle": 6.0}


def _mc(case: str, lost: float, n: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240611)
    rho = rng.beta(*BETA_PARAMS[case], n)
    r = rng.beta(*BETA_PARAMS["retention"], n)
    return (np.percentile(rho * lost, [10, 50, 90]), np.percentile(rho * r * lost, [10, 50, 90]))


@pytest.mark.parametrize(
    "procedure, acuity, case",
    [
        ("kyphoplasty", "acute", "kyphoplasty/acute"),
        ("kyphoplasty", "chronic", "kyphoplasty/chronic"),
        ("vertebroplasty", "acute", "vertebroplasty"),
    ],
)
def test_bands_equal_closed_form_and_seeded_monte_carlo(
    procedure: str, acuity: str, case: str
) -> None:
    res = restoration_estimate(LOST, procedure, acuity)
    for wall, lost in LOST.items():
        imm, fol = res.immediate_mm[wall], res.follow_up_mm[wall]
        exact = stats.beta(*BETA_PARAMS[case]).ppf([0.1, 0.5, 0.9]) * lost
        assert (imm.p10, imm.median, imm.p90) == pytest.approx(tuple(exact), abs=1e-9)
        mc_imm, mc_fol = _mc(case, lost)
        assert np.allclose((imm.p10, imm.median, imm.p90), mc_imm, atol=0.1)
        assert np.allclose((fol.p10, fol.median, fol.p90), mc_fol, atol=0.1)
        assert 0.0 <= fol.p10 <= fol.median <= fol.p90 <= lost


def test_worked_example_of_domain_9b() -> None:
    """L = 10 mm: the table of DOMAIN.md §9b (rounded there to 0.1 mm)."""
    table = {
        ("kyphoplasty", "acute"): ((4.4, 1.6, 7.6), (2.0, 0.6, 4.4)),
        ("kyphoplasty", "chronic"): ((2.4, 0.7, 5.1), (1.1, 0.3, 2.8)),
        ("vertebroplasty", "chronic"): ((0.8, 0.1, 3.0), (0.3, 0.03, 1.6)),
    }
    for (proc, acuity), (imm, fol) in table.items():
        r = restoration_estimate({"anterior": 10.0, "middle": 10.0}, proc, acuity)
        a, f = r.immediate_mm["anterior"], r.follow_up_mm["anterior"]
        assert (a.median, a.p10, a.p90) == pytest.approx(imm, abs=0.1)
        assert (f.median, f.p10, f.p90) == pytest.approx(fol, abs=0.1)


def test_quadrature_is_deterministic_and_cached() -> None:
    assert fraction_quantiles("kyphoplasty/acute", True) == fraction_quantiles(
        "kyphoplasty/acute", True
    )
    q = fraction_quantiles("kyphoplasty/acute", True)
    assert q[0] < q[1] < q[2] < 1.0


def test_unknown_acuity_spans_both_kyphoplasty_bands() -> None:
    r = restoration_estimate(LOST, "kyphoplasty", "unknown")
    ac = restoration_estimate(LOST, "kyphoplasty", "acute").immediate_mm["anterior"]
    ch = restoration_estimate(LOST, "kyphoplasty", "chronic").immediate_mm["anterior"]
    u = r.immediate_mm["anterior"]
    assert u.p10 == pytest.approx(ch.p10) and u.p90 == pytest.approx(ac.p90)
    assert ch.median < u.median < ac.median
    assert set(r.alternatives) == {"acute", "chronic"}
    assert any("unknown" in n for n in r.notes)


def test_mobile_fracture_uses_the_positional_heights_and_clamps() -> None:
    measured = {"anterior": 14.0, "middle": 18.0}
    supine = {"anterior": 20.0, "middle": 30.0}  # middle beyond the reference: clamped to L
    r = restoration_estimate(LOST, "vertebroplasty", "chronic", supine, measured)
    assert r.immediate_mm["anterior"].median == pytest.approx(6.0)
    assert r.immediate_mm["middle"].median == pytest.approx(6.0)  # L_middle
    assert r.immediate_mm["anterior"].p10 <= 6.0 <= r.immediate_mm["anterior"].p90
    assert r.follow_up_mm["anterior"].median == pytest.approx(3.0)  # × median retention 0.5
    assert "jorthopsurg2018" in r.sources


def test_negative_loss_gives_zero_and_bad_inputs_raise() -> None:
    r = restoration_estimate({"anterior": -1.0, "middle": 0.0}, "kyphoplasty", "acute")
    assert r.immediate_mm["anterior"].p90 == 0.0
    with pytest.raises(ValueError, match="middle"):
        restoration_estimate({"anterior": 3.0}, "kyphoplasty", "acute")
    with pytest.raises(ValueError, match="acuity"):
        restoration_estimate(LOST, "kyphoplasty", "subacute")


def test_wedge_angle_bands_follow_the_published_means() -> None:
    acute = restoration_estimate(LOST, "kyphoplasty", "acute").wedge_angle_change_deg
    vp = restoration_estimate(LOST, "vertebroplasty", "acute").wedge_angle_change_deg
    assert acute.median == pytest.approx(4.0) and vp.median == pytest.approx(1.7)
    assert acute.p10 < 2.0 and acute.p90 > 6.0  # wide, as the note says
    js = restoration_estimate(LOST, "kyphoplasty", "acute").to_json()
    assert set(js["wedge_angle_change_deg"]) >= {"median", "p10", "p90", "follow_up"}


def test_expected_heights_for_the_ghost_outline() -> None:
    r = restoration_estimate(LOST, "kyphoplasty", "acute")
    h = r.expected_heights_mm({"anterior": 15.0, "middle": 19.0})
    assert h["anterior"].median == pytest.approx(15.0 + r.immediate_mm["anterior"].median)
    assert h["middle"].p90 <= 19.0 + LOST["middle"]
    later = r.expected_heights_mm({"anterior": 15.0, "middle": 19.0}, follow_up=True)
    assert later["anterior"].median < h["anterior"].median
