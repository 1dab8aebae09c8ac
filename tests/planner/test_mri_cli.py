"""``python -m planner mri CT MRI``: JSON with registration, per-level oedema, indication."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.cli import main
from planner.mri.rigid import RigidTransform, transform_error


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_cli")
    assert main(["demo", str(out), "--mri"]) == 0
    return out


def test_mri_command_on_the_demo(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["mri", str(demo_dir / "dicom"), str(demo_dir),
                 "--answer", "pain_weeks=3", "--answer", "infection=no"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    truth = json.loads((demo_dir / "ground_truth.json").read_text())
    assert set(out["mri"]) == {"stir", "t1"}
    by = {lv["level"]: lv for lv in out["levels"]}
    assert list(by) == ["T11", "T12", "L1", "L2", "L3"]
    assert by["L1"]["classification"] == "oedema" and by["L1"]["acuity"] == "acute"
    assert by["T12"]["classification"] == "no oedema"
    assert by["L1"]["stir_ratio"] > 2.0 and by["L1"]["t1_ratio"] < 0.7
    est = RigidTransform.from_json(out["registration"]["global_transform"])
    tru = RigidTransform.from_json(truth["mri"]["transform_ct_to_mri"])
    pts = np.array([lv["centroid_lps"] for lv in truth["levels"]])
    ang, disp = transform_error(est, tru, pts)
    assert ang <= 1.0 and disp <= 1.0
    mri_truth = {lv["name"]: lv["centroid_mri_lps"] for lv in truth["mri"]["levels"]}
    for name, lv in out["registration"]["levels"].items():
        assert np.linalg.norm(np.subtract(lv["centroid_mri_lps"], mri_truth[name])) < 3.0
    ind = out["indication"]
    assert ind["levels"] == ["L1"] and "does not decide" in ind["statement"]
    assert "oedema" in ind["indications_met"] and "pain_weeks" in ind["indications_met"]
    assert "infection" not in ind["unknowns"]


def test_mri_command_bad_input(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mri", str(demo_dir / "dicom"), str(demo_dir / "dicom")]) == 2
    assert "no MR image series" in capsys.readouterr().err
    assert main(["mri", str(demo_dir / "dicom"), str(demo_dir), "--points", "1,2"]) == 2
    assert "--points" in capsys.readouterr().err


def test_mri_command_reads_and_writes_the_plan(demo_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from planner.loading import load_path
    from planner.plan.file import load_case_plan, save_case_plan
    from planner.plan.model import SeriesBinding
    from planner.session import Case, edit
    from planner.volume import CTVolume  # noqa: F401  (type of the loaded CT)

    ct = load_path(demo_dir / "dicom").volume
    case = Case(SeriesBinding(ct.series_uid, ct.geometry_fingerprint()))
    case = edit.set_indication(edit.add_level(case, "T12"), "coagulopathy", "yes")
    plan_in = save_case_plan(case.series, case.plan, tmp_path / "in.json")
    capsys.readouterr()
    assert main(["mri", str(demo_dir / "dicom"), str(demo_dir), "--plan", str(plan_in),
                 "--plan-out", str(tmp_path / "out.json"), "--answer", "pain_weeks=2"]) == 0
    out = json.loads(capsys.readouterr().out)
    ind = out["indication"]
    assert ind["levels"] == ["T12"]
    assert ind["contraindications_present"] == ["coagulopathy"]
    assert set(ind["flagged_levels"]["T12"]) == {"no bone-marrow oedema on MRI",
                                                 "contraindication: coagulopathy"}
    saved = load_case_plan(tmp_path / "out.json")
    assert dict(saved.plan.indication) == {"coagulopathy": "yes", "pain_weeks": "2"}
    lp = saved.plan.level("T12")
    assert lp is not None and lp.clinical.acuity == "chronic"
    assert out["plan_out"]["acuity"]["T12"]["source"].startswith("MRI")
