"""Bad input never crashes, never changes the user's files, and is explained."""

from __future__ import annotations

import hashlib

import numpy as np
import pydicom
import pytest

from planner.errors import (
    CorruptFileError,
    EmptyInputError,
    ImageTooLargeError,
    NoImageSeriesError,
    NotFoundError,
)
from planner.loading import load_path, scan_path
from tests.planner.dicom_factory import write_series


def _digest(folder) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_non_dicom_files_are_skipped_and_counted(tmp_path):
    write_series(tmp_path, n=5)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "thumbs.db").write_bytes(b"\x00" * 300)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "random.bin").write_bytes(np.random.default_rng(0).bytes(2000))
    before = _digest(tmp_path)
    res = load_path(tmp_path)
    assert res.scan.skipped_files == 3
    assert "non_dicom_files" in [w.code for w in res.scan.warnings]
    assert res.volume.shape_kji == (5, 64, 64)
    assert _digest(tmp_path) == before  # nothing written, nothing changed


def test_truncated_file_is_named_and_its_series_incomplete(tmp_path):
    s = write_series(tmp_path, n=8, names="ordered")
    bad = s.paths[3]
    bad.write_bytes(bad.read_bytes()[:-500])
    scan = scan_path(tmp_path)
    assert [p for p, _ in scan.bad_files] == [str(bad)]
    assert "truncated" in scan.bad_files[0][1]
    info = scan.series[0]
    assert info.incomplete and info.n_images == 7
    assert bad.name in next(w.message for w in info.warnings if w.code == "incomplete_series")
    res = load_path(tmp_path)
    codes = [w.code for w in res.warnings]
    assert "incomplete_series" in codes and "missing_slices" in codes


def test_corrupt_compressed_image_is_left_out_and_named(tmp_path):
    from pydicom.uid import RLELossless

    s = write_series(tmp_path, n=6, transfer_syntax=RLELossless, names="ordered")
    ds = pydicom.dcmread(s.paths[2])
    ds.PixelData = ds.PixelData[:40] + b"\xff" * 8  # a damaged RLE stream
    ds.save_as(s.paths[2])
    res = load_path(tmp_path)
    w = next(w for w in res.warnings if w.code == "corrupt_images")
    assert s.paths[2].name in w.message
    assert res.volume.shape_kji == (6, 64, 64)  # gap of one slice filled on the regular grid


def test_claimed_huge_image_is_refused_before_allocating(tmp_path):
    s = write_series(tmp_path, n=1)
    ds = pydicom.dcmread(s.paths[0])
    ds.Rows, ds.Columns = 30000, 30000
    ds.save_as(s.paths[0])
    scan = scan_path(tmp_path)
    assert "claims 30000 x 30000" in scan.bad_files[0][1]
    with pytest.raises(CorruptFileError, match="30000 x 30000"):
        load_path(tmp_path)


def test_series_past_the_voxel_limit_is_refused(tmp_path, monkeypatch):
    import planner.loading as loading

    write_series(tmp_path, n=4)
    monkeypatch.setattr(loading, "MAX_SERIES_VOXELS", 4 * 64 * 64 - 1)
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        load_path(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(EmptyInputError):
        scan_path(tmp_path)


def test_missing_path(tmp_path):
    with pytest.raises(NotFoundError):
        scan_path(tmp_path / "nope")


def test_folder_without_images(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(NoImageSeriesError, match="no image series"):
        load_path(tmp_path)


def test_missing_optional_tags_load_with_warnings(tmp_path):
    write_series(
        tmp_path,
        n=4,
        omit=(
            "RescaleSlope",
            "RescaleIntercept",
            "PixelSpacing",
            "SliceThickness",
            "InstanceNumber",
        ),
        intercept=0,
        signed=True,
    )
    res = load_path(tmp_path)
    codes = [w.code for w in res.warnings]
    assert "rescale_missing" in codes and "pixel_spacing_missing" in codes
    np.testing.assert_allclose(res.volume.spacing_mm, [1.0, 1.0, 2.0])


def test_missing_modality_is_not_a_ct_candidate(tmp_path):
    write_series(tmp_path, n=3, omit=("Modality",))
    info = scan_path(tmp_path).series[0]
    assert not info.is_candidate and "missing" in info.reason
