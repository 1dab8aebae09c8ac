"""Label import (TotalSegmentator Caret names, VerSe ids) and measuring from a mask alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.errors import InputError
from planner.grid import ImageGrid
from planner.volume import LabelMap


def _labelmap(ids: dict[int, str] | None, values: tuple[int, ...]) -> LabelMap:
    arr = np.zeros((10, 4, 4), dtype=np.int32)
    for n, v in enumerate(values):
        arr[2 * n:2 * n + 2] = v
    return LabelMap(arr, ImageGrid((10, 4, 4), np.eye(4)), ids or {})


def test_caret_names_win_and_map_to_levels() -> None:
    from planner.vertebra.labels import level_names

    lm = _labelmap({31: "vertebrae_L1", 32: "vertebrae_T12", 26: "vertebrae_S1",
                    5: "kidney_left"}, (31, 32, 26, 5))
    assert level_names(lm) == {31: "L1", 32: "T12", 26: "S1"}


def test_verse_ids_without_names() -> None:
    from planner.vertebra.labels import level_names

    lm = _labelmap(None, (19, 20, 24, 7))
    assert level_names(lm) == {19: "T12", 20: "L1", 24: "L5", 7: "C7"}


def test_a_label_map_without_vertebrae_is_refused() -> None:
    from planner.vertebra import levels_from_labels
    from planner.volume import CTVolume

    ct = CTVolume.from_array(np.zeros((10, 4, 4)), np.eye(4), "x")
    with pytest.raises(InputError, match="no vertebra labels"):
        levels_from_labels(ct, _labelmap({1: "liver"}, (1,)))


def test_verse004_fracture_measured_from_its_mask(shared_data: Path) -> None:
    from planner.io_nifti import load_nifti_labels
    from planner.vertebra import measure_from_mask

    lm = load_nifti_labels(shared_data / "verse004_labels" / "sub-verse004_seg-vert_msk.nii.gz")
    analysis = measure_from_mask(lm)
    assert analysis.names() == ["T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"]
    for r in analysis.levels:
        m = r.morphometry
        if r.level == "L1":  # the expert-annotated compression fracture
            assert m.genant_grade >= 2
            assert m.heights_mm.middle < 0.6 * m.reference_heights_mm.middle
        elif r.level in ("T9", "T10"):
            # anterior and middle heights > 20 % below the taller intact neighbour (T11)
            assert m.genant_grade >= 1, (r.level, m.height_loss_pct)
        else:
            assert m.genant_grade == 0, (r.level, m.height_loss_pct)
        assert np.isnan(m.trabecular_hu)  # no CT: no density


def test_verse_variants_t13_and_l6_are_named_and_counted_only_where_named() -> None:
    from planner.vertebra.common import level_index, shift_level
    from planner.vertebra.labels import level_names, missing_levels
    from planner.vertebra.types import LevelCandidate

    lm = _labelmap(None, (19, 28, 20, 24, 25))  # T12, T13, L1, L5, L6 (VerSe ids)
    assert level_names(lm) == {19: "T12", 28: "T13", 20: "L1", 24: "L5", 25: "L6"}
    assert shift_level("T12", 1) == "L1" and shift_level("T13", 1) == "L1"
    assert shift_level("T13", -1) == "T12" and shift_level("L6", 1) == "S1"
    assert level_index("L1") - level_index("T12") == 1
    assert level_index("L1", ["T13"]) - level_index("T12", ["T13"]) == 2

    def cands(names: list[str]) -> list[LevelCandidate]:
        return [LevelCandidate(n, (0.0, 0.0, -30.0 * k)) for k, n in enumerate(names)]

    assert missing_levels(cands(["T12", "L1", "L2"])) == []  # no T13 invented
    assert missing_levels(cands(["T12", "T13", "L1"])) == []
    gap = missing_levels(cands(["T11", "T13", "L1"]))
    assert len(gap) == 1 and gap[0].startswith("T12: missing")
