"""Application entry: ``run(argv) -> exit code`` (called by main.py).

``python main.py`` opens the demo case; ``python main.py PATH`` opens a DICOM folder, a DICOM
file or a NIfTI file.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.shell.theme import apply_dark_theme

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("Vertebral Augmentation Planner")
    app.setOrganizationName("VAPlanner")
    apply_dark_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def start(
    argv: list[str], settings: Any = None, size: tuple[int, int] | None = None
) -> tuple[QApplication, Any]:
    """Create the application and the main window, show it and schedule what ``argv`` opens.

    With no path the demo is built in the background from here on (before the window's
    modules are imported and its views built), so it is ready when the window asks for it.
    ``settings`` (a ``QSettings``) and ``size`` (px) are for tests and benchmarks.
    """
    paths = [a for a in argv if not a.startswith("-")]
    if not paths:
        from ui.document import demo_prefetch

        demo_prefetch.start()
    app = create_application([])
    from ui.shell.main_window import MainWindow

    win = MainWindow(settings)
    if size is not None:
        win.resize(*size)
        win.show()
    elif win.settings.geometry() is None:  # first start: use the whole screen for the views
        screen = app.primaryScreen()
        if screen is not None:
            win.setGeometry(screen.availableGeometry())
        win.showMaximized()
    else:
        win.show()
    if paths and paths[0].lower().endswith(".json"):
        QTimer.singleShot(0, lambda: win.trajectory.plan_io.open_at_startup(paths[0]))
    elif paths:
        QTimer.singleShot(0, lambda: win.open_path(paths[0]))
    else:
        QTimer.singleShot(0, win.open_demo)
    return app, win


def run(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app, _win = start(argv)
    code = app.exec()
    return int(code)
