"""Series grouping, splitting and the default choice on mixed synthetic studies."""

from __future__ import annotations

import numpy as np
from pydicom.uid import generate_uid

from planner.loading import load_path, scan_path
from planner.volume import stable_uid_from_paths
from tests.planner.dicom_factory import (
    ORIENTATIONS,
    write_localizer,
    write_secondary_capture,
    write_series,
)


def test_two_series_mixed_in_one_folder_are_separated_and_the_larger_chosen(tmp_path):
    study = generate_uid()
    a = write_series(tmp_path, n=10, study_uid=study, seed=1)
    b = write_series(tmp_path, n=14, study_uid=study, step_mm=1.0, seed=2)
    scan = scan_path(tmp_path)
    assert {s.key for s in scan.series} == {a.series_uid, b.series_uid}
    assert scan.default_key == b.series_uid
    assert {s.n_images for s in scan.series} == {10, 14}
    res = load_path(tmp_path, series_uid=a.series_uid)
    assert res.volume.shape_kji[0] == 10 and res.series.key == a.series_uid


def test_localizer_and_screenshot_are_never_the_default(tmp_path):
    study = generate_uid()
    ct = write_series(tmp_path, n=8, study_uid=study)
    write_localizer(tmp_path, study)
    write_secondary_capture(tmp_path, study)  # 30 images: more than the CT, still excluded
    scan = scan_path(tmp_path)
    assert scan.default_key == ct.series_uid
    reasons = {s.reason for s in scan.series if not s.is_candidate}
    assert any("localizer" in r for r in reasons)
    assert any("secondary capture" in r for r in reasons)


def test_localizer_without_image_type_is_recognised_by_orientation(tmp_path):
    study = generate_uid()
    write_series(tmp_path, n=8, study_uid=study)
    write_series(
        tmp_path,
        n=2,
        orientation=(1, 0, 0, 0, 0, -1),
        image_type="ORIGINAL\\PRIMARY",
        study_uid=study,
        prefix="x",
    )
    loc = [s for s in scan_path(tmp_path).series if s.n_images == 2]
    assert loc and "localizer" in loc[0].reason


def test_one_uid_with_two_orientations_is_split(tmp_path):
    uid = generate_uid()
    write_series(tmp_path, n=9, series_uid=uid)
    write_series(tmp_path, n=5, series_uid=uid, orientation=(0, 1, 0, 0, 0, -1), prefix="sag")
    scan = scan_path(tmp_path)
    keys = sorted(s.key for s in scan.series)
    assert keys == [uid, uid + "#2"]
    assert scan.get(uid).n_images == 9 and scan.get(uid + "#2").n_images == 5
    assert scan.get(uid + "#2").is_axial is False
    assert "series_split" in [w.code for w in scan.get(uid).warnings]


def test_repeated_positions_are_split_into_stacks(tmp_path):
    uid = generate_uid()
    write_series(tmp_path, n=6, series_uid=uid, seed=3)
    write_series(tmp_path, n=6, series_uid=uid, seed=4)
    scan = scan_path(tmp_path)
    assert sorted(s.n_images for s in scan.series) == [6, 6]
    assert load_path(tmp_path).volume.shape_kji == (6, 64, 64)


def test_empty_series_uid_gets_a_stable_derived_key(tmp_path):
    s = write_series(tmp_path, n=5, series_uid="")
    scan1, scan2 = scan_path(tmp_path), scan_path(tmp_path)
    key = scan1.series[0].key
    assert key == scan2.series[0].key == stable_uid_from_paths(s.paths)
    assert key.startswith("derived.")
    res = load_path(tmp_path)
    assert res.volume.series_uid == key


def test_non_ct_series_loads_with_a_warning(tmp_path):
    write_series(tmp_path, n=4, modality="MR", sop_class="1.2.840.10008.5.1.4.1.1.4")
    scan = scan_path(tmp_path)
    assert scan.default_key is None
    res = load_path(tmp_path)
    w = next(w for w in res.warnings if w.code == "not_ct")
    assert "MR" in w.message and "HU" in w.message


def test_series_info_fields_and_json(tmp_path):
    s = write_series(
        tmp_path, n=6, pixel_spacing=(0.7, 0.6), step_mm=1.5, orientation=ORIENTATIONS["FFS"]
    )
    info = scan_path(tmp_path).series[0]
    assert info.series_uid == s.series_uid
    assert (info.rows, info.columns, info.n_images) == (64, 64, 6)
    assert info.pixel_spacing_mm == (0.7, 0.6)
    assert info.slice_spacing_mm == 1.5 and info.thickness_mm == 1.5
    assert info.kernel == "B30f" and info.body_part == "SPINE"
    assert info.image_type == ("ORIGINAL", "PRIMARY", "AXIAL") and info.is_axial
    z = [float(np.round(p[2], 3)) for p in s.positions]
    assert info.files[0] == str(s.paths[int(np.argmin(z))]) or info.files[0] == str(
        s.paths[int(np.argmax(z))]
    )
    js = info.to_json()
    assert js["series_uid"] == s.series_uid and js["n_images"] == 6 and js["modality"] == "CT"
    assert "Synthetic" not in repr(js)  # no patient data in the listing
