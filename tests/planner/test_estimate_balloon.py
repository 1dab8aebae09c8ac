"""Balloon catalog and inflation model on synthetic bodies with known geometry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.errors import InputError
from planner.estimate import capsule_volume_ml, fine_body, inflate_balloon, load_balloon_catalog
from planner.estimate.balloon_shape import capsule_radius_mm
from planner.estimate.synthetic import elliptic_body
from planner.plan.model import BalloonPlacement, Trajectory

CATALOG = load_balloon_catalog()
DEV15 = CATALOG.get("kyphon-xpander-ii-15-3")
TRAJ = Trajectory("left", "transpedicular", (25.0, 60.0, 0.0), (9.0, 15.0, 0.0), (4.0, -6.0, 0.0))


@pytest.fixture(scope="module")
def big():
    s = elliptic_body(semi_lr_mm=30, semi_ap_mm=25, height_mm=40, spacing_mm=(0.8, 0.8, 1.0))
    return s, fine_body(s.anatomy, s.hu)


@pytest.fixture(scope="module")
def short():
    """A fractured (14 mm) body whose neighbours say it was 20/19/15 mm tall."""
    s = elliptic_body(height_mm=14, spacing_mm=(0.8, 0.8, 1.0), reference_heights_mm=(20, 19, 15))
    return s, fine_body(s.anatomy, s.hu)


def test_catalog_marks_unconfirmed_values() -> None:
    assert set(CATALOG.devices) >= {
        "kyphon-xpander-ii-10-3",
        "kyphon-xpander-ii-15-3",
        "kyphon-xpander-ii-20-3",
        "kyphon-express-10-2",
    }
    for d in CATALOG.devices.values():
        assert d.max_pressure.value is None and not d.max_pressure.verified
        assert not d.max_volume.verified
    assert DEV15.nominal_length_mm == 15.0 and DEV15.max_volume.value == 3.0
    assert "(unverified)" in DEV15.max_volume.describe("mL")
    assert any("NOT verified" in n for n in CATALOG.notes)
    with pytest.raises(InputError, match="not in the catalog"):
        CATALOG.get("no-such-balloon")


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d["balloons"][0].pop("max_volume_ml"), "lacks 'max_volume_ml'"),
        (lambda d: d["balloons"][0]["nominal_length_mm"].update(value=-3), "positive number"),
        (
            lambda d: d["balloons"][0]["max_pressure_psi"].update(verified=True),
            "cannot be verified",
        ),
        (lambda d: d["balloons"].append(dict(d["balloons"][0])), "duplicate"),
        (lambda d: d.update(version=7), "version 1"),
    ],
)
def test_catalog_validation_names_the_problem(tmp_path: Path, mutate, match: str) -> None:
    data = json.loads(Path(CATALOG.path).read_text())
    mutate(data)
    p = tmp_path / "balloons.json"
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match=match) as err:
        load_balloon_catalog(p)
    assert "balloons.json" in str(err.value)


def test_broken_catalog_file(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_balloon_catalog(p)
    with pytest.raises(InputError, match="not found"):
        load_balloon_catalog(tmp_path / "missing.json")


@pytest.mark.parametrize("volume_ml", [0.5, 1.5, 3.0])
def test_free_balloon_matches_the_analytic_capsule(big, volume_ml: float) -> None:
    s, fine = big
    r = inflate_balloon(
        s.anatomy, TRAJ, BalloonPlacement("left", DEV15.id, 2.0, volume_ml), DEV15, fine=fine
    )
    assert not any(r.contacts.values()) and not r.cortex_breach_attempt
    r_exact = capsule_radius_mm(volume_ml, 15.0)
    assert capsule_volume_ml(r.radius_mm, 15.0) == pytest.approx(volume_ml, rel=0.01)
    assert r.radius_mm == pytest.approx(r_exact, rel=0.005)
    voxels_ml = float(r.cavity_fine.sum()) * fine.voxel_ml
    assert voxels_ml == pytest.approx(volume_ml, rel=0.02)
    assert r.volume_ml == pytest.approx(volume_ml, rel=1e-3) and r.unfitted_ml < 1e-3
    assert not (r.cavity & ~s.anatomy.body).any()


def test_capsule_volume_formula() -> None:
    assert capsule_volume_ml(5.0, 10.0) == pytest.approx(
        (np.pi * 25 * 10 + 4 / 3 * np.pi * 125) / 1000
    )


@pytest.mark.parametrize("offset, volume", [(0.0, 3.0), (5.0, 2.0), (10.0, 4.0)])
def test_cavity_never_leaves_the_body(short, offset: float, volume: float) -> None:
    s, fine = short
    r = inflate_balloon(
        s.anatomy,
        TRAJ,
        BalloonPlacement("left", DEV15.id, offset, volume),
        DEV15,
        s.morphometry.reference_heights_mm.as_dict(),
        s.morphometry.heights_mm.as_dict(),
        fine=fine,
    )
    assert not (r.cavity & ~s.anatomy.body).any()
    assert not (r.cavity_fine & ~fine.interior).any()
    assert r.cavity_ml <= r.volume_ml + 1e-9


def test_balloon_lifts_endplates_at_most_to_the_prefracture_height(short) -> None:
    s, fine = short
    ref, cur = s.morphometry.reference_heights_mm.as_dict(), s.morphometry.heights_mm.as_dict()
    r = inflate_balloon(
        s.anatomy, TRAJ, BalloonPlacement("left", DEV15.id, 5.0, 4.0), DEV15, ref, cur, fine=fine
    )
    assert r.contacts["superior_endplate"] and r.contacts["inferior_endplate"]
    assert r.lift_ml > 0 and r.lift_mm["middle"] > 0.5
    for wall in ("anterior", "middle", "posterior"):
        assert 0.0 <= r.lift_mm[wall] <= ref[wall] - cur[wall] + 1e-9
    assert r.lift_mm["posterior"] <= 1.0
    assert any("maximum volume 3 mL (unverified)" in w for w in r.warnings)
    fixed = inflate_balloon(
        s.anatomy, TRAJ, BalloonPlacement("left", DEV15.id, 5.0, 4.0), DEV15, fine=fine
    )
    assert fixed.lift_ml == 0.0 and all(v == 0.0 for v in fixed.lift_mm.values())
    assert any("held fixed" in w for w in fixed.warnings)
    assert fixed.radius_mm > r.radius_mm  # a balloon that cannot lift spreads sideways


def test_balloon_that_cannot_fit_reports_the_remainder() -> None:
    s = elliptic_body(semi_lr_mm=8, semi_ap_mm=7, height_mm=8, spacing_mm=(0.5, 0.5, 0.5))
    traj = Trajectory(
        "left", "transpedicular", (10.0, 40.0, 0.0), (3.0, 7.0, 0.0), (0.0, -3.0, 0.0)
    )
    dev = CATALOG.get("kyphon-xpander-ii-10-3")
    r = inflate_balloon(
        s.anatomy, traj, BalloonPlacement("left", dev.id, 0.0, 3.0), dev, hu_crop=s.hu
    )
    assert r.unfitted_ml > 1.0
    assert r.volume_ml + r.unfitted_ml == pytest.approx(3.0)
    assert any("did not fit" in w and "not modelled" in w for w in r.warnings)
    assert r.contacts["cortex"] and r.cortex_breach_attempt


def test_posterior_wall_distance_is_geometric(big) -> None:
    """Balloon axis on the mid-sagittal line: distance to the posterior wall is analytic."""
    s, fine = big
    traj = Trajectory(
        "left", "transpedicular", (0.0, 60.0, 0.0), (0.0, 25.0, 0.0), (0.0, -10.0, 0.0)
    )
    r = inflate_balloon(
        s.anatomy, traj, BalloonPlacement("left", DEV15.id, 0.0, 1.0), DEV15, fine=fine
    )
    # proximal cap tip at y = -10 + 15 + radius; the posterior wall's outer surface at y = 25
    expect = 25.0 - (5.0 + r.radius_mm)
    assert r.posterior_wall_distance_mm == pytest.approx(expect, abs=1.0)
