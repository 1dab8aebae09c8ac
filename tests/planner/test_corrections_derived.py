"""Corrections on the demo's analysis: restoration, cement and cache keys follow the points."""

from __future__ import annotations

import numpy as np
import pytest

from planner.plan.model import SeriesBinding
from planner.session import Case, edit, level_closed_form
from planner.session.corrections import automatic_points, is_edited, point_correction
from planner.session.derive import anatomy_key
from tests.planner.vertebra_cases import demo_analysis

pytest.importorskip("planner.demo", reason="demo generator not importable in this build")


@pytest.fixture(scope="module")
def case() -> Case:
    c = Case(SeriesBinding("1.2.3", "fp"), analysis=demo_analysis())
    return edit.add_level(c, "L1", "kyphoplasty")


def _raise_anterior(case: Case, mm: float) -> Case:
    m = case.analysis.level("L1").morphometry
    frame = case.analysis.level("L1").anatomy.frame
    p = np.asarray(automatic_points(m)["anterior_superior"]) + mm * frame.superior
    return edit.add_correction(case, point_correction(m, "anterior_superior", p))


def test_restoring_the_anterior_height_changes_grade_restoration_and_keys(case: Case) -> None:
    auto = case.level_data("L1")
    assert auto.morphometry.genant_grade >= 2  # the demo's L1 wedge fracture
    fixed = _raise_anterior(
        case, auto.morphometry.reference_heights_mm.anterior - auto.morphometry.heights_mm.anterior
    )
    data = fixed.level_data("L1")
    m = data.morphometry
    assert m.heights_mm.anterior == pytest.approx(
        auto.morphometry.reference_heights_mm.anterior, abs=1e-6
    )
    assert m.genant_grade < auto.morphometry.genant_grade
    assert m.wedge_angle_deg < auto.morphometry.wedge_angle_deg - 10.0
    assert is_edited(m) and not is_edited(auto.morphometry)
    assert anatomy_key(data.anatomy, m) != anatomy_key(auto.anatomy, auto.morphometry)
    before, after = level_closed_form(case, "L1"), level_closed_form(fixed, "L1")
    assert before is not None and after is not None
    assert before.restoration.immediate_mm["anterior"].median > 1.0
    # no anterior height lost any more: no anterior gain is predicted (issue 11 item 5)
    assert after.restoration.immediate_mm["anterior"].median == 0.0
    assert after.cement.body_volume_ml == before.cement.body_volume_ml  # points move no volume


def test_neighbours_of_a_corrected_level_are_regraded(case: Case) -> None:
    m = case.level_data("L2").morphometry
    frame = case.analysis.level("L2").anatomy.frame
    p = np.asarray(automatic_points(m)["posterior_superior"]) + 2.0 * frame.superior
    fixed = edit.add_correction(case, point_correction(m, "posterior_superior", p))
    assert fixed.level_data("L2").morphometry.heights_mm.posterior == pytest.approx(
        m.heights_mm.posterior + 2.0, abs=1e-6
    )
    ref_before = case.level_data("L3").morphometry.reference_heights_mm.posterior
    ref_after = fixed.level_data("L3").morphometry.reference_heights_mm.posterior
    assert ref_after != pytest.approx(ref_before, abs=0.1)


def test_the_level_result_and_measure_output_say_edited(case: Case) -> None:
    fixed = _raise_anterior(case, 2.0)
    r = fixed.corrected_analysis().level("L1")
    assert r.morphometry is not case.analysis.level("L1").morphometry
    js = r.to_json()
    want = automatic_points(r.morphometry)["anterior_superior"]
    assert js["heights_mm"]["anterior"] == pytest.approx(
        r.morphometry.heights_mm.anterior, abs=0.01
    )
    assert js["edited"]["morphometry_points"] is True
    assert fixed.corrected_analysis().level("L2").to_json()["edited"]["morphometry_points"] is False
    assert js["morphometry_points_lps"]["anterior_superior"] == pytest.approx(list(want), abs=0.01)


def test_the_report_marks_the_edited_level_and_keeps_the_automatic_point(case: Case) -> None:
    from planner.session import report_content
    from tests.planner.vertebra_cases import demo_case

    fixed = edit.add_level(_raise_anterior(case, 2.0), "L2", activate=False)
    content = report_content(demo_case().volume, fixed, with_estimates=False)
    edited = {lv.level: lv.to_json()["edited"] for lv in content.levels}
    assert edited == {"L1": ["morphometry_point"], "L2": []}
    (c,) = content.to_json()["corrections"]
    auto = automatic_points(case.analysis.level("L1").morphometry)["anterior_superior"]
    assert c["automatic"] == pytest.approx(list(auto)) and c["value"] != c["automatic"]


def test_a_moved_point_reuses_the_trajectory_context(case: Case) -> None:
    from planner.session import level_context
    from tests.planner.vertebra_cases import demo_case

    volume = demo_case().volume
    auto = level_context(volume, case.level_data("L1"))
    fixed = _raise_anterior(case, 1.5)
    assert fixed.level_data("L1").morphometry != case.level_data("L1").morphometry
    assert level_context(volume, fixed.level_data("L1")) is auto  # heights are not in it
