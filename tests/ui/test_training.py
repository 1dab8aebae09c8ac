"""A full training attempt in the workstation (pytest-qt): shots, skin entry on the AP image,
aim, advance, "Needle placed", debrief and history; and the Training menu entry."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from planner.plan.model import Plan, SeriesBinding, Trajectory
from planner.training import Exercise, ExerciseCase, ScoringSession
from planner.training.attempt import NeedleState, aim_angles

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def session() -> ScoringSession:
    from planner.demo import generate_demo
    from planner.trajectory import suggest

    vol = generate_demo(0).volume
    ref = Plan(SeriesBinding(vol.series_uid, vol.geometry_fingerprint()), level="L1")
    dummy = Trajectory("left", "transpedicular", (0, 0, 0), (0, 0, 1), (0, 0, 5))
    ex = Exercise("L1-demo", "L1 demo (left)", ExerciseCase("Demo L1, Genant grade 2."), "L1",
                  "left", "transpedicular", 1, "pedicle 8.0 mm wide",
                  ref.with_trajectory(dummy))
    s = ScoringSession.build(ex, vol)
    sug = suggest(s.context, "left", "11G", unipedicular=True)
    return replace(s, exercise=replace(ex, reference=ref.with_trajectory(sug.trajectory)))


def _click_image(qtbot, view, col: float, row: float) -> None:  # type: ignore[no-untyped-def]
    r = view._rect()
    n = view.shot.display.shape[0]
    x = r.left() + (col + 0.5) / n * r.width()
    y = r.top() + (row + 0.5) / n * r.height()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))


def test_full_attempt_debrief_and_history(qtbot, tmp_path, session) -> None:  # type: ignore[no-untyped-def]
    from ui.training.attempt_window import AttemptWindow
    from ui.training.history_dialog import HistoryDialog

    w = AttemptWindow(session, "Dr Test", tmp_path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    ref = session.exercise.reference.trajectories[0]
    # clicking before any AP image does nothing but explain
    qtbot.mouseClick(w.btn_lat, Qt.MouseButton.LeftButton)
    _click_image(qtbot, w.view, 256, 256)
    assert "AP image" in w.message.text() and w.attempt.needles["left"].skin_lps is None
    qtbot.mouseClick(w.btn_ap, Qt.MouseButton.LeftButton)
    assert w.attempt.shots == 2
    col, row = w.view.shot.project(ref.skin_entry_lps)[0]
    _click_image(qtbot, w.view, col, row)
    skin = w.attempt.needles["left"].skin_lps
    assert skin is not None
    # the skin entry lies on the ray of the clicked pixel, on the patient's back
    assert abs(skin[1] - ref.skin_entry_lps[1]) < 15.0
    d = np.subtract(ref.target_lps, skin)
    med, cran = aim_angles("left", d)
    med -= 1.0  # a slightly less converging aim: 1° off the reference
    w.medial.setValue(med)
    w.cranial.setValue(cran)
    depth = float(np.linalg.norm(d))
    w.step.setValue(20.0)
    while w.attempt.needles["left"].depth_mm + 20.0 <= depth:
        qtbot.mouseClick(w.btn_adv, Qt.MouseButton.LeftButton)
    w.step.setValue(depth - w.attempt.needles["left"].depth_mm)
    qtbot.mouseClick(w.btn_adv, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.btn_lat, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.btn_ap, Qt.MouseButton.LeftButton)
    assert w.attempt.shots == 4 and w.attempt.redirections == 0
    assert w.attempt_file.is_file()  # saved as it goes
    if os.environ.get("VAPLANNER_DOCS_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        w.grab().save(str(DOCS / "training_attempt.png"))
    qtbot.mouseClick(w.btn_done, Qt.MouseButton.LeftButton)
    res = w.result
    assert res is not None and res.passed, res.fail_reasons
    # the tip lies one depth along the aim turned 1° from the line to the target: a chord of
    # that angle (rounded to 0.01 mm by the score)
    aimed = NeedleState(skin, med, cran).direction("left")
    turn = math.acos(min(1.0, float(aimed @ d) / depth))
    assert res.tip_error_mm == pytest.approx(2.0 * depth * math.sin(turn / 2.0), abs=0.02)
    assert 1.0 < res.tip_error_mm < 5.0 and res.counters.shots == 4
    assert res.angle_error_deg > 0.5 and res.score < 95.0
    assert w.debrief is not None and w.debrief.isVisible()
    qtbot.addWidget(w.debrief)
    assert "PASSED" in w.debrief.findChildren(type(w.message))[0].text()
    if os.environ.get("VAPLANNER_DOCS_SCREENSHOTS"):
        w.debrief.grab().save(str(DOCS / "training_debrief.png"))
    rows = w.history.rows()
    assert len(rows) == 1 and rows[0]["score"] == res.score
    h = HistoryDialog(w.history)
    qtbot.addWidget(h)
    assert h.table.rowCount() == 1
    assert not w.btn_adv.isEnabled()


def test_training_menu_entry(make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    menus = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert "Training" in menus
    m = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "Training")
    assert [a.text() for a in m.actions()] == ["Start exercise…"]


def test_start_exercise_from_the_menu_opens_the_attempt(make_window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QDialog

    import ui.training.start as start

    win = make_window()
    monkeypatch.setattr(start.StartDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(start, "LIBRARY", (("L3", "normal-bone+average", "right"),))
    monkeypatch.setattr(start.StartDialog, "choice",
                        lambda self: ("L3", "normal-bone+average", "right"))
    m = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "Training")
    m.actions()[0].trigger()
    qtbot.waitUntil(lambda: getattr(win, "_training_window", None) is not None, timeout=180000)
    tw = win._training_window
    qtbot.addWidget(tw)
    assert tw.attempt.session.exercise.level == "L3"
    assert tw.attempt.shots == 0 and tw.view.shot is None  # no CT view, no image until a shot
    assert tw.history.folder.parent.name == "training"
    tw.close()
