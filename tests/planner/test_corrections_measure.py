"""The plane drag's cheap measurement gives the analysis' own numbers (issue 11, speed)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from planner.session.corrections_geometry import body_crop, plane_of, turned_frame
from planner.session.corrections_measure import MeasuringCT, measure_in_plane, measuring_crop

pytest.importorskip("planner.demo", reason="demo generator not importable in this build")


@pytest.fixture(scope="module")
def demo_l1() -> tuple[object, object]:
    from tests.planner.vertebra_cases import demo_analysis, demo_case

    return demo_case().volume, demo_analysis().level("L1")


def test_sampling_equals_the_volumes_trilinear_sampling_inside_and_outside(
    demo_l1: tuple[object, object],
) -> None:
    volume, r = demo_l1
    rng = np.random.default_rng(3)
    inside = r.anatomy.frame.to_lps(rng.normal(size=(500, 3)) * 15.0)
    lo, hi = volume.bounds_lps()
    span = np.asarray(hi) - np.asarray(lo)
    edge = np.asarray(lo) + rng.uniform(-0.02, 1.02, size=(500, 3)) * span  # some outside
    fast = MeasuringCT(volume)
    for pts in (inside, edge, inside.reshape(25, 20, 3)):
        want = volume.sample_lps(pts, fill=-1000.0)
        got = fast.sample_lps(pts, fill=-1000.0)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-9)
    assert (fast.sample_lps(edge, fill=-1000.0) == -1000.0).any()  # the fill is used


@pytest.mark.parametrize(("shift_mm", "turn_deg"), [(0.0, 0.0), (2.5, -7.0), (-4.0, 11.0)])
def test_the_plane_is_measured_as_the_analysis_measures_it(
    demo_l1: tuple[object, object], shift_mm: float, turn_deg: float
) -> None:
    from planner.vertebra.morphometry import heights_and_geometry

    volume, r = demo_l1
    crop = body_crop(r.anatomy)
    frame = turned_frame(r.anatomy.frame, *plane_of(r.anatomy.frame, shift_mm, turn_deg))
    want = heights_and_geometry(volume, replace(crop, frame=frame))
    got = measure_in_plane(volume, crop, frame)
    for k in ("depth", "width", "wedge"):
        assert got[k] == pytest.approx(want[k], abs=1e-9), k
    for wall in ("anterior", "middle", "posterior"):
        assert got["x"][wall] == pytest.approx(want["x"][wall], abs=1e-9)
        assert got["ends"][wall] == pytest.approx(want["ends"][wall], abs=1e-9)
    kept = measuring_crop(crop, frame).body
    assert 0 < kept.sum() < 0.4 * crop.body.sum()  # a fraction of the body is read
    assert not (kept & ~crop.body).any()


def test_the_cheap_measurement_is_faster(demo_l1: tuple[object, object]) -> None:
    from planner.vertebra.morphometry import heights_and_geometry

    volume, r = demo_l1
    crop = body_crop(r.anatomy)
    frames = [
        turned_frame(r.anatomy.frame, *plane_of(r.anatomy.frame, 0.2 * k, 0.7 * k))
        for k in range(6)
    ]

    def best(f: object) -> float:
        out = []
        for fr in frames:
            t = time.perf_counter()
            f(fr)  # type: ignore[operator]
            out.append(time.perf_counter() - t)
        return min(out)

    measure_in_plane(volume, crop, frames[0])  # the body voxels are remembered per crop
    slow = best(lambda fr: heights_and_geometry(volume, replace(crop, frame=fr)))
    fast = best(lambda fr: measure_in_plane(volume, crop, fr))
    assert fast < 0.7 * slow, (fast, slow)
