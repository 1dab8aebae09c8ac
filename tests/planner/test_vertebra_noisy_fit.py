"""The refit on noisy (sharp-kernel) CT: wall centre, mirror cap, noise gate (noisy_fit.py)."""

from __future__ import annotations

import numpy as np

from tests.planner.vertebra_cases import demo_analysis, demo_case


def _star_with_leak(leak_mm: float, half_width_deg: float = 10.0) -> object:
    from planner.vertebra.body import N_PHI, N_THETA, StarShape

    e = np.eye(3)
    radius = np.full((N_THETA, N_PHI), 15.0)
    phi = np.arange(N_PHI) * 360.0 / N_PHI
    # azimuth from posterior towards left: 270 degrees is straight to the right
    right = np.abs(phi - 270.0) <= half_width_deg
    radius[:, right] = 15.0 + leak_mm
    # left = +x, posterior = +y, superior = +z; centred at the origin
    return StarShape(np.zeros(3), e[0], e[1], e[2], radius, 15.0)


def test_wall_centre_ignores_a_leaking_sector_the_centroid_follows() -> None:
    from planner.vertebra.body import star_centroid
    from planner.vertebra.noisy_fit import wall_centre

    star = _star_with_leak(8.0)  # a 20-degree sector leaking 8 mm
    centroid = star_centroid(star)  # type: ignore[arg-type]
    centre = wall_centre(star)  # type: ignore[arg-type]
    assert centroid[0] < -1.0, centroid  # the volume centroid moves 1+ mm to the right
    assert np.linalg.norm(centre) < 0.1, centre  # the opposite walls do not
    # the limit: a leak over more than half of the pairs within 30 degrees of the left-right
    # axis moves the centre by half the leak (the mirror cap limits the leak instead)
    wide = wall_centre(_star_with_leak(8.0, 40.0))  # type: ignore[arg-type]
    assert abs(wide[0] + 4.0) < 0.3, wide
    no_leak = wall_centre(_star_with_leak(0.0))  # type: ignore[arg-type]
    assert np.linalg.norm(no_leak) < 1e-6


def test_mirror_cap_stops_a_one_sided_leak_at_the_mirror_ray() -> None:
    from planner.vertebra.noisy_fit import MIRROR_TOL_MM
    from planner.vertebra.segment import BodyFit, mirror_capped

    vol = demo_case().volume
    fit = BodyFit(_star_with_leak(8.0), vol.grid, (0, 0, 0), np.zeros((1, 1, 1), np.float32))
    capped = mirror_capped(fit, MIRROR_TOL_MM)
    assert float(capped.star.radius_mm.max()) == 15.0 + MIRROR_TOL_MM
    assert float(capped.star.radius_mm.min()) == 15.0


def test_quiet_image_keeps_the_found_fit_and_added_noise_trips_the_gate() -> None:
    from planner.vertebra.noisy_fit import NOISY_HU, in_plane_noise_hu, measurement_fit
    from planner.volume import CTVolume

    vol = demo_case().volume
    fit = demo_analysis().levels[1].candidate.fit_cache
    assert in_plane_noise_hu(vol, fit) < NOISY_HU
    assert measurement_fit(vol, fit) is fit  # measured as found: no refit on a quiet image
    rng = np.random.default_rng(3)
    noisy_hu = vol.hu + rng.normal(0.0, 90.0, vol.hu.shape).round().astype(np.int16)
    noisy = CTVolume.from_array(noisy_hu, vol.grid.ijk_to_lps, "test:noisy", modality="CT")
    assert in_plane_noise_hu(noisy, fit) > NOISY_HU
