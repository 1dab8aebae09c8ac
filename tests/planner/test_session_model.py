"""The planning session: values, pure edits, the one unipedicular rule, caching by value."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from planner.estimate.synthetic import elliptic_body
from planner.plan.model import BalloonPlacement, Plan, SeriesBinding, Trajectory
from planner.session import (
    Case,
    CasePlan,
    Correction,
    LevelAnalysis,
    LevelPlan,
    LevelsAnalysis,
    derive,
    edit,
    level_estimates,
    total_cement,
)

SERIES = SeriesBinding("1.2.826.0.1.3680043.99.1", "0123456789abcdef")
LEFT = Trajectory("left", "transpedicular", (25.0, 60.0, 0.0), (9.0, 15.0, 0.0), (4.0, -6.0, 0.0))
RIGHT = Trajectory(
    "right", "transpedicular", (-25.0, 60.0, 0.0), (-9.0, 15.0, 0.0), (-4.0, -6.0, 0.0)
)
BALLOON = BalloonPlacement("left", "kyphon-xpander-ii-15-3", 0.0, 3.0)


def _case() -> Case:
    case = edit.add_level(Case(SERIES), "L1", "kyphoplasty")
    case = edit.place_needle(case, "L1", LEFT)
    case = edit.set_balloon(case, "L1", BALLOON, "left")
    return edit.add_level(case, "T12", activate=False)


def test_edits_are_pure_and_share_unchanged_parts() -> None:
    case = _case()
    before = copy.deepcopy(case)
    moved = edit.move_needle(case, "L1", RIGHT)
    assert case == before  # the input is untouched
    assert moved.plan.level("L1").trajectories == (LEFT, RIGHT)  # type: ignore[union-attr]
    assert moved.plan.level("T12") is case.plan.level("T12")  # unchanged level, same object
    assert case.plan.active_level == "L1"
    assert edit.set_active_level(case, "T12").plan.active_level == "T12"
    assert edit.set_active_level(case, None).plan.active == None  # noqa: E711
    gone = edit.remove_level(case, "L1")
    assert gone.plan.level_names() == ("T12",) and gone.plan.active_level is None
    renamed = edit.rename_level(edit.confirm_level(case, "L1"), "L1", "L2")
    assert renamed.plan.active_level == "L2"
    assert renamed.plan.level("L2").confirmed is False  # type: ignore[union-attr]
    assert edit.confirm_level(case, "T12").plan.level("T12").confirmed  # type: ignore[union-attr]
    vp = edit.set_procedure(case, "L1", "vertebroplasty")
    assert vp.plan.level("L1").balloons == ()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="already planned"):
        edit.add_level(case, "T12")
    with pytest.raises(ValueError, match="not in the plan"):
        edit.place_needle(case, "L3", LEFT)


def test_corrections_indication_attempt_and_measurements() -> None:
    case = _case()
    c1 = Correction.make("L1", "morphometry_point", "anterior_superior", [1, 2, 3], [1, 2, 4])
    c2 = Correction.make("L1", "morphometry_point", "anterior_superior", [1, 2, 3], [1, 2, 5])
    case = edit.add_correction(edit.add_correction(case, c1), c2)
    assert case.corrections == (c2,) and c2.value == [1, 2, 5]
    assert hash(c2)  # hashable: JSON is kept as canonical text
    with pytest.raises(ValueError, match="correction kind"):
        Correction.make("L1", "nonsense", "k", None, 1)
    with pytest.raises(ValueError, match="finite JSON"):
        Correction.make("L1", "level_name", "k", None, float("nan"))
    case = edit.set_indication(edit.set_indication(case, "pain_mri", "yes"), "pain_mri", "no")
    assert case.plan.indication == (("pain_mri", "no"),)
    assert edit.set_indication(case, "pain_mri", "no") is case  # unchanged: nothing to undo
    two = edit.set_indication(case, "infection", "yes")
    assert two.plan.indication == (("pain_mri", "no"), ("infection", "yes"))
    assert edit.clear_indication(two, "pain_mri").plan.indication == (("infection", "yes"),)
    assert edit.clear_indication(two, "pregnancy") is two  # not answered: unchanged
    assert edit.clear_indication(two, "pain_mri").plan.levels is two.plan.levels
    name = Correction.make("L1", "level_name", "name", "L1", "L1")
    # the treatment plan goes, the corrected anatomy (the moved point) stays
    assert edit.remove_level(edit.add_correction(case, name), "L1").corrections == (c2,)


def test_balloons_on_a_vertebroplasty_level_are_refused() -> None:
    with pytest.raises(ValueError, match="kyphoplasty"):
        LevelPlan("L1", procedure="vertebroplasty", trajectories=(LEFT,), balloons=(BALLOON,))


@pytest.mark.parametrize(
    ("needles", "intent", "expected"),
    [
        ((), None, False),
        ((LEFT,), None, True),  # one needle, no choice: derived
        ((LEFT,), False, False),  # the second needle is still to come
        ((LEFT,), True, True),
        ((), True, True),
        ((LEFT, RIGHT), True, False),  # two needles are never unipedicular
    ],
)
def test_one_unipedicular_rule(needles: Any, intent: bool | None, expected: bool) -> None:
    assert LevelPlan("L1", trajectories=needles, unipedicular=intent).is_unipedicular is expected


def test_legacy_plan_round_trip() -> None:
    old = Plan(SERIES, "L2", "kyphoplasty", (LEFT,), (BALLOON,))
    case = Case.from_legacy(old)
    assert case.plan.active_level == "L2" and case.legacy_plan() == old


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from planner.io_nifti import save_nifti
    from planner.loading import load_path

    body = elliptic_body(
        height_mm=20.0, spacing_mm=(0.8, 0.8, 1.0), reference_heights_mm=(26, 25, 21)
    )
    path = tmp_path_factory.mktemp("syn") / "ct.nii.gz"
    save_nifti(body.hu, body.anatomy.grid, path)
    return load_path(path).volume, body


def test_estimates_are_cached_by_value(synthetic: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    volume, body = synthetic
    derive.clear_caches()
    calls: list[str] = []
    real = derive.compute_estimates

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[3].level)
        return real(*args, **kwargs)

    monkeypatch.setattr(derive, "compute_estimates", counting)
    series = SeriesBinding(volume.series_uid, volume.geometry_fingerprint())
    analysis = LevelsAnalysis((("L1", LevelAnalysis(body.anatomy, body.morphometry)),))

    def make(analysis: Any) -> Case:
        case = Case(series, analysis=analysis)
        return edit.place_needle(edit.add_level(case, "L1"), "L1", LEFT)

    a = level_estimates(volume, make(analysis), "L1")
    # an equal plan built anew, on a deep copy of the analysis: same content, one computation
    twin = LevelsAnalysis((("L1", LevelAnalysis(copy.deepcopy(body.anatomy), body.morphometry)),))
    b = level_estimates(volume, make(twin), "L1")
    assert a is b and calls == ["L1"]
    changed = edit.set_unipedicular(make(analysis), "L1", False)
    c = level_estimates(volume, changed, "L1")
    assert c is not a and calls == ["L1", "L1"]
    total = total_cement({"L1": a, "T12": None})
    assert total.recommended_ml == pytest.approx(a.cement.recommended_ml)  # type: ignore[union-attr]
    assert total.missing == ("T12",)
    two = total_cement({"L1": a, "L2": c})
    assert two.range_ml[0] == pytest.approx(a.cement.range_ml[0] + c.cement.range_ml[0])  # type: ignore[union-attr]
    assert two.range_ml[1] == pytest.approx(a.cement.range_ml[1] + c.cement.range_ml[1])  # type: ignore[union-attr]


def test_unipedicular_intent_reaches_the_estimates(synthetic: Any) -> None:
    """A one-needle plan short of the midline adds the hemi-body rule only when unipedicular."""
    volume, body = synthetic
    series = SeriesBinding(volume.series_uid, volume.geometry_fingerprint())
    analysis = LevelsAnalysis((("L1", LevelAnalysis(body.anatomy, body.morphometry)),))
    case = edit.place_needle(edit.add_level(Case(series, analysis=analysis), "L1"), "L1", LEFT)
    uni = level_estimates(volume, case, "L1")
    not_uni = level_estimates(volume, edit.set_unipedicular(case, "L1", False), "L1")
    assert uni is not None and not_uni is not None
    assert uni.cement.hemi_body_limit_ml is not None
    assert not_uni.cement.hemi_body_limit_ml is None


def test_case_plan_validates() -> None:
    with pytest.raises(ValueError, match="planned once"):
        CasePlan((LevelPlan("L1"), LevelPlan("L1")))
    with pytest.raises(ValueError, match="active level"):
        CasePlan((LevelPlan("L1"),), "T12")


def test_closed_form_is_the_same_code_path_as_the_full_run(synthetic: Any) -> None:
    volume, body = synthetic
    series = SeriesBinding(volume.series_uid, volume.geometry_fingerprint())
    analysis = LevelsAnalysis((("L1", LevelAnalysis(body.anatomy, body.morphometry)),))
    case = edit.place_needle(edit.add_level(Case(series, analysis=analysis), "L1"), "L1", LEFT)
    full = level_estimates(volume, case, "L1")
    assert full is not None
    quick = derive.level_closed_form(case, "L1", full.fine)
    assert quick is not None
    assert quick.cement == full.cement and quick.comparison.to_json() == full.comparison.to_json()
    pending = derive.level_closed_form(case, "L1", None)
    assert pending is not None and "still being checked" in pending.notes[0]
