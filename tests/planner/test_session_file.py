"""Plan file format 4: multi-level round trip, migration, strict validation, relative paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import planner.plan.file as plan_file
from planner.errors import PlanFormatError
from planner.plan.file import (
    FORMAT_VERSION,
    case_plan_to_dict,
    load_case_plan,
    load_plan,
    save_case_plan,
    save_plan,
)
from planner.plan.model import (
    BalloonPlacement,
    ClinicalInputs,
    Plan,
    PlanMeasurement,
    SeriesBinding,
    Trajectory,
)
from planner.session import Attempt, CasePlan, Correction, LevelPlan

UID = "1.2.826.0.1.3680043.99.2"
FP = "fedcba9876543210"
SERIES = SeriesBinding(UID, FP)
LEFT = Trajectory("left", "transpedicular", (25.0, 60.0, 0.0), (9.0, 15.0, 0.0), (4.0, -6.0, 0.0))
RIGHT = Trajectory(
    "right", "parapedicular", (-25.0, 60.0, 0.0), (-9.0, 15.0, 0.0), (-4.0, -6.0, 0.0), "13G"
)


def _case_plan() -> CasePlan:
    l1 = LevelPlan(
        "L1",
        True,
        "kyphoplasty",
        (LEFT, RIGHT),
        (BalloonPlacement("left", "kyphon-xpander-ii-15-3", 1.0, 3.0),),
        ClinicalInputs(fracture_age_weeks=3, supine_heights_mm=(20.0, 18.0, 25.0)),
        None,
        "fracture",
    )
    t12 = LevelPlan("T12", False, "vertebroplasty", (LEFT,), unipedicular=True)
    return CasePlan(
        (l1, t12),
        "T12",
        (PlanMeasurement("distance", ((0.0, 1.0, 2.0), (10.5, 1.0, 2.0)), "axial"),),
        (Correction.make("L1", "midsagittal_plane", "normal", [1, 0, 0], [0.99, 0.1, 0]),),
        (("pain_matches_level", "yes"), ("mri_oedema", "unknown")),
        Attempt(3, 1, 412.5),
        "two levels",
    )


def test_multi_level_round_trip(tmp_path: Path) -> None:
    p = save_case_plan(SERIES, _case_plan(), tmp_path / "two.json")
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data["format_version"] == FORMAT_VERSION == 4
    assert [lv["level"] for lv in data["levels"]] == ["L1", "T12"]
    loaded = load_case_plan(p, UID, FP)
    assert loaded.series == SERIES and loaded.plan == _case_plan()
    assert loaded.plan.level("L1").confirmed is True  # type: ignore[union-attr]
    # the compatibility reader gives the active level with the measurements
    old = load_plan(p, UID, FP)
    assert old.level == "T12" and old.trajectories == (LEFT,) and len(old.measurements) == 1
    assert load_plan(p, level="L1").balloons[0].inflation_ml == 3.0


def _v3() -> dict[str, Any]:
    return {
        "format": "vertebral-augmentation-plan",
        "format_version": 3,
        "coordinate_system": "LPS",
        "units": "mm",
        "series": {"series_uid": UID, "geometry_fingerprint": FP},
        "level": "L2",
        "procedure": "kyphoplasty",
        "trajectories": [
            {
                "side": "left",
                "approach": "transpedicular",
                "needle_id": "11G",
                "skin_entry_lps": [25, 60, 0],
                "bone_entry_lps": [9, 15, 0],
                "target_lps": [4, -6, 0],
            }
        ],
        "balloons": [
            {
                "side": "left",
                "device_id": "kyphon-express-10-2",
                "tip_offset_mm": 0,
                "inflation_ml": 2,
            }
        ],
        "clinical": {"cement_viscosity": "high"},
        "notes": "old",
        "measurements": [],
    }


@pytest.mark.parametrize("version", [1, 2, 3])
def test_older_versions_migrate_to_one_active_level(tmp_path: Path, version: int) -> None:
    data = _v3()
    if version <= 2:
        del data["measurements"]
        data["format_version"] = 2
    if version == 1:
        t = data.pop("trajectories")[0]
        for key in ("series", "format", "balloons", "clinical"):
            data.pop(key)
        data.update(series_uid=UID, geometry_fingerprint=FP, format_version=1)
        data["procedure"] = "vertebroplasty"
        data["needles"] = [
            {
                "side": "left",
                "entry_lps": t["skin_entry_lps"],
                "target_lps": t["target_lps"],
                "gauge": "13G",
            }
        ]
    p = tmp_path / f"v{version}.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_case_plan(p, UID, FP)
    (lp,) = loaded.plan.levels
    assert loaded.plan.active_level == "L2" and lp.level == "L2"
    assert lp.confirmed is False and lp.unipedicular is None
    assert loaded.plan.corrections == () and loaded.plan.attempt is None
    assert lp.trajectories[0].target_lps == (4.0, -6.0, 0.0)
    if version >= 2:
        assert lp.procedure == "kyphoplasty" and lp.balloons[0].device_id == "kyphon-express-10-2"
        assert lp.clinical.cement_viscosity == "high" and lp.notes == "old"
    else:
        assert lp.trajectories[0].needle_id == "13G"


def _write(tmp_path: Path, data: Any, name: str = "bad.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def _good() -> dict[str, Any]:
    return case_plan_to_dict(SERIES, _case_plan())


def _target(data: dict[str, Any], value: Any) -> dict[str, Any]:
    data["levels"][0]["trajectories"][0]["target_lps"] = value
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _target(d, ["4", -6, 0]), r"target_lps\[0\] must be a number"),
        (lambda d: _target(d, [True, -6, 0]), r"target_lps\[0\] must be a number"),
        (lambda d: _target(d, [1e308, -6, 0]), r"target_lps\[0\] must be within"),
        (lambda d: _target(d, [4, -6]), "three numbers"),
        (lambda d: d | {"format": "something-else"}, "not a plan file"),
        (
            lambda d: (
                d["levels"][1].update(
                    balloons=[{"side": "left", "device_id": "kyphon-express-10-2"}]
                )
                or d
            ),
            "vertebroplasty but lists 1 balloon",
        ),
        (
            lambda d: d["levels"][0]["trajectories"][0].update(needle_id="99G") or d,
            "'99G' is not in the device catalog",
        ),
        (
            lambda d: d["levels"][0]["balloons"][0].update(device_id="no-such-balloon") or d,
            "'no-such-balloon' is not in the catalog",
        ),
        (lambda d: d | {"attempt": {"shots": "3"}}, "attempt.shots must be an integer"),
        (lambda d: d | {"indication": {"x": 3}}, "indication.x must be a string"),
        (lambda d: d | {"active_level": "L5"}, "active level L5 is not one of"),
    ],
)
def test_strict_refusals_name_the_file(tmp_path: Path, mutate: Any, message: str) -> None:
    p = _write(tmp_path, mutate(_good()))
    with pytest.raises(PlanFormatError, match=message) as err:
        load_case_plan(p)
    assert str(p) in str(err.value)


def test_nan_literal_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "nan.json"
    p.write_text(json.dumps(_target(_good(), [float("nan"), 0, 0])), encoding="utf-8")
    with pytest.raises(PlanFormatError, match="finite") as err:
        load_case_plan(p)
    assert str(p) in str(err.value)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text('{"notes": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(PlanFormatError, match="nested") as err:
        load_case_plan(p)
    assert str(p) in str(err.value)


def test_huge_files_and_too_many_measurements_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _good()
    data["measurements"] = data["measurements"] * 10_001
    p = _write(tmp_path, data)
    with pytest.raises(PlanFormatError, match="at most 10000") as err:
        load_case_plan(p)
    assert str(p) in str(err.value)
    monkeypatch.setattr(plan_file, "PLAN_MAX_BYTES", 1000)
    with pytest.raises(PlanFormatError, match="MB are refused") as err:
        load_case_plan(p)
    assert str(p) in str(err.value)


def test_coordinates_far_outside_the_volume_are_refused(tmp_path: Path) -> None:
    from planner.estimate.synthetic import elliptic_body
    from planner.volume import CTVolume

    body = elliptic_body(height_mm=20.0, spacing_mm=(1.0, 1.0, 1.0))
    vol = CTVolume.from_array(body.hu, body.anatomy.grid.ijk_to_lps, "1.2.826.0.1.3680043.99.3")
    series = SeriesBinding(vol.series_uid, vol.geometry_fingerprint())
    near = save_case_plan(series, _case_plan(), tmp_path / "near.json")
    load_case_plan(near, volume=vol)
    far = _write(tmp_path, _target(case_plan_to_dict(series, _case_plan()), [4, -6, 1500]))
    with pytest.raises(PlanFormatError, match=r"target_lps\[2\] must be within") as err:
        load_case_plan(far, volume=vol)
    assert str(far) in str(err.value)
    load_case_plan(far)  # without a volume, 1.5 m is within the absolute bound


def test_study_path_is_stored_relative_to_the_plan(tmp_path: Path) -> None:
    study = tmp_path / "Doe^John" / "CT"
    study.mkdir(parents=True)
    plans = tmp_path / "Doe^John" / "plans"
    plans.mkdir()
    p = save_plan(Plan(SERIES, "L1"), plans / "p.json", source_path=str(study))
    stored = json.loads(p.read_text(encoding="utf-8"))["source_path"]
    assert stored == "../CT" and str(tmp_path) not in p.read_text(encoding="utf-8")
    assert load_case_plan(p).source_path == str(study.resolve())
    q = save_plan(Plan(SERIES, "L1"), plans / "q.json", str(study), absolute_source=True)
    assert json.loads(q.read_text(encoding="utf-8"))["source_path"] == str(study.resolve())
    d = save_plan(Plan(SERIES, "L1"), plans / "d.json", source_path="demo:")
    assert json.loads(d.read_text(encoding="utf-8"))["source_path"] == "demo:"
    assert load_case_plan(d).source_path == "demo:"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a decoded JSON value (dict keys and list indexes)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def test_any_field_replaced_by_any_json_loads_or_is_refused_by_name(tmp_path: Path) -> None:
    """Fuzz: no other exception than PlanFormatError/PlanMismatchError, naming the file."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from planner.errors import PlannerError

    good = _good()
    places = [p for p in _paths(good) if p]
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**400), 10**400)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=8)
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=8,
    )
    p = tmp_path / "fuzz.json"

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(place=st.sampled_from(places), value=values)
    def run(place: tuple[Any, ...], value: Any) -> None:
        data = json.loads(json.dumps(good))
        target = data
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value
        p.write_text(json.dumps(data), encoding="utf-8")
        try:
            load_case_plan(p)
        except PlannerError as exc:
            assert str(p) in str(exc)

    run()
