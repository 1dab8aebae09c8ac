"""Crash recovery: unsaved plan work is kept in a recovery file and offered back on reopening
the study; saving or discarding removes the file."""

from __future__ import annotations

import json
import shutil

import pytest

import ui.document.autosave
import ui.document.plan_io
from tests.ui.trajectory_helpers import choose_level, truth_trajectory
from ui.tools.measurement import Measurement, next_measurement_id

pytestmark = pytest.mark.gui


def _plan_with_ruler(win, case):  # type: ignore[no-untyped-def]
    choose_level(win, "L1")
    plan = win.trajectory.service.base_plan().with_trajectory(truth_trajectory(case, "left"))
    win.doc.push_plan(plan, "place left")
    ruler = Measurement(next_measurement_id(), "distance", ((0, 0, 0), (0, 0, 20.0)), "sagittal")
    win.doc.push_measurements((ruler,), "ruler")
    return plan


def _open_demo(win, qtbot):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.opener.study_opened, timeout=60000):
        win.actions_by_name["open_demo"].trigger()
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)


def test_unsaved_plan_is_written_and_removed_once_saved(
    demo_window, demo_case, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    saver = win.autosaver
    plan = _plan_with_ruler(win, demo_case)
    assert saver._timer.isActive()  # written a moment after the change, not on every event
    saver.flush()
    path = saver.written
    assert path is not None and path.parent == tmp_path / "recovery"
    data = json.loads(path.read_text())
    assert data["series"]["series_uid"] == demo_case.volume.identity.series_uid
    (level,) = data["levels"]  # plan file format 4
    assert level["trajectories"][0]["target_lps"] == list(plan.trajectory("left").target_lps)
    assert data["measurements"][0]["points_lps"][1] == [0.0, 0.0, 20.0]
    assert data["source_path"] == "demo:"
    out = tmp_path / "saved.json"
    monkeypatch.setattr(ui.document.plan_io, "ask_save_path", lambda parent, start: str(out))
    win.trajectory.actions["save_plan"].trigger()
    assert out.is_file() and not path.exists() and saver.written is None
    win.doc.push_plan(plan.without_trajectory("left"), "remove left")
    win.doc.undo_stack.undo()  # back to the saved state: nothing to recover
    saver.flush()
    assert saver.written is None and not list((tmp_path / "recovery").iterdir())


def test_work_left_by_a_crash_is_offered_back_on_reopening_the_study(
    make_window, qtbot, demo_case, tmp_path, monkeypatch, truth_runs
) -> None:  # type: ignore[no-untyped-def]
    import planner.demo

    monkeypatch.setattr(planner.demo, "generate_demo", lambda *a, **k: demo_case)
    asked: list[str] = []
    monkeypatch.setattr(
        ui.document.autosave, "ask_restore", lambda parent, text: asked.append(text) or True
    )
    first = make_window(settings_name="shared.ini")
    _open_demo(first, qtbot)
    plan = _plan_with_ruler(first, demo_case)
    first.autosaver.flush()
    left_behind = tmp_path / "crash.json"
    shutil.copy(first.autosaver.written, left_behind)  # the process dies: the file stays
    first.doc.undo_stack.setClean()
    first.close()
    shutil.copy(
        left_behind,
        first.autosaver.path_for(
            demo_case.volume.identity.series_uid, demo_case.volume.grid.fingerprint()
        ),
    )
    second = make_window(settings_name="shared.ini")
    _open_demo(second, qtbot)
    assert len(asked) == 1 and "L1 vertebroplasty (left), 1 measurement(s)" in asked[0]
    qtbot.waitUntil(lambda: second.doc.plan is not None, timeout=60000)  # analysed, then applied
    assert second.doc.plan == plan
    (ruler,) = second.doc.measurements
    assert ruler.value == pytest.approx(20.0)
    assert second.doc.is_modified  # restored work is still unsaved work
    second.doc.undo_stack.undo()  # one undo step
    assert second.doc.plan is None and second.doc.measurements == ()


def test_declining_deletes_the_recovery_file(
    make_window, qtbot, demo_case, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import planner.demo

    monkeypatch.setattr(planner.demo, "generate_demo", lambda *a, **k: demo_case)
    monkeypatch.setattr(ui.document.autosave, "ask_restore", lambda parent, text: False)
    win = make_window()
    path = win.autosaver.path_for(
        demo_case.volume.identity.series_uid, demo_case.volume.grid.fingerprint()
    )
    path.parent.mkdir(parents=True)
    path.write_text("{not a plan")  # an unreadable file is left alone, never applied
    _open_demo(win, qtbot)
    assert path.exists() and win.doc.plan is None
    from planner.plan.file import save_plan
    from planner.plan.model import Plan, SeriesBinding

    vol = demo_case.volume
    save_plan(Plan(SeriesBinding(vol.identity.series_uid, vol.grid.fingerprint())), path)
    _open_demo(win, qtbot)
    assert not path.exists() and win.doc.plan is None


_EDITOR = r'''
"""Child process: a document that gets an edit every 0.3 s, kept by the real AutoSaver."""
import sys, time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow

from planner.plan.model import Plan, SeriesBinding
from planner.volume import CTVolume
from ui.document.autosave import AutoSaver
from ui.document.document import Document
from ui.tools.measurement import Measurement, next_measurement_id


class Opener(QObject):
    study_opened = Signal(str)


class Window(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.doc = Document(self)
        self.opener = Opener(self)


app = QApplication([])
win = Window()
saver = AutoSaver(win, Path(sys.argv[1]))
vol = CTVolume.from_array(np.full((8, 16, 16), -1000, np.int16), np.eye(4), "1.2.826.0.1.99")
win.doc.set_study(vol, (), "/data/DOE_JOHN_1950/CT", None)  # a folder named after the patient
binding = SeriesBinding(vol.series_uid, vol.grid.fingerprint())
win.doc.push_plan(Plan(series=binding, level="L1"), "plan")
n = 0


def edit() -> None:
    global n
    n += 1
    points = ((0, 0, 0), (0, 0, float(n)))
    ruler = Measurement(next_measurement_id(), "distance", points, "sagittal")
    win.doc.push_measurements((ruler,), f"edit {n}")
    print(f"{n} {time.time():.3f}", flush=True)


timer = QTimer()
timer.timeout.connect(edit)
timer.start(300)
app.exec()
'''


def test_kill_while_editing_every_300_ms_loses_at_most_the_last_2_s(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    folder = tmp_path / "recovery"
    folder.mkdir()
    stale = folder / ".1.2.3_abc.json.k2j3.tmp"  # left by a save killed an hour ago
    stale.write_text("{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    script = tmp_path / "editor.py"
    script.write_text(_EDITOR)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    edits: dict[int, float] = {}
    try:
        assert proc.stdout is not None
        first = None
        for line in proc.stdout:
            n, t = line.split()
            edits[int(n)] = float(t)
            first = first or float(t)
            if float(t) - first > 5.0:  # 5 s of edits, never 2 s of quiet
                break
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not stale.exists()
    files = list(folder.glob("*.json"))
    assert len(files) == 1, "no recovery file although the user edited for 5 s"
    saved = json.loads(files[0].read_text())
    saved_n = int(saved["measurements"][0]["points_lps"][1][2])
    assert "source_path" not in saved  # no study folder (patient names) in the recovery file
    must_have = max(n for n, t in edits.items() if t <= killed_at - 2.0 - 0.5)  # 0.5 s jitter
    assert saved_n >= must_have, (
        f"edit {saved_n} saved; edits up to {must_have} were older than 2 s"
    )
