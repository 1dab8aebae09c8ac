"""Decoder worker processes for compressed series (see :func:`planner.dicom.pixels.decode_into`).

Workers are forked from a single-threaded caller (the command line), else started from a fork
server (the GUI is never forked). Each takes a chunk of files and returns one int16 block.
"""

from __future__ import annotations

import atexit
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from planner.dicom.headers import FrameHeader
from planner.dicom.pixels import _decode_chunk
from planner.errors import Cancelled
from planner.progress import Progress, report

if TYPE_CHECKING:  # imported when a pool is started: keeps start-up light for native series
    from concurrent.futures import ProcessPoolExecutor

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0


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
        ctx.set_forkserver_preload(["planner.dicom.pixels"])
    return ctx


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL, _POOL_WORKERS
    if _POOL is None or _POOL_WORKERS != workers:
        from concurrent.futures import ProcessPoolExecutor

        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=_start_context())
        _POOL_WORKERS = workers
    return _POOL


@atexit.register
def shutdown_workers() -> None:
    """Stop the decoder worker processes (also called at interpreter exit)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL = None


def decode_parallel(
    out: NDArray[np.int16],
    frames: Sequence[FrameHeader],
    index: Sequence[int],
    pad_fill: int,
    workers: int,
    progress: Progress | None,
) -> tuple[list[tuple[int, str]], int, int]:
    """Worker processes take chunks from the front while this process takes them from the
    back (a chunk not yet started by a worker is cancelled and decoded here), so every core
    decodes from the start and the workers' start-up time is never waited for."""
    chunk = max(1, min(16, math.ceil(len(index) / ((workers + 1) * 4))))
    pool = _pool(workers)
    chunks = [list(index[s : s + chunk]) for s in range(0, len(index), chunk)]
    futures = [pool.submit(_decode_chunk, [frames[k] for k in ks], pad_fill) for ks in chunks]
    failures: list[tuple[int, str]] = []
    clipped = padded = done = 0

    def account(ks: list[int], fails: list[tuple[int, str]], c: int, p: int) -> None:
        nonlocal clipped, padded, done
        failures.extend((ks[i], msg) for i, msg in fails)
        clipped, padded, done = clipped + c, padded + p, done + len(ks)
        report(progress, done / len(index), f"Decoding images {done}/{len(index)}")

    try:
        for n in range(len(chunks) - 1, -1, -1):
            if futures[n].cancel():  # not started by a worker: decode it here
                ks = chunks[n]
                block, fails, c, p = _decode_chunk([frames[k] for k in ks], pad_fill)
                out[ks] = block
                account(ks, fails, c, p)
        for n, fut in enumerate(futures):
            if fut.cancelled():
                continue
            block, fails, c, p = fut.result()
            out[chunks[n]] = block
            futures[n] = None  # type: ignore[call-overload]  # free the block once copied
            account(chunks[n], fails, c, p)
    except Cancelled:
        for fut in futures:
            if fut is not None:
                fut.cancel()
        raise
    return failures, clipped, padded


def running() -> bool:
    """Whether decoder workers are already running (they cost nothing more to use)."""
    return _POOL is not None
