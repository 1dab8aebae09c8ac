"""Estimates panel: numbers equal planner.estimate's; one gesture = one command; overlays follow."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import truth_analysis
from tests.ui.test_levels_panel import quiet_window  # noqa: F401

pytestmark = pytest.mark.gui


def demo_trajectories(demo_case, depth_frac=0.8):  # type: ignore[no-untyped-def]
    """Bipedicular transpedicular needles of the demo's L1 from its ground-truth pedicles."""
    from planner.plan.model import Trajectory

    lt = demo_case.truth.level("L1")
    out = []
    for side in ("left", "right"):
        p = lt.pedicles[side]
        e, u = np.asarray(p.entry_lps), np.asarray(p.axis_dir_lps)
        out.append(
            Trajectory(
                side,
                "transpedicular",
                tuple(e - 60 * u),
                tuple(e),
                tuple(e + depth_frac * p.length_to_anterior_cortex_mm * u),
            )
        )
    return tuple(out)


@pytest.fixture
def planned_window(quiet_window, demo_case):  # type: ignore[no-untyped-def]  # noqa: F811
    from ui.panels.common import push_analysis

    win = quiet_window
    push_analysis(win.doc, truth_analysis(demo_case), "Analyse spine")
    win.planning.levels.set_target("L1")
    QApplication.processEvents()
    return win


def _wait_full(qtbot, ctrl):  # type: ignore[no-untyped-def]
    qtbot.waitUntil(
        lambda: ctrl.current is not None and not ctrl.current.pending and not ctrl.busy,
        timeout=60000,
    )


def test_cement_recommendation_matches_planner_for_demo_l1(
    planned_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from planner.estimate import cement_recommendation, compute_estimates
    from planner.plan.model import BalloonPlacement

    win = planned_window
    panel, ctrl, doc = win.planning.estimates, win.planning.controller, win.doc
    l1 = doc.level_result("L1")
    # vertebroplasty, no needles yet: closed form at once, 0.24 × V_VB
    vp = cement_recommendation(l1.morphometry.body_volume_ml, "vertebroplasty")
    assert panel.cement_value.text() == f"{vp.recommended_ml:.1f} mL"
    assert f"{vp.range_ml[0]:.1f}–{vp.range_ml[1]:.1f} mL" in panel.cement_band.text()
    assert "0.24 × V_VB" in panel.cement_text.toPlainText()
    assert "Molloy" in panel.cement_text.toPlainText()  # sources are listed
    assert "Molloy" in panel.cement_value.toolTip()
    # kyphoplasty with two balloons: after the background run the panel shows planner's numbers
    plan = doc.plan
    for t in demo_trajectories(demo_case):
        plan = plan.with_trajectory(t)
    plan = replace(plan, procedure="kyphoplasty")
    dev = "kyphon-xpander-ii-15-3"
    plan = plan.with_balloon(BalloonPlacement("left", dev, 0.0, 2.5)).with_balloon(
        BalloonPlacement("right", dev, 0.0, 2.5)
    )
    doc.push_plan(plan, "test plan")
    _wait_full(qtbot, ctrl)
    ref = compute_estimates(doc.volume, l1.anatomy, l1.morphometry, doc.plan)
    assert panel.cement_value.text() == f"{ref.cement.recommended_ml:.1f} mL"
    assert ctrl.current.cement.recommended_ml == pytest.approx(ref.cement.recommended_ml, abs=1e-9)
    assert ctrl.current.spread.volume_ml == pytest.approx(ref.spread.volume_ml, abs=1e-9)
    assert f"{ref.spread.volume_ml:.1f} mL of" in panel.spread_text.toPlainText()
    imm = ref.restoration.immediate_mm["anterior"]
    assert (
        f"{imm.median:.1f} mm ({imm.p10:.1f}–{imm.p90:.1f})" in panel.restoration_text.toPlainText()
    )
    cmp = panel.compare.toPlainText()
    assert (
        "Vertebroplasty" in cmp
        and f"{ref.comparison.kyphoplasty.cement.recommended_ml:.1f} mL" in cmp
    )
    res = {b.side: b for b in ref.balloons}
    assert (
        f"Placed <b>{res['left'].volume_ml:.2f} mL</b>" in panel.balloon_boxes["left"].result.text()
    )
    # the overlays drew the balloons and the cloud in 3D
    assert win.planning.overlays.cement["3d"].shape.surface.GetNumberOfPoints() > 100
    assert win.planning.overlays.balloons["3d"].shapes["left"].surface.GetNumberOfPoints() > 100


def test_inflation_slider_release_pushes_exactly_one_command(
    planned_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from planner.plan.model import BalloonPlacement

    win = planned_window
    doc = win.doc
    win.planning.controller.enabled = False  # this test is about commands, not the models
    plan = doc.plan
    for t in demo_trajectories(demo_case):
        plan = plan.with_trajectory(t)
    from dataclasses import replace

    doc.push_plan(replace(plan, procedure="kyphoplasty"), "kyphoplasty with needles")
    box = win.planning.estimates.balloon_boxes["left"]
    assert box.enable.isEnabled()
    n0 = doc.undo_stack.count()
    box.enable.setChecked(True)
    assert doc.undo_stack.count() == n0 + 1 and doc.plan.balloon("left") is not None
    previews = []
    box.preview_changed.connect(lambda side, ml: previews.append(ml))
    s = box.slider
    s.setSliderDown(True)
    for v in (10, 20, 30, 50, 56):
        s.setValue(v)
    assert doc.undo_stack.count() == n0 + 1  # dragging previews only
    assert previews == pytest.approx([0.5, 1.0, 1.5, 2.5, 2.8])
    assert box.spin.value() == pytest.approx(2.8)
    s.setSliderDown(False)  # release
    assert doc.undo_stack.count() == n0 + 2
    assert doc.plan.balloon("left").inflation_ml == pytest.approx(2.8)
    doc.undo_stack.undo()
    assert doc.plan.balloon("left").inflation_ml == pytest.approx(
        BalloonPlacement("left", "x").inflation_ml
    )
    assert s.value() == 40 and box.spin.value() == pytest.approx(2.0)
    # the spin box: one command per edit
    box.spin.setValue(1.5)
    box.spin.editingFinished.emit()
    assert doc.undo_stack.count() == n0 + 2 and doc.plan.balloon(
        "left"
    ).inflation_ml == pytest.approx(1.5)


def test_clinical_inputs_update_the_restoration_at_once(planned_window) -> None:  # type: ignore[no-untyped-def]
    from planner.estimate import restoration_estimate

    win = planned_window
    doc, panel = win.doc, win.planning.estimates
    win.planning.controller.enabled = False
    box = panel.clinical
    n0 = doc.undo_stack.count()
    box.procedure.setCurrentText("kyphoplasty")
    box.procedure.activated.emit(1)
    box.oedema.setCurrentIndex(1)
    box.oedema.activated.emit(1)
    assert doc.undo_stack.count() == n0 + 2
    assert doc.plan.procedure == "kyphoplasty" and doc.plan.clinical.effective_acuity == "acute"
    m = doc.level_result("L1").morphometry
    lost = {w: m.reference_heights_mm.get(w) - m.heights_mm.get(w) for w in ("anterior", "middle")}
    ref = restoration_estimate(lost, "kyphoplasty", "acute")
    b = ref.immediate_mm["anterior"]
    assert f"{b.median:.1f} mm ({b.p10:.1f}–{b.p90:.1f})" in panel.restoration_text.toPlainText()
    assert "acute" in box.acuity_label.text()
