"""Where file dialogs start: the open study's folder when it can be written to, else the
user's Documents folder (never the program's working directory)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths


def documents_folder() -> Path:
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    p = Path(loc) if loc else Path.home()
    return p if p.is_dir() else Path.home()


def start_folder(doc: Any = None) -> Path:
    """The study's folder (``doc.source_path``) if writable, else Documents."""
    src = str(getattr(doc, "source_path", "") or "")
    if src:
        p = Path(src)
        folder = p if p.is_dir() else p.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return documents_folder()


def start_path(doc: Any, filename: str) -> str:
    """``filename`` in :func:`start_folder` (a file dialog's initial selection)."""
    return str(start_folder(doc) / filename)
