"""Genant grading, morphology and reference heights (DOMAIN.md §2.1, §2.3, §1.2)."""

from __future__ import annotations

import math

import pytest

from planner.anatomy import Heights, Morphometry
from planner.vertebra.grading import (
    genant_grade,
    grade_all,
    grade_level,
    implausible_depths,
    implausibly_tall,
    morphology,
    outline_suspect,
    wall_status,
)


def _m(level: str, a: float, m: float, p: float, depth: float = 32.0) -> Morphometry:
    wedge = math.degrees(math.atan2(p - a, 0.8 * depth))
    return Morphometry(level, (0.0, 0.0, 0.0), 30.0, Heights(a, m, p), depth, 42.0, wedge,
                       150.0)


@pytest.mark.parametrize(("loss", "grade"), [(0, 0), (19.9, 0), (20, 1), (24.9, 1), (25, 2),
                                             (39.9, 2), (40, 3), (70, 3)])
def test_genant_thresholds(loss: float, grade: int) -> None:
    assert genant_grade(loss) == grade


def test_morphology_types() -> None:
    assert morphology({"anterior": 30, "middle": 10, "posterior": 0}, 2) == "wedge"
    assert morphology({"anterior": 10, "middle": 30, "posterior": 5}, 2) == "biconcave"
    assert morphology({"anterior": 30, "middle": 30, "posterior": 28}, 2) == "crush"
    assert morphology({"anterior": 5, "middle": 5, "posterior": 5}, 0) == "normal"


def test_physiological_wedging_of_t12_is_not_a_fracture() -> None:
    # T12 with its normal ~4-5° ventral wedge (Masharawi 2010) between square-ish neighbours
    levels = {"T11": _m("T11", 22.5, 22.0, 24.0), "T12": _m("T12", 22.6, 23.0, 25.5),
              "L1": _m("L1", 25.0, 24.5, 26.5)}
    graded = grade_all(levels)
    assert all(g.genant_grade == 0 for g in graded.values())
    # the same anterior height with no wedging expected (L3 rule) loses more
    assert graded["T12"].height_loss_pct["anterior"] < 12.0


def test_fractured_neighbour_is_not_used_as_reference() -> None:
    levels = {"T12": _m("T12", 24.0, 23.5, 25.5), "L1": _m("L1", 16.0, 20.0, 26.0),
              "L2": _m("L2", 12.0, 20.0, 27.0), "L3": _m("L3", 28.0, 27.0, 28.0)}
    graded = grade_all(levels)
    assert graded["L2"].genant_grade >= 2
    assert graded["L1"].genant_grade == 2
    assert graded["L1"].morphology == "wedge"
    # L1's reference comes from T12 alone (L2 is fractured, L3 is two levels away but intact)
    ref = graded["L1"].reference_heights_mm
    assert ref is not None and 24.0 < ref.anterior < 27.5


def test_without_neighbours_the_own_posterior_height_is_the_reference() -> None:
    g = grade_level(_m("L3", 18.0, 26.0, 28.0), {})
    assert g.genant_grade == 2 and any("own posterior" in n for n in g.notes)


def test_posterior_wall_status() -> None:
    assert wall_status(-1.0) == "intact"
    assert wall_status(2.5) == "bulging"
    assert wall_status(5.0) == "retropulsion"
    assert wall_status(None) == "unknown"


def test_renumber_after_a_user_rename() -> None:
    from planner.vertebra import LevelCandidate, renumber

    cands = [LevelCandidate(n, (0.0, 0.0, float(-30 * k)), "auto", n == "L2")
             for k, n in enumerate(["T12", "L1", "L2", "L3", "L4"])]
    out = renumber(cands, 1, "T12")  # the user says the second body is T12
    assert [c.level for c in out] == ["T11", "T12", "L1", "L2", "L3"]
    assert [c.confirmed for c in out] == [False, True, False, False, False]
    assert [c.level for c in renumber(cands, 4, "S1")] == ["L2", "L3", "L4", "L5", "S1"]
    assert len(renumber(cands, 0, "C1")) == 5 and renumber(cands, 1, "C1")[0].level == "C1"


def test_uniformly_short_vertebra_is_not_graded_as_a_fracture() -> None:
    # all three heights ~22 % under the neighbours', own shape kept: a short vertebra (Jiang 2004)
    levels = {"T6": _m("T6", 21.4, 19.5, 21.9), "T7": _m("T7", 17.1, 17.1, 16.5),
              "T8": _m("T8", 23.4, 21.8, 22.2)}
    graded = grade_all(levels)
    t7 = graded["T7"]
    assert t7.genant_grade == 0 and t7.morphology == "short"
    assert max(t7.height_loss_pct.values()) >= 20.0  # the loss is real, only not a fracture
    assert any(n.startswith("short vertebral height") for n in t7.notes)
    # a short vertebra is no reference: T8 is not compared with it
    assert graded["T8"].reference_heights_mm.posterior > 20.0


@pytest.mark.parametrize(("a", "m", "p"), [
    (17.1, 15.8, 19.4),   # wedge with a depressed middle (VerSe T9-like): still graded
    (15.0, 18.0, 21.0),   # wedge: anterior lost far more than posterior
    (17.0, 14.0, 17.0),   # uniform walls but a depressed middle endplate (biconcave)
    (12.0, 12.0, 12.0),   # loss over 40 %: always graded
])
def test_deformed_or_severe_levels_keep_their_grade(a: float, m: float, p: float) -> None:
    levels = {"T8": _m("T8", 22.5, 21.5, 23.0), "T9": _m("T9", a, m, p),
              "T10": _m("T10", 23.5, 22.5, 24.0)}
    t9 = grade_all(levels)["T9"]
    assert t9.genant_grade > 0 and t9.morphology != "short"


def test_a_body_much_taller_than_its_neighbours_is_not_a_reference() -> None:
    # ../shared/data/cptac_chest_ct at 0.70 mm pixels: T12's outline took part of a disc
    # (33.0/32.4/29.8 mm) and its neighbours T10 and T11 were graded 2 and 1 against it
    levels = {"T9": _m("T9", 22.3, 21.0, 23.1), "T10": _m("T10", 22.7, 24.2, 25.6),
              "T11": _m("T11", 25.0, 25.7, 24.0), "T12": _m("T12", 33.0, 32.4, 29.8),
              "L1": _m("L1", 25.9, 25.5, 21.8)}
    assert implausibly_tall("T12", levels)
    assert not any(implausibly_tall(k, levels) for k in ("T9", "T10", "T11", "L1"))
    graded = grade_all(levels)
    assert {k: g.genant_grade for k, g in graded.items()} == dict.fromkeys(levels, 0)
    assert any("taller than its neighbours" in n for n in graded["T12"].notes)
    # a 15 % taller body is still a reference (and a one-neighbour chain is never tested)
    levels["T12"] = _m("T12", 29.0, 29.5, 29.0)
    assert not implausibly_tall("T12", levels)
    assert not implausibly_tall("T12", {"T12": levels["T12"], "L1": levels["L1"]})


def test_a_normal_body_between_fractures_stays_a_reference() -> None:
    # fractures only lower bodies: against the tallest neighbour a normal T11 between
    # fractured T10 and T12 (and L1) is not "too tall", so T10/T12 are graded against it
    levels = {"T9": _m("T9", 23.0, 22.5, 24.0), "T10": _m("T10", 14.0, 17.0, 23.5),
              "T11": _m("T11", 24.0, 23.5, 25.0), "T12": _m("T12", 13.0, 14.0, 15.0),
              "L1": _m("L1", 15.0, 16.0, 25.0)}
    assert not implausibly_tall("T11", levels)
    graded = grade_all(levels)
    assert graded["T10"].genant_grade >= 2 and graded["T12"].genant_grade == 3


def test_a_normal_body_among_uniformly_low_neighbours_needs_their_shape_kept() -> None:
    # T4 normal, its neighbours wedged (anterior < 0.85 posterior): T4 is not "too tall"
    levels = {"T2": _m("T2", 12.0, 15.0, 17.0), "T3": _m("T3", 12.0, 14.5, 16.0),
              "T4": _m("T4", 21.0, 21.0, 21.5), "T5": _m("T5", 12.0, 16.0, 18.5),
              "T6": _m("T6", 12.0, 16.0, 19.0)}
    assert not implausibly_tall("T4", levels)
    assert grade_all(levels)["T5"].genant_grade >= 2


# depths read on ../shared/data/cptac_chest_ct (T1-L1), a steep normal gradient at T4/T5
CPTAC_DEPTHS_MM = {"T1": 17.6, "T2": 21.9, "T3": 21.8, "T4": 23.8, "T5": 29.1, "T6": 29.5,
                   "T7": 29.2, "T8": 31.5, "T9": 32.8, "T10": 33.8, "T11": 32.6, "T12": 30.9,
                   "L1": 35.1}


def _spine(depths: dict[str, float]) -> dict[str, Morphometry]:
    return {k: _m(k, 21.0, 20.5, 21.5, depth=d) for k, d in depths.items()}


def test_normal_depths_along_the_spine_are_plausible() -> None:
    assert implausible_depths(_spine(CPTAC_DEPTHS_MM)) == {}
    lumbar = {"L1": 33.9, "L2": 29.4, "L3": 31.9, "L4": 31.9, "L5": 33.1}  # VerSe 004 mask
    assert implausible_depths(_spine(lumbar)) == {}
    assert implausible_depths(_spine({"L1": 33.0, "L2": 60.0, "L3": 34.0})) == {}  # too few


def test_outlines_far_from_the_depth_trend_are_flagged_and_not_references() -> None:
    # the same CT with a soft kernel: T2 and T3 held other bone (48 / 43 mm), T7 was cut
    # short (16 mm); two neighbouring wrong outlines must not hide each other, nor make a
    # normal T4 between them and the rest look wrong
    depths = dict(CPTAC_DEPTHS_MM, T2=48.4, T3=43.0, T7=15.7)
    levels = _spine(depths)
    assert set(implausible_depths(levels)) == {"T2", "T3", "T7"}
    levels["T7"] = _m("T7", 15.0, 16.0, 16.5, depth=15.7)  # its heights cut short too
    levels["T8"] = _m("T8", 16.0, 20.0, 21.0, depth=31.5)  # a real wedge next to it
    graded = grade_all(levels)
    assert all(outline_suspect(graded[k]) for k in ("T2", "T3", "T7"))
    assert not any(outline_suspect(graded[k]) for k in levels if k not in ("T2", "T3", "T7"))
    assert graded["T8"].genant_grade == 2  # graded against T9, not against T7
    again = grade_all(graded)  # graded again (e.g. after a correction): one note, not two
    assert sum(n.startswith("AP depth") for n in again["T7"].notes) == 1


def test_an_implausible_outline_is_not_graded_unless_its_points_are_set_by_hand() -> None:
    # L1's middle taller than both walls by > 15 % (endplates are flat or concave): its 35 %
    # anterior loss is shown but not graded; graded again it stays so; with the surgeon's
    # points it is graded on them
    from planner.vertebra.grading import NOT_GRADED, NOT_GRADED_NOTE, grade_text

    levels = {"T12": _m("T12", 24.0, 23.5, 25.5), "L1": _m("L1", 16.0, 24.0, 20.0),
              "L2": _m("L2", 25.0, 24.5, 26.5)}
    graded = levels
    for _ in range(2):
        graded = grade_all(graded)
        l1 = graded["L1"]
        assert l1.height_loss_pct["anterior"] > 30.0 and outline_suspect(l1)
        assert (l1.genant_grade, l1.morphology, grade_text(l1)) == (0, NOT_GRADED, "not graded")
        assert l1.notes.count(NOT_GRADED_NOTE) == 1
        assert l1.prefracture_volume_ml == l1.body_volume_ml
    by_hand = grade_all(levels, set_by_hand={"L1"})["L1"]
    assert by_hand.genant_grade == 2 and grade_text(by_hand) == "2 (wedge)"
    assert NOT_GRADED_NOTE not in by_hand.notes and outline_suspect(by_hand)


def _with_axis(m: Morphometry, z_mm: float, axis: tuple[float, float, float]) -> Morphometry:
    from dataclasses import replace

    centre = (0.0, 0.0, z_mm)
    top = tuple(c + 10.0 * a for c, a in zip(centre, axis, strict=True))
    return replace(m, centroid_lps=centre, height_lines_lps={"middle": (centre, top)})


def test_a_frame_tilted_against_the_column_is_not_graded() -> None:
    # a column along z, 30 mm pitch; L1's cranial axis turned 35° in the sagittal plane
    # measures its anterior wall obliquely (16 mm): not graded, not a reference; at 15° graded
    from planner.vertebra.frame_tilt import MAX_TILT_DEG, TILT_NOTE_START, frame_tilt_deg
    from planner.vertebra.grading import NOT_GRADED

    def column(tilt_deg: float) -> dict[str, Morphometry]:
        t = math.radians(tilt_deg)
        return {"T12": _with_axis(_m("T12", 24.0, 23.5, 25.5), 30.0, (0.0, 0.0, 1.0)),
                "L1": _with_axis(_m("L1", 16.0, 22.0, 25.0), 0.0, (0.0, math.sin(t), math.cos(t))),
                "L2": _with_axis(_m("L2", 25.0, 24.5, 26.5), -30.0, (0.0, 0.0, 1.0))}

    assert frame_tilt_deg("L1", column(35.0)) == pytest.approx(35.0)
    assert frame_tilt_deg("T12", column(35.0)) == pytest.approx(0.0)
    tilted = grade_all(column(35.0))["L1"]
    assert 35.0 > MAX_TILT_DEG and tilted.morphology == NOT_GRADED
    assert any(n.startswith(TILT_NOTE_START) for n in tilted.notes) and outline_suspect(tilted)
    assert grade_all(column(15.0))["L1"].genant_grade == 2
    assert frame_tilt_deg("L1", {"L1": column(35.0)["L1"]}) is None  # no neighbour: no check


def test_height_sd_follows_the_voxel_extent_along_the_body_axis() -> None:
    import numpy as np

    from planner.vertebra.grade_uncertainty import height_sd_mm

    aff = np.diag([0.56, 0.56, 3.0, 1.0])
    assert height_sd_mm(aff, np.array([0.0, 0.0, 1.0])) == pytest.approx(3.0 / math.sqrt(6.0))
    lean = np.array([0.0, math.sin(math.radians(20)), math.cos(math.radians(20))])
    # a 20° lean: 0.56 sin 20° + 3 cos 20° = 3.01 mm of voxel along the axis
    assert height_sd_mm(aff, lean) == pytest.approx(3.01 / math.sqrt(6.0), abs=0.01)
    assert height_sd_mm(np.eye(4), np.array([0.0, 0.0, 1.0])) == pytest.approx(0.408, abs=1e-3)
    # 2 mm slices every 1 mm (overlapping): as blurred as 2 mm slices; thinner than the
    # spacing changes nothing
    assert height_sd_mm(np.eye(4), np.array([0.0, 0.0, 1.0]), 2.0) == pytest.approx(
        2.0 / math.sqrt(6.0))
    assert height_sd_mm(np.eye(4), np.array([0.0, 0.0, 1.0]), 0.5) == pytest.approx(0.408,
                                                                                abs=1e-3)


def test_a_loss_within_the_sampling_of_a_limit_is_a_possible_grade() -> None:
    # 24 % anterior loss measured on 3 mm slices (height SD 1.22 mm, loss SD ~6 points): graded
    # 0 and reported as possible grade 1; exact heights (SD 0) or a 1 mm grid keep grade 1;
    # 45 % stays grade 3 with a possible grade none higher
    from dataclasses import replace

    from planner.vertebra.grade_uncertainty import possible_grade
    from planner.vertebra.grading import grade_text

    sd_3mm = 3.0 / math.sqrt(6.0)

    def l1(a: float, sd: float) -> Morphometry:
        levels = {"T12": _m("T12", 25.0, 24.5, 26.0), "L1": _m("L1", a, 24.0, 26.0),
                  "L2": _m("L2", 25.5, 25.0, 26.5)}
        return grade_all({k: replace(m, height_sd_mm=sd) for k, m in levels.items()})["L1"]

    thick = l1(19.0, sd_3mm)
    assert 20.0 < thick.height_loss_pct["anterior"] < 25.0
    assert thick.genant_grade == 0 and possible_grade(thick.notes) == 1
    assert grade_text(thick) == "0 · possible 1"
    assert l1(19.0, 0.0).genant_grade == 1 and possible_grade(l1(19.0, 0.0).notes) is None
    assert l1(19.0, 1.0 / math.sqrt(6.0)).genant_grade == 1
    severe = l1(13.0, sd_3mm)
    assert severe.genant_grade == 3 and grade_text(severe) == "3 (wedge)"
    # graded again (a correction elsewhere) the note is replaced, not repeated
    again = grade_all({"T12": _m("T12", 25.0, 24.5, 26.0), "L1": thick,
                       "L2": _m("L2", 25.5, 25.0, 26.5)})["L1"]
    assert sum(n.startswith("possible grade") for n in again.notes) == 1
    from planner.vertebra.grading import known_intact

    assert not known_intact(thick) and known_intact(l1(25.0, sd_3mm))
