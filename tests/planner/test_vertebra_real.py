"""Issue 4 targets on real CT: TotalSegmentator example (3 mm) and TPTBox L3 (1.5 mm, PIR)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tests.planner.vertebra_cases import dice, full_mask


@lru_cache(maxsize=1)
def _totalseg(root: str) -> tuple[Any, Any, Any, Any]:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = Path(root) / "totalseg_example"
    ct, _ = load_nifti_ct(d / "example_ct.nii.gz")
    labels = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    bodies = load_nifti_labels(d / "vertebral_bodies_and_discs.nii.gz").labels
    return ct, labels, bodies, analyze_spine(ct)


def _reference(labels: Any, bodies: Any, level: str) -> np.ndarray:
    key = next(k for k, n in labels.names.items() if n == f"vertebrae_{level}")
    return (labels.labels == key) & (bodies == 1)


def test_totalseg_levels_named_without_labels_and_bodies_match(shared_data: Path) -> None:
    ct, labels, bodies, analysis = _totalseg(str(shared_data))
    assert analysis.names() == ["L1", "L2", "L3", "L4", "L5"]
    assert any("sacrum" in w for w in analysis.warnings)
    for r in analysis.levels:
        score = dice(full_mask(ct.shape_kji, r.anatomy), _reference(labels, bodies, r.level))
        assert score >= 0.80, (r.level, score)
        assert 25.0 <= r.morphometry.body_volume_ml <= 60.0
        assert 20.0 <= r.morphometry.heights_mm.posterior <= 35.0
        assert r.morphometry.genant_grade == 0


def test_totalseg_label_import_uses_caret_names_and_skips_cut_levels(shared_data: Path) -> None:
    from planner.vertebra import analyze_spine

    ct, labels, bodies, _ = _totalseg(str(shared_data))
    analysis = analyze_spine(ct, labels=labels)
    assert analysis.names() == ["L1", "L2", "L3", "L4", "L5"]
    assert {r.candidate.source for r in analysis.levels} == {"labels"}
    # T11 and T12 reach the top of the scan: reported, not measured (T11's 2 mL label is
    # also reported as a fragment before segmentation)
    assert any(w.startswith("T12") and "not entirely inside the scan" in w
               for w in analysis.warnings)
    assert any(w.startswith("T11") and ("fragment" in w or "not entirely" in w)
               for w in analysis.warnings)
    for r in analysis.levels:
        assert r.anatomy.vertebra is not None
        assert dice(full_mask(ct.shape_kji, r.anatomy), _reference(labels, bodies, r.level)) >= 0.8


def test_tptbox_l3_body_from_a_seed_in_a_sagittal_pir_volume(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import neighbours_from_seed, segment_level

    d = shared_data / "tptbox_l3"
    ct, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    assert ct.grid.nearest_axis_codes() == "PIR"
    sub = load_nifti_labels(d / "sub-ct_seg-subreg_label-22_msk.nii.gz").labels
    vert = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz").labels
    ref = np.isin(sub, (49, 50)) & (vert == 22)
    centre = ct.grid.voxel_to_lps(np.argwhere(ref).mean(axis=0)[::-1])
    seed = centre + np.array([3.0, -4.0, 4.0])  # a click off the centre
    cands = neighbours_from_seed(ct, seed, "L3")
    l3 = next(c for c in cands if c.level == "L3")
    anatomy = segment_level(ct, l3)
    assert dice(full_mask(ct.shape_kji, anatomy), ref) >= 0.85
    assert anatomy.pedicle_left.sum() > 100 and anatomy.pedicle_right.sum() > 100


def test_tptbox_verse_id_labels_measure_l3_and_refuse_the_cut_neighbours(
        shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    d = shared_data / "tptbox_l3"
    ct, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    labels = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz")  # VerSe ids, no names
    analysis = analyze_spine(ct, labels=labels)
    assert analysis.names() == ["L3"]
    assert sorted(w.split()[0].rstrip(":") for w in analysis.warnings) == ["L2", "L4"]
    m = analysis.level("L3").morphometry
    assert 30.0 <= m.body_volume_ml <= 45.0 and 20.0 <= m.heights_mm.posterior <= 35.0
    assert 0.0 < m.trabecular_hu < 150.0  # an osteoporotic-range core (DOMAIN.md §7.1)


def test_a_click_in_the_pedicle_still_finds_the_body(shared_data: Path) -> None:
    from planner.vertebra import neighbours_from_seed, segment_level

    ct, labels, bodies, _ = _totalseg(str(shared_data))
    seed = np.array([22.0, -125.0, 256.0])  # upper right L5, at the pedicle base
    cands = neighbours_from_seed(ct, seed, "L5")
    assert [c.level for c in cands] == ["L1", "L2", "L3", "L4", "L5"]
    anatomy = segment_level(ct, cands[-1])
    assert dice(full_mask(ct.shape_kji, anatomy), _reference(labels, bodies, "L5")) >= 0.8
