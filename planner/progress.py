"""Progress reporting and cancellation for long operations (scan, load, segment, simulate).

Long functions accept ``progress: Progress | None``. They call ``progress.update(fraction, text)``
now and then; ``update`` raises :class:`planner.errors.Cancelled` once ``cancel()`` was called
(from any thread), so cancellation needs no extra checks in the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from planner.errors import Cancelled

ProgressCallback = Callable[[float, str], None]


class Progress:
    """Thread-safe progress sink with cooperative cancellation.

    Parameters
    ----------
    callback
        Called with ``(fraction in [0, 1], message)``; may be None.
    """

    def __init__(self, callback: ProgressCallback | None = None) -> None:
        self._callback = callback
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._cancel.is_set():
            raise Cancelled()

    def update(self, fraction: float, message: str = "") -> None:
        self.check()
        if self._callback is not None:
            self._callback(min(max(float(fraction), 0.0), 1.0), message)

    def sub(self, start: float, stop: float) -> Progress:
        """A child progress mapping [0, 1] onto [start, stop] of this one, sharing cancellation."""
        parent = self

        def forward(fraction: float, message: str) -> None:
            parent.update(start + (stop - start) * fraction, message)

        child = Progress(forward)
        child._cancel = self._cancel
        return child


def report(progress: Progress | None, fraction: float, message: str = "") -> None:
    """Update ``progress`` if given (raises Cancelled when cancelled)."""
    if progress is not None:
        progress.update(fraction, message)
