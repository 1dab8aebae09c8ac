"""The loading facade: scan / choose / load, progress and cancellation, NIfTI, patient data."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from planner.errors import Cancelled, SeriesNotFoundError
from planner.io_nifti import save_ct_nifti
from planner.loading import LoadResult, StudyScan, load_path, load_series, scan_path
from planner.progress import Progress
from tests.planner.dicom_factory import write_series


def test_scan_then_load_by_key(tmp_path):
    s = write_series(tmp_path, n=6)
    scan = scan_path(tmp_path)
    assert isinstance(scan, StudyScan) and scan.root == tmp_path
    assert scan.default_key == s.series_uid and scan.skipped_files == 0 and scan.bad_files == ()
    res = load_series(scan, scan.default_key)
    assert isinstance(res, LoadResult) and res.scan is scan and res.series.key == s.series_uid
    assert res.volume.hu.dtype == np.int16 and not res.volume.hu.flags.writeable


def test_unknown_series_names_what_exists(tmp_path):
    s = write_series(tmp_path, n=3)
    with pytest.raises(SeriesNotFoundError, match=s.series_uid):
        load_path(tmp_path, series_uid="1.2.3.4")


def test_progress_reports_and_cancel_stops(tmp_path):
    write_series(tmp_path, n=10)
    seen: list[float] = []
    load_path(tmp_path, progress=Progress(lambda f, m: seen.append(f)))
    assert seen[-1] == 1.0 and len(seen) >= 4
    assert all(b >= a - 1e-9 for a, b in zip(seen, seen[1:], strict=False))

    calls = []

    def cancel_soon(fraction: float, message: str) -> None:
        calls.append(message)
        if len(calls) == 3:
            prog.cancel()

    prog = Progress(cancel_soon)
    with pytest.raises(Cancelled):
        load_path(tmp_path, progress=prog)


def test_cancel_during_parallel_decoding(tmp_path):
    from pydicom.uid import JPEG2000Lossless

    # enough images for the worker pool (PARALLEL_MIN_IMAGES)
    write_series(tmp_path, n=50, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    prog = Progress(lambda f, m: prog.cancel() if "Decoding" in m else None)
    with pytest.raises(Cancelled):
        load_path(tmp_path, progress=prog)


def test_patient_info_is_filled_but_not_logged(tmp_path, caplog):
    write_series(tmp_path, n=3)
    with caplog.at_level(logging.DEBUG):
        res = load_path(tmp_path)
    assert res.volume.patient.patient_name == "Synthetic^Phantom"
    assert res.volume.patient.patient_id == "SYN-0001"
    assert "Synthetic" not in caplog.text and "SYN-0001" not in caplog.text
    assert "Synthetic" not in repr(res.volume.summary_json())


def test_nifti_scans_and_loads_as_one_series(tmp_path):
    write_series(tmp_path / "dcm", n=5)
    vol = load_path(tmp_path / "dcm").volume
    out = tmp_path / "ct.nii.gz"
    save_ct_nifti(vol, out)
    scan = scan_path(out)
    assert scan.kind == "nifti" and len(scan.series) == 1 and scan.default_key
    assert scan.series[0].n_images == 5
    back = load_path(out).volume
    np.testing.assert_array_equal(back.hu, vol.hu)
    np.testing.assert_allclose(back.ijk_to_lps, vol.ijk_to_lps, atol=1e-4)
