"""CT -> MRI registration on the synthetic MRI (known offset), level transfer, point fits."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import InputError
from planner.mri.pipeline import MRIResult, name_mri_point
from planner.mri.points import rigid_from_points
from planner.mri.register import register_spine
from planner.mri.rigid import RigidTransform, rotation_from_euler_deg, transform_error
from tests.planner.mri_cases import LEVELS, demo_pair, truth_centroids


@pytest.fixture(scope="module")
def registration():  # type: ignore[no-untyped-def]
    case, mri = demo_pair()
    return register_spine(case.volume, mri.t1, truth_centroids(case))


def test_within_1mm_and_1deg(registration) -> None:  # type: ignore[no-untyped-def]
    case, mri = demo_pair()
    pts = np.array(list(truth_centroids(case).values()))
    ang, disp = transform_error(registration.global_transform, mri.transform, pts)
    assert ang <= 1.0 and disp <= 1.0
    for name in LEVELS:  # every segment's transform, at its own level
        ang, disp = transform_error(registration.for_level(name), mri.transform,
                                    [truth_centroids(case)[name]])
        assert ang <= 1.0 and disp <= 1.0, name


def test_levels_named_right_on_the_mri(registration) -> None:  # type: ignore[no-untyped-def]
    _, mri = demo_pair()
    result = MRIResult(registration, ())
    for name, c_mri in mri.centroids_mri_lps.items():
        assert name_mri_point(result, c_mri) == name
        assert np.linalg.norm(np.asarray(registration.centroids_mri_lps[name]) - c_mri) < 1.0


def test_from_a_rough_two_point_start() -> None:
    """Two clicked centres (3 mm off) give the start; MI finishes the job."""
    case, mri = demo_pair()
    cents = truth_centroids(case)
    ct = np.array([cents["T12"], cents["L2"]])
    clicks = mri.transform.apply(ct) + np.array([[2.0, -2.0, 1.0], [-1.5, 2.0, -2.0]])
    fit = rigid_from_points(ct, clicks)
    assert fit.notes  # the roll about the line is not determined by 2 points
    reg = register_spine(case.volume, mri.t1, cents, init=fit.transform, per_segment=False)
    ang, disp = transform_error(reg.global_transform, mri.transform, list(cents.values()))
    assert ang <= 1.0 and disp <= 1.0


def test_kabsch_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(3)
    truth = RigidTransform.about_centre(rotation_from_euler_deg(5.0, -3.0, 8.0),
                                        [0.0, 10.0, 0.0], [4.0, -7.0, 12.0])
    ct = rng.uniform(-60, 60, (4, 3))
    fit = rigid_from_points(ct, truth.apply(ct))
    assert fit.rms_mm < 1e-9
    assert np.allclose(fit.transform.matrix, truth.matrix, atol=1e-9)
    noisy = truth.apply(ct) + rng.normal(0, 1.0, ct.shape)
    fit = rigid_from_points(ct, noisy)
    assert 0.2 < fit.rms_mm < 2.0


def test_points_refused_when_unusable() -> None:
    with pytest.raises(InputError, match="at least 2"):
        rigid_from_points([[0, 0, 0]], [[1, 1, 1]])
    with pytest.raises(InputError, match="within 5 mm"):
        rigid_from_points([[0, 0, 0], [1, 0, 0]], [[0, 0, 0], [1, 0, 0]])
    with pytest.raises(InputError, match="matched"):
        rigid_from_points([[0, 0, 0], [30, 0, 0]], [[0, 0, 0]])


def test_transform_algebra() -> None:
    t = RigidTransform.about_centre(rotation_from_euler_deg(3, 4, 5), [1, 2, 3], [7, 8, 9])
    p = np.array([[10.0, -20.0, 30.0]])
    assert np.allclose(t.inverse().apply(t.apply(p)), p)
    assert t.compose(t.inverse()).angle_deg == pytest.approx(0.0, abs=1e-6)
    assert RigidTransform.from_json(t.to_json()).angle_deg == pytest.approx(t.angle_deg, abs=1e-4)
    with pytest.raises(ValueError, match="rotation"):
        RigidTransform(np.diag([1.0, 1.0, -1.0]), np.zeros(3))


def test_field_of_view_off_centre_along_the_column() -> None:
    """The MRI's field of view 18 mm lower than centred on the spine: the start's search
    along the column still finds the spine (no level slip)."""
    from planner.volume import CTVolume

    case, mri = demo_pair()
    cut = 40  # rows are along -z: dropping the first 40 rows moves the centre 18 mm down
    g = mri.t1.grid
    m = g.ijk_to_lps.copy()
    m[:3, 3] = g.voxel_to_lps([0.0, float(cut), 0.0])
    moved = CTVolume.from_array(mri.t1.hu[:, cut:, :], m, "1.2.3.4", modality="MR")
    cents = truth_centroids(case)
    reg = register_spine(case.volume, moved, cents)
    ang, disp = transform_error(reg.global_transform, mri.transform, list(cents.values()))
    assert ang <= 1.0 and disp <= 1.0
