"""One case, many levels in the workstation: the document's Case, reopen, undo, agreement.

The demo's levels come from its exact ground truth (``truth_analysis``; the analysis run is
replaced by it so a reopened plan gets the same anatomy deterministically and fast): these
tests check the workstation's handling of the case, not the segmentation.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

import ui.document.plan_io
from planner.plan.model import Trajectory
from planner.session import derive, edit, report_content
from tests.ui.demo_truth import truth_analysis
from tests.ui.trajectory_helpers import select_row, truth_trajectory

pytestmark = pytest.mark.gui


def _analyse(win: Any, qtbot: Any) -> None:
    svc = win.trajectory.service
    svc.synchronous = True
    task = svc.run_analysis()
    assert task is not None
    qtbot.waitUntil(lambda: win.doc.analysis is not None, timeout=60000)


def _open_demo(win: Any, qtbot: Any) -> Any:
    win.trajectory.service.synchronous = True
    with qtbot.waitSignal(win.doc.volume_changed, timeout=60000):
        win.actions_by_name["open_demo"].trigger()
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)
    return win


def _row(win: Any, level: str) -> int:
    return [r.level for r in win.doc.analysis.levels].index(level)


def _plan_two_levels(win: Any, demo_case: Any, qtbot: Any) -> None:
    """In the levels panel: confirm both, add L1 (KP) and T12 (VP); needles on each."""
    panel = win.planning.levels
    _analyse(win, qtbot)
    panel.confirm([0, 1])
    for level, proc in (("L1", "kyphoplasty"), ("T12", "vertebroplasty")):
        select_row(panel.table, _row(win, level))
        panel.buttons["add"].click()
        assert win.doc.active_level == level
        if proc == "kyphoplasty":
            panel.buttons["procedure"].click()
        svc = win.trajectory.service
        plan = svc.base_plan()
        for side in ("left", "right"):
            plan = plan.with_trajectory(truth_trajectory(demo_case, side, level))
        win.doc.push_plan(plan, f"needles {level}")
    select_row(panel.table, _row(win, "L1"))
    panel.buttons["active"].click()
    win.trajectory.service.set_unipedicular(False)


def _settle(win: Any, qtbot: Any) -> None:
    """Let the background estimates of every level finish (the panels then show them)."""
    ctrl = win.planning.controller

    def done() -> bool:
        ctrl.wait_idle()
        QApplication.processEvents()
        cur = ctrl.current
        return ctrl.totals_levels == win.doc.case.plan.levels and (cur is None or not cur.pending)

    qtbot.waitUntil(done, timeout=120000)


def _snapshot(win: Any, qtbot: Any) -> dict[str, Any]:
    """Every value the screen shows for the case (metrics, findings, confirmations, estimates)."""
    doc, ctrl = win.doc, win.planning.controller
    _settle(win, qtbot)
    case = doc.case
    checks = derive.case_checks(doc.volume, case)
    tp = win.trajectory.panel
    return {
        "levels": [(lp.level, lp.procedure, lp.confirmed, lp.unipedicular) for lp in case.levels],
        "active": case.plan.active_level,
        "analysis_confirmed": [(r.level, r.candidate.confirmed) for r in doc.analysis.levels],
        "trajectories": [lp.trajectories for lp in case.levels],
        "metrics": {k: [(t.side, r.metrics) for t, r in c.results] for k, c in checks.items() if c},
        "findings": {k: c.findings for k, c in checks.items() if c},
        "panel_table": [
            tp.table.item(r, c).text() if tp.table.item(r, c) else ""
            for r in range(tp.table.rowCount())
            for c in range(tp.table.columnCount())
        ],
        "panel_findings": [tp.findings.item(i).text() for i in range(tp.findings.count())],
        "levels_table": [
            win.planning.levels.table.item(r, c).text()
            for r in range(win.planning.levels.table.rowCount())
            for c in range(win.planning.levels.table.columnCount())
        ],
        "cement": ctrl.current.cement.recommended_ml if ctrl.current else None,
        "total": win.planning.estimates.total_text(),
        "total_ml": ctrl.totals[1].to_json() if ctrl.totals else None,
        "per_level_ml": {
            k: (None if e is None else e.cement.to_json()) for k, e in ctrl.totals[0].items()
        }
        if ctrl.totals
        else None,
    }


def test_two_level_plan_reopens_exactly_without_user_action(  # type: ignore[no-untyped-def]
    demo_window, make_window, demo_case, qtbot, tmp_path, monkeypatch, truth_runs
) -> None:
    win = demo_window
    _plan_two_levels(win, demo_case, qtbot)
    before = _snapshot(win, qtbot)
    assert before["levels"] == [
        ("L1", "kyphoplasty", True, False),
        ("T12", "vertebroplasty", True, None),
    ]
    assert before["active"] == "L1" and before["total_ml"] is not None
    assert "total" in before["total"] and "T12 VP" in before["total"]
    assert before["panel_table"][0] not in ("", "…")  # metrics shown
    path = tmp_path / "two.json"
    monkeypatch.setattr(ui.document.plan_io, "ask_save_path", lambda parent, start: str(path))
    win.trajectory.actions["save_plan"].trigger()
    assert path.is_file() and not win.doc.is_modified
    win.close()

    win2 = _open_demo(make_window(), qtbot)
    assert win2.doc.analysis is None  # a fresh study: nothing analysed yet
    monkeypatch.setattr(ui.document.plan_io, "ask_open_path", lambda parent, start: str(path))
    n0 = win2.doc.undo_stack.count()
    win2.trajectory.actions["open_plan"].trigger()  # no other user action from here on
    qtbot.waitUntil(lambda: bool(win2.doc.case and win2.doc.case.levels), timeout=60000)
    after = _snapshot(win2, qtbot)
    assert after == before
    assert not win2.doc.is_modified
    assert win2.doc.undo_stack.count() == n0 + 1  # the reopening is one undo step
    win2.doc.undo_stack.undo()
    assert win2.doc.case.levels == () and win2.doc.analysis is None


def test_active_level_add_and_remove_are_one_undo_step_each(  # type: ignore[no-untyped-def]
    demo_window, demo_case, qtbot, truth_runs
) -> None:
    win = demo_window
    _analyse(win, qtbot)
    panel, stack = win.planning.levels, win.doc.undo_stack
    tp = win.trajectory.panel
    assert win.doc.active_level is None
    assert "No level chosen" in tp.level_label.text()
    n = stack.count()
    select_row(panel.table, _row(win, "L1"))
    panel.buttons["add"].click()
    assert stack.count() == n + 1 and win.doc.active_level == "L1"
    select_row(panel.table, _row(win, "T12"))
    panel.buttons["add"].click()
    assert stack.count() == n + 2 and win.doc.case.plan.level_names() == ("L1", "T12")
    select_row(panel.table, _row(win, "L1"))
    panel.buttons["active"].click()
    assert stack.count() == n + 3 and win.doc.active_level == "L1"
    assert "Level L1" in tp.level_label.text()
    panel.buttons["remove"].click()
    assert stack.count() == n + 4
    assert win.doc.case.plan.level_names() == ("T12",) and win.doc.active_level is None
    assert "No level chosen" in tp.level_label.text()  # never silently switched to T12
    stack.undo()
    assert win.doc.case.plan.level_names() == ("L1", "T12") and win.doc.active_level == "L1"
    stack.undo()
    assert win.doc.active_level == "T12"
    stack.undo()
    assert win.doc.case.plan.level_names() == ("L1",)
    stack.undo()
    assert win.doc.case.levels == ()


def test_place_and_suggest_ask_for_a_level_first(  # type: ignore[no-untyped-def]
    demo_window, dialogs, qtbot, truth_runs
) -> None:
    win = demo_window
    _analyse(win, qtbot)
    c = win.trajectory.panel.sides["left"]
    c.place.click()
    c.suggest.click()
    assert win.doc.case.levels == ()
    msgs = [text for _level, text in dialogs["errors"]]
    assert len(msgs) == 2 and all("no level is chosen" in m for m in msgs)
    dialogs["errors"].clear()  # expected here


def _one_level(base: Any, level: str, trajs: tuple[Trajectory, ...], uni: bool | None) -> Any:
    case = edit.add_level(base, level)
    for t in trajs:
        case = edit.place_needle(case, level, t)
    return edit.set_unipedicular(case, level, uni)


def _ten_plans(base: Any, demo_case: Any) -> list[Any]:
    left = truth_trajectory(demo_case, "left")
    right = truth_trajectory(demo_case, "right")
    deep = truth_trajectory(demo_case, "left", needle_id="13G")
    plans = [
        _one_level(base, "L1", (left,), None),  # one needle, no intent: unipedicular (derived)
        _one_level(base, "L1", (left,), True),  # one needle, unipedicular intent
        _one_level(base, "L1", (left,), False),  # one needle, the second is to come
        _one_level(base, "L1", (right,), True),
        _one_level(base, "L1", (right,), False),
        _one_level(base, "L1", (left, right), None),
        _one_level(base, "L1", (left, right), True),  # two needles are never unipedicular
        _one_level(base, "L1", (deep,), True),
        _one_level(base, "T12", (truth_trajectory(demo_case, "left", "T12"),), False),
    ]
    two = _one_level(base, "T12", (truth_trajectory(demo_case, "right", "T12"),), True)
    two = edit.add_level(two, "L1", "kyphoplasty")
    two = edit.place_needle(two, "L1", left)
    plans.append(two)
    return plans


def test_panel_report_and_check_agree_on_ten_plans(  # type: ignore[no-untyped-def]
    demo_window, demo_case, qtbot, tmp_path, monkeypatch, truth_runs
) -> None:
    import planner.commands._common as common
    from planner.commands import check as check_cmd
    from planner.plan.file import save_case_plan

    win = demo_window
    _analyse(win, qtbot)
    doc = win.doc
    monkeypatch.setattr(common, "load_volume", lambda path, uid=None: (doc.volume, []))
    monkeypatch.setattr(common, "analyse_levels", lambda *a, **k: doc.analysis)
    base = replace(doc.case, plan=replace(doc.case.plan, levels=(), active_level=None))
    plans = _ten_plans(base, demo_case)
    assert len(plans) == 10
    for n, case in enumerate(plans):
        doc.push_case(case, f"plan {n}")
        for level in case.plan.level_names():
            doc.push_case(edit.set_active_level(doc.case, level), f"active {level}")
            QApplication.processEvents()
            tp = win.trajectory.panel
            panel = [tp.findings.item(i).text() for i in range(tp.findings.count())]
            panel = [t for t in panel if not t.startswith("No findings")]
            report = next(
                lv for lv in report_content(doc.volume, doc.case).levels if lv.level == level
            )
            path = tmp_path / f"plan{n}.json"
            save_case_plan(doc.case.series, doc.case.plan, path)
            args = argparse.Namespace(path="x", plan=str(path), labels=None, seed=None)
            out = check_cmd.run(args)
            cli = next(lv for lv in out["levels"] if lv["level"] == level)
            rep = [f"{f.severity.upper()}: {f.message}" for f in report.check.findings]
            cli_f = [f"{f['severity'].upper()}: {f['message']}" for f in cli["findings"]]
            assert panel == rep == cli_f, (n, level)
            assert cli["approach"] == report.check.approach
            lp = doc.case.plan.level(level)
            assert report.unipedicular == lp.is_unipedicular
            assert win.trajectory.service.is_unipedicular() == lp.is_unipedicular


def test_autosave_recovers_a_multi_level_plan(  # type: ignore[no-untyped-def]
    demo_window, make_window, demo_case, qtbot, truth_runs, monkeypatch
) -> None:
    import ui.document.autosave

    win = demo_window
    _plan_two_levels(win, demo_case, qtbot)
    saver = win.autosaver
    saver.flush()
    path = saver.written
    assert path is not None and path.is_file()
    before = _snapshot(win, qtbot)
    saver.written = None  # as if the process died: the file stays
    monkeypatch.setattr(ui.document.autosave, "ask_restore", lambda parent, summary: True)
    win.doc.undo_stack.setClean()
    win.close()
    win2 = _open_demo(make_window(), qtbot)
    qtbot.waitUntil(lambda: bool(win2.doc.case and win2.doc.case.levels), timeout=60000)
    assert _snapshot(win2, qtbot) == before
    assert win2.doc.is_modified  # restored work is still unsaved


def test_reopening_applies_level_names_and_confirmations_and_names_what_it_cannot(
    demo_case,
) -> None:  # type: ignore[no-untyped-def]
    from planner.plan.model import SeriesBinding
    from planner.session import Case, CasePlan, Correction, LevelPlan
    from ui.document.case_restore import restored_case
    from ui.panels.level_ops import rename_level
    from ui.panels.levels_panel import _renamed_corrections

    fresh = truth_analysis(demo_case, levels=("T11", "T12", "L1"))
    # the user renumbered T12 as L1 (T11 → T12, L1 → L2) and confirmed L1; the plan is at L1
    renamed, mapping = rename_level(fresh, 1, "L1", True)
    corr = _renamed_corrections(fresh, mapping, ())
    assert {(c.automatic, c.value) for c in corr} == {("T11", "T12"), ("T12", "L1"), ("L1", "L2")}
    plan = CasePlan(
        (LevelPlan("L1", confirmed=True), LevelPlan("S1")),
        "L1",
        corrections=(*corr, Correction.make("L1", "pedicle_axis", "left", [0, 0, 1], [0, 1, 0])),
    )
    base = Case(SeriesBinding("1.2", "fp"), analysis=fresh)
    case, notes = restored_case(base, plan)
    assert [r.level for r in case.analysis.levels] == [r.level for r in renamed.levels]
    assert case.analysis.level("L1").candidate.confirmed
    # the body named L1 is the one the user named (the automatic T12)
    centre = case.analysis.level("L1").morphometry.centroid_lps
    assert tuple(centre) == tuple(fresh.level("T12").morphometry.centroid_lps)
    assert any("S1 is planned but the analysis did not find it" in n for n in notes)
    assert any("pedicle axis" in n for n in notes)


def test_features_register_their_actions_by_id(make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    reg = win.action_registry
    file_menu = reg.menu("file")
    acts = [a for a in file_menu.actions() if not a.isSeparator()]
    pos = {k: acts.index(reg.action(k)) for k in ("save_plan_as", "shot_view", "report", "quit")}
    assert reg.action("open_plan") in acts and reg.action("save_plan") in acts
    assert pos["save_plan_as"] < pos["shot_view"] < pos["report"] == pos["quit"] - 1
    assert reg.action("analyse") in reg.menu("analysis").actions()
    assert win.actions_by_name is reg.actions  # one table of actions by id
    with pytest.raises(ValueError, match="already registered"):
        reg.register("quit", "Quit again", lambda: None)
    with pytest.raises(KeyError, match="no action 'nope'"):
        reg.action("nope")
    extra = reg.register("demo_extra", "Extra", lambda: None, None, "tools/training")
    assert extra in reg.menu("tools/training").actions()


def test_other_levels_needles_are_drawn_in_grey(  # type: ignore[no-untyped-def]
    demo_window, demo_case, qtbot, truth_runs
) -> None:
    """With L1 active, T12's two needles are drawn (grey, every view); switching swaps them."""
    win = demo_window
    _plan_two_levels(win, demo_case, qtbot)
    ov = win.trajectory.overlays
    assert win.doc.active_level == "L1"
    shown = ov.other_level_displays()
    assert set(shown) == {("T12", "left"), ("T12", "right")}
    t12 = win.doc.case.plan.level("T12")
    assert shown[("T12", "left")].target_lps == t12.trajectory("left").target_lps
    assert all(d.severity == "other level" for d in shown.values())
    drawn = {k: a.value for k, a in ov.other_adapters.items() if a.value is not None}
    assert len(drawn) == 2 * len(ov.views)  # two needles in every view
    assert all(v == shown[(level, side)] for (_view, level, side), v in drawn.items())
    # the active level's needles are drawn by the checked adapters, not as "other"
    assert ov.display("left").target_lps == win.doc.plan.trajectory("left").target_lps
    panel = win.planning.levels
    select_row(panel.table, _row(win, "T12"))
    panel.buttons["active"].click()
    assert set(ov.other_level_displays()) == {("L1", "left"), ("L1", "right")}
    drawn_levels = {lv for (_v, lv, _s), a in ov.other_adapters.items() if a.value is not None}
    assert drawn_levels == {"L1"}  # T12's grey needles are gone: it is active now
    win.doc.undo_stack.undo()
    assert set(ov.other_level_displays()) == {("T12", "left"), ("T12", "right")}
