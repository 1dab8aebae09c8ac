"""The trajectory panel mirrors the plan: the planner's metrics, findings, suggestions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from planner.trajectory import TrajectoryContext, evaluate
from tests.ui.trajectory_helpers import truth_trajectory  # noqa: F401
from ui.panels.trajectory_panel import METRIC_ROWS, SEVERITY_QCOLOURS

pytestmark = pytest.mark.gui


def _row(label_start: str) -> int:
    return next(i for i, r in enumerate(METRIC_ROWS) if r[0].startswith(label_start))


def test_metrics_panel_shows_the_planners_values_for_the_demo_plan(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    svc = win.trajectory.service
    panel = win.trajectory.panel
    plan = svc.base_plan()
    for side in ("left", "right"):
        plan = plan.with_trajectory(truth_trajectory(demo_case, side))
    win.doc.push_plan(plan, "demo plan")
    QApplication.processEvents()
    # independent evaluation on a freshly built context
    anatomy = win.doc.level_result("L1").anatomy
    ctx = TrajectoryContext.build(demo_case.volume, anatomy)
    for col, side in enumerate(("left", "right")):
        m = evaluate(ctx, plan.trajectory(side)).metrics

        def cell(label: str, col: int = col) -> str:
            return panel.table.item(_row(label), col).text()

        assert cell("Length skin") == f"{m.length_skin_to_tip_mm:.1f}"
        assert cell("Length bone") == f"{m.length_bone_to_tip_mm:.1f}"
        assert cell("Tip depth") == f"{100 * m.tip_depth_frac:.0f}"
        assert cell("Medial angle, body") == f"{m.medial_angle_deg:.1f}"
        assert cell("Craniocaudal, table") == f"{m.craniocaudal_angle_table_deg:.1f}"
        assert cell("Canal clearance") == f"{m.canal_clearance_mm:.1f}"
        assert cell("Pedicle isthmus") == f"{m.isthmus_width_mm:.1f}"
        assert cell("Breach").startswith("none") == (m.breach_grade == 0)
        # the true pedicle axis converges medially (demo pedicles point towards the midline)
        assert m.medial_angle_deg > 0
    assert float(panel.table.item(_row("Length skin"), 0).text()) > 50.0


def test_accepting_an_auto_suggestion_is_one_undo_step(planning_window) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    panel = win.trajectory.panel
    c = panel.sides["right"]
    assert c.suggest.isEnabled()
    c.suggest.click()  # synchronous in tests
    assert c.accept.isVisibleTo(panel) and "Suggested transpedicular" in c.suggestion.text()
    timing = win.trajectory.service.suggest_timing["right"]  # measured, for the log
    assert 0.0 < timing["worker_s"] <= timing["shown_s"]
    assert not win.doc.plan.trajectories  # a suggestion is not yet part of the plan
    n0 = win.doc.undo_stack.count()
    c.accept.click()
    assert win.doc.undo_stack.count() == n0 + 1
    traj = win.doc.plan.trajectory("right")
    assert traj is not None and traj.approach == "transpedicular"
    m = win.trajectory.service.evaluate(traj)
    assert m.metrics.breach_grade == 0
    assert panel.table.item(_row("Breach"), 1).text() == "none"
    assert not c.accept.isVisibleTo(panel)
    win.doc.undo_stack.undo()
    assert not win.doc.plan.trajectories


def test_findings_are_coloured_by_severity_and_click_locates(
    planning_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    panel = win.trajectory.panel
    good = truth_trajectory(demo_case, "left")
    shift = np.array([-6.0, 0.0, 0.0])  # 6 mm medial for a left needle: into the canal side
    bad = replace(
        good,
        skin_entry_lps=tuple(np.add(good.skin_entry_lps, shift)),
        bone_entry_lps=tuple(np.add(good.bone_entry_lps, shift)),
        target_lps=tuple(np.add(good.target_lps, shift)),
    )
    win.doc.push_plan(win.trajectory.service.base_plan().with_trajectory(bad), "bad")
    QApplication.processEvents()
    items = [panel.findings.item(i) for i in range(panel.findings.count())]
    danger = [it for it in items if it.text().startswith("DANGER")]
    assert danger, [it.text() for it in items]
    assert danger[0].foreground().color() == SEVERITY_QCOLOURS["danger"]
    located = next(it for it in danger if it.data(0x0100)[1] is not None)
    panel._on_finding_clicked(located)
    assert np.allclose(win.state.cursor_lps, located.data(0x0100)[1])
    # changing the needle in the combo is one undoable edit of the plan
    n0 = win.doc.undo_stack.count()
    panel.sides["left"].needle.setCurrentText("13G")
    panel.sides["left"].needle.activated.emit(panel.sides["left"].needle.currentIndex())
    assert win.doc.undo_stack.count() == n0 + 1
    assert win.doc.plan.trajectory("left").needle_id == "13G"
    assert panel.table.item(_row("Needle OD"), 0).text() == "2.41"


def _codes(panel) -> list[str]:  # type: ignore[no-untyped-def]
    return [panel.findings.item(i).data(0x0100)[2] for i in range(panel.findings.count())]


def test_one_needle_is_checked_for_the_midline_unless_marked_the_first_of_two(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    svc = win.trajectory.service
    panel = win.trajectory.panel
    left = truth_trajectory(demo_case, "left")  # 70 % along the pedicle axis: short of midline
    assert not evaluate(svc.context(), left, unipedicular=True).metrics.tip_reaches_midline
    assert not panel.unipedicular.isChecked() and not svc.unipedicular_intent
    win.doc.push_plan(svc.base_plan().with_trajectory(left), "one needle")
    QApplication.processEvents()
    # one needle, no choice made: unipedicular (the session's one rule), checked for the midline
    assert panel.unipedicular.isChecked() and "tip_short_of_midline" in _codes(panel)
    assert svc.severity(left) == evaluate(svc.context(), left, unipedicular=True).worst_severity
    n0 = win.doc.undo_stack.count()
    panel.unipedicular.setChecked(False)  # the first of two needles
    assert win.doc.case.plan.active.unipedicular is False
    assert "tip_short_of_midline" not in _codes(panel)
    assert svc.severity(left) == evaluate(svc.context(), left).worst_severity
    assert win.doc.undo_stack.count() == n0 + 1  # the intent is saved with the plan: undoable
    panel.unipedicular.setChecked(True)  # the user means one needle to the midline
    assert svc.unipedicular_intent and "tip_short_of_midline" in _codes(panel)
    # two needles are never evaluated as unipedicular, whatever the box says
    plan2 = win.doc.plan.with_trajectory(truth_trajectory(demo_case, "right"))
    win.doc.push_plan(plan2, "second needle")
    QApplication.processEvents()
    assert not svc.is_unipedicular() and "tip_short_of_midline" not in _codes(panel)
    win.doc.undo_stack.undo()
    QApplication.processEvents()
    assert "tip_short_of_midline" in _codes(panel)
    svc.set_unipedicular(False)  # the service drives the box too
    assert not panel.unipedicular.isChecked() and "tip_short_of_midline" not in _codes(panel)


def test_no_level_message_wraps_instead_of_widening_the_side_column(
    demo_window,
) -> None:  # type: ignore[no-untyped-def]
    panel = demo_window.trajectory.panel
    QApplication.processEvents()
    assert "No level chosen" in panel.level_label.text()
    assert panel.level_label.wordWrap()
    # the side column is planned at 390 px (ui.shell.panel_layout); the message must fit it
    assert panel.minimumSizeHint().width() <= 400
