"""The error boundary of the UI (Slicer's ``tryWithErrorDisplay``).

Every action slot runs inside :func:`error_display` (or is decorated with :func:`guarded`):
a :class:`~planner.errors.PlannerError` becomes a dialog with its message, a
:class:`~planner.errors.Cancelled` a status-bar note, anything else is logged with its traceback
and shown with details. Tests replace :data:`message_sink` to capture dialogs.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from PySide6.QtWidgets import QMessageBox, QWidget

from planner.errors import Cancelled, PlannerError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def _show_message_box(
    parent: QWidget | None, level: str, title: str, text: str, details: str = ""
) -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical if level == "critical" else QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setDetailedText(details)
    box.exec()


# (parent, level 'warning'|'critical', title, text, details) -> None; tests replace it.
message_sink: Callable[[QWidget | None, str, str, str, str], None] = _show_message_box


def show_message(
    parent: QWidget | None, level: str, title: str, text: str, details: str = ""
) -> None:
    """Show a message box ('warning' or 'critical').

    Goes through :data:`message_sink` at call time, so a test that replaces the sink captures
    messages even from modules that imported this function by name.
    """
    message_sink(parent, level, title, text, details)


def report_exception(parent: QWidget | None, exc: BaseException, what: str = "") -> None:
    """Show ``exc`` the way the user should see it."""
    title = f"Could not {what}" if what else "Something went wrong"
    if isinstance(exc, Cancelled):
        log.info("%s: cancelled", what or "operation")
        return
    if isinstance(exc, PlannerError):
        log.warning("%s: %s", what or "operation", exc)
        show_message(parent, "warning", title, str(exc), "")
        return
    log.error("Unexpected error during %s", what or "an action", exc_info=exc)
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    show_message(
        parent,
        "critical",
        title,
        f"An unexpected error occurred: {type(exc).__name__}: {exc}\n\n"
        "The current study is unchanged. Please report this with the details below.",
        details,
    )


@contextmanager
def error_display(parent: QWidget | None, what: str = "") -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - this is the boundary
        report_exception(parent, exc, what)


def guarded(what: str) -> Callable[[F], F]:
    """Decorate a method slot of a QWidget so it runs inside :func:`error_display`."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            parent = self if isinstance(self, QWidget) else getattr(self, "parent_widget", None)
            with error_display(parent, what):
                return fn(self, *args, **kwargs)
            return None

        return wrapper  # type: ignore[return-value]

    return deco
