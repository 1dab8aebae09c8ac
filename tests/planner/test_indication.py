"""The indication check: answers, analysis findings, flags; it never decides."""

from __future__ import annotations

import pytest

from planner.indication import ITEMS, STATEMENT, Findings, evaluate, findings_from, validate_answers


def test_statement_says_it_does_not_decide() -> None:
    check = evaluate()
    assert check.to_json()["statement"] == STATEMENT
    assert "does not decide" in check.statement
    assert set(check.unknowns) == {it.item_id for it in ITEMS}
    assert not check.indications_met and not check.contraindications_present


def test_answers_met_present_unknown() -> None:
    check = evaluate([("pain_at_level", "yes"), ("pain_weeks", "4"),
                      ("failed_conservative", "yes"), ("coagulopathy", "yes"),
                      ("infection", "no")])
    assert {"pain_at_level", "pain_weeks", "failed_conservative"} <= set(check.indications_met)
    assert check.contraindications_present == ["coagulopathy"]
    assert "infection" not in check.unknowns and "cement_allergy" in check.unknowns
    old = evaluate([("pain_weeks", "10")])
    assert "pain_weeks" not in old.indications_met
    assert "6 weeks" in next(r.note for r in old.items if r.item_id == "pain_weeks")


def test_every_item_has_a_source() -> None:
    for it in ITEMS:
        assert it.source and ("20" in it.source or "tool assumption" in it.source), it.item_id


def test_findings_fill_unanswered_items_and_flag_levels() -> None:
    f = Findings(levels=("T12", "L1"), oedema={"T12": "no oedema", "L1": "oedema"},
                 posterior_wall={"T12": "intact", "L1": "retropulsion"},
                 genant_grade={"T12": 0, "L1": 2})
    check = evaluate([], f)
    by = {r.item_id: r for r in check.items}
    assert by["oedema"].answer == "no" and by["oedema"].origin == "analysis"
    assert by["retropulsion"].status == "caution" and "L1 retropulsion" in by["retropulsion"].note
    assert by["n_levels"].answer == "2"
    flags = check.flagged_levels()
    assert list(flags) == ["T12"] and "no bone-marrow oedema" in flags["T12"][0]


def test_user_answer_wins_and_contraindication_flags_every_level() -> None:
    f = Findings(levels=("L1",), oedema={"L1": "oedema"})
    check = evaluate([("oedema", "no"), ("pregnancy", "yes")], f)
    by = {r.item_id: r for r in check.items}
    assert by["oedema"].origin == "user" and by["oedema"].status == "not met"
    assert check.flagged_levels() == {"L1": ["contraindication: pregnancy"]}


def test_indeterminate_mri_leaves_oedema_unknown() -> None:
    check = evaluate([], Findings(levels=("L1",), oedema={"L1": "indeterminate"}))
    assert "oedema" in check.unknowns


@pytest.mark.parametrize("bad", [[("nope", "yes")], [("infection", "maybe")],
                                 [("pain_weeks", "many")], [("infection", "yes"),
                                                            ("infection", "no")]])
def test_bad_answers_are_refused(bad: list[tuple[str, str]]) -> None:
    with pytest.raises((ValueError, KeyError)):
        validate_answers(bad)


def test_findings_from_mri_result() -> None:
    from planner.mri.oedema import LevelOedema
    from planner.mri.pipeline import MRIResult
    from planner.mri.register import registration_from_points
    from planner.mri.rigid import RigidTransform

    reg = registration_from_points({"L1": (0.0, 0.0, 0.0)}, RigidTransform.identity())
    res = MRIResult(reg, (LevelOedema("L1", "oedema", 3.0, 0.4, 0.9, 1.0, 10, ""),))
    f = findings_from(["L1"], None, res)
    by = {r.item_id: r for r in evaluate([], f).items}
    assert by["oedema"].answer == "yes" and by["oedema"].status == "met"


def test_possible_and_withheld_grades_are_named_in_the_height_loss_note() -> None:
    # a level graded 0 with a higher grade possible, or not graded, is not known intact: the
    # checklist quotes it as the tables show it; known intact levels alone say nothing
    f = Findings(levels=("T7", "T8"), genant_grade={"T7": 0, "T8": 0},
                 grade_text={"T7": "0 · possible 1", "T8": "not graded"},
                 intact={"T7": False, "T8": False})
    note = {r.item_id: r for r in evaluate([], f).items}["height_loss"].note
    assert "T7 0 · possible 1, T8 not graded" in note
    intact = Findings(levels=("T7",), genant_grade={"T7": 0}, grade_text={"T7": "0"},
                      intact={"T7": True})
    assert {r.item_id: r for r in evaluate([], intact).items}["height_loss"].origin == "none"


def test_findings_from_an_analysis_carry_the_grade_text() -> None:
    from tests.planner.vertebra_cases import demo_analysis

    f = findings_from(["L1", "L2"], demo_analysis())
    assert f.grade_text["L1"].startswith("2") and f.intact["L2"] and not f.intact["L1"]
