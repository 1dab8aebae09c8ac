"""Shared view settings of the four views: cursor, window/level, active tool, hover readout.

Not document data and not undoable (DESIGN.md §3): the linked crosshair and the display window
are how the study is looked at, not what was decided about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PySide6.QtCore import QObject, Signal

PRESETS_PATH = Path(__file__).resolve().parents[2] / "resources" / "ui" / "window_presets.json"
TOOLS = ("navigate", "window_level", "distance", "angle")


@dataclass(frozen=True, slots=True)
class WindowPreset:
    key: str
    name: str
    width: float
    level: float
    shortcut: str


def load_window_presets() -> tuple[WindowPreset, ...]:
    data = json.loads(PRESETS_PATH.read_text(encoding="utf-8"))
    return tuple(WindowPreset(**p) for p in data["presets"])


class ViewState(QObject):
    """Signals: cursor_changed(lps), window_level_changed(width, level), tool_changed(name),
    hover_changed(view, lps or None), active_view_changed(name)."""

    cursor_changed = Signal(object)
    window_level_changed = Signal(float, float)
    tool_changed = Signal(str)
    hover_changed = Signal(str, object)
    active_view_changed = Signal(str)

    MIN_WIDTH = 1.0

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cursor = np.zeros(3)
        self.window = 1800.0
        self.level = 400.0
        self.tool = "navigate"
        self.active_view = "axial"

    @property
    def cursor_lps(self) -> NDArray[np.float64]:
        return self._cursor.copy()

    def set_cursor(self, lps: ArrayLike) -> None:
        p = np.asarray(lps, dtype=np.float64).reshape(3)
        if np.array_equal(p, self._cursor):
            return
        self._cursor = p.copy()
        self.cursor_changed.emit(p.copy())

    def set_window_level(self, width: float, level: float) -> None:
        width = max(float(width), self.MIN_WIDTH)
        level = float(level)
        if (width, level) == (self.window, self.level):
            return
        self.window, self.level = width, level
        self.window_level_changed.emit(width, level)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)

    def set_active_view(self, name: str) -> None:
        if name != self.active_view:
            self.active_view = name
            self.active_view_changed.emit(name)
