"""The demo case, built in the background from the moment the program starts.

``python main.py`` with no argument opens the demo. Building it (about 1.5 s of numpy work)
does not need the window, so :func:`start` begins it before Qt, VTK and the window are imported
and built; :func:`take` hands the volume to File → Open demo case (waiting if it has not
finished). Without :func:`start` nothing changes: the demo is built when it is opened.

On Linux, while the program has one thread, the demo is built in a forked process: it runs on
the other core without competing for the interpreter lock with the window being built, and
the volume comes back pickled through a pipe (42 MB, ~70 ms). Elsewhere, or once other threads
exist (a fork would copy their locks), a daemon thread builds it.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any

_lock = threading.Lock()
_thread: threading.Thread | None = None
_process: Any = None  # (multiprocessing.Process, receiving Connection) while building
_result: dict[str, Any] = {}


def _build_in_child(conn: Any) -> None:
    try:
        from planner.demo import generate_demo

        conn.send(("volume", generate_demo().volume))
    except BaseException as exc:  # the opener reports it like any failure
        try:
            conn.send(("error", exc))
        except Exception:  # an exception that does not pickle
            conn.send(("error", RuntimeError(f"building the demo failed: {exc}")))
    finally:
        conn.close()


def _can_fork() -> bool:
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods())


def _build() -> None:
    try:
        from planner.demo import generate_demo

        _result["volume"] = generate_demo().volume
    except BaseException as exc:  # handed to the opener, which reports it like any failure
        _result["error"] = exc


def start(process: bool | None = None) -> None:
    """Begin building the demo volume (once): in a forked process where that is safe (see the
    module notes; ``process`` forces the choice), else in a daemon thread."""
    global _thread, _process
    with _lock:
        if _thread is not None or _process is not None:
            return
        if _can_fork() if process is None else process:
            ctx = multiprocessing.get_context("fork")
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_build_in_child, args=(send,), name="demo-prefetch",
                               daemon=True)
            proc.start()
            send.close()
            _process = (proc, receive)
            return
        _thread = threading.Thread(target=_build, name="demo-prefetch", daemon=True)
        _thread.start()


def _take_from_process(proc: Any, receive: Any) -> Any:
    try:
        kind, value = receive.recv()
    except EOFError:  # the child died without sending (killed, out of memory)
        kind, value = "error", RuntimeError("the demo builder stopped before it finished")
    finally:
        receive.close()
        proc.join()
    if kind == "error":
        raise value
    return value


def take() -> Any | None:
    """The prefetched demo volume (waits for the thread), or None if none was started or it
    was already taken. A failure in the thread is raised here."""
    global _thread, _process
    with _lock:
        thread, _thread = _thread, None
        process, _process = _process, None
    if process is not None:
        return _take_from_process(*process)
    if thread is None:
        return None
    thread.join()
    error, volume = _result.pop("error", None), _result.pop("volume", None)
    if error is not None:
        raise error
    return volume
