"""Cone-beam fluoroscopy: geometry against the analytic projection, and the demo's AP image."""

from __future__ import annotations

import numpy as np
import pytest

from planner.fluoro.geometry import CArmPose, Detector
from planner.fluoro.projector import ConeBeamProjector
from planner.fluoro.shot import needle_line_integrals, take_shot
from planner.volume import CTVolume

ISO = (2.0, -3.0, 4.0)
POSES = [(0.0, 0.0), (90.0, 0.0), (25.0, 15.0), (-30.0, -10.0)]


def _phantom(draw: object) -> CTVolume:
    """Air volume, 1 mm voxels, 181³, centred at the origin, with smooth objects drawn in."""
    n = 181
    ax = np.arange(n) - (n - 1) / 2.0
    z, y, x = np.meshgrid(ax, ax, ax, indexing="ij")
    hu = draw(x, y, z)  # type: ignore[operator]
    affine = np.eye(4)
    affine[:3, 3] = -(n - 1) / 2.0
    return CTVolume.from_array(np.round(hu).astype(np.int16), affine, "2.25.1")


def _smooth_inside(d: np.ndarray) -> np.ndarray:
    return np.clip(0.5 - d, 0.0, 1.0)  # partial volume across one voxel


BEADS = [np.array([30.0, -20.0, 25.0]), np.array([-45.0, 35.0, -30.0])]


def _bead_sd_mm() -> float:
    """SD of one coordinate over a bead of :func:`_beads` (occupancy 1 to r = 2, falling
    linearly to 0 at r = 3 mm), with the variance 1/6 mm² that trilinear sampling of 1 mm
    voxels adds."""
    r = np.linspace(0.0, 3.0, 30001)
    occ = np.clip(3.0 - r, 0.0, 1.0)
    return float(np.sqrt((r**4 * occ).sum() / (r**2 * occ).sum() / 3.0 + 1.0 / 6.0))


BEAD_SD_MM = _bead_sd_mm()


def _beads(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    occ = np.zeros_like(x)
    for b in BEADS:
        r = np.sqrt((x - b[0]) ** 2 + (y - b[1]) ** 2 + (z - b[2]) ** 2)
        occ = np.maximum(occ, _smooth_inside(r - 2.5))
    return -1000.0 + 4000.0 * occ


@pytest.mark.parametrize(("lao", "cran"), POSES)
def test_bead_centroid_matches_the_analytic_projection(lao: float, cran: float) -> None:
    proj = ConeBeamProjector(_phantom(_beads), ISO, voxel_mm=1.0)
    pose = CArmPose(ISO, lao, cran)
    li = proj.line_integrals(pose, 512)
    det = Detector(pose, 512)
    for bead in BEADS:
        col, row = det.project(bead)[0]
        r0, c0 = int(round(row)), int(round(col))
        win = li[r0 - 25:r0 + 26, c0 - 25:c0 + 26].astype(np.float64)
        assert win.sum() > 1.0, "bead not in the image"
        rr, cc = np.mgrid[r0 - 25:r0 + 26, c0 - 25:c0 + 26]
        got = np.array([(win * cc).sum(), (win * rr).sum()]) / win.sum()
        assert np.hypot(*(got - [col, row])) < 0.5, (got, (col, row))
        # magnification: the bead's image is wider than the bead by the magnification there.
        # Its spread on the detector (second moment, mm) over the bead's own (one coordinate of
        # the phantom's ball with its 1-voxel edge ramp, plus 1/6 mm² of trilinear sampling)
        mag = det.magnification_at(bead)[0]
        var_px = 0.5 * ((win * (cc - got[0]) ** 2).sum() + (win * (rr - got[1]) ** 2).sum())
        seen = np.sqrt(var_px / win.sum()) * det.pixel_mm / BEAD_SD_MM
        assert seen == pytest.approx(mag, rel=0.06), (seen, mag)
        assert 1.4 < mag < 2.0


def test_rod_lies_on_its_analytic_projected_line() -> None:
    a, b = np.array([-10.0, 20.0, -70.0]), np.array([25.0, -15.0, 70.0])
    axis = (b - a) / np.linalg.norm(b - a)

    def rod(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        p = np.stack([x - a[0], y - a[1], z - a[2]], axis=-1)
        t = np.clip(p @ axis, 0.0, np.linalg.norm(b - a))
        d = np.linalg.norm(p - t[..., None] * axis, axis=-1)
        return -1000.0 + 3000.0 * _smooth_inside(d - 1.5)

    proj = ConeBeamProjector(_phantom(rod), ISO, voxel_mm=1.0)
    for lao, cran in POSES[:3]:
        pose = CArmPose(ISO, lao, cran)
        det = Detector(pose, 512)
        li = proj.line_integrals(pose, 512).astype(np.float64)
        pa, pb = det.project(np.stack([a + 15 * axis, b - 15 * axis]))
        errs = []
        for s in np.linspace(0.0, 1.0, 15):
            c = pa + s * (pb - pa)
            n = np.array([-(pb - pa)[1], (pb - pa)[0]]) / np.linalg.norm(pb - pa)
            off = np.arange(-20, 21, dtype=np.float64)
            pts = c[None, :] + off[:, None] * n[None, :]
            from scipy.ndimage import map_coordinates

            prof = map_coordinates(li, [pts[:, 1], pts[:, 0]], order=1)
            prof = prof - prof.min()
            errs.append(float((prof * off).sum() / prof.sum()))
        assert max(abs(e) for e in errs) < 0.5, (lao, cran, errs)


def test_pose_geometry_and_orientation() -> None:
    pose = CArmPose((0.0, 0.0, 0.0))
    assert pose.magnification == pytest.approx(1000.0 / 600.0)
    np.testing.assert_allclose(pose.beam_dir(), [0.0, 1.0, 0.0], atol=1e-12)
    det = Detector(pose, 512)
    o = det.orientation()
    assert (o["left"], o["right"], o["top"], o["bottom"]) == ("R", "L", "S", "I")
    lat = Detector(CArmPose((0.0, 0.0, 0.0), 90.0, 0.0), 512).orientation()
    assert (lat["left"], lat["right"]) == ("A", "P")
    assert CArmPose((0.0, 0.0, 0.0), -20.0, 12.0).angles().label == "RAO 20.0° CRAN 12.0°"
    with pytest.raises(ValueError):
        CArmPose((0.0, 0.0, 0.0), 0.0, 60.0)


def test_needle_chord_is_its_diameter_across_and_its_length_along() -> None:
    det = Detector(CArmPose((0.0, 0.0, 0.0)), 512)
    across = needle_line_integrals(det, (-20.0, 0.0, 0.0), (20.0, 0.0, 0.0), 1.5)
    assert across.max() / 0.95 == pytest.approx(3.0, abs=0.05)
    along = needle_line_integrals(det, (0.0, -20.0, 0.0), (0.0, 20.0, 0.0), 1.5)
    assert along.max() / 0.95 == pytest.approx(40.0, abs=0.5)


@pytest.fixture(scope="module")
def demo_case():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo

    return generate_demo(0)


def _ring_profile(img: np.ndarray, centre: np.ndarray, rx: float, ry: float) -> np.ndarray:
    """Mean grey on ellipses of normalised radius 0.1 … 2.0 (rx, ry = the pedicle's half
    outer width and height in px)."""
    ang = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    out = []
    from scipy.ndimage import map_coordinates

    for rho in np.arange(0.1, 2.01, 0.1):
        cols = centre[0] + rho * rx * np.cos(ang)
        rows = centre[1] + rho * ry * np.sin(ang)
        out.append(map_coordinates(img.astype(np.float64), [rows, cols], order=1).mean())
    return np.array(out)


def test_demo_ap_shows_both_pedicle_rings(demo_case) -> None:  # type: ignore[no-untyped-def]
    lv = demo_case.truth.level("L2")
    proj = ConeBeamProjector(demo_case.volume, lv.centroid_lps)
    shot = take_shot(proj, CArmPose(tuple(lv.centroid_lps)), 512)
    for side in ("left", "right"):
        ped = lv.pedicles[side]
        centre = shot.project(ped.isthmus_centre_lps)[0]
        scale = shot.detector.magnification_at(ped.isthmus_centre_lps)[0] / shot.detector.pixel_mm
        rx, ry = ped.isthmus_width_mm / 2 * scale, ped.isthmus_height_mm / 2 * scale
        prof = _ring_profile(shot.display, centre, rx, ry)
        darkest = 0.1 * (1 + int(np.argmin(prof)))
        # the ring (cortex seen end-on) is darker than the pedicle's centre and than outside
        assert 0.6 <= darkest <= 1.3, (side, prof.round(0))
        assert prof.min() < prof[0] - 20 and prof.min() < prof[-1] - 20, (side, prof.round(0))
    # the left pedicle is on the image right (AP, read from the front)
    assert shot.project(lv.pedicles["left"].isthmus_centre_lps)[0][0] > 256


def test_demo_lateral_shows_the_endplates(demo_case) -> None:  # type: ignore[no-untyped-def]
    lv = demo_case.truth.level("L2")
    proj = ConeBeamProjector(demo_case.volume, lv.centroid_lps)
    shot = take_shot(proj, CArmPose(tuple(lv.centroid_lps), 90.0, 0.0), 512)
    c = np.array(lv.centroid_lps)
    sup = np.array(lv.frame.superior)
    half = lv.heights_mm.middle / 2.0
    pts = np.stack([c + t * sup for t in np.linspace(-1.6 * half, 1.6 * half, 161)])
    px = shot.project(pts)
    from scipy.ndimage import map_coordinates

    prof = map_coordinates(shot.display.astype(float), [px[:, 1], px[:, 0]], order=1)
    t = np.linspace(-1.6, 1.6, 161)
    inside = prof[np.abs(t) < 0.6].mean()
    for edge in (-1.0, 1.0):
        near = prof[np.abs(t - edge) < 0.15].min()
        assert near < inside - 20, (edge, prof.round(0))
