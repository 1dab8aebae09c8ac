"""Levels panel and morphometry table: they mirror the analysis; every edit is one undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import truth_analysis
from tests.ui.trajectory_helpers import select_row

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session")
def demo_analysis(demo_case):  # type: ignore[no-untyped-def]
    return truth_analysis(demo_case)


@pytest.fixture
def quiet_window(demo_window):  # type: ignore[no-untyped-def]
    """The demo window with the trajectory tools' background builds made synchronous (they
    react to our analysis and plan changes; a build still running at teardown would abort)."""
    svc = getattr(getattr(demo_window, "trajectory", None), "service", None)
    if svc is not None:
        svc.synchronous = True
    return demo_window


@pytest.fixture
def analysed_window(quiet_window, demo_analysis):  # type: ignore[no-untyped-def]
    from ui.panels.common import push_analysis

    push_analysis(quiet_window.doc, demo_analysis, "Analyse spine")
    QApplication.processEvents()
    return quiet_window


def _table_column(table, col):  # type: ignore[no-untyped-def]
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_levels_panel_mirrors_the_analysis(analysed_window, demo_analysis) -> None:  # type: ignore[no-untyped-def]
    panel = analysed_window.planning.levels
    names = [lt.level for lt in demo_analysis.levels]
    assert names == ["T11", "T12", "L1", "L2", "L3"]
    assert _table_column(panel.table, 0) == names
    assert _table_column(panel.table, 2) == ["proposed"] * 5
    assert _table_column(panel.table, 3)[2] == "2 (wedge)"  # the demo's L1 fracture
    assert "5 levels (T11–L3), 0 confirmed" in panel.summary.text()
    table = analysed_window.planning.measurements.table
    assert table.rowCount() == 5
    l1 = demo_analysis.level("L1").morphometry
    row = [table.item(2, c).text().split("\n") for c in range(table.columnCount())]
    assert row[1][0] == " / ".join(
        f"{l1.heights_mm.get(w):.1f}" for w in ("anterior", "middle", "posterior")
    )
    assert row[1][1].startswith("ref ") and row[1][2].startswith("loss ")
    assert row[2] == [f"{l1.genant_grade} ({l1.morphology})", f"∠ {l1.wedge_angle_deg:.1f}°"]
    assert row[3][0].startswith(f"{l1.trabecular_hu:.0f} HU")
    assert "≤ 160" in row[3][0]  # 114 HU: Pickhardt et al. 2013 band
    assert row[3][1].startswith(f"{l1.body_volume_ml:.1f} mL")
    # undoing the analysis empties both
    analysed_window.doc.undo_stack.undo()
    assert panel.table.rowCount() == 0 and table.rowCount() == 0


def test_confirm_and_rename_are_one_undo_step_each(analysed_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    doc = analysed_window.doc
    panel = analysed_window.planning.levels
    stack = doc.undo_stack
    n0 = stack.count()
    select_row(panel.table, 2)
    panel.buttons["confirm"].click()
    assert stack.count() == n0 + 1
    assert doc.analysis.level("L1").candidate.confirmed
    assert panel.table.item(2, 2).text() == "confirmed"
    # rename T12 → L1 with renumbering: every level shifts by one, all in one step
    import ui.panels.level_dialogs as lp

    monkeypatch.setattr(lp, "ask_level_name", lambda parent, title, current: ("L1", True))
    select_row(panel.table, 1)
    panel.buttons["rename"].click()
    assert stack.count() == n0 + 2
    assert doc.analysis.names() == ["T12", "L1", "L2", "L3", "L4"]
    assert doc.analysis.levels[1].candidate.confirmed  # the renamed one
    assert not doc.analysis.levels[2].candidate.confirmed  # its name changed under it
    assert doc.analysis.levels[1].anatomy.level == "L1"
    stack.undo()
    assert doc.analysis.names() == ["T11", "T12", "L1", "L2", "L3"]
    assert doc.analysis.level("L1").candidate.confirmed
    # the body proposed as L1 is a 13th thoracic one: only the bodies below it are renamed
    monkeypatch.setattr(lp, "ask_level_name", lambda parent, title, current: ("T13", True))
    select_row(panel.table, 2)
    panel.buttons["rename"].click()
    assert doc.analysis.names() == ["T11", "T12", "T13", "L1", "L2"]
    assert _table_column(panel.table, 0) == ["T11", "T12", "T13", "L1", "L2"]
    stack.undo()
    # a plain rename to a name already taken is refused with a message, nothing pushed
    monkeypatch.setattr(lp, "ask_level_name", lambda parent, title, current: ("L2", False))
    errors = []
    import ui.shell.errors

    monkeypatch.setattr(ui.shell.errors, "show_message", lambda *a: errors.append(a[3]))
    select_row(panel.table, 0)
    panel.buttons["rename"].click()
    assert stack.count() == n0 + 2 and "already named L2" in errors[0]


def test_choosing_the_target_sets_plan_level_and_follows_renames(
    analysed_window, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    doc = analysed_window.doc
    panel = analysed_window.planning.levels
    assert doc.plan is None
    select_row(panel.table, 2)
    n0 = doc.undo_stack.count()
    panel.buttons["add"].click()
    assert doc.plan is not None and doc.plan.level == "L1"
    assert doc.plan.series.series_uid == doc.volume.series_uid
    assert doc.undo_stack.count() == n0 + 1
    assert panel.table.item(2, 4).text() == "◉ active · VP"
    assert "planned level L1 is a proposal" in panel.warning.text()
    # the views follow: L1 outlined as the target, its height lines on the sagittal view
    ov = analysed_window.planning.overlays
    heights = ov.heights["sagittal"]
    assert heights.value is doc.level_result("L1")
    m = doc.level_result("L1").morphometry
    assert heights.label.GetVisibility()
    assert f"Ha {m.heights_mm.anterior:.1f}" in heights.label.GetInput()
    (a0, a1) = heights._points["anterior"]
    assert np.linalg.norm(a1 - a0) == pytest.approx(m.heights_mm.anterior, abs=1e-6)
    layers = {r.level: layer for r, layer, _label in ov.outlines["axial"]._layers}
    assert set(layers) == {"T11", "T12", "L1", "L2", "L3"}
    assert layers["L1"].actor.GetVisibility() and not layers["L3"].actor.GetVisibility()
    assert layers["L1"].actor.GetProperty().GetColor() == pytest.approx((1.0, 0.62, 0.2))
    # the crosshair went to the level
    np.testing.assert_allclose(
        analysed_window.state.cursor_lps, doc.analysis.level("L1").morphometry.centroid_lps
    )
    select_row(panel.table, 3)
    panel.buttons["add"].click()  # a second level: L1 keeps its plan
    assert doc.plan.level == "L2" and doc.case.plan.level_names() == ("L1", "L2")
    assert panel.table.item(2, 4).text() == "planned · VP"
    doc.undo_stack.undo()
    assert doc.plan.level == "L1" and doc.case.plan.level_names() == ("L1",)
    # renaming the target level's body moves the plan with it, in the same undo step
    panel.rename(2, "T12", True)
    assert doc.plan.level == "T12" and doc.analysis.levels[2].level == "T12"
    doc.undo_stack.undo()
    assert doc.plan.level == "L1" and doc.analysis.levels[2].level == "L1"


def test_name_at_crosshair_runs_the_analysis_off_the_gui_thread(
    quiet_window, demo_case, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import ui.panels.level_dialogs as lp

    win = quiet_window
    panel = win.planning.levels
    l1 = demo_case.truth.level("L1")
    win.state.set_cursor(l1.centroid_lps)
    monkeypatch.setattr(lp, "ask_seed_name", lambda parent: "L1")
    n0 = win.doc.undo_stack.count()
    panel.buttons["seed"].click()
    assert panel.task is not None and not panel.buttons["analyse"].isEnabled()
    qtbot.waitUntil(lambda: panel.task is None, timeout=60000)
    assert win.doc.undo_stack.count() == n0 + 1
    names = win.doc.analysis.names()
    assert "L1" in names and "L2" in names
    r = win.doc.analysis.level("L1")
    assert r.candidate.source == "seed" and r.candidate.confirmed
    assert abs(r.morphometry.body_volume_ml - l1.body_volume_ml) / l1.body_volume_ml < 0.05
    assert panel.table.item(names.index("L1"), 2).text() == "confirmed"


def test_summary_of_a_single_level_reads_in_the_singular(quiet_window, demo_analysis) -> None:  # type: ignore[no-untyped-def]
    """tptbox L3 (one body) read "1 levels (L3–L3)"."""
    from dataclasses import replace

    from ui.panels.common import push_analysis

    one = replace(demo_analysis, levels=(demo_analysis.level("L2"),))
    push_analysis(quiet_window.doc, one, "Analyse spine")
    QApplication.processEvents()
    text = quiet_window.planning.levels.summary.text()
    assert text.startswith("1 level (L2), 0 confirmed."), text


def test_a_level_with_suspect_heights_says_check_and_why(quiet_window, demo_analysis) -> None:  # type: ignore[no-untyped-def]
    """A body the grading found much taller than its neighbours is marked in the levels panel
    and both tables' grade tooltips give the grading's note."""
    from dataclasses import replace

    from planner.vertebra.grading import TALL_NOTE
    from ui.panels.common import push_analysis

    l2 = demo_analysis.level("L2")
    tall = replace(l2, morphometry=replace(l2.morphometry, notes=(TALL_NOTE,)))
    levels = tuple(tall if r.level == "L2" else r for r in demo_analysis.levels)
    push_analysis(quiet_window.doc, replace(demo_analysis, levels=levels), "Analyse spine")
    QApplication.processEvents()
    panel = quiet_window.planning.levels
    grades = _table_column(panel.table, 3)
    assert grades[3] == "0 · check" and grades[2] == "2 (wedge)", grades
    assert TALL_NOTE in panel.table.item(3, 3).toolTip()
    table = quiet_window.planning.measurements.table
    tips = [table.item(3, c).toolTip() for c in range(table.columnCount())]
    assert any(TALL_NOTE in t for t in tips), tips
