"""Exercise library, exercise files (validation, tampering) and the exercise/score commands."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from planner.cli import main
from planner.demo.spec import CaseSpec, all_params
from planner.errors import InputError
from planner.plan.model import Plan, SeriesBinding, Trajectory
from planner.training import Exercise, ExerciseCase, load_exercise, write_exercise
from planner.training.exercise_file import ExerciseFileError
from planner.training.library import LEVELS, LIBRARY, build_exercise, case_spec


def test_library_covers_every_level_t6_to_l5() -> None:
    assert LEVELS[0] == "T6" and LEVELS[-1] == "L5" and len(LEVELS) == 12
    assert {lv for lv, _, _ in LIBRARY} == set(LEVELS)
    assert any("parapedicular" in v for _, v, _ in LIBRARY)


def test_thoracic_pedicles_are_narrow_and_variants_change_the_spec() -> None:
    for lv in ("T6", "T7", "T8", "T9"):
        assert 4.0 <= all_params(lv).pedicle_width <= 6.0
    s = case_spec("T8", "severe+osteoporotic+rotated+obese")
    assert s.fracture_grade == 3 and s.bone == "osteoporotic" and s.fat_extra_mm == 45.0
    assert s.rotation("T8") == 8.0 and s.rotation("T9") == 4.0 and s.rotation("T11") == 0.0
    assert "T12" in s.levels and "L1" in s.complete_levels  # the naming anchor is in view
    assert case_spec("T7", "parapedicular").params("T7").pedicle_width == pytest.approx(3.2)
    assert CaseSpec() == case_spec("L1", "standard").__class__()
    with pytest.raises(InputError):
        case_spec("T8", "nonsense")


@pytest.mark.parametrize(("level", "variant", "side"), LIBRARY)
def test_library_exercise_is_analysed_and_planned_by_the_planner(
        level: str, variant: str, side: str) -> None:
    built = build_exercise(level, variant, 0, side)
    ex = built.exercise
    assert ex.level == level and set(ex.sides) == {t.side for t in ex.reference.trajectories}
    # every complete level of the case was found and named right (within 5 mm)
    assert level in built.checks["levels_named"]
    assert max(built.checks["levels_named"].values()) < 5.0
    if "parapedicular" in variant:
        assert ex.approach == "parapedicular"


def _small_exercise(vol) -> Exercise:  # type: ignore[no-untyped-def]
    t = Trajectory("left", "transpedicular", (30.0, 60.0, 0.0), (15.0, 25.0, 0.0),
                   (5.0, -5.0, 0.0))
    plan = Plan(SeriesBinding(vol.series_uid, vol.geometry_fingerprint()), level="L1",
                trajectories=(t,))
    return Exercise("L1-file", "file test", ExerciseCase("Test case."), "L1", "left",
                    "transpedicular", 1, "test", plan)


@pytest.fixture(scope="module")
def exercise_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from planner.volume import CTVolume

    rng = np.random.default_rng(0)
    hu = rng.integers(-100, 300, size=(12, 40, 40)).astype(np.int16)
    affine = np.diag([0.8, 0.8, 1.5, 1.0])
    vol = CTVolume.from_array(hu, affine, "2.25.123456789")
    p = tmp_path_factory.mktemp("ex") / "L1-file.vaex"
    return write_exercise(p, _small_exercise(vol), vol)


def test_exercise_file_round_trip(exercise_file: Path, tmp_path: Path) -> None:
    loaded = load_exercise(exercise_file, extract_to=tmp_path)
    assert loaded.exercise.exercise_id == "L1-file"
    vol = loaded.open_study()
    assert vol.hu.shape == (12, 40, 40)
    assert loaded.exercise.reference.series.series_uid == vol.series_uid
    assert "reference" not in json.dumps(loaded.exercise.metadata_json())


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    zout.writestr(info.filename, change[info.filename])  # type: ignore[arg-type]
            else:
                zout.writestr(info.filename, zin.read(info.filename))


def test_tampered_or_damaged_files_are_refused_by_name(exercise_file: Path,
                                                       tmp_path: Path) -> None:
    with zipfile.ZipFile(exercise_file) as zf:
        study = next(n for n in zf.namelist() if n.startswith("study/"))
        data = bytearray(zf.read(study))
        ref = json.loads(zf.read("reference.json"))
    data[-10] ^= 0xFF
    bad = tmp_path / "tampered.vaex"
    _rewrite(exercise_file, bad, {study: bytes(data)})
    with pytest.raises(ExerciseFileError, match=f"tampered.vaex.*{study}"):
        load_exercise(bad, extract_to=tmp_path / "x1")
    # moving the reference (a cheat) is detected too
    ref["levels"][0]["trajectories"][0]["target_lps"] = [0.0, 0.0, 0.0]
    bad2 = tmp_path / "moved-reference.vaex"
    _rewrite(exercise_file, bad2, {"reference.json": json.dumps(ref).encode()})
    with pytest.raises(ExerciseFileError, match="reference.json"):
        load_exercise(bad2, extract_to=tmp_path / "x2")
    missing = tmp_path / "missing.vaex"
    _rewrite(exercise_file, missing, {study: None})
    with pytest.raises(ExerciseFileError, match="missing"):
        load_exercise(missing, extract_to=tmp_path / "x3")
    trunc = tmp_path / "truncated.vaex"
    trunc.write_bytes(exercise_file.read_bytes()[:2000])
    with pytest.raises(ExerciseFileError, match="truncated.vaex"):
        load_exercise(trunc, extract_to=tmp_path / "x4")


def test_exercise_and_score_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ex"
    assert main(["exercise", str(out), "--level", "L2", "--variant", "wide-pedicles",
                 "--side", "left", "--seed", "1"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "reference" not in json.dumps(info["exercise"])
    assert not list(out.glob("*.json"))  # no plain reference file next to the study
    # the exercise's study is one the planner plans by itself
    assert main(["plan", info["study_dir"], "--level", "L2", "--auto"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert len(planned["trajectories"]) == 2
    # an attempt = the reference moved 1.5 mm laterally, with counters (redirections missing)
    with zipfile.ZipFile(info["exercise_file"]) as zf:
        ref = json.loads(zf.read("reference.json"))
    assert ref["format_version"] >= 4
    for key in ("skin_entry_lps", "bone_entry_lps", "target_lps"):
        ref["levels"][0]["trajectories"][0][key][0] += 1.5
    ref["attempt"] = {"shots": 14, "time_s": 150.0}
    att = tmp_path / "ATTEMPT.json"
    att.write_text(json.dumps(ref))
    assert main(["score", str(out), str(att)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= {"passed", "score", "breach_grade", "tip_error_mm", "entry_error_mm",
                        "angle_error_deg", "shots", "redirections", "time_s", "findings"}
    assert res["shots"] == 14 and res["redirections"] == 0 and res["time_s"] == 150.0
    assert res["tip_error_mm"] == pytest.approx(1.5, abs=0.01)
    assert 0.0 < res["score"] < 100.0
    assert main(["score", str(tmp_path / "nope.vaex"), str(att)]) == 2


def test_instructor_turns_a_study_and_a_plan_into_an_exercise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    study = str(tmp_path / "demo" / "dicom")
    plan = tmp_path / "ref.json"
    assert main(["plan", study, "--level", "L1", "--auto", "--approach", "unipedicular",
                 "--side", "right", "--out", str(plan)]) == 0
    capsys.readouterr()
    out = tmp_path / "ex"
    assert main(["exercise", str(out), "--from-study", study, "--plan", str(plan),
                 "--difficulty", "3", "--description", "Teaching file L1."]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["exercise"]["side"] == "right" and info["exercise"]["difficulty"] == 3
    # the instructor's own plan, scored as an attempt, gets full marks
    assert main(["score", info["exercise_file"], str(plan)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["passed"] and res["score"] == 100.0
