"""Plane, outline and pedicle-axis corrections: pure edits, plan file round trip, derived values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.plan.file import load_case_plan, save_case_plan
from planner.plan.model import SeriesBinding
from planner.session import Case, edit, level_closed_form
from planner.session.corrections import (
    add_checked_correction,
    apply_corrections,
    edited_levels,
    is_edited,
)
from planner.session.corrections_geometry import (
    pedicle_correction,
    plane_correction,
    plane_of,
    shift_and_turn,
)
from planner.session.corrections_outline import (
    brush,
    decode_runs,
    encode_runs,
    mask_sha1,
    outline_correction,
)
from planner.session.derive import anatomy_key
from tests.planner.corrections_cases import spine

pytest.importorskip("planner.demo", reason="demo generator not importable in this build")


# --- run-length code ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_runs_round_trip_random_masks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.random((7, 9, 11)) < 0.3
    m[0, 0, 0] = True  # a run at the very start
    m[-1, -1, -1] = True  # and at the very end
    runs = encode_runs(m)
    assert runs[0] == 0 and sum(runs[1::2]) == int(m.sum())
    assert np.array_equal(decode_runs(runs, m.shape), m)
    assert decode_runs([], m.shape).sum() == 0


def test_malformed_runs_are_refused() -> None:
    with pytest.raises(ValueError, match="leave the level's crop or overlap"):
        decode_runs([5, 10, 8, 2], (4, 4, 4))  # overlapping
    with pytest.raises(ValueError, match="leave the level's crop"):
        decode_runs([60, 10], (4, 4, 4))  # beyond the crop
    with pytest.raises(ValueError, match="pairs"):
        decode_runs([1, 2, 3], (4, 4, 4))


# --- the demo: real measurements ------------------------------------------------------------
@pytest.fixture(scope="module")
def demo() -> tuple[object, Case]:
    from tests.planner.vertebra_cases import demo_analysis, demo_case

    c = Case(SeriesBinding("1.2.3", "fp"), analysis=demo_analysis())
    return demo_case().volume, edit.add_level(c, "L1", "vertebroplasty")


def test_brush_paints_only_the_view_slice_and_erases(demo: tuple[object, Case]) -> None:
    _, case = demo
    a = case.analysis.level("L1").anatomy
    fr = a.frame
    front = fr.origin_lps - 25.0 * fr.posterior  # in front of the anterior wall
    added = brush(a, a.body, [front], 3.0, [0.0, 0.0, 1.0], add=True)
    new = added & ~a.body
    assert new.any()
    kji = np.argwhere(new)
    assert len(np.unique(kji[:, 0])) == 1  # one axial slice (the grid is axial)
    lps = a.grid.voxel_to_lps(kji[:, ::-1].astype(float))
    assert np.max(np.linalg.norm((lps - front)[:, :2], axis=1)) <= 3.0 + 1e-9
    side = brush(a, a.body, [front], 3.0, [1.0, 0.0, 0.0], add=True) & ~a.body  # sagittal
    assert side.any() and len(np.unique(np.argwhere(side)[:, 2])) == 1  # one i column
    erased = brush(a, a.body, [fr.origin_lps], 4.0, [0.0, 0.0, 1.0], add=False)
    assert erased.sum() < a.body.sum() and not (erased & ~a.body).any()
    with pytest.raises(ValueError, match="brush radius"):
        brush(a, a.body, [front], 40.0, [0.0, 0.0, 1.0], add=True)


def test_outline_correction_changes_volume_cement_and_key_and_says_edited(
    demo: tuple[object, Case],
) -> None:
    _, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    sup = fr.superior
    # erase the anterior quarter of the body on every slice it spans
    body = r.anatomy.body
    for s in np.arange(-14.0, 14.1, 0.5):
        centres = [fr.origin_lps + s * sup - 14.0 * fr.posterior + x * fr.left for x in (-8, 0, 8)]
        body = brush(r.anatomy, body, centres, 6.0, sup, add=False)
    c = outline_correction(r.anatomy, body)
    assert c.automatic["sha1"] == mask_sha1(r.anatomy.body) == c.value["sha1_automatic"]
    assert c.value["volume_ml"] < c.automatic["volume_ml"] - 1.0
    fixed = add_checked_correction(case, c)
    d = fixed.level_data("L1")
    assert np.array_equal(d.anatomy.body, body)
    assert d.morphometry.body_volume_ml == pytest.approx(c.value["volume_ml"], abs=1e-3)
    assert is_edited(d.morphometry) and d.edited["body_outline"] is True
    assert anatomy_key(d.anatomy) != anatomy_key(r.anatomy)
    before, after = level_closed_form(case, "L1"), level_closed_form(fixed, "L1")
    assert after.cement.body_volume_ml == pytest.approx(d.morphometry.body_volume_ml)
    assert after.cement.body_volume_ml < before.cement.body_volume_ml - 1.0
    assert edited_levels(fixed.plan.corrections) == {"L1": ("body_outline",)}


def test_an_outline_made_on_another_analysis_is_detected(demo: tuple[object, Case]) -> None:
    _, case = demo
    r = case.analysis.level("L1")
    other = case.analysis.level("L2").anatomy
    body = brush(other, other.body, [other.frame.origin_lps], 3.0, [0, 0, 1.0], add=False)
    c = outline_correction(other, body)
    c = type(c).make("L1", c.kind, c.key, c.automatic, c.value)  # the same delta on L1
    with pytest.raises(ValueError, match="differs from the one it was drawn on"):
        add_checked_correction(case, c)
    kept = apply_corrections(case.analysis, [c], strict=False).level("L1")
    assert np.array_equal(kept.anatomy.body, r.anatomy.body)
    assert any("not applied" in n for n in kept.morphometry.notes)


def test_a_turned_plane_is_remeasured_and_the_frame_follows(demo: tuple[object, Case]) -> None:
    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    same = plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 0.0, 0.0))
    kept = add_checked_correction(case, same).level_data("L1").morphometry
    for w in ("anterior", "middle", "posterior"):  # the automatic plane measures the same
        assert kept.heights_mm.get(w) == pytest.approx(r.morphometry.heights_mm.get(w), abs=0.05)
    c = plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 6.0, 12.0))
    assert c.value["shift_mm"] == pytest.approx(6.0, abs=1e-6)
    assert c.value["turn_deg"] == pytest.approx(12.0, abs=1e-6)
    assert c.automatic["points_lps"]["anterior_superior"] == pytest.approx(
        list(r.morphometry.height_lines_lps["anterior"][1]), abs=1e-6
    )
    fixed = add_checked_correction(case, c)
    d = fixed.level_data("L1")
    shift, turn = shift_and_turn(fr, d.anatomy.frame)
    assert (shift, turn) == pytest.approx((6.0, 12.0), abs=1e-4)
    assert np.allclose(d.anatomy.frame.superior, fr.superior)
    m = d.morphometry
    moved = [abs(m.heights_mm.get(w) - r.morphometry.heights_mm.get(w)) for w in
             ("anterior", "middle", "posterior")]
    assert max(moved) > 0.05  # another plane, other heights
    for wall, (inf, sup) in m.height_lines_lps.items():  # the lines lie in the new plane
        for p in (inf, sup):
            assert abs(d.anatomy.frame.to_body(p)[0]) < 1e-3
        assert m.heights_mm.get(wall) == pytest.approx(
            float(d.anatomy.frame.to_body(sup)[2] - d.anatomy.frame.to_body(inf)[2]), abs=1e-9
        )
    assert d.edited["mid_sagittal_plane"] is True and is_edited(m)
    from planner.session import level_context

    ctx = level_context(volume, d)  # the needle checks work in the corrected body frame
    assert np.allclose(ctx.frame.left, d.anatomy.frame.left)
    assert np.allclose(ctx.frame.origin_lps, d.anatomy.frame.origin_lps)
    assert "mid-sagittal plane moved +6.0 mm and turned +12.0°" in m.notes[-1]
    with pytest.raises(ValueError, match="at most"):
        plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 30.0, 0.0))


def test_the_pedicle_axis_is_used_by_the_context_and_suggest(demo: tuple[object, Case]) -> None:
    from planner.session import level_context
    from planner.trajectory.suggest import suggest

    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    auto = level_context(volume, r)
    iso, d = auto.pedicle_axis_lps("left")
    # an axis turned 8° more medially through the automatic isthmus
    t = np.radians(8.0)
    d_body = fr.to_body(iso + d) - fr.to_body(iso)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]])
    nd = fr.rotation @ (rot @ d_body)
    entry, exit_ = iso - 15.0 * nd, iso + 10.0 * nd
    c = pedicle_correction("L1", "left", entry, exit_, (iso, d))
    assert c.automatic["direction_lps"] == pytest.approx(list(d), abs=1e-3)
    fixed = add_checked_correction(case, c)
    data = fixed.level_data("L1")
    assert data.edited["pedicle_axis"] is True
    ctx = level_context(volume, data)
    assert ctx.fields is auto.fields  # the same masks: nothing rebuilt for an axis
    assert ctx.anatomy is data.anatomy
    iso2, d2 = ctx.pedicle_axis_lps("left")
    assert np.dot(d2, nd) == pytest.approx(1.0, abs=1e-6)  # clicks stored to 1e-4 mm
    assert np.linalg.norm(np.cross(iso2 - entry, nd)) < 1e-3  # the isthmus lies on the axis
    right, right2 = auto.pedicle_axis_lps("right"), ctx.pedicle_axis_lps("right")
    assert np.allclose(right[1], right2[1])  # the other side is untouched
    s0, s1 = suggest(auto, "left"), suggest(ctx, "left")
    assert s0 is not None and s1 is not None

    def angle_to_axis(t: object) -> float:
        v = np.asarray(t.target_lps) - np.asarray(t.bone_entry_lps)
        return float(np.degrees(np.arccos(np.dot(v, nd) / np.linalg.norm(v))))

    before, after = angle_to_axis(s0.transpedicular), angle_to_axis(s1.transpedicular)
    assert after < before - 2.0  # the suggested path follows the corrected axis
    with pytest.raises(ValueError, match="apart"):
        pedicle_correction("L1", "left", entry, entry + 1.0)


def test_all_three_survive_the_plan_file(demo: tuple[object, Case], tmp_path: Path) -> None:
    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    cs = [
        plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, -3.0, 5.0)),
        outline_correction(
            r.anatomy, brush(r.anatomy, r.anatomy.body, [fr.origin_lps], 4.0, fr.superior, False)
        ),
        pedicle_correction("L1", "right", fr.to_lps([-14, 30, 0]), fr.to_lps([-11, 8, 0])),
    ]
    fixed = case
    for c in cs:
        fixed = add_checked_correction(fixed, c)
    path = save_case_plan(fixed.series, fixed.plan, tmp_path / "plan.json")
    loaded = load_case_plan(path)
    assert loaded.plan.corrections == fixed.plan.corrections
    reopened = loaded.case(case.analysis)
    a, b = reopened.level_data("L1"), fixed.level_data("L1")
    assert a.morphometry == b.morphometry
    assert np.array_equal(a.anatomy.body, b.anatomy.body)
    assert anatomy_key(a.anatomy, a.morphometry) == anatomy_key(b.anatomy, b.morphometry)
    assert a.anatomy.pedicle_axes_lps == b.anatomy.pedicle_axes_lps
    flags = reopened.corrected_analysis().level("L1").to_json()["edited"]
    assert flags["mid_sagittal_plane"] and flags["body_outline"] and flags["pedicle_axis"]


def test_undoing_is_the_previous_case_value() -> None:
    a = spine()
    case = edit.add_level(Case(SeriesBinding("1", "fp"), analysis=a), "L1")
    c = pedicle_correction("L1", "left", [10.0, 30.0, 25.0], [8.0, 5.0, 25.0])
    new = edit.add_correction(case, c)
    assert case.plan.corrections == () and new.plan.corrections == (c,)
    assert case.level_data("L1").anatomy.pedicle_axes_lps == {}
    assert new.level_data("L1").anatomy.pedicle_axes_lps["left"] == (
        (10.0, 30.0, 25.0),
        (8.0, 5.0, 25.0),
    )


def test_measure_with_a_plan_says_edited(demo: tuple[object, Case], tmp_path: Path) -> None:
    from planner.commands.measure import _corrected

    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    series = SeriesBinding(volume.series_uid, volume.grid.fingerprint())
    fixed = add_checked_correction(
        Case(series, case.plan, case.analysis),
        plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 2.0, -6.0)),
    )
    other = case.analysis.level("L2").anatomy  # an outline of L2 claimed for L1: not applied
    bad = outline_correction(other, brush(other, other.body, [other.frame.origin_lps], 3.0,
                                          [0, 0, 1.0], add=False))
    plan = fixed.plan.__class__(
        fixed.plan.levels,
        fixed.plan.active_level,
        corrections=(*fixed.plan.corrections, type(bad).make("L1", bad.kind, "body",
                                                             bad.automatic, bad.value)),
    )
    path = save_case_plan(series, plan, tmp_path / "plan.json")
    from planner.commands.measure import _json

    out = _json(_corrected(case.analysis, str(path), volume))
    l1 = next(lv for lv in out["levels"] if lv["level"] == "L1")
    l2 = next(lv for lv in out["levels"] if lv["level"] == "L2")
    assert l1["edited"]["mid_sagittal_plane"] is True and l1["edited"]["pedicle_axis"] is False
    assert l1["edited"]["body_outline"] is False  # made on another mask: not applied
    assert not any(l2["edited"].values())
    want = fixed.level_data("L1").morphometry.heights_mm.anterior
    assert l1["heights_mm"]["anterior"] == pytest.approx(want, abs=0.01)
    assert any("L1:" in w and "not applied" in w for w in out["warnings"])


def test_each_correction_reads_as_one_line_with_its_automatic_value(
    demo: tuple[object, Case],
) -> None:
    from planner.session.corrections_text import describe

    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    plane = plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 1.5, -4.0))
    assert describe(plane)[0] == "mid-sagittal plane"
    assert "moved +1.5 mm, turned -4.0°" in describe(plane)[2]
    body = brush(r.anatomy, r.anatomy.body, [fr.origin_lps], 4.0, fr.superior, False)
    what, auto, value = describe(outline_correction(r.anatomy, body))
    assert what == "body outline"
    assert auto == f"{r.anatomy.body_volume_ml:.1f} mL"
    assert value.startswith(f"{float(body.sum()) * r.anatomy.grid.voxel_volume_mm3 / 1e3:.1f} mL")
    ped = pedicle_correction("L1", "right", [1.0, 2.0, 3.0], [1.0, -10.0, 3.0])
    assert describe(ped) == (
        "right pedicle axis", "—", "entry (1.0, 2.0, 3.0) → exit (1.0, -10.0, 3.0)"
    )


def test_a_stale_correction_does_not_block_new_ones(demo: tuple[object, Case]) -> None:
    from planner.session import CasePlan
    from planner.session.corrections import automatic_points, point_correction

    _, case = demo
    other = case.analysis.level("L2").anatomy
    body = brush(other, other.body, [other.frame.origin_lps], 3.0, [0, 0, 1.0], add=False)
    bad = outline_correction(other, body)
    bad = type(bad).make("L1", bad.kind, bad.key, bad.automatic, bad.value)
    stale = Case(case.series, CasePlan(case.plan.levels, "L1", corrections=(bad,)), case.analysis)
    axis = pedicle_correction("L1", "left", [10.0, 30.0, 25.0], [8.0, 5.0, 25.0])
    assert add_checked_correction(stale, axis).plan.corrections == (bad, axis)
    m = case.analysis.level("L1").morphometry
    fr = case.analysis.level("L1").anatomy.frame
    p = np.asarray(automatic_points(m)["anterior_superior"])
    fine = point_correction(m, "anterior_superior", p + 1.0 * fr.superior)
    assert add_checked_correction(stale, fine).level_data("L1").morphometry.heights_mm.anterior == (
        pytest.approx(m.heights_mm.anterior + 1.0, abs=1e-6)
    )
    drop = (m.heights_mm.anterior + 2.0) * fr.superior
    below = point_correction(m, "anterior_superior", p - drop)
    with pytest.raises(ValueError, match="above the inferior"):
        add_checked_correction(stale, below)


def test_the_or_sheet_uses_and_names_the_corrected_anatomy(demo: tuple[object, Case]) -> None:
    from planner.orsheet.build import sheet_from_case

    volume, case = demo
    series = SeriesBinding(volume.series_uid, volume.grid.fingerprint())
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    body = brush(r.anatomy, r.anatomy.body, [fr.origin_lps], 5.0, fr.superior, add=False)
    fixed = add_checked_correction(
        Case(series, case.plan, case.analysis), outline_correction(r.anatomy, body)
    )
    (sheet,) = sheet_from_case(volume, fixed).levels
    assert np.array_equal(sheet.anatomy.body, body)
    assert sheet.morphometry.body_volume_ml == pytest.approx(
        fixed.level_data("L1").morphometry.body_volume_ml
    )
    assert any(i.startswith("L1 edited: body outline corrected") for i in sheet.indications)


def test_the_tip_depth_fraction_follows_a_corrected_outline(demo: tuple[object, Case]) -> None:
    from planner.session import level_check, level_context
    from planner.trajectory.suggest import suggest

    volume, case = demo
    r = case.analysis.level("L1")
    fr = r.anatomy.frame
    needle = suggest(level_context(volume, r), "left").transpedicular
    planned = edit.place_needle(case, "L1", needle)
    before = level_check(volume, planned, "L1").results[0][1].metrics.tip_depth_frac
    # 3 mm of bone added in front of the anterior wall on every slice (a mask that stopped
    # short of the cortex is the case the tool already handles from the CT; a body outline the
    # surgeon extends is taken as drawn)
    kji = np.argwhere(r.anatomy.body)
    b = fr.to_body(r.anatomy.grid.voxel_to_lps(kji[:, ::-1].astype(float)))
    p_front = float(b[:, 1].min())
    centres = [
        fr.to_lps([x, p_front - 1.0, s]) for s in np.arange(-12.0, 12.1, 0.5)
        for x in np.arange(-12.0, 12.1, 2.0)
    ]
    body = brush(r.anatomy, r.anatomy.body, centres, 2.5, fr.superior, add=True)
    fixed = add_checked_correction(planned, outline_correction(r.anatomy, body))
    after = level_check(volume, fixed, "L1").results[0][1].metrics.tip_depth_frac
    assert after < before - 0.03  # the same tip lies less deep in the deeper body


def test_removing_a_level_plan_keeps_its_anatomy_corrections() -> None:
    a = spine()
    case = edit.add_level(Case(SeriesBinding("1", "fp"), analysis=a), "L1")
    axis = pedicle_correction("L1", "left", [10.0, 30.0, 25.0], [8.0, 5.0, 25.0])
    fixed = edit.add_correction(case, axis)
    gone = edit.remove_level(fixed, "L1")
    assert gone.plan.levels == () and gone.plan.corrections == (axis,)
    assert gone.level_data("L1").anatomy.pedicle_axes_lps  # the vertebra keeps its axis


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("midsagittal_plane", "plane", {"origin_lps": 5, "left_lps": [1, 0, 0]}),
        ("midsagittal_plane", "plane", {"origin_lps": [0, 0, 0], "left_lps": [0, 0, 1.0]}),
        ("body_outline", "body", {"sha1_automatic": "x", "shape_kji": 3, "runs": []}),
        ("body_outline", "body", "not an object"),
        ("pedicle_axis", "left", {"entry_lps": [1, 2], "exit_lps": [1, 2, 3]}),
        ("pedicle_axis", "middle", {"entry_lps": [0, 0, 0], "exit_lps": [0, 20, 0]}),
    ],
)
def test_a_hand_edited_correction_keeps_the_automatic_value(
    kind: str, key: str, value: object
) -> None:
    from planner.session import Correction

    a = spine()
    c = Correction.make("L1", kind, key, None, value)
    out = apply_corrections(a, [c], strict=False).level("L1")
    auto = a.level("L1")
    assert np.array_equal(out.anatomy.body, auto.anatomy.body)
    assert out.anatomy.pedicle_axes_lps == {}
    assert out.morphometry.heights_mm == auto.morphometry.heights_mm
    assert any("not applied" in n for n in out.morphometry.notes)
    with pytest.raises(ValueError):
        apply_corrections(a, [c], strict=True)


def test_measure_finds_corrections_under_the_users_level_names(
    demo: tuple[object, Case], tmp_path: Path
) -> None:
    from planner.commands.measure import _corrected, _json
    from planner.session import CasePlan, Correction

    volume, case = demo
    series = SeriesBinding(volume.series_uid, volume.grid.fingerprint())
    shift = {"T11": "T12", "T12": "L1", "L1": "L2", "L2": "L3", "L3": "L4"}  # one level down
    names = [Correction.make(b, "level_name", "name", a, b) for a, b in shift.items()]
    r = case.analysis.level("L1")  # the user calls this body L2
    plane = plane_correction(volume, r.anatomy, r.morphometry, *plane_of(r.anatomy.frame, 3, 0))
    plane = Correction.make("L2", plane.kind, plane.key, plane.automatic, plane.value)
    plan = CasePlan(corrections=(*names, plane))
    path = save_case_plan(series, plan, tmp_path / "named.json")
    out = _json(_corrected(case.analysis, str(path), volume))
    by = {lv["level"]: lv for lv in out["levels"]}
    assert sorted(by) == sorted(shift.values())
    assert by["L2"]["edited"]["mid_sagittal_plane"] is True
    assert not by["L1"]["edited"]["mid_sagittal_plane"]  # the automatic L1's neighbour above
    want = apply_corrections(case.analysis, [type(plane).make("L1", plane.kind, plane.key,
                                                              plane.automatic, plane.value)])
    assert by["L2"]["heights_mm"]["anterior"] == pytest.approx(
        want.level("L1").morphometry.heights_mm.anterior, abs=0.01
    )
