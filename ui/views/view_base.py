"""What every VTK view in the window shares: overlay adapters and coalesced rendering.

Every change asks for a render; one render happens when control returns to the event loop
(render on change, never on a polling timer). Subclasses set ``vtk``, ``context`` and
``closed`` and may override :meth:`_before_render`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QWidget

from ui.render.adapters import OverlayAdapter, ViewContext

#: A view that only follows the crosshair of another view redraws at most this often while the
#: user scrolls there, so each wheel step costs one render, not three.
FOLLOWER_RENDER_MS = 60


class RenderedView(QFrame):
    """A QFrame holding one VTK render window, with overlay adapters and coalesced renders."""

    vtk: Any
    context: ViewContext
    closed: bool

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.closed = False
        self._adapters: list[OverlayAdapter] = []
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.render_now)
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(FOLLOWER_RENDER_MS)
        self._follow_timer.timeout.connect(self.render_now)

    def add_adapter(self, adapter: OverlayAdapter) -> None:
        self._adapters.append(adapter)
        adapter.attach(self.context)
        self.request_render()

    def remove_adapter(self, adapter: OverlayAdapter) -> None:
        if adapter in self._adapters:
            self._adapters.remove(adapter)
            adapter.remove()
            self.request_render()

    def render_window(self):  # type: ignore[no-untyped-def]
        return self.vtk.GetRenderWindow()

    def request_render(self, follower: bool = False) -> None:
        """Schedule one render for when control returns to the event loop.

        ``follower``: the change comes from another view (e.g. its crosshair moved); render
        within ``FOLLOWER_RENDER_MS`` instead, coalescing a fast run of such changes.
        """
        if self.closed or not self.isVisible() or self._render_timer.isActive():
            return
        if not follower:
            self._render_timer.start()
        elif not self._follow_timer.isActive():
            self._follow_timer.start()

    def render_now(self) -> None:
        self._stop_render_timers()
        if not self.closed and self.isVisible():
            self._before_render()
            self.vtk.GetRenderWindow().Render()

    def _stop_render_timers(self) -> None:
        self._render_timer.stop()
        self._follow_timer.stop()

    def _before_render(self) -> None:
        """Hook run just before each render."""
