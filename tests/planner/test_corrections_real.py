"""Corrections on a real expert mask (VerSe verse004, L1 compression fracture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.session.corrections import apply_corrections, automatic_points, point_correction

GENANT = (20.0, 25.0, 40.0)


@pytest.fixture(scope="module")
def verse(shared_data: Path):  # type: ignore[no-untyped-def]
    from planner.io_nifti import load_nifti_labels
    from planner.vertebra import measure_from_mask

    path = shared_data / "verse004_labels" / "sub-verse004_seg-vert_msk.nii.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return measure_from_mask(load_nifti_labels(path))


def _move(a, level: str, key: str, mm: float):  # type: ignore[no-untyped-def]
    r = a.level(level)
    p = np.asarray(automatic_points(r.morphometry)[key]) + mm * r.anatomy.frame.superior
    return apply_corrections(a, [point_correction(r.morphometry, key, p)])


def test_raising_the_fractured_middle_point_regrades_by_the_method(verse) -> None:  # type: ignore[no-untyped-def]
    before = verse.level("L1").morphometry
    after = _move(verse, "L1", "middle_superior", 4.0).level("L1").morphometry
    assert after.heights_mm.middle == pytest.approx(before.heights_mm.middle + 4.0, abs=1e-6)
    ref = after.reference_heights_mm
    loss = {w: max(0.0, 100 * (1 - after.heights_mm.get(w) / ref.get(w))) for w in ref.as_dict()}
    assert after.height_loss_pct == pytest.approx(loss)
    assert after.genant_grade == sum(max(loss.values()) >= t for t in GENANT)
    assert after.height_loss_pct["middle"] < before.height_loss_pct["middle"] - 10.0


def test_a_lower_intact_neighbour_lowers_the_reference_it_gives(verse) -> None:  # type: ignore[no-untyped-def]
    t12 = verse.level("T12").morphometry
    after = _move(verse, "T11", "posterior_superior", -0.3)
    assert after.level("T11").morphometry.heights_mm.posterior == pytest.approx(
        verse.level("T11").morphometry.heights_mm.posterior - 0.3, abs=1e-6
    )
    # T12: mean of T11 above and L2 below (L1 fractured; within 15 %, so averaged)
    new_ref = after.level("T12").morphometry.reference_heights_mm.posterior
    assert new_ref == pytest.approx(t12.reference_heights_mm.posterior - 0.15, abs=1e-6)
    assert after.level("L3").morphometry is verse.level("L3").morphometry
