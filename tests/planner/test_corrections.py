"""Morphometry-point corrections: heights, grade, wedge and neighbours follow the six points."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from planner.plan.file import load_case_plan, save_case_plan
from planner.plan.model import SeriesBinding
from planner.session import Case, CasePlan, Correction, edit
from planner.session.corrections import (
    POINT_KEYS,
    add_point_correction,
    apply_corrections,
    automatic_points,
    edited_levels,
    point_correction,
)
from tests.planner.corrections_cases import spine

GENANT = (20.0, 25.0, 40.0)  # Genant 1993: grade = number of limits the worst loss reaches


def _moved(analysis, name: str, key: str, shift_lps) -> Correction:
    m = analysis.level(name).morphometry
    p = np.asarray(automatic_points(m)[key]) + np.asarray(shift_lps, float)
    return point_correction(m, key, p)


def _m(analysis, name: str):
    return analysis.level(name).morphometry


def test_the_six_points_are_the_ends_of_the_height_lines() -> None:
    a = spine()
    pts = automatic_points(_m(a, "L1"))
    assert set(pts) == set(POINT_KEYS)
    h = _m(a, "L1").heights_mm
    for wall in ("anterior", "middle", "posterior"):
        d = math.dist(pts[f"{wall}_superior"], pts[f"{wall}_inferior"])
        assert d == pytest.approx(h.get(wall), abs=1e-9)


def test_lowering_an_anterior_point_makes_a_graded_wedge_fracture() -> None:
    a = spine()
    before = _m(a, "L2")
    ref_a = before.reference_heights_mm.anterior
    drop = before.heights_mm.anterior - 0.7 * ref_a  # 30 % anterior loss: Genant grade 2
    c = _moved(a, "L2", "anterior_superior", (0.0, 0.0, -drop))
    after = _m(apply_corrections(a, [c]), "L2")
    assert after.heights_mm.anterior == pytest.approx(0.7 * ref_a, abs=1e-6)
    assert after.heights_mm.middle == before.heights_mm.middle
    assert after.heights_mm.posterior == before.heights_mm.posterior
    loss = 100.0 * (1.0 - after.heights_mm.anterior / after.reference_heights_mm.anterior)
    assert after.height_loss_pct["anterior"] == pytest.approx(loss)
    assert after.genant_grade == sum(loss >= t for t in GENANT) == 2
    assert after.morphology == "wedge"
    tan = (after.heights_mm.posterior - after.heights_mm.anterior) / 24.0
    assert after.wedge_angle_deg == pytest.approx(math.degrees(math.atan(tan)), abs=1e-6)
    assert after.wedge_angle_deg > before.wedge_angle_deg + 10.0


def test_a_fractured_level_stops_being_its_neighbours_reference() -> None:
    a = spine()
    before = _m(a, "L2")
    drop = before.heights_mm.anterior - 0.6 * before.reference_heights_mm.anterior
    b = apply_corrections(a, [_moved(a, "L2", "anterior_superior", (0, 0, -drop))])
    assert _m(b, "L2").genant_grade == 3
    # L1: T12 above (24 mm) and, L2 now fractured, L3 two levels below (27 mm)
    assert _m(a, "L1").reference_heights_mm.posterior == pytest.approx((24.0 + 26.0) / 2)
    assert _m(b, "L1").reference_heights_mm.posterior == pytest.approx((24.0 + 27.0) / 2)
    # L3: L1 two levels above replaces L2
    assert _m(b, "L3").reference_heights_mm.posterior == pytest.approx(25.0)
    assert _m(b, "T12") is _m(a, "T12")  # T12's nearest neighbour below is still L1


def test_an_intact_neighbours_new_height_moves_the_reference() -> None:
    a = spine()
    b = apply_corrections(a, [_moved(a, "L2", "posterior_superior", (0, 0, 1.0))])
    assert _m(b, "L2").heights_mm.posterior == pytest.approx(27.0)
    assert _m(b, "L2").genant_grade == 0
    assert _m(b, "L1").reference_heights_mm.posterior == pytest.approx((24.0 + 27.0) / 2)
    assert _m(b, "L3").reference_heights_mm.posterior == pytest.approx(27.0)


def test_heights_are_perpendicular_to_the_endplates_in_the_mid_sagittal_plane() -> None:
    a = spine(tilt_deg=15.0)
    m = _m(a, "L1")
    frame = a.level("L1").anatomy.frame
    along_endplate = 3.0 * frame.posterior + 4.0 * frame.left  # in the plate / out of plane
    b = apply_corrections(a, [_moved(a, "L1", "middle_inferior", along_endplate)])
    assert _m(b, "L1").heights_mm.middle == pytest.approx(m.heights_mm.middle, abs=1e-9)
    c = apply_corrections(a, [_moved(a, "L1", "middle_superior", (0.0, 0.0, 2.0))])
    expected = m.heights_mm.middle + 2.0 * math.cos(math.radians(15.0))
    assert _m(c, "L1").heights_mm.middle == pytest.approx(expected, abs=1e-9)


def test_nothing_changes_without_point_corrections() -> None:
    a = spine()
    name = Correction.make("L1", "level_name", "name", "L1", "L2")
    assert apply_corrections(a, [name]) is a
    same = _moved(a, "L1", "anterior_inferior", (0, 0, 0))
    b = apply_corrections(a, [same])
    assert _m(b, "L1").heights_mm == _m(a, "L1").heights_mm
    assert _m(b, "L2") is _m(a, "L2")
    assert edited_levels([same, name]) == {"L1": ("morphometry_point", "level_name")}


def test_impossible_points_are_refused() -> None:
    a = spine()
    m = _m(a, "L1")
    with pytest.raises(ValueError, match="at most"):
        _moved(a, "L1", "anterior_superior", (0, 0, -45.0))
    with pytest.raises(ValueError, match="one of"):
        point_correction(m, "anterior_top", (0.0, 0.0, 0.0))
    c = _moved(a, "L1", "anterior_superior", (0, 0, -m.heights_mm.anterior - 1.0))
    with pytest.raises(ValueError, match="above the inferior"):
        apply_corrections(a, [c])


def test_one_drag_is_one_correction_with_the_automatic_value_beside_it() -> None:
    a = spine()
    case = Case(SeriesBinding("1.2.3", "fp"), analysis=a)
    auto = list(automatic_points(_m(a, "L2"))["anterior_superior"])
    for dz in (-1.0, -2.0, -3.0):  # the last position of a key replaces the earlier ones
        case = edit.add_correction(case, _moved(a, "L2", "anterior_superior", (0, 0, dz)))
    (c,) = case.corrections
    assert c.automatic == pytest.approx(auto, abs=1e-3)
    assert c.value[2] == pytest.approx(auto[2] - 3.0, abs=1e-3)
    h = case.level_data("L2").morphometry.heights_mm.anterior
    assert h == pytest.approx(_m(a, "L2").heights_mm.anterior - 3.0, abs=1e-3)


def test_corrections_survive_the_plan_file(tmp_path: Path) -> None:
    a = spine()
    before = _m(a, "L2")
    drop = before.heights_mm.anterior - 0.7 * before.reference_heights_mm.anterior
    c = _moved(a, "L2", "anterior_superior", (0, 0, -drop))
    case = edit.add_correction(Case(SeriesBinding("1.2.3", "fp"), analysis=a), c)
    path = save_case_plan(case.series, case.plan, tmp_path / "plan.json")
    loaded = load_case_plan(path)
    assert loaded.plan.corrections == (c,)
    reopened = loaded.case(a)
    assert reopened.level_data("L2").morphometry.genant_grade == 2
    assert reopened.level_data("L1").morphometry == case.level_data("L1").morphometry
    assert Case(case.series, CasePlan(), a).level_data("L2").morphometry is before


def test_an_impossible_point_is_refused_before_it_enters_the_case() -> None:
    a = spine()
    case = Case(SeriesBinding("1.2.3", "fp"), analysis=a)
    bad = _moved(a, "L1", "middle_superior", (0, 0, -30.0))
    with pytest.raises(ValueError, match="above the inferior"):
        add_point_correction(case, bad)
    # a hand-edited plan file with such a point: automatic heights kept, with a note
    opened = edit.add_correction(case, bad)
    m = opened.level_data("L1").morphometry
    assert m.heights_mm == _m(a, "L1").heights_mm
    assert any("correction not applied" in n for n in m.notes)


def test_removing_a_planned_level_keeps_its_anatomy_corrections() -> None:
    a = spine()
    case = edit.add_level(Case(SeriesBinding("1.2.3", "fp"), analysis=a), "L2")
    c = _moved(a, "L2", "anterior_superior", (0, 0, -2.0))
    case = edit.remove_level(edit.add_correction(case, c), "L2")
    assert case.corrections == (c,)
