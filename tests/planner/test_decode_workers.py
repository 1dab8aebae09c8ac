"""Parallel decoding of compressed series: images claimed one at a time by this process and
the worker processes, written straight into the output volume; crashes, cancel, fork server."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import JPEG2000Lossless

from planner.dicom import decode_workers
from planner.dicom.pixels import decode_into, decode_volume
from planner.dicom.scan import scan_headers
from planner.errors import Cancelled
from planner.loading import load_path
from planner.progress import Progress
from tests.planner.dicom_factory import write_series


def _frames(folder: Path, n: int) -> list:
    write_series(folder, n=n, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    return sorted(scan_headers(folder).frames, key=lambda h: h.position[2])


def _serial(frames: list) -> np.ndarray:
    out = np.empty((len(frames), 32, 32), np.int16)
    assert decode_into(out, frames, workers=1).failures == ()
    return out


def _leftovers() -> set[Path]:
    return set(Path(decode_workers._shared_dir()).glob("planner-decode-*"))


@pytest.fixture
def forked():
    """Workers forked from this process (they inherit monkeypatches); fresh pool each time."""
    decode_workers.shutdown_workers()
    if threading.active_count() != 1 or not decode_workers.can_fork():
        pytest.skip("needs a single-threaded test process on a system with fork")
    yield
    decode_workers.shutdown_workers()


def test_volume_decoded_in_place_by_workers_equals_serial_decoding(tmp_path, forked):
    frames = _frames(tmp_path, 30)
    before = _leftovers()
    vol, stats = decode_volume(frames, workers=2, min_parallel=2)
    assert stats.failures == ()
    np.testing.assert_array_equal(vol, _serial(frames))
    assert decode_workers.running()
    assert _leftovers() == before  # the shared file is gone, the array stays valid
    vol[0, 0, 0] += 1  # and writable
    # the workers wrote into the array itself: its memory is the shared mapping
    assert decode_workers._mapping_of(vol) in decode_workers._OUTPUTS


def test_both_sides_decode_and_meet(tmp_path, forked, monkeypatch):
    """This process takes images from the back while the worker takes them from the front;
    every image is decoded exactly once."""
    frames = _frames(tmp_path, 16)
    parent = os.getpid()
    real = decode_workers.decode_one
    seen = tmp_path / "seen.txt"

    def slow(h, out, pad_fill):
        with seen.open("a") as f:
            f.write(f"{os.getpid()} {h.path}\n")
        time.sleep(0.02)  # both sides get a share even on a loaded machine
        return real(h, out, pad_fill)

    monkeypatch.setattr(decode_workers, "decode_one", slow)
    vol, stats = decode_volume(frames, workers=2, min_parallel=2)
    assert stats.failures == ()
    np.testing.assert_array_equal(vol, _serial(frames))
    rows = [line.split() for line in seen.read_text().splitlines()]
    assert sorted(p for _, p in rows) == sorted(h.path for h in frames)  # each once
    here = [p for pid, p in rows if int(pid) == parent]
    there = [p for pid, p in rows if int(pid) != parent]
    assert here and there
    order = [h.path for h in frames]
    assert max(order.index(p) for p in there) < min(order.index(p) for p in here)


def _crash_in_worker(monkeypatch, tmp_path, victim: str, times: int) -> None:
    """Make decoding ``victim`` kill the worker process ``times`` times; this process waits
    until a worker has claimed the first image so that the victim (first) is a worker's."""
    parent = os.getpid()
    real = decode_workers.decode_one
    count = tmp_path / "crashes"

    def patched(h, out, pad_fill):
        if os.getpid() != parent and h.path == victim:
            n = len(count.read_text()) if count.exists() else 0
            if n < times:
                count.write_text("x" * (n + 1))
                os.kill(os.getpid(), signal.SIGKILL)  # as a crash in the decoder would
        if os.getpid() == parent:
            deadline = time.monotonic() + 20
            while decode_workers._STATE[decode_workers._FRONT] < 1 and time.monotonic() < deadline:
                time.sleep(0.005)
        return real(h, out, pad_fill)

    monkeypatch.setattr(decode_workers, "decode_one", patched)


def test_worker_crash_names_the_file_and_keeps_the_other_images(tmp_path, forked, monkeypatch):
    frames = _frames(tmp_path, 20)
    want = _serial(frames)
    victim = frames[0].path
    _crash_in_worker(monkeypatch, tmp_path, victim, times=99)
    before = _leftovers()
    vol, stats = decode_volume(frames, workers=2, min_parallel=2)
    assert [k for k, _ in stats.failures] == [0], stats.failures
    assert "crashed" in stats.failures[0][1]
    assert (tmp_path / "crashes").read_text() == "xx"  # the worker died, and its retry too
    np.testing.assert_array_equal(vol[1:], want[1:])
    assert _leftovers() == before


def test_worker_crash_through_the_loader_is_a_warning_naming_the_file(
    tmp_path, forked, monkeypatch
):
    frames = _frames(tmp_path, 20)
    victim = frames[0].path
    _crash_in_worker(monkeypatch, tmp_path, victim, times=99)
    monkeypatch.setattr(decode_workers, "cpu_workers", lambda: 2)
    res = load_path(tmp_path)
    warned = [w for w in res.warnings if w.code == "corrupt_images"]
    assert warned and Path(victim).name in warned[0].message, res.warnings
    assert "crashed" in warned[0].message
    assert res.volume.shape_kji[0] == 19


def test_a_worker_that_dies_once_costs_nothing(tmp_path, forked, monkeypatch):
    """The suspect image is decoded again alone in a new worker; when that works, the volume
    is complete and identical."""
    frames = _frames(tmp_path, 20)
    want = _serial(frames)
    _crash_in_worker(monkeypatch, tmp_path, frames[0].path, times=1)
    vol, stats = decode_volume(frames, workers=2, min_parallel=2)
    assert stats.failures == ()
    assert (tmp_path / "crashes").read_text() == "x"  # a worker did die
    np.testing.assert_array_equal(vol, want)


def test_input_array_path_copies_worker_images(tmp_path, forked):
    """decode_into with the caller's own array: worker images come through the shared file."""
    frames = _frames(tmp_path, 24)
    out = np.full((24, 32, 32), 12345, np.int16)
    assert decode_into(out, frames, workers=2, min_parallel=2).failures == ()
    np.testing.assert_array_equal(out, _serial(frames))


def test_cancel_stops_and_the_next_load_is_whole(tmp_path, monkeypatch):
    """Cancelled mid-way: Cancelled is raised, no file is left, and the next load (same worker
    pool, whose stale tasks must do nothing) is complete and identical."""
    frames = _frames(tmp_path, 40)
    want = _serial(frames)
    monkeypatch.setattr(decode_workers, "cpu_workers", lambda: 2)
    before = _leftovers()
    calls: list[str] = []

    def cancel_soon(fraction: float, message: str) -> None:
        calls.append(message)
        if sum("Decoding" in m for m in calls) == 2:
            prog.cancel()

    prog = Progress(cancel_soon)
    with pytest.raises(Cancelled):
        decode_volume(frames, progress=prog, min_parallel=2)
    assert _leftovers() == before
    vol, stats = decode_volume(frames, min_parallel=2)
    assert stats.failures == ()
    np.testing.assert_array_equal(vol, want)
    res = load_path(tmp_path)
    np.testing.assert_array_equal(res.volume.hu, want)
    decode_workers.shutdown_workers()


def test_fork_server_workers_decode_identically(tmp_path):
    """A process with other threads (the workstation) never forks: its workers come from a
    fork server and share the lock and counters all the same."""
    frames = _frames(tmp_path, 24)
    want = _serial(frames)
    decode_workers.shutdown_workers()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not decode_workers.can_fork()
        vol, stats = decode_volume(frames, workers=2, min_parallel=2)
        assert decode_workers._POOL is not None
        assert decode_workers._POOL._mp_context.get_start_method() in ("forkserver", "spawn")
    finally:
        release.set()
        other.join()
        decode_workers.shutdown_workers()
    assert stats.failures == ()
    np.testing.assert_array_equal(vol, want)
