"""The synthetic demo MRI: contrasts, geometry, offset, and its DICOM MR series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.cli import main
from planner.demo.mri import ROTATION_DEG, SPACING_MM, true_transform
from planner.mri.rigid import RigidTransform
from tests.planner.mri_cases import demo_pair


def _body_median(vol, case, mri, name: str) -> float:
    anat = case.truth.level_anatomy(name, case.volume.grid)
    from scipy.ndimage import binary_erosion

    core = binary_erosion(anat.body, iterations=4)
    pts = anat.grid.voxel_to_lps(np.argwhere(core)[:, ::-1].astype(float))
    return float(np.nanmedian(vol.sample_lps(mri.transform.apply(pts))))


def test_grid_is_sagittal_with_thick_slices() -> None:
    _, mri = demo_pair()
    g = mri.stir.grid
    assert np.allclose(g.spacing_mm, SPACING_MM)
    assert np.allclose(g.direction[:, 2], [-1.0, 0.0, 0.0])  # slices along patient right
    assert mri.stir.identity.modality == "MR"
    assert mri.t1.grid.fingerprint() == g.fingerprint()


def test_offset_is_the_stated_rotation_and_shift() -> None:
    case, mri = demo_pair()
    assert mri.transform.angle_deg == pytest.approx(
        true_transform(case).angle_deg)
    assert 4.0 < mri.transform.angle_deg < 1.5 * max(abs(v) for v in ROTATION_DEG) * 1.5
    l1 = np.asarray(case.truth.level("L1").centroid_lps)
    assert np.linalg.norm(mri.transform.apply(l1) - l1) > 15.0


def test_tissue_contrasts() -> None:
    case, mri = demo_pair()
    l1s, l2s = (_body_median(mri.stir, case, mri, n) for n in ("L1", "L2"))
    l1t, l2t = (_body_median(mri.t1, case, mri, n) for n in ("L1", "L2"))
    assert l1s > 3.0 * l2s  # oedema bright on STIR
    assert l1t < 0.6 * l2t  # and dark on T1
    t12s = _body_median(mri.stir, case, mri, "T12")
    assert t12s < 1.2 * l2s  # healed: no oedema
    # CSF in the dural sac: bright on STIR, dark on T1 (a point in the canal behind L2)
    lv = case.truth.level("L2")
    sac = np.asarray(lv.centroid_lps) + np.asarray(lv.frame.posterior) * 27.0
    p = mri.transform.apply(sac)
    assert float(mri.stir.sample_lps(p)) > 600 and float(mri.t1.sample_lps(p)) < 300


def test_noise_is_rician_like() -> None:
    _, mri = demo_pair()
    from planner.demo.mri import NOISE_SIGMA

    air = mri.t1.hu[:, :, -3:].astype(float)  # behind the patient's back: no signal
    sigma = NOISE_SIGMA * 1000.0
    # magnitude of complex Gaussian noise on zero signal is Rayleigh distributed:
    # mean sigma*sqrt(pi/2), standard deviation sigma*sqrt((4-pi)/2)
    assert air.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2.0), rel=0.05)
    assert air.std() == pytest.approx(sigma * np.sqrt((4.0 - np.pi) / 2.0), rel=0.08)
    assert air.min() >= 0


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_mri")
    assert main([ "demo", str(out), "--mri"]) == 0
    return out


def test_demo_command_writes_mr_series(demo_dir: Path) -> None:
    import pydicom

    truth = json.loads((demo_dir / "ground_truth.json").read_text())
    ct = pydicom.dcmread(sorted((demo_dir / "dicom").iterdir())[0], stop_before_pixels=True)
    for name in ("stir", "t1"):
        files = sorted((demo_dir / f"mri_{name}").glob("MR*.dcm"))
        assert len(files) == 21
        ds = pydicom.dcmread(files[0])
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
        assert ds.Modality == "MR"
        assert ds.StudyInstanceUID == ct.StudyInstanceUID
        assert ds.PatientID == ct.PatientID
        assert ds.FrameOfReferenceUID != ct.FrameOfReferenceUID
        for kw in ("ScanningSequence", "SequenceVariant", "ScanOptions", "MRAcquisitionType",
                   "EchoTime", "EchoTrainLength", "ImageOrientationPatient", "PixelSpacing",
                   "SliceThickness"):
            assert kw in ds, kw
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns)
    stir0 = pydicom.dcmread(sorted((demo_dir / "mri_stir").glob("MR*.dcm"))[0])
    assert float(stir0.InversionTime) == 160.0
    t = RigidTransform.from_json(truth["mri"]["transform_ct_to_mri"])
    _, mri = demo_pair()
    assert np.allclose(t.matrix, mri.transform.matrix, atol=1e-6)
    assert {lv["name"]: lv["oedema"] for lv in truth["mri"]["levels"]}["L1"] is True


def test_demo_without_mri_is_unchanged(tmp_path: Path) -> None:
    assert main(["demo", str(tmp_path)]) == 0
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert "mri" not in truth
    assert not (tmp_path / "mri_stir").exists()
