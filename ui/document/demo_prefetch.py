"""The demo case, built in a background thread from the moment the program starts.

``python main.py`` with no argument opens the demo. Building it (about 1 s of numpy work) does
not need the window, so :func:`start` begins it before Qt, VTK and the window are imported and
built; :func:`take` hands the volume to File → Open demo case (waiting for the thread if it has
not finished). Without :func:`start` nothing changes: the demo is built when it is opened.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_thread: threading.Thread | None = None
_result: dict[str, Any] = {}


def _build() -> None:
    try:
        from planner.demo import generate_demo

        _result["volume"] = generate_demo().volume
    except BaseException as exc:  # handed to the opener, which reports it like any failure
        _result["error"] = exc


def start() -> None:
    """Begin building the demo volume in a daemon thread (once)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_build, name="demo-prefetch", daemon=True)
            _thread.start()


def take() -> Any | None:
    """The prefetched demo volume (waits for the thread), or None if none was started or it
    was already taken. A failure in the thread is raised here."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return None
    thread.join()
    error, volume = _result.pop("error", None), _result.pop("volume", None)
    if error is not None:
        raise error
    return volume
