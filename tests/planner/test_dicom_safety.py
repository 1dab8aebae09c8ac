"""Bad geometry, bad rescale, DICOMDIR escapes and interleaved stacks: refused with a message
naming the file, or loaded correctly (left stays left) with a warning code."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from planner.errors import GeometryError, PlannerError
from planner.loading import load_path, scan_path
from planner.volume import CTVolume
from tests.planner.dicom_factory import expected_volume, write_series


def patch(path: Path, **tags: object) -> None:
    """Rewrite one file with some header values replaced (raw strings for DS values)."""
    ds = pydicom.dcmread(path)
    for name, value in tags.items():
        setattr(ds, name, value)
    ds.save_as(path, enforce_file_format=True)


def assert_true_image(vol: CTVolume) -> None:
    """Every voxel holds the factory's field at the LPS position the affine gives it: a
    mirrored or swapped image fails this (the field is asymmetric in x, y and z)."""
    expected = expected_volume(vol.ijk_to_lps, vol.shape_kji)
    assert np.abs(vol.hu.astype(float) - expected).max() <= 1.0


def codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {w.code for w in result.warnings}


@pytest.mark.parametrize(
    "spacing", [r"-0.8\-0.8", r"-0.8\0.8", r"0\0.8", r"nan\0.8", r"inf\inf", r"1e-9\1e-9"]
)
def test_one_image_with_bad_pixel_spacing_is_set_apart_and_named(tmp_path, spacing) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=6, names="ordered")
    patch(s.paths[3], PixelSpacing=spacing)
    res = load_path(tmp_path / "s")
    split = next(w for w in res.warnings if w.code == "series_split")
    assert s.paths[3].name in split.message and "Pixel Spacing" in split.message
    assert res.volume.shape_kji[0] == 6  # the gap is interpolated, with its own warning
    assert {"missing_slices"} <= codes(res)
    assert_true_image(res.volume)
    bad = [x for x in res.scan.series if not x.is_candidate]  # type: ignore[union-attr]
    assert bad and "Pixel Spacing" in bad[0].reason
    with pytest.raises(GeometryError, match=s.paths[3].name):
        load_path(tmp_path / "s", series_uid=bad[0].key)


def test_negative_spacing_in_every_file_is_refused_never_mirrored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=6)
    for p in s.paths:
        patch(p, PixelSpacing=r"-0.7\-0.7")
    with pytest.raises(PlannerError, match="mirror"):
        load_path(tmp_path / "s")


@pytest.mark.parametrize(
    "tag,value",
    [
        ("ImageOrientationPatient", r"0\0\0\0\1\0"),
        ("ImageOrientationPatient", r"1\0\0\1\0\0"),
        ("ImageOrientationPatient", r"nan\0\0\0\1\0"),
        ("ImageOrientationPatient", r"3\0\0\0\1\0"),
        ("ImagePositionPatient", r"nan\0\0"),
        ("ImagePositionPatient", r"1e308\0\0"),
    ],
)
def test_singular_or_non_finite_geometry_is_refused(tmp_path, tag, value) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=6)
    for p in s.paths:
        patch(p, **{tag: value})
    with pytest.raises(PlannerError) as err:
        load_path(tmp_path / "s")
    text = str(err.value)
    assert any(p.name in text for p in s.paths) or str(tmp_path / "s") in text


def test_nan_rescale_in_one_slice_uses_the_series_value_with_a_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=8, names="ordered")
    patch(s.paths[4], RescaleSlope="nan")
    res = load_path(tmp_path / "s")
    assert "rescale_invalid" in codes(res)
    assert s.paths[4].name in next(w.message for w in res.warnings if w.code == "rescale_invalid")
    assert_true_image(res.volume)  # the slice keeps its true HU, not 0


def test_nan_rescale_everywhere_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=4, names="ordered")
    for p in s.paths:
        patch(p, RescaleIntercept="nan")
    with pytest.raises(PlannerError, match="Rescale"):
        load_path(tmp_path / "s")


def test_unscaled_values_are_flagged_not_hounsfield(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # stored values with air at +24: the rescale intercept was dropped by the exporter
    s = write_series(
        tmp_path / "s", n=4, field=lambda p: np.full(p.shape[:-1], -1000.0) + 0 * p[..., 0]
    )
    for p in s.paths:
        patch(p, RescaleIntercept="0")
    res = load_path(tmp_path / "s")
    assert "not_hounsfield" in codes(res)
    assert res.volume.hu.min() == 24


def test_huge_rescale_values_are_clipped_with_a_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path / "s", n=4)
    for p in s.paths:
        patch(p, RescaleSlope="5000")
    res = load_path(tmp_path / "s")
    assert "hu_clipped" in codes(res)


def _dicomdir(folder: Path, refs: list[list[str]]) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    records = []
    for ref in refs:
        rec = Dataset()
        rec.DirectoryRecordType = "IMAGE"
        rec.ReferencedFileID = ref
        records.append(rec)
    ds.DirectoryRecordSequence = records
    path = folder / "DICOMDIR"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dicomdir_references_outside_its_folder_are_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    outside = write_series(tmp_path / "outside", n=5, names="ordered")
    inside = write_series(tmp_path / "cd" / "IMG", n=5, names="ordered", origin=(0, 0, 0))
    refs = [["IMG", p.name] for p in inside.paths]
    refs += [["..", "outside", outside.paths[0].name], ["..", "..", "..", "etc", "passwd"]]
    dicomdir = _dicomdir(tmp_path / "cd", refs)
    opened: list[str] = []
    real_open = open

    def spy(file, *a, **k):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", spy)
    res = load_path(dicomdir)
    monkeypatch.undo()
    warn = next(w for w in res.scan.warnings if w.code == "dicomdir_outside")  # type: ignore[union-attr]
    assert "passwd" in warn.message and outside.paths[0].name in warn.message
    assert res.volume.series_uid == inside.series_uid
    assert not any("outside" in p or "passwd" in p for p in opened)


def test_dicomdir_with_only_outside_references_is_refused_with_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "cd").mkdir()
    dicomdir = _dicomdir(tmp_path / "cd", [["..", "..", "etc", "passwd"]])
    with pytest.raises(PlannerError, match="passwd"):
        load_path(dicomdir)


def test_interleaved_stacks_with_one_uid_are_split_by_position(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = write_series(tmp_path / "s", n=10, names="ordered", prefix="a")
    write_series(
        tmp_path / "s",
        n=10,
        names="ordered",
        prefix="b",
        series_uid=a.series_uid,
        study_uid=None,
        origin=(15.0, -20.0, 11.0),  # 15 mm to the left, 1 mm between the first stack's slices
        seed=1,
    )
    scan = scan_path(tmp_path / "s")
    stacks = [s for s in scan.series if s.series_uid == a.series_uid]
    assert len(stacks) == 2 and all(s.n_images == 10 for s in stacks)
    assert any(w.code == "series_split" for w in stacks[0].warnings)
    res = load_path(tmp_path / "s")
    assert res.volume.shape_kji[0] == 10
    assert_true_image(res.volume)


def test_interleaved_acquisitions_are_split(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = write_series(tmp_path / "s", n=10, names="ordered", prefix="a", step_mm=2.0)
    write_series(
        tmp_path / "s",
        n=10,
        names="ordered",
        prefix="b",
        series_uid=a.series_uid,
        origin=(-25.0, -20.0, 11.0),
        step_mm=2.0,
        seed=1,
        field=lambda p: 0 * p[..., 0] - 1000,
    )
    for p in sorted((tmp_path / "s").iterdir()):
        patch(p, AcquisitionNumber=1 if p.name.startswith("a") else 2)
    scan = scan_path(tmp_path / "s")
    assert sorted(s.n_images for s in scan.series) == [10, 10]


def _nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, affine, dtype=data.dtype), str(path))
    return path


def _ct_like(dtype: type = np.float32) -> np.ndarray:
    data = np.full((16, 16, 8), 40, dtype=dtype)
    data[:2] = -1000
    return data


def test_nifti_nan_voxels_are_counted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = _ct_like()
    data[5, 5, :3] = np.nan
    res = load_path(_nifti(tmp_path / "n.nii.gz", data, np.diag([0.8, 0.8, 2, 1])))
    warn = next(w for w in res.warnings if w.code == "nan_voxels")
    assert "3 voxel" in warn.message and "n.nii.gz" in warn.message
    assert res.volume.hu[:3, 5, 5].tolist() == [-1000] * 3


def test_nifti_huge_values_are_clipped_with_hu_clipped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = _ct_like(np.int64)
    data[3, 3, 3] = 2**62
    res = load_path(_nifti(tmp_path / "n.nii.gz", data, np.diag([0.8, 0.8, 2, 1])))
    assert "hu_clipped" in codes(res)
    assert res.volume.hu.max() == 32767


def test_nifti_unscaled_values_are_not_hounsfield(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = np.full((16, 16, 8), 1064, dtype=np.uint16)  # stored values: 40 HU + 1024
    data[:2] = 24  # air
    data[8, 8, 4] = 5000
    res = load_path(_nifti(tmp_path / "n.nii.gz", data, np.diag([0.8, 0.8, 2, 1])))
    assert "not_hounsfield" in codes(res)


@pytest.mark.parametrize(
    "affine",
    [
        np.diag([0.8, 0.8, 0.0, 1.0]),
        np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float),
        np.diag([np.nan, 1, 1, 1]),
        np.diag([1e9, 1, 1, 1]),
    ],
)
def test_degenerate_nifti_affine_is_refused_naming_the_file(tmp_path, affine) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.nii"
    img = nib.Nifti1Image(_ct_like(), np.eye(4))
    img.set_sform(np.eye(4), code=1)
    img.set_qform(None, code=0)
    nib.save(img, str(path))
    raw = bytearray(path.read_bytes())  # srow_x/y/z at bytes 280-327 (NIfTI-1 header)
    raw[280:328] = np.asarray(affine[:3], dtype="<f4").tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(PlannerError, match="bad.nii"):
        load_path(path)


def test_negative_nifti_axes_keep_left_and_right(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a legitimately flipped NIfTI (negative x axis in RAS) loads with the flip in its affine
    data = _ct_like()
    data[0, :, :] = 1000  # the plane i = 0
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    affine[0, 3] = 10.0
    res = load_path(_nifti(tmp_path / "f.nii.gz", data, affine))
    vol = res.volume
    # voxel (0, 5, 3) lies at RAS (10, 5, 3), i.e. LPS (-10, -5, 3): the bright plane is there
    ijk = np.rint(vol.lps_to_voxel((-10.0, -5.0, 3.0))).astype(int)
    assert vol.hu[ijk[2], ijk[1], ijk[0]] == 1000
