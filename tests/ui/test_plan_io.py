"""Plan files from the workstation: save, open, refuse another series' plan, start-up."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

import ui.document.plan_io
from planner.plan.file import save_case_plan, save_plan
from planner.plan.model import Plan, SeriesBinding
from planner.session import edit
from tests.ui.trajectory_helpers import choose_level, truth_trajectory
from ui.tools.measurement import Measurement, next_measurement_id

pytestmark = pytest.mark.gui


def _plan(win, case):  # type: ignore[no-untyped-def]
    choose_level(win, "L1")
    plan = win.trajectory.service.base_plan()
    for side in ("left", "right"):
        plan = plan.with_trajectory(truth_trajectory(case, side))
    win.doc.push_plan(plan, "plan")
    return plan


def test_save_then_open_round_trips(  # type: ignore[no-untyped-def]
    demo_window, demo_case, tmp_path, monkeypatch, qtbot, truth_runs
) -> None:
    win = demo_window
    plan = _plan(win, demo_case)
    ruler = Measurement(next_measurement_id(), "distance", ((0, 0, 0), (12.5, 0, 0)), "axial")
    win.doc.push_measurements((ruler,), "ruler")
    (tmp_path / "plans").mkdir()
    path = tmp_path / "plans" / "case.json"
    monkeypatch.setattr(ui.document.plan_io, "ask_save_path", lambda parent, start: str(path))
    win.trajectory.actions["save_plan"].trigger()  # no file yet: asks where (Save as)
    assert path.is_file() and not win.doc.is_modified
    data = json.loads(path.read_text())
    assert data["coordinate_system"] == "LPS" and data["units"] == "mm"
    assert data["series"]["series_uid"] == demo_case.volume.identity.series_uid
    assert data["source_path"] == "demo:"
    assert data["measurements"] == [
        {"kind": "distance", "points_lps": [[0, 0, 0], [12.5, 0, 0]], "view": "axial"}
    ]
    assert [p.name for p in path.parent.iterdir()] == ["case.json"]  # atomic: no temp file left
    win.doc.push_plan(plan.without_trajectory("left"), "remove left")
    win.doc.push_measurements((), "delete ruler")
    assert win.doc.is_modified
    monkeypatch.setattr(ui.document.plan_io, "ask_open_path", lambda parent, start: str(path))
    win.trajectory.actions["open_plan"].trigger()  # analyses in the background, then applies
    qtbot.waitUntil(lambda: win.doc.analysis is not None and win.doc.plan == plan, timeout=60000)
    assert win.doc.plan == plan
    assert win.doc.plan.trajectory("left").target_lps == plan.trajectory("left").target_lps
    assert not win.doc.is_modified
    (back,) = win.doc.measurements
    assert (back.kind, back.view, back.value) == ("distance", "axial", 12.5)
    assert win.measurement_panel.list.count() == 1
    win.doc.undo_stack.undo()  # opening the plan is one undo step: plan and measurements
    assert win.doc.measurements == () and win.doc.plan.trajectory("left") is None


def test_plan_of_another_series_is_refused_with_a_dialog(
    demo_window, demo_case, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    other = Plan(
        series=SeriesBinding("1.2.826.0.1.999", "0123456789abcdef"),
        level="L1",
        trajectories=(truth_trajectory(demo_case, "left"),),
    )
    path = save_plan(other, tmp_path / "other.json")
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    assert win.trajectory.plan_io.open(str(path)) is False
    assert win.doc.plan is None
    assert len(shown) == 1
    assert "1.2.826.0.1.999" in shown[0] and "belongs to series" in shown[0]


def test_main_py_plan_argument_opens_the_demo_then_the_plan(
    demo_window, demo_case, tmp_path, qtbot, truth_runs
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    plan = _plan(win, demo_case)
    path = save_plan(plan, tmp_path / "p.json", source_path="demo:")
    win.doc.undo_stack.setClean()
    win.doc.set_study(None)
    QApplication.processEvents()
    assert win.doc.plan is None
    win.trajectory.plan_io.open_at_startup(str(path))
    qtbot.waitUntil(lambda: win.doc.plan is not None, timeout=30000)
    assert win.doc.plan == plan


def test_plan_without_a_recorded_study_asks_to_open_its_series_first(
    demo_window, demo_case, tmp_path, dialogs
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    other = Plan(
        series=SeriesBinding("1.2.826.0.1.777", "fedcba9876543210"),
        level="L2",
        trajectories=(truth_trajectory(demo_case, "right"),),
    )
    path = save_plan(other, tmp_path / "elsewhere.json")  # no source_path recorded
    win.trajectory.plan_io.open_at_startup(str(path))
    assert win.doc.plan is None and win.doc.volume is demo_case.volume  # nothing replaced
    assert len(dialogs["errors"]) == 1
    level, text = dialogs["errors"].pop()
    assert level == "warning" and "1.2.826.0.1.777" in text and "Open plan" in text


def test_opening_a_plan_restores_the_unipedicular_decision(
    demo_window, demo_case, tmp_path, qtbot, truth_runs
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    svc = win.trajectory.service
    choose_level(win, "L1")
    one = win.trajectory.service.base_plan().with_trajectory(truth_trajectory(demo_case, "left"))
    case = edit.place_needle(win.doc.case, "L1", one.trajectory("left"))

    def reopen(name, c):  # type: ignore[no-untyped-def]
        path = save_case_plan(c.series, c.plan, tmp_path / name)
        win.doc.push_case(edit.set_plan(win.doc.case, type(c.plan)()), "clear")
        assert win.trajectory.plan_io.open(str(path)) is True
        qtbot.waitUntil(lambda: win.doc.plan is not None, timeout=60000)

    reopen("uni.json", case)  # one needle, no choice: unipedicular
    assert not svc.unipedicular_intent and svc.is_unipedicular(win.doc.plan)
    reopen("first.json", edit.set_unipedicular(case, "L1", False))  # the first of two
    assert win.doc.case.plan.active.unipedicular is False and not svc.is_unipedicular()
    two = edit.place_needle(case, "L1", truth_trajectory(demo_case, "right"))
    reopen("bi.json", edit.set_unipedicular(two, "L1", True))
    assert not svc.is_unipedicular()  # two needles are never unipedicular
