"""Cement-spread front on synthetic bodies: conservation, barriers, gaps, cavity, animation."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import AnalysisError
from planner.estimate import fine_body, simulate_spread
from planner.estimate.geometry import SHELL_MM
from planner.estimate.spread import resistance
from planner.estimate.synthetic import elliptic_body

GAP = (20.0, 0.0, 0.0)  # on the left lateral wall of a 20 x 15 mm elliptic body


@pytest.fixture(scope="module")
def gapped():
    s = elliptic_body(spacing_mm=(0.8, 0.8, 1.0), gap_center_lps=GAP, gap_radius_mm=3.0)
    return s, fine_body(s.anatomy, s.hu)


@pytest.fixture(scope="module")
def intact():
    s = elliptic_body(spacing_mm=(0.8, 0.8, 1.0))
    return s, fine_body(s.anatomy, s.hu)


@pytest.mark.parametrize(
    "volume_ml, tips",
    [
        (1.0, [(8.0, 0.0, 0.0)]),
        (4.0, [(8.0, 0.0, 0.0), (-8.0, 0.0, 0.0)]),
        (8.0, [(8.0, -3.0, 2.0)]),
    ],
)
def test_volume_conserved_and_cloud_stays_in_cancellous_bone(intact, volume_ml, tips) -> None:
    s, fine = intact
    r = simulate_spread(s.hu, s.anatomy, tips, volume_ml, fine=fine)
    assert r.volume_ml == pytest.approx(volume_ml, rel=0.02)
    assert float(r.cloud.sum()) * fine.voxel_ml == pytest.approx(volume_ml, rel=0.02)
    assert not (r.cloud & ~fine.body).any()
    assert not (r.cloud & fine.shell).any()  # intact cortex is a barrier
    assert r.leak_points == () or all(lp.kind == "basivertebral_foramen" for lp in r.leak_points)


def test_gap_is_found_and_reported_as_leak_point(gapped) -> None:
    s, fine = gapped
    g = np.argwhere(fine.gap)
    centre = fine.grid.voxel_to_lps(g[:, ::-1].astype(float)).mean(axis=0)
    assert np.linalg.norm(centre - np.asarray(GAP)) < 1.5
    r = simulate_spread(s.hu, s.anatomy, [(8.0, 0.0, 0.0)], 8.0, fine=fine)
    gaps = [lp for lp in r.leak_points if lp.kind == "cortical_gap"]
    assert len(gaps) == 1
    assert np.linalg.norm(np.asarray(gaps[0].location_lps) - np.asarray(GAP)) < 3.5
    assert 0.0 < gaps[0].injected_ml_at_reach <= 8.0
    # cement reaches the gap but is never placed outside the body
    assert not (r.cloud & ~fine.body).any()
    small = simulate_spread(s.hu, s.anatomy, [(-8.0, 0.0, 0.0)], 1.0, fine=fine)
    assert not [lp for lp in small.leak_points if lp.kind == "cortical_gap"]


def test_no_false_gap_on_an_intact_body(intact) -> None:
    _, fine = intact
    assert not fine.gap.any()


def test_endplate_gap_is_a_disc_leak() -> None:
    s = elliptic_body(
        spacing_mm=(0.8, 0.8, 1.0), gap_center_lps=(0.0, 0.0, 13.0), gap_radius_mm=3.0
    )
    r = simulate_spread(s.hu, s.anatomy, [(0.0, 0.0, 6.0)], 3.0)
    kinds = [lp.kind for lp in r.leak_points]
    assert "disc" in kinds


def test_cavity_fills_first(intact) -> None:
    s, fine = intact
    c = fine.grid.voxel_to_lps(
        np.argwhere(np.ones(fine.grid.shape_kji, bool))[:, ::-1].astype(float)
    )
    cavity = (np.linalg.norm(c - np.array([5.0, -2.0, 0.0]), axis=1) <= 6.0).reshape(
        fine.grid.shape_kji
    )
    cavity &= fine.interior
    cav_ml = float(cavity.sum()) * fine.voxel_ml
    r = simulate_spread(s.hu, s.anatomy, [(8.0, 0.0, 0.0)], cav_ml + 2.0, cavity=cavity, fine=fine)
    early = r.cloud_at(cav_ml)
    assert (early & cavity).sum() / cavity.sum() > 0.99
    assert r.cloud[cavity].all()


def test_animation_volumes_are_monotonic(intact) -> None:
    s, fine = intact
    r = simulate_spread(s.hu, s.anatomy, [(8.0, 0.0, 0.0)], 2.0, step_ml=0.5, fine=fine)
    frames = r.frames_ml()
    assert frames[-1] == pytest.approx(r.volume_ml)
    vols = [float(r.cloud_at(v).sum()) * fine.voxel_ml for v in frames]
    assert np.all(np.diff(vols) > 0)
    assert vols[0] == pytest.approx(0.5, abs=0.01)


def test_endplates_and_midline_flags() -> None:
    s = elliptic_body(height_mm=12.0, spacing_mm=(0.5, 0.5, 0.5), cortex_mm=1.0)
    fine = fine_body(s.anatomy, s.hu)
    big = simulate_spread(s.hu, s.anatomy, [(0.0, 0.0, 0.0)], 6.0, fine=fine)
    assert big.touches_both_endplates and big.crosses_midline
    lateral = simulate_spread(s.hu, s.anatomy, [(12.0, 0.0, 0.0)], 0.1, fine=fine)
    assert not lateral.crosses_midline and not lateral.touches_both_endplates
    assert lateral.posterior_wall_distance_mm > 4.0


def test_posterior_wall_distance_shrinks_as_the_cloud_grows(intact) -> None:
    s, fine = intact
    d = [
        simulate_spread(s.hu, s.anatomy, [(0.0, 0.0, 0.0)], v, fine=fine).posterior_wall_distance_mm
        for v in (0.5, 2.0, 6.0)
    ]
    assert d[0] > d[1] > d[2] >= SHELL_MM * 0.5


def test_caution_when_the_front_reaches_the_posterior_quarter(intact) -> None:
    """Posterior quarter of the 15 mm deep body: 3.75 mm in front of the posterior wall."""
    s, fine = intact
    front, back = fine.body_extent["posterior"]
    small = simulate_spread(s.hu, s.anatomy, [(0.0, -4.0, 0.0)], 0.3, fine=fine)
    big = simulate_spread(s.hu, s.anatomy, [(0.0, -4.0, 0.0)], 6.0, fine=fine)
    limit = 0.25 * (back - front)
    assert small.posterior_wall_distance_mm > limit > big.posterior_wall_distance_mm
    assert not [w for w in small.warnings if "posterior quarter" in w]
    (w,) = [w for w in big.warnings if "posterior quarter" in w]
    assert f"{big.posterior_wall_distance_mm:.1f} mm from the posterior wall" in w
    assert "posterior_quarter" in big.sources


def test_denser_bone_resists_more_and_viscosity_changes_contrast() -> None:
    hu = np.array([50.0, 100.0, 200.0, 400.0])
    res = resistance(hu)
    assert np.all(np.diff(res) > 0)
    lo, hi = resistance(hu, "low"), resistance(hu, "high")
    assert lo[-1] / lo[0] > res[-1] / res[0] > hi[-1] / hi[0]


def test_tips_outside_the_body_are_refused(intact) -> None:
    s, fine = intact
    with pytest.raises(AnalysisError, match="no needle tip"):
        simulate_spread(s.hu, s.anatomy, [(60.0, 60.0, 0.0)], 2.0, fine=fine)
    with pytest.raises(ValueError, match="volume_ml"):
        simulate_spread(s.hu, s.anatomy, [(0.0, 0.0, 0.0)], 0.0, fine=fine)
