"""Simulated fluoroscopy: geometry of the views, C-arm angles, needle projection, content."""

from __future__ import annotations

import numpy as np
import pytest

from planner.drr import DRRRenderer, carm_angles, render_drr, view_basis
from planner.plan.model import Trajectory
from planner.trajectory.geometry import direction_from_angles
from tests.planner.trajectory_phantom import Phantom


@pytest.fixture(scope="module")
def scene():  # type: ignore[no-untyped-def]
    ph = Phantom(spacing=1.0)
    vol, _ = ph.build()
    skin, entry, tip = ph.axis_trajectory_points("left")
    traj = Trajectory("left", "transpedicular", ph.lps(skin), ph.lps(entry), ph.lps(tip))
    return ph, vol, traj, DRRRenderer(vol, ph.lps([0.0, 10.0, 0.0]), radius_mm=70.0)


def test_standard_views_and_their_angles(scene) -> None:  # type: ignore[no-untyped-def]
    ph, vol, traj, r = scene
    ap = r.render("ap", 512)
    lat = r.render("lateral", 512)
    assert ap.pixels.shape == (512, 512) and ap.pixels.dtype == np.float32
    assert np.isfinite(ap.pixels).all() and ap.pixels.max() > 0
    assert (ap.angles.lao_deg, ap.angles.cranial_deg) == pytest.approx((0.0, 0.0))
    assert abs(lat.angles.lao_deg) == pytest.approx(90.0)
    assert ap.angles.label == "LAO 0.0° CRAN 0.0°"
    # AP is read facing the patient: the patient's left is on the image right, head up
    left = ap.lps_to_pixel(ph.lps([30.0, 0, 0]))[0]
    right = ap.lps_to_pixel(ph.lps([-30.0, 0, 0]))[0]
    assert left[0] > right[0]
    head = ap.lps_to_pixel(np.array([0.0, 0.0, 20.0]) + ph.lps([0, 0, 0]))[0]
    assert head[1] < left[1]
    # lateral: anterior on the left
    ant = lat.lps_to_pixel(ph.lps([0, -20.0, 0]))[0]
    post = lat.lps_to_pixel(ph.lps([0, 40.0, 0]))[0]
    assert ant[0] < post[0]


def test_bone_is_brighter_than_soft_tissue(scene) -> None:  # type: ignore[no-untyped-def]
    ph, vol, traj, r = scene
    lat = r.render("lateral", 256)
    body = lat.lps_to_pixel(ph.lps([0, 0, 0]))[0]
    soft = lat.lps_to_pixel(ph.lps([0, 55.0, 0]))[0]  # behind the lamina, in front of the skin
    at = lambda p: float(lat.pixels[int(round(p[1])), int(round(p[0]))])  # noqa: E731
    assert at(body) > at(soft) + 0.2


def test_pixel_mapping_round_trip(scene) -> None:  # type: ignore[no-untyped-def]
    _, _, traj, r = scene
    img = r.render("ap", 300, fov_mm=150.0)
    pt = np.array(traj.target_lps)
    col, row = img.lps_to_pixel(pt)[0]
    back = img.pixel_to_lps(col, row)
    assert np.linalg.norm((back - pt) - ((back - pt) @ img.beam_dir_lps) * img.beam_dir_lps) < 1e-6
    assert img.pixel_mm == pytest.approx(0.5)


def test_bullseye_puts_the_needle_on_one_point_and_reports_its_angles(scene) -> None:  # type: ignore[no-untyped-def]
    _, vol, traj, _ = scene
    img = render_drr(vol, "bullseye", 512, center_lps=traj.target_lps, needle=traj)
    poly = img.needle_polyline_px
    assert poly is not None and poly.shape == (3, 2)
    assert np.ptp(poly, axis=0).max() < 0.5  # skin, bone entry and tip on one pixel
    d = np.subtract(traj.target_lps, traj.skin_entry_lps)
    expected = carm_angles(d)
    assert (img.angles.lao_deg, img.angles.cranial_deg) == pytest.approx(
        (expected.lao_deg, expected.cranial_deg)
    )
    # the AP view shows it as a line
    ap = render_drr(vol, "ap", 256, center_lps=traj.target_lps, needle=traj)
    assert np.ptp(ap.needle_polyline_px, axis=0).max() > 10


@pytest.mark.parametrize(("lao", "cran"), [(20.0, 0.0), (-35.0, 10.0), (0.0, -15.0)])
def test_carm_angles_of_known_axes(lao: float, cran: float) -> None:
    a, c = np.radians(lao), np.radians(cran)
    axis = np.array([np.sin(a) * np.cos(c), -np.cos(a) * np.cos(c), np.sin(c)])  # detector side
    for f in (axis, -axis):  # either direction along the line
        got = carm_angles(f)
        assert (got.lao_deg, got.cranial_deg) == pytest.approx((lao, cran), abs=1e-9)


def test_view_basis_is_orthonormal_and_rejects_unknown_views() -> None:
    d = direction_from_angles(12.0, 5.0, np.eye(3), 1.0)
    f, right, down = view_basis("bullseye", d)
    m = np.column_stack([f, right, down])
    assert np.allclose(m.T @ m, np.eye(3))
    with pytest.raises(ValueError, match="needs the needle"):
        view_basis("bullseye")
    with pytest.raises(ValueError, match="view must be one of"):
        view_basis("oblique")
