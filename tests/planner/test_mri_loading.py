"""Loading MRI through the explicit MR path: real MR DICOM files, NIfTI, the demo series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.errors import NoImageSeriesError
from planner.loading import load_path
from planner.mri.export import write_mr_series
from planner.mri.loading import contrast_from_text, load_mr, load_mr_study
from tests.planner.mri_cases import demo_pair

DCMQA = "dicom_dcmqa_transfer_syntaxes"


def test_real_mr_files_in_every_transfer_syntax(shared_data: Path) -> None:
    files = sorted((shared_data / DCMQA / "In").glob("*.dcm"))
    assert len(files) == 9
    ref = None
    for f in files:
        res = load_mr(f)
        assert res.volume.identity.modality == "MR"
        assert res.volume.shape_kji == (1, 384, 384)
        assert not any(w.code == "not_ct" for w in res.warnings)
        if ref is None:
            ref = res.volume.hu
        assert np.array_equal(res.volume.hu, ref), f.name  # all 9 hold the same pixels
    assert res.contrast == "other"  # an fMRI EPI mosaic: neither STIR nor T1


def test_real_mr_nifti_matches_dicom(shared_data: Path) -> None:
    nii = load_mr(shared_data / DCMQA / "Ref" / "1.nii")
    dcm = load_mr(shared_data / DCMQA / "In" / "1.dcm")
    assert nii.volume.identity.modality == "MR"
    # dcm2niix un-mosaics the 384x384 slice into 35 slices of 64x64: same values in total
    assert nii.volume.shape_kji == (35, 64, 64)
    assert int(nii.volume.hu.sum()) == int(dcm.volume.hu.sum())


def test_ct_loader_still_flags_mr_as_not_ct(shared_data: Path) -> None:
    res = load_path(shared_data / DCMQA / "In" / "1.dcm")
    assert any(w.code == "not_ct" for w in res.warnings)


def test_ct_folder_has_no_mr(tmp_path: Path) -> None:
    from planner.dicom_export import write_dicom_series

    case, _ = demo_pair()
    write_dicom_series(case.volume, tmp_path / "ct")
    with pytest.raises(NoImageSeriesError, match="no MR image series"):
        load_mr(tmp_path / "ct")


def test_demo_series_round_trip_and_contrast(tmp_path: Path) -> None:
    from planner.demo.mri import STIR, T1

    _, mri = demo_pair()
    for vol, c, name in ((mri.stir, STIR, "stir"), (mri.t1, T1, "t1")):
        write_mr_series(vol, tmp_path / name, study_uid="1.2.3", frame_uid="1.2.3.4",
                        sequence=c.dicom)
    study = load_mr_study(tmp_path)
    assert set(study) == {"stir", "t1"}
    for name, vol in (("stir", mri.stir), ("t1", mri.t1)):
        got = study[name].volume
        assert np.array_equal(got.hu, vol.hu)
        assert np.allclose(got.ijk_to_lps, vol.ijk_to_lps, atol=1e-4)


@pytest.mark.parametrize(("text", "expected"), [
    ("t2_tirm_sag", "stir"), ("SAG STIR", "stir"), ("T2 FS sag", "stir"),
    ("t1_tse_sag", "t1"), ("T2 TSE", "t2"), ("localizer", None),
])
def test_contrast_from_description(text: str, expected: str | None) -> None:
    assert contrast_from_text(text) == expected


def test_demo_mr_series_read_by_dcm2niix_agree(tmp_path: Path) -> None:
    """An independent reader (dcm2niix) places the demo MR series where we do."""
    import shutil
    import subprocess

    from planner.demo.mri import STIR

    exe = shutil.which("dcm2niix")
    if exe is None:
        pytest.skip("dcm2niix is not installed")
    _, mri = demo_pair()
    write_mr_series(mri.stir, tmp_path / "stir", study_uid="1.2.3", frame_uid="1.2.3.4",
                    sequence=STIR.dicom)
    subprocess.run([exe, "-o", str(tmp_path), "-f", "stir", "-z", "n", str(tmp_path / "stir")],
                   check=True, capture_output=True)
    nii = load_mr(tmp_path / "stir.nii", contrast="stir").volume
    rng = np.random.default_rng(1)
    lo, hi = mri.stir.bounds_lps()
    pts = lo + rng.random((200, 3)) * (np.asarray(hi) - np.asarray(lo))
    a, b = mri.stir.sample_lps(pts), nii.sample_lps(pts)
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.mean() > 0.9
    assert np.allclose(a[ok], b[ok], atol=1e-3)
