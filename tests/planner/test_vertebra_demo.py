"""Issue 4 targets on the demo case: automatic levels, heights, volumes, grades, seed path."""

from __future__ import annotations

import numpy as np
import pytest

from planner.anatomy import WALLS
from tests.planner.vertebra_cases import demo_analysis, demo_case, dice, full_mask


def test_automatic_proposal_names_every_demo_level() -> None:
    truth = demo_case().truth
    analysis = demo_analysis()
    assert analysis.names() == [lv.name for lv in truth.levels]
    for r in analysis.levels:
        tr = truth.level(r.level)
        assert np.linalg.norm(np.subtract(r.morphometry.centroid_lps, tr.centroid_lps)) < 1.0
        assert r.candidate.source == "auto" and r.candidate.confirmed is False
    assert any("T12" in w for w in analysis.warnings)  # says which anchor named the levels


@pytest.mark.parametrize("name", ["T11", "T12", "L1", "L2", "L3"])
def test_heights_within_half_a_millimetre_and_volume_within_3_percent(name: str) -> None:
    tr = demo_case().truth.level(name)
    m = demo_analysis().level(name).morphometry
    for wall in WALLS:
        assert abs(m.heights_mm.get(wall) - tr.heights_mm.get(wall)) <= 0.5, wall
    assert abs(m.body_volume_ml / tr.body_volume_ml - 1.0) <= 0.03
    assert abs(m.depth_mm - tr.depth_mm) <= 0.5
    assert abs(m.width_mm - tr.width_mm) <= 0.8
    assert abs(m.trabecular_hu - tr.trabecular_hu) <= 10.0
    assert abs(m.wedge_angle_deg - tr.wedge_angle_deg) <= 1.5


def test_l1_wedge_fracture_is_grade_2_and_the_others_are_normal() -> None:
    for r in demo_analysis().levels:
        m = r.morphometry
        if r.level == "L1":
            assert (m.genant_grade, m.morphology) == (2, "wedge")
            assert 25.0 <= m.height_loss_pct["anterior"] <= 40.0
            tr = demo_case().truth.level("L1")
            assert m.prefracture_volume_ml is not None
            assert abs(m.prefracture_volume_ml / tr.prefracture_volume_ml - 1) < 0.03
            assert r.prefracture is not None and r.prefracture.mask.sum() > 0
            assert abs(m.reference_heights_mm.anterior - tr.reference_heights_mm.anterior) < 1.0
        else:
            assert (m.genant_grade, m.morphology) == (0, "normal"), r.level
        assert m.posterior_wall == "intact"


def test_body_masks_match_the_truth_and_pedicles_and_canal_are_beside_and_behind() -> None:
    case = demo_case()
    lab = case.truth.body_label_map(case.volume.grid)
    for r in demo_analysis().levels:
        tr = case.truth.level(r.level)
        mine = full_mask(case.volume.shape_kji, r.anatomy)
        assert dice(mine, lab == tr.verse_id) >= 0.95
        a = r.anatomy
        from planner.vertebra.common import voxel_centres_lps

        pts = voxel_centres_lps(a.grid)
        for mask, sign in ((a.pedicle_left, 1), (a.pedicle_right, -1)):
            body = a.frame.to_body(pts[mask])
            assert len(body) > 200
            assert np.median(body[:, 0]) * sign > 5.0  # on its own side
            assert np.median(body[:, 1]) > 10.0  # behind the body centre
        canal = a.frame.to_body(pts[a.canal])
        assert abs(np.median(canal[:, 0])) < 3.0 and np.median(canal[:, 1]) > 20.0


def test_seed_names_the_neighbours_and_confirms_only_the_clicked_level() -> None:
    from planner.vertebra import neighbours_from_seed

    case = demo_case()
    seed = np.add(case.truth.level("L2").centroid_lps, [4.0, -3.0, 5.0])
    cands = neighbours_from_seed(case.volume, seed, "L2")
    assert [c.level for c in cands] == ["T11", "T12", "L1", "L2", "L3"]
    assert [c.confirmed for c in cands] == [False, False, False, True, False]
    assert {c.source for c in cands} == {"seed"}
    for c in cands:
        assert np.linalg.norm(np.subtract(c.centroid_lps,
                                          case.truth.level(c.level).centroid_lps)) < 1.5


def test_analysis_json_has_the_cli_keys() -> None:
    out = demo_analysis().to_json()
    keys = {"level", "source", "confirmed", "centroid_lps", "body_volume_ml", "heights_mm",
            "reference_heights_mm", "height_loss_pct", "genant_grade", "morphology",
            "wedge_angle_deg", "trabecular_hu", "posterior_wall"}
    assert set(out) == {"levels", "warnings"}
    for entry in out["levels"]:
        assert keys <= set(entry)
        assert set(entry["heights_mm"]) == {"anterior", "middle", "posterior"}


def test_slices_thicker_than_their_spacing_widen_the_height_sd() -> None:
    # the same demo CT labelled 3 mm thick (overlapping reconstruction): each endplate is
    # known to the slice thickness, not the spacing
    import dataclasses
    import math

    from planner.vertebra import analyze_spine

    plain = demo_analysis()
    thick = analyze_spine(dataclasses.replace(demo_case().volume, slice_thickness_mm=3.0))
    assert plain.names() == thick.names()
    for a, b in zip(plain.levels, thick.levels, strict=True):
        assert a.morphometry.height_sd_mm < 0.6
        assert 3.0 / math.sqrt(6.0) <= b.morphometry.height_sd_mm <= 3.6 / math.sqrt(6.0)
