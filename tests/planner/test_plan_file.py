"""Plan files: round trip, series binding, atomic save, migration from format versions 1 and 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from planner.errors import PlanFormatError, PlanMismatchError
from planner.plan.file import FORMAT_VERSION, check_binding, load_plan, plan_to_dict, save_plan
from planner.plan.model import (
    BalloonPlacement,
    ClinicalInputs,
    Plan,
    PlanMeasurement,
    SeriesBinding,
    Trajectory,
)

UID, FP = "1.2.826.0.1.3680043.8.498.1", "0123456789abcdef"


def _plan() -> Plan:
    t1 = Trajectory(
        "left", "transpedicular", (40.5, 80.25, 10.0), (18.0, 35.0, 8.0), (5.0, -10.0, 6.0), "11G"
    )
    t2 = Trajectory(
        "right", "parapedicular", (-45.0, 70.0, 12.0), (-20.0, 12.0, 7.0), (-4.0, -9.0, 5.5), "13G"
    )
    return Plan(
        SeriesBinding(UID, FP),
        level="T12",
        procedure="kyphoplasty",
        trajectories=(t1, t2),
        balloons=(BalloonPlacement("left", "kyphon-xpander-ii-15-3", 2.0, 3.0),),
        clinical=ClinicalInputs(fracture_age_weeks=3.0, supine_heights_mm=(20.0, 22.0, 27.0)),
        notes="bipedicular",
        measurements=(
            PlanMeasurement("distance", ((0.0, 1.0, 2.0), (10.5, 1.0, 2.0)), "axial"),
            PlanMeasurement("angle", ((0, 0, 0), (0, 0, 10), (5, 0, 10)), "sagittal"),
        ),
    )


def test_round_trip_and_header(tmp_path: Path) -> None:
    p = save_plan(_plan(), tmp_path / "plan.json")
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data["format_version"] == FORMAT_VERSION == 4
    assert data["measurements"][0] == {
        "kind": "distance",
        "points_lps": [[0.0, 1.0, 2.0], [10.5, 1.0, 2.0]],
        "view": "axial",
    }
    assert (data["coordinate_system"], data["units"]) == ("LPS", "mm")
    assert data["series"] == {"series_uid": UID, "geometry_fingerprint": FP}
    assert load_plan(p, UID, FP) == _plan()
    assert [f.name for f in tmp_path.iterdir()] == ["plan.json"]  # no temporary file left


def test_plan_from_another_series_is_refused_naming_its_series(tmp_path: Path) -> None:
    p = save_plan(_plan(), tmp_path / "plan.json")
    with pytest.raises(PlanMismatchError) as err:
        load_plan(p, "1.2.3.999", FP)
    assert UID in str(err.value) and "1.2.3.999" in str(err.value)
    with pytest.raises(PlanMismatchError, match="geometry"):
        check_binding(_plan(), UID, "ffffffffffffffff")


def test_failed_save_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = save_plan(_plan(), tmp_path / "plan.json")
    before = p.read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_plan(Plan(SeriesBinding(UID, FP), level="L1"), p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["plan.json"]


def test_version_1_files_migrate(tmp_path: Path) -> None:
    v1 = {
        "format_version": 1,
        "coordinate_system": "LPS",
        "units": "mm",
        "series_uid": UID,
        "geometry_fingerprint": FP,
        "level": "L2",
        "procedure": "vertebroplasty",
        "needles": [
            {"side": "left", "entry_lps": [40, 80, 10], "target_lps": [5, -10, 6], "gauge": "13G"}
        ],
    }
    p = tmp_path / "old.json"
    p.write_text(json.dumps(v1), encoding="utf-8")
    plan = load_plan(p, UID, FP)
    assert plan.level == "L2" and plan.series == SeriesBinding(UID, FP)
    (t,) = plan.trajectories
    assert (t.side, t.approach, t.needle_id) == ("left", "transpedicular", "13G")
    assert t.skin_entry_lps == (40.0, 80.0, 10.0) and t.target_lps == (5.0, -10.0, 6.0)
    assert t.bone_entry_lps == t.skin_entry_lps  # unknown in v1 (see planner.plan.file)
    assert plan_to_dict(plan)["format_version"] == 4
    assert plan.measurements == ()


def _v3_dict() -> dict[str, object]:
    """A version-3 file of _plan() (one level at the top level)."""
    data = plan_to_dict(_plan())
    (level,) = data.pop("levels")
    for key in ("active_level", "corrections", "indication", "attempt"):
        del data[key]
    data.update({k: level[k] for k in ("level", "procedure", "trajectories", "balloons",
                                       "clinical", "notes")})
    data["format_version"] = 3
    return data


def test_version_3_file_migrates(tmp_path: Path) -> None:
    p = tmp_path / "v3.json"
    p.write_text(json.dumps(_v3_dict()), encoding="utf-8")
    assert load_plan(p, UID, FP) == _plan()


def test_version_2_file_opens_without_measurements(tmp_path: Path) -> None:
    data = _v3_dict()
    del data["measurements"]
    data["format_version"] = 2
    p = tmp_path / "v2.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    plan = load_plan(p, UID, FP)
    assert plan.measurements == () and plan.trajectories == _plan().trajectories


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "area", "points_lps": [[0, 0, 0]] * 2}, r"measurements\[0\]\.kind"),
        ({"kind": "angle", "points_lps": [[0, 0, 0]] * 2}, "needs 3 points"),
        ({"kind": "distance", "points_lps": [[0, 0, "x"], [1, 1, 1]]}, "must be a number"),
        ("3 mm", "must be a JSON object"),
    ],
)
def test_bad_measurement_entries_are_named(tmp_path: Path, entry, message) -> None:  # type: ignore[no-untyped-def]
    data = plan_to_dict(_plan())
    data["measurements"] = [entry]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PlanFormatError, match=message):
        load_plan(p, UID, FP)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"format_version": 5}, "newer than this planner"),
        ({"format_version": "2"}, "must be an integer"),
        ({"coordinate_system": "RAS"}, "LPS"),
        ({"series": {}}, "which series"),
        ({"active_level": "L9"}, "active_level must be one of"),
    ],
)
def test_invalid_files_are_refused(tmp_path: Path, patch: dict[str, object], message: str) -> None:
    data = plan_to_dict(_plan()) | patch
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PlanFormatError, match=message) as err:
        load_plan(p)
    assert "bad.json" in str(err.value)
