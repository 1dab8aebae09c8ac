"""``plan``/``estimate``/``check`` on the demo with several levels, through the session.

The demo is written as DICOM once per module; the spine analysis runs once for real (the
multi-level ``plan`` run) and is reused by the other commands.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from planner import cli
from planner.commands import _common
from planner.plan.file import load_case_plan, save_case_plan
from planner.session import Case, edit, level_check, report_content

LEVELS = ["T12", "L1"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("demo")
    assert cli.main(["demo", str(folder / "ct")]) == 0
    volume, _ = _common.load_volume(str(folder / "ct"))
    return {"folder": folder, "ct": str(folder / "ct"), "volume": volume, "analysis": None}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return dict(json.loads(out))


@pytest.fixture(scope="module")
def planned(demo: dict[str, Any]) -> dict[str, Any]:
    """A two-level plan (T12 vertebroplasty, L1 kyphoplasty) made by the real command."""
    out_path = demo["folder"] / "two.json"
    code = cli.main(
        [
            "plan",
            demo["ct"],
            "--level",
            "T12",
            "--level",
            "L1:kp",
            "--balloon",
            "kyphon-xpander-ii-15-3",
            "--auto",
            "--out",
            str(out_path),
        ]
    )
    assert code == 0
    loaded = load_case_plan(out_path, volume=demo["volume"])
    demo["analysis"] = _common.analyse_levels(demo["volume"], LEVELS)
    return {"path": out_path, "loaded": loaded}


@pytest.fixture
def fast(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Reuse the module's analysis in the commands (same result, no second 10 s run)."""
    analysis = demo["analysis"]
    assert analysis is not None
    monkeypatch.setattr(_common, "analyse_levels", lambda *a, **k: analysis)


def test_multi_level_plan_file_and_estimate(
    demo: dict[str, Any], planned: dict[str, Any], fast: None, capsys: Any
) -> None:
    plan = planned["loaded"].plan
    assert plan.level_names() == ("T12", "L1") and plan.active_level is None
    t12, l1 = plan.levels
    assert (t12.procedure, t12.balloons) == ("vertebroplasty", ())
    assert l1.procedure == "kyphoplasty" and len(l1.balloons) == 2
    est = _run(["estimate", demo["ct"], str(planned["path"])], capsys)
    levels = {lv["level"]: lv for lv in est["levels"]}
    assert set(levels) == set(LEVELS)
    for lv in levels.values():
        assert {"cement", "balloons", "spread", "restoration", "compare"} <= set(lv)
    assert levels["L1"]["balloons"] and not levels["T12"]["balloons"]
    total = est["total_cement_ml"]
    rec = sum(lv["cement"]["recommended_ml"] for lv in levels.values())
    assert total["recommended"] == pytest.approx(rec, abs=0.02)
    assert total["range"][0] == pytest.approx(
        sum(lv["cement"]["range_ml"][0] for lv in levels.values()), abs=0.02
    )
    assert est["level"] == "T12"  # top-level keys: the first level when none is active


def _variants(case: Case) -> list[Case]:
    """Plans to compare: two levels, one level, one needle with and without the intent."""
    l1 = case.plan.level("L1")
    assert l1 is not None
    one = edit.remove_needle(case, "L1", "right")
    return [
        case,
        edit.remove_level(case, "T12"),
        one,  # the command recorded "bipedicular" (False) as the intent
        edit.set_unipedicular(one, "L1", None),
        edit.set_unipedicular(one, "L1", True),
        edit.set_unipedicular(edit.remove_needle(case, "T12", "left"), "T12", True),
    ]


def test_check_equals_the_session_and_the_report(
    demo: dict[str, Any], planned: dict[str, Any], fast: None, capsys: Any, tmp_path: Path
) -> None:
    volume = demo["volume"]
    base = planned["loaded"].case(demo["analysis"])
    by_intent: dict[Any, list[dict[str, str]]] = {}
    for i, case in enumerate(_variants(base)):
        path = save_case_plan(case.series, case.plan, tmp_path / f"v{i}.json")
        out = _run(["check", demo["ct"], str(path)], capsys)
        report = {lv.level: lv for lv in report_content(volume, case, with_estimates=False).levels}
        assert [lv["level"] for lv in out["levels"]] == list(case.plan.level_names())
        for lv in out["levels"]:
            chk = level_check(volume, case, lv["level"])
            assert chk is not None
            session = [f.to_json() for f in chk.findings]
            assert lv["findings"] == session
            rep = report[lv["level"]].check
            assert rep is not None and [f.to_json() for f in rep.findings] == session
            assert lv["approach"] == chk.approach
        one_l1 = case.plan.level("L1")
        if one_l1 is not None and len(one_l1.trajectories) == 1:
            by_intent[one_l1.unipedicular] = next(
                lv["findings"] for lv in out["levels"] if lv["level"] == "L1"
            )
    # one needle: no choice behaves as unipedicular; an explicit "no" does not check the midline
    assert by_intent[None] == by_intent[True]
    codes = {f["code"] for f in by_intent[True]} ^ {f["code"] for f in by_intent[False]}
    assert codes, "the unipedicular intent must change the findings of a one-needle plan"


def test_single_level_keeps_the_top_level_keys(
    demo: dict[str, Any], planned: dict[str, Any], fast: None, capsys: Any, tmp_path: Path
) -> None:
    case = edit.remove_level(planned["loaded"].case(), "T12")
    case = edit.set_active_level(case, "L1")
    path = save_case_plan(case.series, case.plan, tmp_path / "one.json")
    out = _run(["check", demo["ct"], str(path)], capsys)
    assert out["level"] == "L1" and out["approach"] == "bipedicular"
    assert out["findings"] == out["levels"][0]["findings"]
    assert {"trajectories", "series_uid", "warnings"} <= set(out)
    est = _run(["estimate", demo["ct"], str(path)], capsys)
    assert est["level"] == "L1" and est["cement"] == est["levels"][0]["cement"]
    assert est["total_cement_ml"]["recommended"] == pytest.approx(
        est["cement"]["recommended_ml"], abs=0.01
    )
    assert replace(case, analysis=None) == case  # the analysis is not part of the value
