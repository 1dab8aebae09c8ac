"""Persistent view settings (QSettings): recent studies, layout, window/level, geometry."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


class Settings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings("VAPlanner", "Workstation")

    def recent(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        items = [p for p in self.recent() if p != path]
        self.q.setValue("recent", [path, *items][:MAX_RECENT])

    def clear_recent(self) -> None:
        self.q.setValue("recent", [])

    def layout(self) -> str:
        return str(self.q.value("layout", "2x2"))

    def set_layout(self, name: str) -> None:
        self.q.setValue("layout", name)

    def window_level(self) -> tuple[float, float]:
        return float(self.q.value("window", 1800.0)), float(self.q.value("level", 400.0))

    def set_window_level(self, width: float, level: float) -> None:
        self.q.setValue("window", float(width))
        self.q.setValue("level", float(level))

    def geometry(self) -> QByteArray | None:
        g = self.q.value("geometry")
        return g if isinstance(g, QByteArray) else None

    def set_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("geometry", geometry)
        self.q.setValue("state", state)

    def state(self) -> QByteArray | None:
        s = self.q.value("state")
        return s if isinstance(s, QByteArray) else None

    def screen_compact(self) -> bool | None:
        """Whether the saved layout was made on a compact screen (None: not known)."""
        v = self.q.value("screen_compact")
        return None if v is None else str(v).lower() in ("true", "1")

    def set_screen_compact(self, compact: bool) -> None:
        self.q.setValue("screen_compact", bool(compact))

    def screenshot_size(self) -> str:
        """'screen', '2x' (default) or '1920' (see ui.shell.screenshot.SIZES)."""
        v = str(self.q.value("screenshot_size", "2x"))
        return v if v in ("screen", "2x", "1920") else "2x"

    def set_screenshot_size(self, size: str) -> None:
        self.q.setValue("screenshot_size", size)

    def sync(self) -> None:
        self.q.sync()
