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
