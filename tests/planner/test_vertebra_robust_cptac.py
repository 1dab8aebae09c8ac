"""The automatic spine analysis on the real chest CT re-sampled and smoothed (issue #11).

../shared/data/cptac_chest_ct (0.56 mm pixels, 3 mm slices, sharp B70f kernel) is turned into
what other patients' chest CTs look like: in-plane pixels of 0.70, 0.79, 0.85 and 0.98 mm
(linear zoom), a soft kernel (Gaussian blur, sigma 0.8 px = 0.45 mm) and both (0.70 mm soft).
The levels must keep their names and centres (``levels_truth.json``, read by eye on the
original). At 0.98 mm the column profile split L1, and at 0.70 mm soft T6, in two halves
half a pitch apart, which shifted the names above by one level (see
planner.vertebra.profile.merge_split_bodies).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from planner.vertebra.profile import drop_bright_bodies
from planner.vertebra.rib_trace import RibTrace
from planner.vertebra.ribs import bears_ribs

ZOOMS = {"0.70 mm": 1.25, "0.79 mm": 1.4, "0.85 mm": 1.5, "0.98 mm": 1.75}
VARIANTS = ["0.70 mm", "0.79 mm", "0.85 mm", "soft kernel"]


@lru_cache(maxsize=1)
def _original(root: str) -> tuple[Any, dict[str, np.ndarray]]:
    from planner.loading import load_path

    d = Path(root) / "cptac_chest_ct"
    vol = load_path(str(d / "dicom")).volume
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    return vol, {t["level"]: np.asarray(t["centre_lps"], float) for t in truth}


@lru_cache(maxsize=8)
def _variant(root: str, name: str) -> tuple[Any, dict[str, np.ndarray]]:
    """The analysis of one variant of the CT and the truth centres (LPS mm).

    ``name``: an optional "N mm slices " prefix (cubic interpolation: thin slices' sampling
    with the original's 3 mm blur; the pixels cubic too), then the pixel size and/or
    "soft kernel".
    """
    from scipy import ndimage as ndi

    from planner.vertebra import analyze_spine
    from planner.volume import CTVolume

    ct, truth = _original(root)
    hu = ct.hu.astype(np.float32)
    aff = ct.grid.ijk_to_lps.copy()
    slices_mm = None
    if " mm slices" in name:
        head, name = name.split(" mm slices", 1)
        slices_mm, name = float(head), name.strip()
    zoom = next((f for z, f in ZOOMS.items() if name.startswith(z)), None)
    out = hu
    if slices_mm is not None:  # one cubic zoom along all three axes
        pixel = 1.0 if zoom is None else 1.0 / zoom
        out = ndi.zoom(hu, (float(ct.spacing_mm[2]) / slices_mm, pixel, pixel), order=3)
    elif zoom is not None:
        out = ndi.zoom(hu, (1, 1 / zoom, 1 / zoom), order=1)
    scale = np.array([hu.shape[2] / out.shape[2], hu.shape[1] / out.shape[1],
                      hu.shape[0] / out.shape[0]])
    aff[:3, :3] = aff[:3, :3] * scale[None, :]
    if name.endswith("soft kernel"):
        out = ndi.gaussian_filter(out, (0, 0.8, 0.8))
    vol = CTVolume.from_array(np.rint(out).astype(np.int16), aff, f"cptac:{name}", modality="CT")
    return analyze_spine(vol), truth


def _errors(root: str, name: str) -> dict[str, float]:
    analysis, truth = _variant(root, name)
    return {r.level: float(np.linalg.norm(np.asarray(r.morphometry.centroid_lps) - truth[r.level]))
            for r in analysis.levels if r.level in truth}


@pytest.mark.parametrize(("name", "top"), [*((v, 2) for v in VARIANTS), ("0.98 mm", 3),
                                           ("0.70 mm soft kernel", 2)])
def test_cptac_variant_names_t2_to_l1_right(shared_data: Path, name: str, top: int) -> None:
    # right names: every named body lies nearer the truth centre of its own name than any
    # other level's; T2-L1 all found (T1 may be cut by the top of the scan; at 0.98 mm T2 is
    # not segmented between its discs and is reported so)
    analysis, truth = _variant(str(shared_data), name)
    names = analysis.names()
    assert {f"T{n}" for n in range(top, 13)} | {"L1"} <= set(names), (names, analysis.warnings)
    for r in analysis.levels:
        c = np.asarray(r.morphometry.centroid_lps)
        nearest = min(truth, key=lambda k: float(np.linalg.norm(truth[k] - c)))
        assert nearest == r.level, (
            name, r.level, nearest, np.round(c, 1).tolist())


@pytest.mark.parametrize("name", [
    "0.70 mm", "0.79 mm",
    pytest.param("0.85 mm", marks=pytest.mark.xfail(strict=True, reason=(
        "T9 5.3 mm: the clipped fit's centre at 0.85 mm pixels (T1, 7.5 mm off before the "
        "split-body merge, is now reported as not segmented)"))),
    pytest.param("soft kernel", marks=pytest.mark.xfail(strict=True, reason=(
        "T2/T3 12-14 mm: T2's fit lies 12 mm behind and 7 mm above its centre, the T2/T3 "
        "disc ~8 mm too high on the blurred core profile (body segments there barely darker "
        "than the running median)")))])
def test_cptac_variant_centres_within_5_mm(shared_data: Path, name: str) -> None:
    errs = _errors(str(shared_data), name)
    assert max(errs.values()) <= 5.0, {k: round(v, 1) for k, v in errs.items()}


@pytest.mark.parametrize("name", [
    pytest.param("0.70 mm", marks=pytest.mark.xfail(strict=True, reason=(
        "T1 grade 3 (anterior 5.0 mm: its outline at the scan's top splits in two lobes) and T6 "
        "grade 2 (anterior 14.5 mm: the outline's anterior-superior corner is cut, 15.3 mm at "
        "the anterior measuring line where the original measures 21.4)"))),
    "0.79 mm", "0.85 mm", "soft kernel", "0.98 mm", "0.70 mm soft kernel"])
def test_cptac_variant_no_level_graded(shared_data: Path, name: str) -> None:
    # 0.70 mm soft: T11 (41 mm deep) and T5 (its frame 37° from the column, anterior height
    # 6 mm) were graded 3; their outlines are implausible and they are not graded. Losses
    # within one SD of the CT's sampling of a Genant limit (20-26 % at 3 mm slices) are
    # reported as a possible grade, not a grade: 0.79 mm T3, 0.85 mm T2, T5-T8, soft kernel
    # T7 and L1, 0.98 mm T8 and T9 were graded 1-2
    analysis, _ = _variant(str(shared_data), name)
    graded = {r.level: r.morphometry.genant_grade for r in analysis.levels
              if r.morphometry.genant_grade}
    assert not graded, graded


def test_cptac_soft_kernel_outlines_off_the_depth_trend_read_check(shared_data: Path) -> None:
    # with the soft kernel T2 and T3 hold other bone (48 / 43 mm deep against 22 on the
    # original): each is marked for checking, not used as a reference (measured; the original
    # CT and the other real cases have no such mark; T7, 16 mm deep before the notch fill,
    # was marked too)
    from planner.vertebra.grading import DEPTH_NOTE_START, outline_suspect

    analysis, _ = _variant(str(shared_data), "soft kernel")
    deep = {r.level for r in analysis.levels
            if any(n.startswith(DEPTH_NOTE_START) for n in r.morphometry.notes)}
    assert deep == {"T2", "T3"}
    assert all(outline_suspect(analysis.level(k).morphometry) for k in deep)


@lru_cache(maxsize=1)
def _original_volumes_ml(root: str) -> dict[str, float]:
    from planner.vertebra import analyze_spine

    return {r.level: r.morphometry.body_volume_ml
            for r in analyze_spine(_original(root)[0]).levels}


def test_cptac_coarser_and_blurred_bodies_keep_their_volume(shared_data: Path) -> None:
    # notched outlines (rays stopped on trabecular streaks) halved bodies at 0.70 mm pixels:
    # T5 / T6 at 0.53 / 0.56 of their volume on the original, soft kernel median 0.73 (T5 0.62,
    # T7 0.70). With notched side and front rays moved to the convex outline: 0.70 / 0.72,
    # soft median 0.81 (T5 0.79, T7 0.90); the body volume sets the cement estimate
    ref = _original_volumes_ml(str(shared_data))
    ratios = {}
    for name in ("0.70 mm", "soft kernel"):
        analysis, _ = _variant(str(shared_data), name)
        ratios[name] = {r.level: r.morphometry.body_volume_ml / ref[r.level]
                        for r in analysis.levels if r.level in ref}
    assert min(ratios["0.70 mm"][k] for k in ("T5", "T6")) >= 0.68, ratios
    assert float(np.median(list(ratios["soft kernel"].values()))) >= 0.78, ratios


def test_cptac_hop_and_profile_disagreement_is_reported(shared_data: Path) -> None:
    # at 0.70 mm the body-to-body hops span discs (35-44 mm apart): the rib-named hop chain
    # disagrees with the profile, which is used, and the note says so
    analysis, _ = _variant(str(shared_data), "0.70 mm")
    assert any("do not match the bodies split on the column profile" in w
               for w in analysis.warnings), analysis.warnings


def test_a_bright_body_segment_between_discs_is_dropped() -> None:
    # bright-disc polarity: a "body" whose signal is above the running median is the flat
    # middle of a blurred endplate-disc-endplate band
    sig = np.concatenate([-np.ones(18), np.ones(4), 0.1 * np.ones(12), np.ones(4), -np.ones(18),
                          np.ones(5), -np.ones(18)])
    segs = [(0, 18), (22, 34), (38, 56), (61, 79)]
    assert drop_bright_bodies(segs, sig) == [(0, 18), (38, 56), (61, 79)]
    sig[22:34] = -0.05
    assert drop_bright_bodies(segs, sig) == segs


def test_one_long_rib_marks_a_rib_bearing_body_not_a_transverse_process() -> None:
    far = (120.0, 120.0)
    assert bears_ribs(RibTrace((5.0, 83.0), far))
    assert not bears_ribs(RibTrace((5.0, 60.0), far))  # one side, too short to be sure
    assert not bears_ribs(RibTrace((2.0, 33.0), far))  # L1's transverse process
    assert not bears_ribs(RibTrace((0.0, 90.0), (0.0, 40.0)))  # not reaching out


def _pb(z: float, half: float = 8.0) -> Any:
    from planner.vertebra.profile import ProfileBody

    up = np.array([0.0, 0.0, 1.0])
    return ProfileBody(np.array([0.0, 0.0, z]), up, np.array([0.0, 0.0, z + half]),
                       np.array([0.0, 0.0, z - half]))


def test_halves_of_a_split_body_are_merged_but_not_close_normal_bodies() -> None:
    from planner.vertebra.profile import merge_split_bodies

    # pitches 23 mm, then two halves 10.5 mm apart (0.98 mm pixels, L1)
    zs = [0.0, -23.0, -46.0, -69.0, -92.0, -102.5, -125.0]
    merged = merge_split_bodies([_pb(z) for z in zs])
    assert len(merged) == 6
    assert merged[4].centre_lps[2] == pytest.approx(-97.25)
    assert merged[4].height_mm == pytest.approx(26.5)
    # the real chest CT's T1-T4: 24, 15.3, 18.6 mm apart (the closest pair at 0.79 of its
    # neighbours') stay four bodies
    normal = [_pb(z) for z in (-6.5, -30.5, -45.8, -64.4, -83.7, -103.8)]
    assert len(merge_split_bodies(normal)) == 6
    assert len(merge_split_bodies([_pb(0.0), _pb(-10.0), _pb(-33.0)])) == 3  # too few to tell


def _thick_slices(vol: Any, thickness_mm: float) -> Any:
    """``vol`` re-sampled to slabs ``thickness_mm`` thick and apart (linear to 0.5 mm along
    the slice axis, then a running mean): what a scanner's thick reconstruction gives."""
    from scipy import ndimage as ndi

    from planner.volume import CTVolume

    step = float(vol.spacing_mm[2])
    fine = ndi.zoom(vol.hu.astype(np.float32), (step / 0.5, 1, 1), order=1)
    n = int(round(thickness_mm / 0.5))
    out = ndi.uniform_filter1d(fine, size=n, axis=0)[n // 2::n]
    aff = vol.grid.ijk_to_lps.copy()
    k_dir = aff[:3, 2] / step
    aff[:3, 2] = k_dir * thickness_mm
    aff[:3, 3] = aff[:3, 3] + k_dir * (n // 2) * 0.5
    return CTVolume.from_array(np.rint(out).astype(np.int16), aff, "cptac:thick", modality="CT")


def test_a_rib_bearing_body_is_never_taken_for_the_sacrum(shared_data: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    # 3.75 mm slabs (a PET/CT's CT; refused by the slice limit, lifted here): the hops ended
    # on T10's posterior elements, whose rib necks 30-50 mm out read as sacral alae, and the
    # thoracic chain was named L2-L5 from that "sacrum"
    import planner.vertebra.common as common
    from planner.vertebra.levels import propose_levels_with_warnings

    monkeypatch.setattr(common, "MAX_SLICE_MM", 4.0)
    vol = _thick_slices(_original(str(shared_data))[0], 3.75)
    cands, warnings = propose_levels_with_warnings(vol)
    assert not any("sacrum" in w for w in warnings), warnings
    assert {c.level for c in cands} <= {f"T{n}" for n in range(1, 13)} | {"L1", "L2"}, [
        c.level for c in cands]


@pytest.mark.parametrize("name", ["1 mm slices", "1 mm slices 0.85 mm"])
def test_cptac_thin_slices_name_t1_to_l1_right(shared_data: Path, name: str) -> None:
    # interpolated to 1 mm slices: T2's fit moved onto its disc plane and T1-T2 were lost
    # (0.56 mm pixels); at 0.85 mm pixels L1 read as a sacrum, the hops' pitch across T10 went
    # unchecked and every level was named 1-2 too low, with a false grade 3
    analysis, truth = _variant(str(shared_data), name)
    names = analysis.names()
    want = {f"T{n}" for n in range(1 if name == "1 mm slices" else 2, 13)} | {"L1"}
    assert want <= set(names), (names, analysis.warnings)
    for r in analysis.levels:
        c = np.asarray(r.morphometry.centroid_lps)
        assert min(truth, key=lambda k: float(np.linalg.norm(truth[k] - c))) == r.level


def test_a_one_sided_rib_below_the_last_rib_bearing_level_is_reported(shared_data: Path,
                                                                      ) -> None:
    # 1.5 mm slices at 0.98 mm pixels: T12 traces 14 / 73 mm and its left rib goes to L1
    # (75 mm), so T11 is named T12 and every name is one level too low; the count cannot
    # tell, so the warning must say so
    analysis, _ = _variant(str(shared_data), "1.5 mm slices 0.98 mm")
    assert any(w.startswith("a rib traced on one side below the last rib-bearing vertebra")
               and "one level too low" in w for w in analysis.warnings), analysis.warnings


def test_rib_below_note_names_the_level_and_side() -> None:
    from planner.vertebra.anchors import rib_below_note

    far, near = (120.0, 120.0), (30.0, 30.0)
    traces = [RibTrace((120.0, 120.0), far), RibTrace((14.0, 73.0), (31.0, 69.0)),
              RibTrace((75.0, 22.0), (71.0, 39.0))]
    note = rib_below_note(traces, ["T12", "L1", "L2"])
    assert note is not None and "L1 right 73 mm, L2 left 75 mm" in note
    # L1's transverse processes (short, near the mid-line) are no rib
    assert rib_below_note([RibTrace((120.0, 120.0), far), RibTrace((2.0, 23.0), near)],
                          ["T12", "L1"]) is None
