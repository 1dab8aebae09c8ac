"""``python -m planner plan`` and ``check`` on a real CT (tptbox L3, VerSe labels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main

KEYS = {
    "side",
    "approach",
    "needle",
    "skin_entry_lps",
    "bone_entry_lps",
    "target_lps",
    "metrics",
    "findings",
}


@pytest.fixture(scope="module")
def l3(shared_data: Path) -> tuple[str, str]:
    folder = shared_data / "tptbox_l3"
    return str(folder / "sub-ct_label-22_ct.nii.gz"), str(
        folder / "sub-ct_seg-vert_label-22_msk.nii.gz"
    )


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def test_plan_then_check(
    l3: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct, labels = l3
    out_path = tmp_path / "plan.json"
    code, res, err = _run(
        [
            "plan",
            ct,
            "--level",
            "L3",
            "--labels",
            labels,
            "--needle",
            "11G",
            "--auto",
            "--out",
            str(out_path),
        ],
        capsys,
    )
    assert code == 0, err
    assert res["level"] == "L3"
    assert [t["side"] for t in res["trajectories"]] == ["left", "right"]
    for t in res["trajectories"]:
        assert KEYS <= set(t)
        assert t["approach"] == "transpedicular" and t["needle"] == "11G"
        assert t["metrics"]["breach_grade"] == 0
        assert t["metrics"]["min_cortical_clearance_mm"] >= 1.0
        assert all(set(f) >= {"code", "severity", "message"} for f in t["findings"])
    assert isinstance(res["findings"], list)
    assert json.loads(out_path.read_text())["coordinate_system"] == "LPS"

    code, chk, err = _run(["check", ct, str(out_path), "--labels", labels], capsys)
    assert code == 0, err
    for a, b in zip(res["trajectories"], chk["trajectories"], strict=True):
        assert a["target_lps"] == b["target_lps"]
        assert b["metrics"]["breach_grade"] == a["metrics"]["breach_grade"]
        assert b["metrics"]["length_skin_to_tip_mm"] == pytest.approx(
            a["metrics"]["length_skin_to_tip_mm"], abs=0.01
        )


def test_check_refuses_a_plan_from_another_series(
    l3: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.plan.file import save_plan
    from planner.plan.model import Plan, SeriesBinding, Trajectory

    ct, labels = l3
    t = Trajectory(
        "left", "transpedicular", (70.0, 220.0, -60.0), (40.0, 175.0, -60.0), (30.0, 150.0, -60.0)
    )
    p = save_plan(
        Plan(SeriesBinding("1.2.3.4.5.other", "feedfacefeedface"), level="L3", trajectories=(t,)),
        tmp_path / "other.json",
    )
    code, _, err = _run(["check", ct, str(p), "--labels", labels], capsys)
    assert code == 2
    assert "1.2.3.4.5.other" in err and err.count("\n") == 1


def test_plan_needs_auto_and_a_known_needle(
    l3: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ct, labels = l3
    code, _, err = _run(["plan", ct, "--level", "L3", "--labels", labels], capsys)
    assert code == 2 and "--auto" in err
    code, _, err = _run(["plan", ct, "--level", "L3", "--needle", "9G", "--auto"], capsys)
    assert code == 2 and "11G" in err


def test_plan_with_a_balloon_makes_a_kyphoplasty_plan(
    l3: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct, labels = l3
    out_path = tmp_path / "bkp.json"
    argv = ["plan", ct, "--level", "L3", "--labels", labels, "--auto", "--out", str(out_path)]
    balloon = ["--balloon", "kyphon-xpander-ii-15-3", "--inflation-ml", "2.5"]
    code, _, err = _run(argv + balloon, capsys)
    assert code == 0, err
    (saved,) = json.loads(out_path.read_text())["levels"]  # plan file format 4
    assert saved["procedure"] == "kyphoplasty"
    assert sorted(b["side"] for b in saved["balloons"]) == ["left", "right"]
    assert all(b["inflation_ml"] == 2.5 for b in saved["balloons"])

    code, _, err = _run(argv + ["--balloon", "no-such-balloon"], capsys)
    assert code == 2
    assert "no-such-balloon" in err and "not in the catalog" in err
