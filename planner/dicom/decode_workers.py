"""Decoder worker processes for compressed series (see :func:`planner.dicom.pixels.decode_into`).

Workers are forked from a single-threaded caller (the command line), else started from a fork
server (the GUI is never forked). They share with this process a lock and a few counters
(created with the pool, so they reach forked and fork-server workers alike) and, per load, one
memory-backed file (``/dev/shm`` where it exists) that holds the output images and a small
table of what each image cost (done flag, clipped and padding pixels).

Work is claimed one image at a time under the lock: the workers from the front of the list,
this process from the back, until the two meet. Every core decodes from the moment it is
ready and all finish within one image of each other. (Chunks handed out through the pool's
queue left the last worker with up to two queued chunks, 32 images or 0.44 s, after this
process had run out of work.) When :func:`new_output` made the output array itself, it is a
mapping of that file: the workers write straight into the final volume and nothing is copied.
"""

from __future__ import annotations

import atexit
import logging
import mmap
import os
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from planner.dicom.headers import FrameHeader
from planner.dicom.pixels import decode_one, decode_serial
from planner.errors import Cancelled
from planner.progress import Progress, report

if TYPE_CHECKING:  # imported when a pool is started: keeps start-up light for native series
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_LOCK: Any = None
#: shared int64 counters: [generation, front, back, current position of worker slot 0, ...]
_STATE: Any = None
_GEN, _FRONT, _BACK, _CURRENT = 0, 1, 2, 3
#: per claimable position: done (1 once decoded without error), clipped, padding pixels
_TABLE_COLS = 3
#: how long this process waits for the shared lock before taking the workers for dead
_LOCK_TIMEOUT_S = 10.0

#: FrameHeader fields sent to workers (patient data stays here: workers never need it)
_FIELDS = tuple(f.name for f in fields(FrameHeader) if f.name != "patient")


def cpu_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, n)


def can_fork() -> bool:
    """Whether decoder workers would be forked from this process (one thread, fork exists)."""
    import multiprocessing as mp
    import threading

    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


def _start_context() -> Any:
    """How decoder workers start: forked from this process while it runs one thread only (the
    command line: a worker is ready in milliseconds with the decoders already imported), else
    from a fork server, never forking a multi-threaded parent such as the GUI."""
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    if can_fork():
        try:  # imported before the fork: every worker has it
            import _openjpeg  # noqa: F401
        except ImportError:
            pass
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["planner.dicom.decode_workers"])
    return ctx


def _init_worker(lock: Any, state: Any) -> None:
    """Worker start: keep the shared lock and counters."""
    global _LOCK, _STATE
    _LOCK, _STATE = lock, state


def _pool(workers: int) -> tuple[ProcessPoolExecutor, Any, Any]:
    """(pool, shared lock, shared counters), started on first use and kept."""
    global _POOL, _POOL_WORKERS, _LOCK, _STATE
    if _POOL is None or _POOL_WORKERS != workers:
        from concurrent.futures import ProcessPoolExecutor

        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        ctx = _start_context()
        _LOCK, _STATE = ctx.Lock(), ctx.RawArray("q", _CURRENT + workers)
        _POOL = ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(_LOCK, _STATE)
        )
        _POOL_WORKERS = workers
    return _POOL, _LOCK, _STATE


@atexit.register
def shutdown_workers() -> None:
    """Stop the decoder worker processes (also called at interpreter exit)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL = None


def running() -> bool:
    """Whether decoder workers are already running (they cost nothing more to use)."""
    return _POOL is not None


def _shared_dir() -> str:
    """A memory-backed folder for the shared file where there is one, else the temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


@dataclass(frozen=True)
class _Layout:
    """Where things are in a shared file: ``slots`` images, then (page-aligned) the table."""

    slots: int
    rows: int
    columns: int

    @property
    def image_bytes(self) -> int:
        return self.slots * self.rows * self.columns * 2

    @property
    def table_offset(self) -> int:
        return -(-self.image_bytes // mmap.PAGESIZE) * mmap.PAGESIZE

    @property
    def size(self) -> int:
        return self.table_offset + self.slots * _TABLE_COLS * 8

    def views(self, buf: Any) -> tuple[NDArray[np.int16], NDArray[np.int64]]:
        """(images, per-position table) on a mapping of the file."""
        images = np.frombuffer(buf, np.int16, self.slots * self.rows * self.columns)
        table = np.frombuffer(buf, np.int64, self.slots * _TABLE_COLS, self.table_offset)
        return (images.reshape(self.slots, self.rows, self.columns),
                table.reshape(self.slots, _TABLE_COLS))


class SharedFile:
    """A memory-backed file mapped here: images, then the per-position table.

    The file is unlinked by :meth:`release`; the mapping lives as long as any array on it.
    """

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        fd, self.path = tempfile.mkstemp(prefix="planner-decode-", suffix=".raw", dir=_shared_dir())
        try:
            os.ftruncate(fd, layout.size)  # sparse: pages only where written
            self.map = mmap.mmap(fd, layout.size)
        except BaseException:
            os.close(fd)
            os.unlink(self.path)
            raise
        os.close(fd)
        self.released = False

    def images(self) -> NDArray[np.int16]:
        return self.layout.views(self.map)[0]

    def table(self) -> NDArray[np.int64]:
        return self.layout.views(self.map)[1]

    def release(self) -> None:
        """Remove the file (a worker still writing after a cancel keeps its own mapping)."""
        if not self.released:
            self.released = True
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


#: output arrays made by :func:`new_output`, by their mapping: workers can write into them
_OUTPUTS: weakref.WeakKeyDictionary[mmap.mmap, SharedFile] = weakref.WeakKeyDictionary()


def new_output(shape: tuple[int, int, int]) -> tuple[NDArray[np.int16], SharedFile]:
    """An int16 array that worker processes can decode into directly (no copy back), and its
    file: call ``release()`` once decoding is over (the array stays valid)."""
    shared = SharedFile(_Layout(*shape))
    _OUTPUTS[shared.map] = shared
    return shared.images(), shared


def _mapping_of(arr: NDArray[Any]) -> object:
    """The object whose memory ``arr`` shows (an mmap for :func:`new_output`'s arrays)."""
    base: object = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def _shared_of(out: NDArray[np.int16]) -> SharedFile | None:
    base = _mapping_of(out)
    shared = _OUTPUTS.get(base) if isinstance(base, mmap.mmap) else None
    if shared is None or shared.released or not out.flags.c_contiguous:
        return None
    lay = shared.layout
    return shared if out.shape == (lay.slots, lay.rows, lay.columns) else None


def _claim(lock: Any, state: Any, gen: int, slot: int) -> int:
    """The next position to decode, or -1 when none is left: a worker (``slot`` >= 0) takes
    it from the front and records it as its current image, this process (-1) from the back."""
    if not lock.acquire(timeout=_LOCK_TIMEOUT_S):
        raise _LockLost()
    try:
        if state[_GEN] != gen or state[_FRONT] >= state[_BACK]:
            return -1
        if slot < 0:
            state[_BACK] -= 1
            return int(state[_BACK])
        pos = int(state[_FRONT])
        state[_FRONT] = pos + 1
        state[_CURRENT + slot] = pos
        return pos
    finally:
        lock.release()


class _LockLost(Exception):
    """The shared lock stayed taken: a worker died holding it."""


def _decode_claimed(
    gen: int,
    slot: int,
    headers: list[tuple[Any, ...]],
    slots: list[int],
    pad_fill: int,
    path: str,
    layout: _Layout,
) -> list[tuple[int, str]]:
    """Worker: claim positions from the front and decode each into its slot of the shared
    file; returns the failures (position, reason). Counts go into the file's table."""
    lock, state = _LOCK, _STATE
    if state[_GEN] != gen:
        return []  # queued behind a cancelled load
    fd = os.open(path, os.O_RDWR)
    try:
        m = mmap.mmap(fd, layout.size)
    finally:
        os.close(fd)
    images, table = layout.views(m)
    failures: list[tuple[int, str]] = []
    try:
        while (pos := _claim(lock, state, gen, slot)) >= 0:
            try:
                h = FrameHeader(**dict(zip(_FIELDS, headers[pos], strict=True)))
                table[pos, 1:] = decode_one(h, images[slots[pos]], pad_fill)
                table[pos, 0] = 1
            except Exception as exc:  # a damaged image: reported by name, never a crash
                failures.append((pos, f"{type(exc).__name__}: {exc}"))
            state[_CURRENT + slot] = -1
    finally:
        del images, table
        m.close()
    return failures


def decode_parallel(
    out: NDArray[np.int16],
    frames: Sequence[FrameHeader],
    index: Sequence[int],
    pad_fill: int,
    workers: int,
    progress: Progress | None,
    here: bool = True,
) -> tuple[list[tuple[int, str]], int, int]:
    """Decode ``frames[k]`` into ``out[k]`` for ``k`` in ``index`` here and in ``workers``
    worker processes: (failures by frame index, clipped, padded pixels).

    With ``here`` False only the workers decode, and a worker that dies raises
    ``BrokenProcessPool`` (used to try a suspect image alone).

    A worker process that dies (a decoder crash) costs only the image it was decoding: that
    image is decoded again, alone, in a new worker; if that one dies too the image is reported
    as a failure naming its file, and the images nobody finished are decoded in a new round.
    """
    shared = _shared_of(out)
    own = shared is None
    if shared is None:  # workers write into a file of their own; copied here at the end
        shared = SharedFile(_Layout(len(index), out.shape[1], out.shape[2]))
        slots = list(range(len(index)))
    else:
        slots = list(index)
    try:
        return _run(out, shared, slots, own, frames, index, pad_fill, workers, progress, here)
    finally:
        if own:
            shared.release()


def _run(
    out: NDArray[np.int16],
    shared: SharedFile,
    slots: list[int],
    own: bool,
    frames: Sequence[FrameHeader],
    index: Sequence[int],
    pad_fill: int,
    workers: int,
    progress: Progress | None,
    here: bool,
) -> tuple[list[tuple[int, str]], int, int]:
    from concurrent.futures.process import BrokenProcessPool

    table = shared.table()
    n = len(index)
    table[:n] = 0
    pool, lock, state = _pool(workers)
    headers = [tuple(getattr(frames[k], f) for f in _FIELDS) for k in index]
    with lock:
        gen = int(state[_GEN]) + 1
        state[_GEN], state[_FRONT], state[_BACK] = gen, 0, n
        for s in range(workers):
            state[_CURRENT + s] = -1
    futures = [
        pool.submit(
            _decode_claimed, gen, s, headers, slots, pad_fill, shared.path, shared.layout
        )
        for s in range(workers)
    ]
    failures: list[tuple[int, str]] = []
    mine: list[int] = []
    clipped = padded = 0
    broken = False
    try:
        while True:
            try:
                pos = _claim(lock, state, gen, -1) if here else -1
            except _LockLost:
                broken = True
                break
            if pos < 0:
                break
            k = index[pos]
            try:
                c, p = decode_one(frames[k], out[k], pad_fill)
                clipped, padded = clipped + c, padded + p
            except Exception as exc:  # a damaged image: reported by name, never a crash
                failures.append((k, f"{type(exc).__name__}: {exc}"))
            mine.append(pos)
            done = len(mine) + int(state[_FRONT])
            report(progress, min(done, n) / n, f"Decoding images {min(done, n)}/{n}")
        for fut in futures:
            try:
                failures.extend((index[pos], msg) for pos, msg in fut.result())
            except BrokenProcessPool:
                broken = True
    except Cancelled:
        with lock:
            state[_GEN] = gen + 1  # workers stop after their current image
        for fut in futures:
            fut.cancel()
        raise
    if broken:
        crashed = [int(state[_CURRENT + s]) for s in range(workers)]
        with lock:  # whatever a worker still runs stops after its image
            state[_GEN] = gen + 1
        shutdown_workers()
        if not here:
            raise BrokenProcessPool("a decoder worker died")
        return _recover(
            out, shared, own, frames, index, pad_fill, workers, mine, crashed, progress
        )
    _, c, p = _take_finished(out, shared, own, index)
    return failures, clipped + c, padded + p


def _take_finished(
    out: NDArray[np.int16], shared: SharedFile, own: bool, index: Sequence[int]
) -> tuple[set[int], int, int]:
    """The positions the workers finished, copied into ``out`` when they decoded into a file
    of their own; with their clipped and padding pixel counts."""
    n = len(index)
    table = shared.table()
    done = table[:n, 0] == 1
    finished = {int(pos) for pos in np.flatnonzero(done)}
    if own and finished:
        theirs = sorted(finished)
        out[[index[pos] for pos in theirs]] = shared.images()[theirs]
    return finished, int(table[:n, 1][done].sum()), int(table[:n, 2][done].sum())


def _recover(
    out: NDArray[np.int16],
    shared: SharedFile,
    own: bool,
    frames: Sequence[FrameHeader],
    index: Sequence[int],
    pad_fill: int,
    workers: int,
    mine: list[int],
    crashed: list[int],
    progress: Progress | None,
) -> tuple[list[tuple[int, str]], int, int]:
    """After a worker died: keep what was finished, find the image that killed it, decode
    the rest again (never the suspect image in this process)."""
    from concurrent.futures.process import BrokenProcessPool

    n = len(index)
    suspects = sorted({pos for pos in crashed if pos >= 0})
    log.warning(
        "a decoder worker died; suspect image(s): %s", [frames[index[p]].path for p in suspects]
    )
    finished, clipped, padded = _take_finished(out, shared, own, index)
    failures: list[tuple[int, str]] = []
    # the suspects again, one at a time, each alone in a new worker: a crash names its file
    for pos in suspects:
        k = index[pos]
        try:
            f, c, p = decode_parallel(out, frames, [k], pad_fill, 1, None, here=False)
            failures, clipped, padded = failures + f, clipped + c, padded + p
        except BrokenProcessPool:
            shutdown_workers()
            failures.append((k, "the decoder crashed on this image (its process died)"))
    mine_set = set(mine)
    skip = finished | mine_set | set(suspects)
    rest = [index[pos] for pos in range(n) if pos not in skip]
    # images decoded here with an error were already reported; finished ones are in place
    if rest:
        if suspects:  # each round removes at least one suspect: this ends
            f, c, p = decode_parallel(out, frames, rest, pad_fill, workers, progress)
        else:  # no image in hand when it died: decode the rest here
            f, c, p = decode_serial(out, frames, rest, pad_fill, progress)
        failures, clipped, padded = failures + f, clipped + c, padded + p
    return failures, clipped, padded

