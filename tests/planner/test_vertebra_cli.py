"""``python -m planner measure``: JSON contract, --labels, --seed/--level, --mask-out, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.cli import main

KEYS = {"level", "source", "confirmed", "centroid_lps", "body_volume_ml", "heights_mm",
        "reference_heights_mm", "height_loss_pct", "genant_grade", "morphology",
        "wedge_angle_deg", "trabecular_hu", "posterior_wall"}


def test_measure_with_labels_and_mask_out(shared_data: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from planner.io_nifti import load_nifti_labels

    d = shared_data / "totalseg_example"
    out = tmp_path / "bodies.nii.gz"
    code = main(["measure", str(d / "example_ct.nii.gz"), "--labels",
                 str(d / "vertebrae_labels.nii.gz"), "--mask-out", str(out)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"levels", "warnings"}
    assert [lv["level"] for lv in data["levels"]] == ["L1", "L2", "L3", "L4", "L5"]
    for lv in data["levels"]:
        assert KEYS <= set(lv) and lv["source"] == "labels"
        assert set(lv["heights_mm"]) == {"anterior", "middle", "posterior"}
    written = load_nifti_labels(out)
    assert written.ids() == [20, 21, 22, 23, 24]  # VerSe ids L1-L5
    ref = load_nifti_labels(d / "vertebral_bodies_and_discs.nii.gz").labels == 1
    ref &= np.isin(load_nifti_labels(d / "vertebrae_labels.nii.gz").labels, (27, 28, 29, 30, 31))
    assert (written.labels > 0)[ref].mean() > 0.85  # L1-L5 bodies covered


def test_measure_with_a_seed(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from planner.io_nifti import load_nifti_ct

    path = shared_data / "totalseg_example" / "example_ct.nii.gz"
    ct, _ = load_nifti_ct(path)
    seed = ct.grid.voxel_to_lps(np.array([57.0, 40.0, 73.0]))  # inside L3
    code = main(["measure", str(path), "--seed", ",".join(f"{v:.1f}" for v in seed),
                 "--level", "L3"])
    assert code == 0
    levels = json.loads(capsys.readouterr().out)["levels"]
    assert [lv["level"] for lv in levels] == ["L1", "L2", "L3", "L4", "L5"]
    assert [lv["confirmed"] for lv in levels] == [False, False, True, False, False]


@pytest.mark.parametrize("extra", [["--seed", "1,2,3"], ["--seed", "1,2", "--level", "L1"],
                                   ["--level", "L1"], ["--seed", "0,0,0", "--level", "X9"]])
def test_bad_arguments_exit_2(tmp_path: Path, extra: list[str],
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", str(tmp_path / "missing.nii.gz"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
