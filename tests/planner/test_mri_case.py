"""The checklist stored in the planning session's plan (format 4) and the MRI acuity feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.mri.case import answer, apply_mri_acuity, check_case
from planner.mri.oedema import LevelOedema
from planner.mri.pipeline import MRIResult
from planner.mri.register import registration_from_points
from planner.mri.rigid import RigidTransform
from planner.plan.file import case_plan_to_dict, load_case_plan
from planner.plan.model import SeriesBinding
from planner.session import Case, edit


def _mri(**cls: str) -> MRIResult:
    reg = registration_from_points({n: (0.0, 0.0, 0.0) for n in cls},
                                   RigidTransform.identity())
    return MRIResult(reg, tuple(LevelOedema(n, c, 2.0 if c == "oedema" else 1.0, 0.5, 0.5,
                                            1.0, 100, "") for n, c in cls.items()))


def _case() -> Case:
    case = Case(SeriesBinding("1.2.3", "fp"))
    case = edit.add_level(case, "L1", "kyphoplasty")
    return edit.add_level(case, "T12", "vertebroplasty")


def test_answers_live_in_the_plan_and_survive_the_file(tmp_path: Path) -> None:
    import json

    case = answer(answer(_case(), "pain_weeks", "4"), "infection", "no")
    assert case.plan.indication == (("pain_weeks", "4"), ("infection", "no"))
    case = answer(case, "infection", "unknown")
    assert case.plan.indication == (("pain_weeks", "4"),)
    with pytest.raises(ValueError):
        answer(case, "infection", "perhaps")
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(case_plan_to_dict(case.series, case.plan)), encoding="utf-8")
    loaded = load_case_plan(p)
    assert loaded.plan.indication == (("pain_weeks", "4"),)


def test_check_case_flags_the_level_without_oedema() -> None:
    case = answer(_case(), "pain_weeks", "3")
    check = check_case(case, _mri(L1="oedema", T12="no oedema"))
    assert "pain_weeks" in check.indications_met
    assert check.flagged_levels() == {"T12": ["no bone-marrow oedema on MRI"]}
    by = {r.item_id: r for r in check.items}
    assert by["n_levels"].answer == "2" and by["oedema"].answer == "no"


def test_mri_acuity_replaces_the_typed_one() -> None:
    case, choices = apply_mri_acuity(_case(), _mri(L1="oedema", T12="indeterminate"))
    l1, t12 = case.plan.level("L1"), case.plan.level("T12")
    assert l1 is not None and l1.clinical.acuity == "acute"
    assert choices["L1"].source.startswith("MRI")
    assert t12 is not None and t12.clinical.acuity == "unknown"
    assert not choices["T12"].source.startswith("MRI")
