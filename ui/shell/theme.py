"""Dark theme: Fusion style, a dark palette and the stylesheet in resources/ui/dark.qss."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLE_PATH = Path(__file__).resolve().parents[2] / "resources" / "ui" / "dark.qss"


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1e2126",
        QPalette.ColorRole.WindowText: "#d3d7de",
        QPalette.ColorRole.Base: "#1a1d21",
        QPalette.ColorRole.AlternateBase: "#23272e",
        QPalette.ColorRole.ToolTipBase: "#2b3038",
        QPalette.ColorRole.ToolTipText: "#e0e3e8",
        QPalette.ColorRole.Text: "#d3d7de",
        QPalette.ColorRole.Button: "#2f353e",
        QPalette.ColorRole.ButtonText: "#d3d7de",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#34506b",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6fa3d6",
        QPalette.ColorRole.PlaceholderText: "#7b838e",
    }
    for role, hexcode in colours.items():
        pal.setColor(role, QColor(hexcode))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b727c"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b727c"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6b727c"))
    app.setPalette(pal)
    if STYLE_PATH.is_file():
        app.setStyleSheet(STYLE_PATH.read_text(encoding="utf-8"))
