"""The printable plan report: series bound, sources cited, no patient identifiers by default."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest

from tests.ui.demo_truth import truth_analysis
from tests.ui.test_estimates_panel import demo_trajectories
from tests.ui.test_levels_panel import quiet_window  # noqa: F401


@pytest.fixture(scope="module")
def report_inputs(demo_case):  # type: ignore[no-untyped-def]
    from planner.estimate import compute_estimates
    from planner.plan.model import BalloonPlacement, Plan, SeriesBinding
    from planner.volume import PatientInfo

    vol = replace(
        demo_case.volume,
        patient=PatientInfo(patient_name="DOE^JANE", patient_id="ID12345", birth_date="19450101"),
    )
    analysis = truth_analysis(demo_case, confirmed=("L1",))
    plan = Plan(
        SeriesBinding(vol.series_uid, vol.grid.fingerprint()),
        "L1",
        "kyphoplasty",
        demo_trajectories(demo_case),
    )
    plan = plan.with_balloon(BalloonPlacement("left", "kyphon-xpander-ii-15-3", 0.0, 2.0))
    r = analysis.level("L1")
    est = compute_estimates(vol, r.anatomy, r.morphometry, plan)
    return vol, plan, analysis, est


def test_report_binds_the_series_cites_sources_and_hides_the_patient(report_inputs) -> None:  # type: ignore[no-untyped-def]
    from planner.estimate import SOURCES
    from ui.shell.report import build_report_html

    vol, plan, analysis, est = report_inputs
    text = build_report_html(vol, plan, analysis, est, include_patient=False)
    assert vol.series_uid in text and vol.grid.fingerprint() in text
    for name in ("DOE^JANE", "DOE", "ID12345", "19450101"):
        assert name not in text
    assert "Patient identifiers omitted" in text
    for sid in est.source_ids:  # every cited source is printed in full
        assert html.escape(SOURCES[sid].citation) in text
    assert f"{est.cement.recommended_ml:.1f} mL" in text
    assert html.escape(est.cement.method) in text
    b = est.restoration.immediate_mm["anterior"]
    assert f"{b.median:.1f} mm ({b.p10:.1f}–{b.p90:.1f})" in text
    assert "Vertebroplasty and kyphoplasty compared" in text
    assert f"placed {est.balloons[0].volume_ml:.2f} mL" in text
    # levels: L1 confirmed, the others proposed; the target marked
    assert text.count("<b>proposed</b>") == 4 and "L1 ◉ planned (kyphoplasty)" in text
    assert "Level L1 — kyphoplasty (confirmed)" in text
    assert f"<b>{est.cement.recommended_ml:.1f} mL</b>" in text  # the case's total (one level)
    assert "Left</b> transpedicular" in text and "Right</b> transpedicular" in text
    assert "leakage probability" in text  # what the plan does not claim


def test_patient_identifiers_only_when_ticked_and_foreign_plan_warned(report_inputs) -> None:  # type: ignore[no-untyped-def]
    from planner.plan.model import SeriesBinding
    from ui.shell.report import build_report_html

    vol, plan, analysis, est = report_inputs
    text = build_report_html(vol, plan, analysis, est, include_patient=True)
    assert "DOE^JANE" in text and "ID12345" in text
    other = replace(plan, series=SeriesBinding("1.2.3.4", "abc"))
    assert "bound to another series" in build_report_html(vol, other, analysis, est)
    assert "bound to another series" not in text


@pytest.mark.gui
def test_export_action_writes_the_file(quiet_window, demo_case, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811, E501
    import ui.panels.planning as planning
    from ui.panels.common import push_analysis

    win = quiet_window
    win.planning.controller.enabled = False
    push_analysis(win.doc, truth_analysis(demo_case), "Analyse spine")
    win.planning.levels.set_target("L2")
    out = tmp_path / "plan"
    monkeypatch.setattr(planning, "ask_report_options", lambda parent: (str(out), False))
    win.planning.actions["report"].trigger()
    written = tmp_path / "plan.html"
    text = written.read_text(encoding="utf-8")
    assert "plan — L2 vertebroplasty" in text and win.doc.volume.series_uid in text
    assert "No trajectories planned." in text


def test_measurements_drawn_are_listed_with_their_points(report_inputs) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from planner.plan.model import PlanMeasurement
    from ui.shell.report import build_report_html

    vol, plan, analysis, est = report_inputs
    assert "Measurements drawn" not in build_report_html(vol, plan, analysis, est)
    ruler = PlanMeasurement("distance", ((0.0, 0.0, 0.0), (3.0, 4.0, 0.0)), "axial")
    angle = PlanMeasurement("angle", ((10, 0, 0), (0, 0, 0), (0, 10, 0)), "sagittal")
    text = build_report_html(vol, replace(plan, measurements=(ruler, angle)), analysis, est)
    assert "Distance 5.0 mm in the axial view" in text
    assert "Angle 90.0° in the sagittal view" in text
