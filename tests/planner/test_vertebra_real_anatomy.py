"""Issue 11 (column part) on real data: body frame, seeds in porotic bone, label-map checks,
column tracking past a contrast-filled aorta, CLI seeds and the measure JSON additions."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.planner.vertebra_cases import demo_analysis, demo_case, dice, full_mask
from tests.planner.vertebra_reference import reference_heights


@lru_cache(maxsize=1)
def _totalseg(root: str) -> tuple[Any, Any, Any, Any]:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = Path(root) / "totalseg_example"
    ct, _ = load_nifti_ct(d / "example_ct.nii.gz")
    labels = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    bodies = load_nifti_labels(d / "vertebral_bodies_and_discs.nii.gz").labels
    return ct, labels, bodies, analyze_spine(ct)


def _body(labels: Any, bodies: Any, level: str) -> tuple[np.ndarray, np.ndarray]:
    key = next(k for k, n in labels.names.items() if n == f"vertebrae_{level}")
    return (labels.labels == key) & (bodies == 1), labels.labels == key


def test_totalseg_frame_follows_the_endplates_and_no_level_is_graded(shared_data: Path) -> None:
    ct, labels, bodies, analysis = _totalseg(str(shared_data))
    assert analysis.names() == ["L1", "L2", "L3", "L4", "L5"]
    for r in analysis.levels:
        body, vertebra = _body(labels, bodies, r.level)
        ref = reference_heights(ct, body, vertebra)
        angle = np.degrees(np.arccos(min(1.0, abs(float(ref["axis_lps"]
                                                         @ r.anatomy.frame.superior)))))
        # L5 (lordotic, endplate planes 22° apart) too: it was 11° off with the upper
        # endplate's normal alone taken as for a fracture; 0.6° with the bisector
        assert angle <= 5.0, (r.level, angle)
        assert r.morphometry.genant_grade == 0, (r.level, r.morphometry.height_loss_pct)
        assert dice(full_mask(ct.shape_kji, r.anatomy), body) >= 0.87
        if r.level in ("L2", "L3", "L4"):
            for wall, h in r.morphometry.heights_mm.as_dict().items():
                assert abs(h - ref["heights"][wall]) <= 2.0, (r.level, wall, h, ref["heights"])


def _totalseg_figures(shared_data: Path) -> dict[str, tuple[float, dict[str, float]]]:
    """Per level: body Dice and height minus the CT's endplate edges (mm), as in the bench."""
    ct, labels, bodies, analysis = _totalseg(str(shared_data))
    out = {}
    for r in analysis.levels:
        body, vertebra = _body(labels, bodies, r.level)
        ref = reference_heights(ct, body, vertebra)["heights"]
        dh = {w: h - ref[w] for w, h in r.morphometry.heights_mm.as_dict().items()}
        out[r.level] = (dice(full_mask(ct.shape_kji, r.anatomy), body), dh)
    return out


def test_totalseg_front_is_not_cut_at_an_internal_sclerotic_band(shared_data: Path) -> None:
    """L1 and L2 hold bright bands 4-9 mm in front of the centre; rays stopped there (L1
    anterior height 5.2 mm short, Dice 0.916; L2 Dice 0.882). Measured after: L1 -1.1 mm,
    Dice 0.941; L2 Dice 0.924."""
    fig = _totalseg_figures(shared_data)
    assert fig["L1"][0] >= 0.92, fig["L1"]
    assert abs(fig["L1"][1]["anterior"]) <= 1.5, fig["L1"]
    assert fig["L2"][0] >= 0.92, fig["L2"]


def test_totalseg_every_level_reaches_the_issue_targets(shared_data: Path) -> None:
    """Dice >= 0.92 and every height within 1.5 mm at L1-L5. Before: L5 Dice 0.909 (its
    pedicle bases in front of the wall plane left out: planner.vertebra.corners) and
    posterior height -1.7 mm (frame 11° off: one endplate's normal taken as for a fracture).
    Measured: Dice 0.941/0.927/0.928/0.942/0.931, heights within 1.4 mm."""
    fig = _totalseg_figures(shared_data)
    for level, (score, dh) in fig.items():
        assert score >= 0.92, (level, score)
        assert max(abs(v) for v in dh.values()) <= 1.5, (level, dh)


def test_a_band_inside_the_body_is_skipped_but_not_a_fat_plane() -> None:
    """Synthetic rays at 0.5 mm: centre 120 HU, a 2 mm band of 220 at 6 mm, cancellous 120,
    cortex 200 at 18-19 mm, then fat (-80): the edge moves from the band to the cortex. With a
    fat plane (-60) between the cortex at 8 mm and a contrast-filled aorta (250), it stays."""
    from planner.vertebra.ray_edges import edge_candidates, first_edges, skip_internal_bands

    r = np.arange(0.0, 34.0, 0.5)
    band = np.where(r < 6, 120.0, np.where(r < 8, 220.0, np.where(r < 18, 120.0,
                    np.where(r < 19.5, 200.0, -80.0))))
    aorta = np.where(r < 8, 120.0, np.where(r < 9.5, 200.0, np.where(r < 12, -60.0,
                     np.where(r < 28, 250.0, -80.0))))
    prof = np.vstack([band, aorta])
    cand = edge_candidates(prof, 0.5)
    first = first_edges(cand)
    moved = skip_internal_bands(prof, cand, first, 0.5, np.array([True, True]),
                                np.full(2, np.inf))
    assert r[first[0]] < 9.0 and 18.0 <= r[moved[0]] <= 20.0
    assert moved[1] == first[1] and r[first[1]] < 10.5


def test_a_notch_of_front_rays_is_filled_to_the_convex_outline() -> None:
    """Synthetic ball (120 HU, cortex 200 HU at 14-15.5 mm, fat beyond) at 0.5 mm steps: a
    patch of 5 x 9 front rays stops at an internal band (220 HU at 6-7.5 mm, then dark
    trabecular bone); they move to the cortex at the convex outline. A ray in the patch with a
    fat plane (-60 HU) behind its band keeps its edge (something else lies beyond)."""
    from planner.vertebra.body import N_PHI, N_THETA, RayProfiles, fill_notches_to_hull
    from planner.vertebra.ray_edges import edge_candidates, first_edges

    r = np.arange(0.0, 34.0, 0.5)
    ball = np.where(r < 14, 120.0, np.where(r < 15.5, 200.0, -80.0))
    notch = np.where((r >= 6) & (r < 7.5), 220.0, np.where((r >= 7.5) & (r < 14), 40.0, ball))
    fat = np.where((r >= 7.5) & (r < 10), -60.0, notch)
    prof = np.tile(ball, (N_THETA * N_PHI, 1))
    rows, cols = np.arange(16, 21), np.arange(32, 41)  # equator, phi 160-200° (front)
    patch = (rows[:, None] * N_PHI + cols[None, :]).ravel()
    prof[patch] = notch
    fat_ray = 18 * N_PHI + 36
    prof[fat_ray] = fat
    cand = edge_candidates(prof, 0.5)
    first = first_edges(cand)
    assert (r[first[patch]] < 8.0).all()
    eye = np.eye(3)
    rays = RayProfiles(prof, prof, r, cand, first, (np.zeros(3), eye[0], eye[1], eye[2]))
    theta = np.repeat((np.arange(N_THETA) + 0.5) * np.pi / N_THETA, N_PHI)
    front = np.abs(theta - np.pi / 2) <= np.deg2rad(50)
    out = fill_notches_to_hull(rays, first, front)
    moved = np.setdiff1d(patch, [fat_ray])
    assert (np.abs(r[out[moved]] - 15.0) <= 1.0).all(), r[out[moved]]
    assert out[fat_ray] == first[fat_ray]
    untouched = np.setdiff1d(np.arange(len(first)), patch)
    assert (out[untouched] == first[untouched]).all()


@lru_cache(maxsize=1)
def _tptbox(root: str) -> tuple[Any, np.ndarray]:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels

    d = Path(root) / "tptbox_l3"
    ct, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    sub = load_nifti_labels(d / "sub-ct_seg-subreg_label-22_msk.nii.gz").labels
    vert = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz").labels
    return ct, np.isin(sub, (49, 50)) & (vert == 22)


def _l3_dice_from_click(ct: Any, ref: np.ndarray, seed: np.ndarray) -> float:
    from planner.vertebra import neighbours_from_seed, segment_level

    l3 = next(c for c in neighbours_from_seed(ct, seed, "L3") if c.level == "L3")
    return dice(full_mask(ct.shape_kji, segment_level(ct, l3)), ref)


def test_tptbox_any_click_in_the_porotic_l3_body_is_accepted(shared_data: Path) -> None:
    ct, ref = _tptbox(str(shared_data))
    assert float(np.median(ct.hu[ref])) < 120  # porotic body: no HU threshold can find it
    idx = np.argwhere(ref)
    rng = np.random.default_rng(1)
    for p in idx[rng.choice(len(idx), 6, replace=False)]:
        seed = ct.grid.voxel_to_lps(p[::-1].astype(float))
        assert _l3_dice_from_click(ct, ref, seed) >= 0.92, seed


def test_tptbox_a_click_under_an_endplate_finds_the_body_not_the_disc(shared_data: Path) -> None:
    """Clicks 2.5-4.5 mm inside the L3 label's top and bottom. The trabecular bone (-50-80 HU)
    is as dark as the disc, so a cast from there outlined the disc between the two endplates
    (Dice 0.08) or was refused (a posterolateral corner); measured after: Dice 0.925-0.937."""
    ct, ref = _tptbox(str(shared_data))
    pts = ct.grid.voxel_to_lps(np.argwhere(ref)[:, ::-1].astype(float))
    z = pts[:, 2]
    rng = np.random.default_rng(2)
    top = pts[(z >= z.max() - 4.5) & (z <= z.max() - 2.5)]
    bottom = pts[(z <= z.min() + 4.5) & (z >= z.min() + 2.5)]
    clicks = top[rng.choice(len(top), 6, replace=False)][[0, 5]]
    clicks = np.vstack([clicks, bottom[rng.choice(len(bottom), 6, replace=False)][[5]]])
    for seed in clicks:
        assert _l3_dice_from_click(ct, ref, seed) >= 0.92, seed


def test_a_disc_between_porotic_endplates_is_not_taken_for_a_body(shared_data: Path) -> None:
    """A cast started in the L2-L3 disc finds the two endplates around it; its equator has no
    cortex (measured: 0.45-0.59 of the rays against 0.92-0.99 on the body)."""
    from planner.vertebra.ray_edges import MIN_CORTEX_FRACTION
    from planner.vertebra.segment import fit_body

    ct, ref = _tptbox(str(shared_data))
    pts = ct.grid.voxel_to_lps(np.argwhere(ref)[:, ::-1].astype(float))
    centre = pts.mean(axis=0)
    up, back = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    disc = fit_body(ct, centre + np.array([0.0, 0.0, 18.0]), up, back)
    body = fit_body(ct, centre, up, back)
    assert disc.star.cortex_fraction < MIN_CORTEX_FRACTION - 0.1
    assert body.star.cortex_fraction > MIN_CORTEX_FRACTION + 0.1


def test_biceps_fragments_and_missing_levels_are_reported_not_graded(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_labels
    from planner.vertebra.labels import _label_stats, label_problems, labels_on_grid, level_names

    lm = load_nifti_labels(shared_data / "biceps_healthy_reference" / "healthy_ref_mask.nii.gz")
    names = level_names(lm)
    problems = label_problems(_label_stats(labels_on_grid(lm, lm.grid), lm.grid, names))
    assert set(problems) >= {"C7"} and "split" in problems["C7"]
    assert not set(problems) & {"T3", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L5"}


def test_missing_levels_warned_and_misnaming_suspected() -> None:
    from planner.vertebra.labels import missing_levels
    from planner.vertebra.types import LevelCandidate

    pts = {"T3": -110.0, "T4": -133.0, "T6": -156.0, "T7": -179.0, "T9": -225.0}
    cands = [LevelCandidate(k, (0.0, 0.0, z), "labels") for k, z in pts.items()]
    text = missing_levels(cands)
    assert len(text) == 2
    assert text[0].startswith("T5") and "misnamed" in text[0]  # T4-T6 spaced like neighbours
    assert text[1].startswith("T8") and "misnamed" not in text[1]


def test_verse_fragment_free_map_grades_only_its_fractures(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_labels
    from planner.vertebra import measure_from_mask

    lm = load_nifti_labels(shared_data / "verse004_labels" / "sub-verse004_seg-vert_msk.nii.gz")
    analysis = measure_from_mask(lm)
    graded = {r.level for r in analysis.levels if r.morphometry.genant_grade > 0}
    assert graded == {"T9", "T10", "L1"}
    assert not analysis.warnings
    from planner.vertebra.grading import outline_suspect

    assert not [r.level for r in analysis.levels if outline_suspect(r.morphometry)]


def test_cptac_column_tracked_past_the_contrast_aorta(shared_data: Path) -> None:
    from planner.loading import load_path
    from planner.vertebra.column import resample_lps, track_centreline

    d = shared_data / "cptac_chest_ct"
    vol = load_path(str(d / "dicom")).volume
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    res = resample_lps(vol)
    pos, _ = track_centreline(res)
    for t in truth:
        c = np.asarray(t["centre_lps"])
        z = int(round(float(res.to_index(c)[0])))
        if 0 <= z < len(pos):
            p = res.to_lps(np.array([z, *pos[z]]))
            # the aorta, followed before, lies 40-60 mm away; the track runs 5-17 mm behind
            # the body centres read by eye (it is pulled towards the canal)
            assert np.linalg.norm((p - c)[:2]) <= 20.0, (t["level"], p, c)


def test_negative_seed_parses_on_the_command_line() -> None:
    from planner.cli import build_parser, join_negative_points

    parser, _ = build_parser()
    args = parser.parse_args(join_negative_points(
        ["measure", "ct.nii.gz", "--seed", "-11,230,-566", "--level", "L1"]))
    assert args.seed == "-11,230,-566" and args.level == "L1"
    assert join_negative_points(["demo", "--seed", "-1"]) == ["demo", "--seed", "-1"]


def test_measure_json_has_six_points_and_edited_flags() -> None:
    out = demo_analysis().to_json()
    for lv, r in zip(out["levels"], demo_analysis().levels, strict=True):
        pts = lv["morphometry_points_lps"]
        assert len(pts) == 6
        h = float(np.linalg.norm(np.subtract(pts["middle_superior"], pts["middle_inferior"])))
        assert abs(h - r.morphometry.heights_mm.middle) < 0.05
        assert lv["edited"] and not any(lv["edited"].values())
        assert "heights_mm" in lv and "genant_grade" in lv  # existing keys kept


def test_profile_viterbi_splits_an_inverted_profile_and_resplits_a_double_body() -> None:
    from planner.vertebra.profile import resplit_long, split_bodies

    # sharp 3 mm kernel: the disc band (8 mm) is brighter than the body centre (14 mm)
    unit = np.r_[np.full(14, -1.0), np.full(8, 1.0)]
    sig = np.tile(unit, 8)
    sig[22 * 3 + 14:22 * 3 + 22] = -1.0  # one disc missed: a 36 mm "body"
    segs = split_bodies(sig)
    inner = [b - a for a, b in segs[1:-1]]
    assert max(inner) <= 20, segs
    assert len(segs) == 8, segs  # the 36 mm run was split in two, as if the disc were seen
    assert resplit_long([(0, 14), (22, 36), (44, 80), (88, 102), (110, 124)]) == [
        (0, 14), (22, 36), (44, 62), (62, 80), (88, 102), (110, 124)]


def test_rib_anchors_name_and_flag_disagreement() -> None:
    from planner.vertebra.ribs import name_by_ribs

    names, notes = name_by_ribs([False] * 2 + [True] * 12 + [False, False])
    assert names is not None and names[2] == "T1" and names[13] == "T12" and names[1] == "C7"
    assert not any("expected" in n for n in notes)
    assert any("first and last ribs" in n for n in notes)
    names, notes = name_by_ribs([False] * 2 + [True] * 13 + [False, False])
    assert names is not None and names[14] == "T12"  # named from the last rib, flagged
    assert any("13 bodies apart" in n and "13 rib pairs" in n for n in notes)
    # a rib-free body at the top end of the profile is not taken for C7 (the end body spans
    # the C7/T1 disc on ../shared/data/cptac_chest_ct): named from the last rib, no 11 pairs
    names, notes = name_by_ribs([False] + [True] * 11 + [False, False])
    assert names is not None and names[11] == "T12"
    assert not any("expected" in n for n in notes)
    assert name_by_ribs([False] * 5)[0] is None  # no anchor: nothing guessed


@lru_cache(maxsize=1)
def _cptac(root: str) -> tuple[Any, Any]:
    return _cptac_counted(root)[:2]


@lru_cache(maxsize=1)
def _cptac_counted(root: str) -> tuple[Any, Any, int]:
    """The automatic analysis, its truth, and how many times the column was resampled."""
    from unittest import mock

    from planner.loading import load_path
    from planner.vertebra import analyze_spine
    from planner.vertebra import column as column_module

    d = Path(root) / "cptac_chest_ct"
    vol = load_path(str(d / "dicom")).volume
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    real = column_module.resample_lps
    with mock.patch.object(column_module, "resample_lps", side_effect=real) as spy:
        analysis = analyze_spine(vol)
    return analysis, truth, spy.call_count


def test_cptac_column_tracked_once_per_analysis(shared_data: Path) -> None:
    # hopping finds no anchor on this chest CT, so the profile fallback runs: it reuses the
    # column the proposal tracked instead of tracking it again (2 before)
    assert _cptac_counted(str(shared_data))[2] == 1


def test_cptac_thoracic_bodies_found_and_named_from_the_ribs(shared_data: Path) -> None:
    analysis, truth = _cptac(str(shared_data))
    by_name = {t["level"]: np.asarray(t["centre_lps"]) for t in truth}
    names = analysis.names()
    assert {"T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"} <= set(names)
    assert any("last rib-bearing" in w for w in analysis.warnings)
    for r in analysis.levels:
        c = np.asarray(r.morphometry.centroid_lps)
        nearest = min(by_name, key=lambda k, c=c: float(np.linalg.norm(by_name[k] - c)))
        assert nearest == r.level, (r.level, nearest)
        # measured 2.1-6.1 mm (the fitted centres sit 3-5 mm behind the centres read by eye)
        assert np.linalg.norm(c - by_name[r.level]) <= 6.5, (r.level, c)
        h = r.morphometry.heights_mm.middle
        assert 13.0 <= h <= 28.0, (r.level, h)  # no body spans a disc (pitch 20-25 mm)


def _cptac_by_level(shared_data: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    analysis, truth = _cptac(str(shared_data))
    return ({r.level: r for r in analysis.levels},
            {t["level"]: np.asarray(t["centre_lps"]) for t in truth})


def test_cptac_t1_found_at_the_top_of_the_column_and_measured(shared_data: Path) -> None:
    # the profile's top "body" spanned the C7/T1 disc and its fit reached the edge of the scan
    # (T1 was dropped); the body one pitch above T2 is fitted instead
    found, truth = _cptac_by_level(shared_data)
    assert "T1" in found, sorted(found)
    t1 = found["T1"].morphometry
    assert np.linalg.norm(np.asarray(t1.centroid_lps) - truth["T1"]) <= 5.0, t1.centroid_lps
    assert 15.0 <= t1.heights_mm.middle <= 25.0, t1.heights_mm  # truth 20 mm
    assert t1.genant_grade == 0


def test_cptac_l1_at_the_bottom_edge_is_found_and_measured(shared_data: Path) -> None:
    # L1 lies at the bottom of the scan: its pedicle bases (body_corners) reach the edge, its
    # body does not; it was refused as "not entirely inside the scan" when the corners were
    # counted in that check
    found, truth = _cptac_by_level(shared_data)
    assert "L1" in found, sorted(found)
    l1 = found["L1"].morphometry
    assert np.linalg.norm(np.asarray(l1.centroid_lps) - truth["L1"]) <= 5.0, l1.centroid_lps
    assert l1.genant_grade == 0


def test_cptac_every_centre_within_5_mm(shared_data: Path) -> None:
    found, truth = _cptac_by_level(shared_data)
    errors = {k: float(np.linalg.norm(np.asarray(r.morphometry.centroid_lps) - truth[k]))
              for k, r in found.items()}
    # measured 0.8-4.8 mm (was 2.1-6.1 before the refit on noisy images, noisy_fit.py)
    assert max(errors.values()) <= 5.0, errors


def test_cptac_no_level_graded_as_fractured(shared_data: Path) -> None:
    found, _ = _cptac_by_level(shared_data)
    graded = {k: r.morphometry.genant_grade for k, r in found.items()
              if r.morphometry.genant_grade > 0}
    # the case has no fracture (levels_truth.json); T7 is lower than T6 and T8 at all three
    # heights alike (the reader's middle heights T6 17.5, T7 17.5, T8 23.5 mm): a short
    # vertebra with no endplate depression, graded 0 with a note (was graded 2)
    assert not graded, graded
    from planner.vertebra.grading import outline_suspect

    assert not [k for k, r in found.items() if outline_suspect(r.morphometry)]


def _cptac_height_errors(shared_data: Path) -> dict[str, float]:
    """Height minus the reader's (mm) wherever levels_truth.json gives one (27 values)."""
    analysis, truth = _cptac(str(shared_data))
    found = {r.level: r.morphometry.heights_mm.as_dict() for r in analysis.levels}
    return {f"{t['level']} {wall}": found[t["level"]][wall] - h for t in truth
            if t["level"] in found for wall, h in t["heights_mm"].items() if h is not None}


@pytest.mark.xfail(strict=True, reason="T11 middle +5.5 / posterior +6.7, T12 middle +5.5 / "
                   "posterior +3.9 mm. On this 3 mm B70f scan one measuring line's noise "
                   "(texture +-150 HU) exceeds the endplate's contrast (60-150 HU), so the edge "
                   "refinement stays at the mask's ends (height minus mask extent: mean +0.1, SD "
                   "1.3 mm), i.e. on the column profile's disc planes, 0.5 mm inside the disc "
                   "centres. Half-maximum edges on profiles averaged over a +-3 mm lateral slab "
                   "(the totalseg reference's own rule) are CT-based but no closer: 7-11 of the "
                   "27 values beyond 3.5 mm, the reader 1.5-2 mm below them on average (a thin "
                   "plate blurred by 3 mm slices has its half maximum ~1 mm beyond its surface; "
                   "the reader reads the bright line). The plate's peak + 0.5 mm meets the "
                   "reader at all but 4 values but puts totalseg_example 1.3-3.7 mm below its "
                   "half-maximum reference (limit 1.5)")
def test_cptac_heights_within_the_readers_tolerance(shared_data: Path) -> None:
    errors = _cptac_height_errors(shared_data)
    assert len(errors) == 27, sorted(errors)  # every level the reader measured is found
    far = {k: round(v, 1) for k, v in errors.items() if abs(v) > 3.5}  # reader: +-3-4 mm
    assert not far, far


def test_profile_end_body_refitted_one_pitch_beyond_its_neighbours() -> None:
    from planner.vertebra.ribs import check_ends
    from tests.planner.vertebra_cases import demo_case

    analysis, volume = demo_analysis(), demo_case().volume  # T11-L3, all in view
    fits = {r.level: r.candidate.fit_cache for r in analysis.levels}
    names = analysis.names()
    named = [(names[0], None)] + [(n, fits[n]) for n in names[1:]]  # top body not fitted
    out = check_ends(volume, named)
    assert [n for n, _ in out] == names  # nothing invented beyond the scan (T10, L4 cut)
    top = out[0][1]
    assert top is not None
    assert np.linalg.norm(top.centroid_lps - fits[names[0]].centroid_lps) <= 1.0


def test_star_volume_is_the_enclosed_volume() -> None:
    from planner.vertebra.body import N_PHI, N_THETA, StarShape, star_volume_mm3

    e = np.eye(3)
    sphere = StarShape(np.zeros(3), e[0], e[1], e[2], np.full((N_THETA, N_PHI), 10.0), 10.0)
    assert abs(star_volume_mm3(sphere) / (4.0 / 3.0 * np.pi * 1000.0) - 1.0) < 0.005


def test_trabecular_hu_on_the_body_box_equals_the_whole_crop() -> None:
    """The distance map runs on the body's bounding box (speed); the core, and its HU, must be
    those of the distance map over the whole anatomy crop."""
    from scipy import ndimage as ndi

    from planner.vertebra.morphometry import CORE_DEPTH_MM, trabecular_hu

    vol = demo_case().volume
    for r in demo_analysis().levels:
        a = r.anatomy
        dist = ndi.distance_transform_edt(a.body, sampling=a.grid.spacing_mm[::-1])
        k0, j0, i0 = a.offset_kji
        nk, nj, ni = a.grid.shape_kji
        hu = vol.hu[k0:k0 + nk, j0:j0 + nj, i0:i0 + ni]
        assert trabecular_hu(vol, a) == pytest.approx(float(hu[dist > CORE_DEPTH_MM].mean()))
