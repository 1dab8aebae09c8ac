"""Pixel decoding: every writable transfer syntax, rescale, signedness, MONOCHROME1, padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.dicom.pixels import decode_into
from planner.dicom.scan import scan_headers
from planner.loading import load_path
from tests.planner.dicom_factory import WRITABLE_SYNTAXES, expected_volume, write_series


def _exact(vol) -> None:
    np.testing.assert_array_equal(vol.hu, np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji)))


@pytest.mark.parametrize("ts", WRITABLE_SYNTAXES, ids=lambda u: u.name)
def test_each_transfer_syntax_decodes_exactly(tmp_path, ts):
    write_series(tmp_path, n=8, rows=32, cols=32, transfer_syntax=ts, signed=True, intercept=0)
    vol = load_path(tmp_path).volume
    assert vol.shape_kji == (8, 32, 32)
    _exact(vol)


def test_compressed_series_decodes_in_parallel_workers_identically(tmp_path):
    from pydicom.uid import JPEG2000Lossless

    write_series(tmp_path, n=14, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    hs = scan_headers(tmp_path)
    frames = sorted(hs.frames, key=lambda h: h.position[2])
    assert not any(h.is_native for h in frames)
    par = np.empty((14, 32, 32), np.int16)
    ser = np.empty((14, 32, 32), np.int16)
    stats = decode_into(par, frames, workers=3, min_parallel=2)  # two workers and this process
    decode_into(ser, frames, workers=1)
    assert stats.failures == ()
    np.testing.assert_array_equal(par, ser)
    assert par.min() < 0 < par.max()


def test_worker_chunks_pass_through_a_shared_file_that_is_removed(tmp_path):
    """Workers write their images into a shared file (not back through the pipe); a damaged
    image in a worker's chunk is reported at its own index; no file is left behind."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    from planner.dicom import decode_workers

    write_series(tmp_path, n=24, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    hs = scan_headers(tmp_path)
    frames = sorted(hs.frames, key=lambda h: h.position[2])
    broken = frames[1].path  # an early chunk: decoded by a worker, not by this process
    ds = pydicom.dcmread(broken)
    ds.PixelData = ds.PixelData[:40] + bytes(len(ds.PixelData) - 40)
    ds.save_as(broken)
    before = set(Path(decode_workers._shared_dir()).glob("planner-decode-*"))
    ser = np.empty((24, 32, 32), np.int16)
    par = np.empty((24, 32, 32), np.int16)
    decode_into(ser, frames, workers=1)
    stats = decode_into(par, frames, workers=2, min_parallel=2)
    assert [k for k, _ in stats.failures] == [1], stats.failures
    good = [k for k in range(24) if k != 1]
    np.testing.assert_array_equal(par[good], ser[good])
    assert set(Path(decode_workers._shared_dir()).glob("planner-decode-*")) == before


def test_workers_are_forked_only_from_a_single_threaded_process(tmp_path):
    import threading

    from pydicom.uid import JPEG2000Lossless

    from planner.dicom import decode_workers

    decode_workers.shutdown_workers()  # an earlier test's pool runs a manager thread
    if threading.active_count() != 1 or not decode_workers.can_fork():
        pytest.skip("needs a single-threaded test process on a system with fork")
    assert decode_workers._start_context().get_start_method() == "fork"
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:  # a GUI process has other threads: its workers come from a fork server
        assert not decode_workers.can_fork()
        assert decode_workers._start_context().get_start_method() in ("forkserver", "spawn")
    finally:
        release.set()
        other.join()
    # a short series uses forked workers by default (starting one costs milliseconds)
    decode_workers.shutdown_workers()
    write_series(tmp_path, n=10, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    frames = sorted(scan_headers(tmp_path).frames, key=lambda h: h.position[2])
    par = np.empty((10, 32, 32), np.int16)
    ser = np.empty((10, 32, 32), np.int16)
    decode_into(par, frames, workers=2)
    assert decode_workers.running()
    assert decode_workers._POOL._mp_context.get_start_method() == "fork"
    decode_workers.shutdown_workers()
    decode_into(ser, frames, workers=1)
    np.testing.assert_array_equal(par, ser)


@pytest.mark.parametrize(
    ("slope", "intercept", "signed"),
    [(1.0, -1024.0, False), (1.0, 0.0, True), (0.5, -1000.0, False), (2.0, -2048.0, False)],
)
def test_rescale_and_signedness(tmp_path, slope, intercept, signed):
    field = lambda p: 2.0 * np.rint((p @ np.array([6.0, -4.0, 3.0]) + 100.0) / 2.0)  # noqa: E731
    write_series(tmp_path, n=4, slope=slope, intercept=intercept, signed=signed, field=field)
    vol = load_path(tmp_path).volume
    k, j, i = np.indices(vol.shape_kji)
    lps = np.stack([i, j, k], -1) @ vol.ijk_to_lps[:3, :3].T + vol.ijk_to_lps[:3, 3]
    np.testing.assert_array_equal(vol.hu, np.rint(field(lps)))


def test_monochrome1_keeps_hounsfield_values(tmp_path):
    write_series(tmp_path, n=4, photometric="MONOCHROME1")
    _exact(load_path(tmp_path).volume)


def test_pixel_padding_becomes_air(tmp_path):
    write_series(tmp_path, n=4, signed=True, intercept=0, padding_value=-2000, pad_corner=True)
    vol = load_path(tmp_path).volume
    assert (vol.hu[:, :4, :4] == -1000).all()
    want = np.rint(expected_volume(vol.ijk_to_lps, vol.shape_kji))
    np.testing.assert_array_equal(vol.hu[:, 4:, 4:], want[:, 4:, 4:])


def test_bits_stored_masks_high_bits(tmp_path):
    import pydicom

    s = write_series(tmp_path, n=3, names="ordered")
    for p in s.paths:  # 12-bit data with garbage in the 4 unused high bits
        ds = pydicom.dcmread(p)
        arr = ds.pixel_array.astype(np.uint16) | np.uint16(0xF000)
        ds.BitsStored, ds.HighBit = 12, 11
        ds.PixelData = arr.tobytes()
        ds.save_as(p)
    _exact(load_path(tmp_path).volume)


@pytest.mark.parametrize("signed", [False, True])
def test_jpeg2000_direct_decoding_equals_pydicom(tmp_path, signed, monkeypatch):
    import openjpeg.utils
    from pydicom.uid import JPEG2000Lossless

    from planner.dicom.pixels import read_j2k_direct, read_with_pydicom

    def not_this_path(*a, **k):  # the extension module is called directly
        raise AssertionError("openjpeg.utils.decode called")

    monkeypatch.setattr(openjpeg.utils, "decode", not_this_path)

    write_series(
        tmp_path,
        n=3,
        rows=32,
        cols=32,
        transfer_syntax=JPEG2000Lossless,
        signed=signed,
        intercept=0 if signed else -1024,
    )
    for h in scan_headers(tmp_path).frames:
        direct = read_j2k_direct(h)
        assert direct is not None
        np.testing.assert_array_equal(direct, read_with_pydicom(h))
