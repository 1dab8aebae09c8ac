"""Fixtures for the workstation tests (pytest-qt; pytest-xvfb provides the X display).

``make_window`` creates main windows with throw-away settings, captures every error dialog and
load-warning note, and checks at teardown that the window closed cleanly: all views closed,
every render window it created finalized, no stray top-level windows left visible, and the Qt
object deleted.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is needed for the UI tests")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

#: What a Debian machine needs for the GUI tests (README, "Headless Linux").
GUI_PACKAGES = "apt-get install xvfb libgl1 libegl1 libxkbcommon-x11-0 libxcb-cursor0 libdbus-1-3"
_PROBE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication(sys.argv[:1])\n"
    "from vtkmodules.vtkRenderingCore import vtkRenderWindow\n"
    "import vtkmodules.vtkRenderingOpenGL2  # noqa: F401\n"
    "rw = vtkRenderWindow()\n"
    "rw.SetOffScreenRendering(1)\n"
    "rw.Render()\n"
    "print('ok')\n"
)


def _gui_unavailable() -> str | None:
    """Why Qt + VTK cannot start here (checked in a child process: a missing display or
    library makes Qt abort the process, which must not be the test run), or None."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return "Qt/VTK start-up probe timed out"
    if out.returncode == 0 and "ok" in out.stdout:
        return None
    lines = [ln for ln in (out.stderr or "").splitlines() if ln.strip()]
    why = lines[-1][:160] if lines else f"exit code {out.returncode}"
    return why


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    # probed here, after pytest-xvfb has started its display (pytest_configure)
    here = Path(__file__).parent
    if not any(here in Path(str(item.fspath)).parents for item in items):
        return
    problem = _gui_unavailable()
    if problem is None:
        return
    skip = pytest.mark.skip(
        reason=f"GUI tests need a display and Qt/OpenGL libraries ({problem}); "
        f"install them: {GUI_PACKAGES} (pytest-xvfb then starts Xvfb)"
    )
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)

from PySide6.QtCore import QEvent, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from planner.volume import CTVolume, PatientInfo  # noqa: E402


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Captured error dialogs, load-warning notes and series choices (no modal dialog blocks)."""
    import ui.document.study_open
    import ui.shell.errors
    import ui.shell.series_dialog

    seen: dict[str, list] = {"errors": [], "warnings": [], "series": [], "discard": []}
    monkeypatch.setattr(
        ui.shell.errors,
        "message_sink",
        lambda parent, level, title, text, details="": seen["errors"].append((level, text)),
    )
    monkeypatch.setattr(
        ui.document.study_open,
        "show_load_warnings",
        lambda parent, warnings: seen["warnings"].append(tuple(warnings)),
    )

    def choose(parent, scan):  # type: ignore[no-untyped-def]
        seen["series"].append(scan)
        return scan.default_key

    monkeypatch.setattr(ui.shell.series_dialog, "choose_series", choose)

    def discard(parent, doc):  # type: ignore[no-untyped-def]
        seen["discard"].append(doc.is_modified)
        return True

    monkeypatch.setattr(ui.document.study_open, "confirm_discard", discard)
    return seen


@pytest.fixture
def make_window(qtbot, tmp_path, dialogs) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    from shiboken6 import isValid

    from ui.shell.main_window import MainWindow
    from ui.views import vtk_widget

    created = []

    def factory(size: tuple[int, int] = (1280, 800), settings_name: str = ""):  # type: ignore[no-untyped-def]
        first_rw = len(vtk_widget.created_render_windows)
        name = settings_name or f"settings{len(created)}.ini"
        settings = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
        win = MainWindow(settings, allow_gpu=False)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        created.append((win, first_rw))
        return win

    yield factory

    for win, first_rw in created:
        win.doc.undo_stack.setClean()
        win.close()
        assert all(v.closed for v in win.views().values()), "a view was not closed"
        for rw in vtk_widget.created_render_windows[first_rw:]:
            assert not rw.GetMapped(), "a render window was not finalized"
        win.deleteLater()
    QApplication.processEvents()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()
    for win, _ in created:
        assert not isValid(win), "the main window was not deleted"
    stray = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not stray, f"windows left open: {stray}"
    del vtk_widget.created_render_windows[:]
    assert not dialogs["errors"], f"unexpected error dialogs: {dialogs['errors']}"


def synthetic_volume(
    feet_first: bool = False, shape_kji: tuple[int, int, int] = (30, 64, 64)
) -> CTVolume:
    """Soft-tissue block with a bright bone marker on the patient's LEFT (+x, LPS).

    Head-first supine: i → patient left, j → posterior, k → superior. Feet-first supine: the
    scanner's x runs to the patient's right, its z (the slice axis k) runs inferior.
    """
    nk, nj, ni = shape_kji
    hu = np.full(shape_kji, 40, np.int16)
    aff = np.eye(4)
    spacing = (1.0, 1.0, 2.0)
    if feet_first:
        aff[:3, :3] = np.diag([-spacing[0], spacing[1], -spacing[2]])
        aff[:3, 3] = ((ni - 1) / 2 * spacing[0], -(nj - 1) / 2, (nk - 1) / 2 * spacing[2])
        left_i = slice(2, 14)  # low i = patient left
    else:
        aff[:3, :3] = np.diag(spacing)
        aff[:3, 3] = (-(ni - 1) / 2 * spacing[0], -(nj - 1) / 2, -(nk - 1) / 2 * spacing[2])
        left_i = slice(ni - 14, ni - 2)
    hu[:, nj // 2 - 6 : nj // 2 + 6, left_i] = 1500
    # a small anterior marker too (low j = anterior for both)
    hu[:, 2:8, ni // 2 - 3 : ni // 2 + 3] = 1000
    return CTVolume.from_array(
        hu,
        aff,
        "synthetic.ff" if feet_first else "synthetic.hf",
        patient=PatientInfo(
            patient_name="DOE^JANE", patient_id="ID12345", position="FFS" if feet_first else "HFS"
        ),
    )


@pytest.fixture(scope="session")
def demo_case():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo

    return generate_demo()


@pytest.fixture
def demo_window(make_window, qtbot, demo_case, monkeypatch):  # type: ignore[no-untyped-def]
    """A main window that opened the demo case through File → Open demo case.

    The demo is generated once per session (a few seconds); the user path (action → worker
    thread → document → views) runs in full every time.
    """
    import planner.demo

    monkeypatch.setattr(planner.demo, "generate_demo", lambda *a, **k: demo_case)
    win = make_window()
    with qtbot.waitSignal(win.doc.volume_changed, timeout=60000):
        win.actions_by_name["open_demo"].trigger()
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)
    return win


# needle-planning fixtures (tests/ui/test_trajectory_*.py, test_fluoro_panel.py)
from tests.ui.trajectory_helpers import planning_window, truth_runs  # noqa: E402, F401
