"""Scoring of attempts against a hidden reference, on the demo study analysed by the planner."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from planner.plan.model import Plan, SeriesBinding, Trajectory
from planner.training import AttemptCounters, Exercise, ExerciseCase, ScoringSession


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    from planner.demo import generate_demo
    from planner.trajectory import suggest

    case = generate_demo(0)
    vol = case.volume
    ref = Plan(SeriesBinding(vol.series_uid, vol.geometry_fingerprint()), level="L1")
    ex = Exercise("L1-test", "L1 test", ExerciseCase("Demo L1."), "L1", "left",
                  "transpedicular", 1, "wide pedicle", ref.with_trajectory(
                      Trajectory("left", "transpedicular", (0, 0, 0), (0, 0, 1), (0, 0, 5))))
    s = ScoringSession.build(ex, vol)
    sug = suggest(s.context, "left", "11G", unipedicular=True)
    ex = replace(ex, reference=ref.with_trajectory(sug.trajectory))
    return replace(s, exercise=ex), case


def _shifted(t: Trajectory, d: np.ndarray) -> Trajectory:
    return replace(t, skin_entry_lps=tuple(np.add(t.skin_entry_lps, d)),
                   bone_entry_lps=tuple(np.add(t.bone_entry_lps, d)),
                   target_lps=tuple(np.add(t.target_lps, d)))


def _attempt(s: ScoringSession, t: Trajectory) -> Plan:
    return replace(s.exercise.reference, trajectories=(t,))


def test_reference_scores_full_marks(session) -> None:  # type: ignore[no-untyped-def]
    s, _ = session
    r = s.score(s.exercise.reference, AttemptCounters())
    assert r.passed and r.score == 100.0
    assert r.tip_error_mm == 0.0 and r.entry_error_mm == 0.0 and r.angle_error_deg == 0.0
    assert r.breach_grade == 0
    assert set(r.to_json()) >= {"passed", "score", "breach_grade", "tip_error_mm",
                                "entry_error_mm", "angle_error_deg", "shots", "redirections",
                                "time_s", "findings"}
    json.dumps(r.to_json())  # JSON-able


def test_path_through_the_canal_fails(session) -> None:  # type: ignore[no-untyped-def]
    s, case = session
    lv = case.truth.level("L1")
    mid = (np.array(lv.pedicles["left"].isthmus_centre_lps)
           + np.array(lv.pedicles["right"].isthmus_centre_lps)) / 2.0  # inside the canal
    ref = s.exercise.reference.trajectories[0]
    skin = np.array(ref.skin_entry_lps)
    tip = mid + 0.3 * (mid - skin)
    t = Trajectory("left", "transpedicular", tuple(skin), tuple(skin + 0.5 * (tip - skin)),
                   tuple(tip))
    r = s.score(_attempt(s, t), AttemptCounters(shots=5, time_s=60))
    assert not r.passed and r.score == 0.0
    assert any("canal" in f or "breach" in f for f in r.fail_reasons), r.fail_reasons
    assert r.raw_score > 0.0


def test_two_mm_lateral_scores_lower_than_one_mm(session) -> None:  # type: ignore[no-untyped-def]
    s, _ = session
    ref = s.exercise.reference.trajectories[0]
    lateral = np.array([1.0, 0.0, 0.0])  # patient left = lateral for the left needle
    c = AttemptCounters(shots=10, redirections=1, time_s=120)
    r1 = s.score(_attempt(s, _shifted(ref, 1.0 * lateral)), c)
    r2 = s.score(_attempt(s, _shifted(ref, 2.0 * lateral)), c)
    assert r1.tip_error_mm == pytest.approx(1.0, abs=0.01)
    assert r2.tip_error_mm == pytest.approx(2.0, abs=0.01)
    assert r2.score < r1.score < 100.0


def test_more_shots_lower_the_score_and_scoring_is_deterministic(session) -> None:  # type: ignore[no-untyped-def]
    s, _ = session
    att = _attempt(s, _shifted(s.exercise.reference.trajectories[0], np.array([0.5, 0, 0])))
    few = s.score(att, AttemptCounters(shots=8, time_s=90))
    many = s.score(att, AttemptCounters(shots=20, time_s=90))
    assert many.score < few.score
    assert s.score(att, AttemptCounters(shots=8, time_s=90)) .to_json() == few.to_json()


def test_missing_needle_fails(session) -> None:  # type: ignore[no-untyped-def]
    s, _ = session
    r = s.score(replace(s.exercise.reference, trajectories=()), AttemptCounters())
    assert not r.passed and "no left needle placed" in r.fail_reasons


def test_counters_are_validated() -> None:
    assert AttemptCounters.from_json({"shots": 3}) == AttemptCounters(3, 0, 0.0)
    assert AttemptCounters.from_json(None) == AttemptCounters()
    with pytest.raises(ValueError):
        AttemptCounters.from_json({"shots": -1})
    with pytest.raises(ValueError):
        AttemptCounters.from_json({"time_s": float("nan")})


def test_simulated_attempt_counts_and_scores(session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from planner.training.attempt import Attempt, aim_angles
    from planner.training.history import History

    s, _ = session
    t = [0.0]
    att = Attempt(s, "Dr Test", clock=lambda: t[0])
    ref = s.exercise.reference.trajectories[0]
    ap = att.shoot(0.0, 0.0)
    assert att.shots == 1 and ap.display.shape == (512, 512)
    # the click on the AP image at the reference skin entry's projection finds the skin there
    col, row = ap.project(ref.skin_entry_lps)[0]
    skin = att.skin_point(ap, col, row)
    assert np.linalg.norm(skin - np.array(ref.skin_entry_lps)) < 15.0
    att.set_skin_entry("left", np.array(ref.skin_entry_lps))
    d = np.subtract(ref.target_lps, ref.skin_entry_lps)
    att.set_direction("left", 5.0, 0.0)
    att.advance("left", 10.0)
    att.set_direction("left", *aim_angles("left", d))  # redirect with the needle in
    assert att.redirections == 1
    att.advance("left", float(np.linalg.norm(d)) - 10.0)
    att.shoot(90.0, 0.0)
    t[0] = 95.0
    r = att.finish()
    assert r.counters.shots == 2 and r.counters.time_s == 95.0
    assert r.tip_error_mm < 0.01 and r.passed and r.score < 100.0  # shots and time cost
    saved = att.save(tmp_path / "a.json")
    from planner.plan.file import load_plan

    assert load_plan(saved).trajectories[0].side == "left"
    h = History(tmp_path, "Dr Test")
    h.add(s.exercise.exercise_id, "L1", r.to_json())
    assert h.rows()[0]["score"] == r.score
    assert "score" in h.export_csv(tmp_path / "h.csv").read_text().splitlines()[0]
