"""DICOM export of a CTVolume, and the ``demo`` command that uses it."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pydicom
import pytest

from planner.dicom_export import write_dicom_series
from planner.errors import InputError
from planner.volume import CTVolume, PatientInfo


def _oblique_volume() -> CTVolume:
    rng = np.random.default_rng(3)
    hu = rng.integers(-1024, 2500, size=(4, 5, 6)).astype(np.int16)
    c, s = np.cos(0.3), np.sin(0.3)
    aff = np.eye(4)
    aff[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.diag([0.8, 0.6, 2.5])
    aff[:3, 3] = [-10.5, 20.25, -100.0]
    return CTVolume.from_array(
        hu,
        aff,
        "1.2.3.4.5",
        description="test series",
        patient=PatientInfo(patient_name="ANON^X", position="HFS"),
    )


def _read_back(files: list[Path]) -> tuple[np.ndarray, np.ndarray, list[pydicom.Dataset]]:
    """HU stack and affine rebuilt from the headers, sorted along the slice normal."""
    dss = [pydicom.dcmread(f) for f in files]
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.array(d.ImagePositionPatient, dtype=float) @ normal))
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss])
    ps = np.array(dss[0].PixelSpacing, dtype=float)
    p0 = np.array(dss[0].ImagePositionPatient, dtype=float)
    step = (np.array(dss[1].ImagePositionPatient, dtype=float) - p0) if len(dss) > 1 else normal
    aff = np.eye(4)
    aff[:3, 0] = iop[:3] * ps[1]
    aff[:3, 1] = iop[3:] * ps[0]
    aff[:3, 2] = step
    aff[:3, 3] = p0
    return hu, aff, dss


@pytest.mark.parametrize("signed", [False, True])
def test_export_round_trips_hu_and_geometry(tmp_path: Path, signed: bool) -> None:
    vol = _oblique_volume()
    res = write_dicom_series(vol, tmp_path / "s", signed=signed)
    assert len(res.files) == 4 and res.series_uid == "1.2.3.4.5"
    hu, aff, dss = _read_back(list(res.files))
    np.testing.assert_array_equal(hu, vol.hu)
    np.testing.assert_allclose(aff, vol.ijk_to_lps, atol=1e-5)
    d = dss[0]
    assert d.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert d.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and d.Modality == "CT"
    assert float(d.SliceThickness) == pytest.approx(2.5)
    assert d.PatientPosition == "HFS" and str(d.PatientName) == "ANON^X"
    assert d.SeriesDescription == "test series"
    assert d.PixelRepresentation == (1 if signed else 0)
    assert float(d.RescaleIntercept) == (0.0 if signed else -1024.0)
    assert len({ds.SOPInstanceUID for ds in dss}) == 4
    assert len({ds.StudyInstanceUID for ds in dss}) == 1


def test_export_is_deterministic(tmp_path: Path) -> None:
    vol = _oblique_volume()
    a = write_dicom_series(vol, tmp_path / "a")
    b = write_dicom_series(vol, tmp_path / "b")
    for fa, fb in zip(a.files, b.files, strict=True):
        assert fa.read_bytes() == fb.read_bytes()


def test_unsigned_export_refuses_hu_below_minus_1024(tmp_path: Path) -> None:
    hu = np.full((2, 2, 2), -2000, dtype=np.int16)
    vol = CTVolume.from_array(hu, np.eye(4), "1.2.3")
    with pytest.raises(InputError, match="signed=True"):
        write_dicom_series(vol, tmp_path)


def _run_demo_command(outdir: Path) -> dict:
    from planner.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["demo", str(outdir)])
    assert code == 0
    return json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, _run_demo_command(out)


def test_demo_command_writes_series_and_truth(demo_export) -> None:
    from planner.demo import generate_demo

    out, result = demo_export
    assert set(result) == {"dicom_dir", "ground_truth", "series_uid", "n_images", "levels"}
    case = generate_demo(0)
    assert result["series_uid"] == case.volume.series_uid
    assert result["n_images"] == case.volume.shape_kji[0]
    assert [lv["name"] for lv in result["levels"]] == ["T11", "T12", "L1", "L2", "L3"]
    truth = json.loads(Path(result["ground_truth"]).read_text())
    assert truth["series_uid"] == result["series_uid"]
    assert truth["levels"][2]["genant_grade"] == 2
    files = sorted(Path(result["dicom_dir"]).glob("*.dcm"))
    hu, aff, dss = _read_back(files)
    np.testing.assert_array_equal(hu, case.volume.hu)
    np.testing.assert_allclose(aff, case.volume.ijk_to_lps, atol=1e-6)
    assert str(dss[0].PatientName) == "DEMO^SPINE" and dss[0].PatientPosition == "HFS"
    assert dss[0].SeriesDescription == "Demo thoracolumbar spine (synthetic)"
    assert dss[0].SeriesInstanceUID == case.volume.series_uid


def test_demo_series_loads_through_the_project_loader(demo_export) -> None:
    loading = pytest.importorskip("planner.loading", reason="loader not available")
    from planner.demo import generate_demo

    out, result = demo_export
    loaded = loading.load_path(result["dicom_dir"])
    case = generate_demo(0)
    assert loaded.volume.series_uid == case.volume.series_uid
    np.testing.assert_array_equal(loaded.volume.hu, case.volume.hu)
    np.testing.assert_allclose(loaded.volume.ijk_to_lps, case.volume.ijk_to_lps, atol=1e-5)
    assert [w.code for w in loaded.warnings] == []


def test_demo_command_refuses_a_file_as_outdir(tmp_path: Path, capsys) -> None:
    from planner.cli import main

    f = tmp_path / "x.txt"
    f.write_text("not a folder")
    assert main(["demo", str(f)]) == 2
    err = capsys.readouterr().err
    assert "x.txt" in err and "folder" in err
