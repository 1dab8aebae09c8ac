"""Slice geometry: orientation, sorting, spacing, tilt and gaps end in the right LPS affine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.errors import GeometryError
from planner.loading import load_path
from tests.planner.dicom_factory import ORIENTATIONS, expected_volume, hu_at, write_series


@pytest.mark.parametrize("position", ["HFS", "FFS", "HFP", "FFP"])
def test_patient_positions_give_the_header_affine_and_exact_voxels(tmp_path, position):
    o = ORIENTATIONS[position]
    s = write_series(tmp_path, n=12, rows=24, cols=32, orientation=o, pixel_spacing=(0.7, 0.9))
    vol = load_path(tmp_path).volume
    r, c = np.array(o[:3]), np.array(o[3:])
    n = np.cross(r, c)
    first = s.positions[np.argmin(s.positions @ n)]
    expected = np.eye(4)
    expected[:3, 0], expected[:3, 1], expected[:3, 2], expected[:3, 3] = (
        r * 0.9,
        c * 0.7,
        n * 2.0,
        first,
    )
    np.testing.assert_allclose(vol.ijk_to_lps, expected, atol=1e-4)
    assert vol.shape_kji == (12, 24, 32)
    # every voxel holds the value its LPS position was written with
    np.testing.assert_array_equal(vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)))
    # k runs along the normal: positive determinant (right-handed) and z of slices as written
    assert np.linalg.det(vol.ijk_to_lps[:3, :3]) > 0
    assert {round(z, 3) for z in vol.voxel_to_lps([[0, 0, k] for k in range(12)])[:, 2]} == {
        round(z, 3) for z in s.positions[:, 2]
    }


def test_feet_first_prone_axis_codes(tmp_path):
    write_series(tmp_path, n=4, orientation=ORIENTATIONS["HFP"])
    vol = load_path(tmp_path).volume
    assert vol.grid.nearest_axis_codes() == "RAS"  # prone: rows run to the right, columns anterior


@pytest.mark.parametrize("names", ["shuffled", "reversed"])
def test_order_comes_from_positions_not_names_or_instance_numbers(tmp_path, names):
    write_series(tmp_path, n=15, names=names)
    vol = load_path(tmp_path).volume
    np.testing.assert_array_equal(vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)))
    np.testing.assert_allclose(vol.spacing_mm, [0.8, 0.8, 2.0], atol=1e-6)


def test_spacing_comes_from_positions_not_thickness(tmp_path):
    write_series(tmp_path, n=6, step_mm=1.25)
    vol = load_path(tmp_path).volume
    assert vol.spacing_mm[2] == pytest.approx(1.25, abs=1e-6)


def test_overlapping_slices_keep_their_nominal_thickness(tmp_path):
    # 5 mm slices every 2.5 mm: the spacing is 2.5, the blur along the slice axis 5 mm (the
    # vertebra analysis refuses slices that thick whatever their spacing)
    write_series(tmp_path, n=6, step_mm=2.5, thickness_mm=5.0)
    vol = load_path(tmp_path).volume
    assert vol.spacing_mm[2] == pytest.approx(2.5, abs=1e-6)
    assert vol.slice_thickness_mm == pytest.approx(5.0)


def test_gantry_tilt_is_resampled_so_every_voxel_sits_where_the_headers_put_it(tmp_path):
    tilt = math.radians(15.0)
    o = (1.0, 0.0, 0.0, 0.0, math.cos(tilt), -math.sin(tilt))  # tilted gantry, as GE writes it
    s = write_series(
        tmp_path, n=16, rows=48, cols=40, orientation=o, stack_dir=(0, 0, 1), step_mm=2.5
    )
    res = load_path(tmp_path)
    vol = res.volume
    codes = [w.code for w in res.warnings]
    assert "gantry_tilt" in codes
    msg = next(w.message for w in res.warnings if w.code == "gantry_tilt")
    assert "15.0 degrees" in msg
    # regular grid perpendicular to the slices, spacing along the normal = 2.5 cos(15 deg)
    np.testing.assert_allclose(vol.spacing_mm, [0.8, 0.8, 2.5 * math.cos(tilt)], atol=1e-6)
    # every voxel inside the acquired slab holds the field value at its LPS centre (+-1 HU
    # rounding): a voxel misplaced by 0.1 mm would be off by up to 0.7 HU more; check the worst
    want = expected_volume(vol.ijk_to_lps, vol.shape_kji)
    inside = vol.hu != -1000
    assert inside.mean() > 0.6
    assert np.max(np.abs(vol.hu[inside] - want[inside])) <= 1.0
    # and the original pixels land on their header positions
    rng = np.random.default_rng(1)
    k = rng.integers(0, 16, 200)
    i, j = rng.integers(1, 39, 200), rng.integers(1, 47, 200)
    r, c = np.array(o[:3]), np.array(o[3:])
    lps = s.positions[k] + i[:, None] * 0.8 * r + j[:, None] * 0.8 * c
    np.testing.assert_allclose(vol.sample_lps(lps), np.rint(hu_at(lps)), atol=1.5)


def test_missing_slice_warns_where_the_gap_is(tmp_path):
    depths = [0, 2, 4, 6, 10, 12, 14]  # slice at 8 mm missing
    write_series(tmp_path, n=7, depths_mm=depths, names="ordered")
    res = load_path(tmp_path)
    gap = [w for w in res.warnings if w.code == "missing_slices"]
    assert len(gap) == 1
    assert "IM0004" in gap[0].message and "IM0005" in gap[0].message
    assert "6.00 mm" in gap[0].message and "10.00 mm" in gap[0].message
    vol = res.volume
    assert vol.shape_kji[0] == 8  # regular 2 mm grid over 14 mm
    np.testing.assert_allclose(vol.spacing_mm[2], 2.0)
    np.testing.assert_allclose(
        vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)), atol=1
    )


def test_nonuniform_spacing_is_resampled_with_a_warning(tmp_path):
    depths = [0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0, 10.0]
    write_series(tmp_path, n=8, depths_mm=depths)
    res = load_path(tmp_path)
    w = next(w for w in res.warnings if w.code == "nonuniform_spacing")
    assert "1.000 to 2.500 mm" in w.message
    vol = res.volume
    assert vol.spacing_mm[2] == pytest.approx(1.0)
    assert vol.shape_kji[0] == 11
    np.testing.assert_allclose(
        vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)), atol=1
    )


def test_missing_positions_refuse_with_a_geometry_error(tmp_path):
    write_series(tmp_path, n=4, omit=("ImagePositionPatient",))
    from planner.loading import load_series, scan_path

    scan = scan_path(tmp_path)
    info = scan.series[0]
    assert not info.is_candidate and "Position" in info.reason
    with pytest.raises(GeometryError, match="Image Position"):
        load_series(scan, info.key)


def test_single_slice_uses_thickness(tmp_path):
    write_series(tmp_path, n=1, step_mm=3.0)
    res = load_path(tmp_path)
    assert res.volume.shape_kji == (1, 64, 64)
    assert res.volume.spacing_mm[2] == pytest.approx(3.0)
    assert "single_slice" in [w.code for w in res.warnings]


def test_voxel_centres_within_a_tenth_of_a_millimetre_of_the_headers(tmp_path):
    rng = np.random.default_rng(5)
    depths = np.arange(10) * 1.5 + rng.uniform(-0.015, 0.015, 10)  # DS rounding-size jitter
    s = write_series(tmp_path, n=10, depths_mm=depths)
    res = load_path(tmp_path)
    assert not {"nonuniform_spacing", "missing_slices"} & {w.code for w in res.warnings}
    vol = res.volume
    order = np.argsort(s.positions[:, 2])
    centres = vol.voxel_to_lps([[0, 0, k] for k in range(10)])
    assert np.max(np.linalg.norm(centres - s.positions[order], axis=1)) < 0.1


def test_jitter_beyond_tolerance_is_resampled_not_ignored(tmp_path):
    depths = np.arange(10) * 1.5
    depths[4] += 0.3
    write_series(tmp_path, n=10, depths_mm=depths)
    res = load_path(tmp_path)
    assert "nonuniform_spacing" in {w.code for w in res.warnings}
    vol = res.volume
    np.testing.assert_allclose(
        vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)), atol=1
    )
