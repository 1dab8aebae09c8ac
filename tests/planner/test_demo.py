"""The built-in demo case: determinism, anatomy, and ground truth checked against the image."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from planner.anatomy import HEIGHT_POSITIONS_FRAC, BodyFrame, LevelAnatomy
from planner.demo import DemoCase, LevelTruth, generate_demo
from planner.grid import ImageGrid

LEVELS = ("T11", "T12", "L1", "L2", "L3")


@pytest.fixture(scope="module")
def case() -> DemoCase:
    return generate_demo(0)


@pytest.fixture(scope="module")
def labels(case: DemoCase) -> np.ndarray:
    return case.truth.body_label_map(case.volume.grid)


def _plane_profile(mask: np.ndarray, grid: ImageGrid, frame: BodyFrame,
                   step: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-voxel samples of ``mask`` on the frame's mid-sagittal plane (v, w grid)."""
    v = np.arange(-40.0, 40.0, step)
    w = np.arange(-25.0, 25.0, step)
    vv, ww = np.meshgrid(v, w, indexing="ij")
    body_pts = np.stack([np.zeros_like(vv), vv, ww], axis=-1)
    ijk = np.rint(grid.lps_to_voxel(frame.to_lps(body_pts))).astype(int)
    ok = grid.contains_voxel(ijk)
    ijk = np.clip(ijk, 0, np.array(grid.shape_kji[::-1]) - 1)
    vals = mask[ijk[..., 2], ijk[..., 1], ijk[..., 0]] & ok
    return v, w, vals


def _measure_heights(mask: np.ndarray, grid: ImageGrid, frame: BodyFrame):
    step = 0.1
    v, _, vals = _plane_profile(mask, grid, frame, step)
    rows = np.nonzero(vals.any(axis=1))[0]
    v_ant, v_post = v[rows[0]], v[rows[-1]]
    depth = v_post - v_ant + step
    out = {}
    for wall, frac in HEIGHT_POSITIONS_FRAC.items():
        i = int(np.argmin(np.abs(v - (v_ant + frac * depth))))
        out[wall] = vals[i].sum() * step
    return out, depth


# --- determinism and identity -------------------------------------------------------------
def test_same_seed_gives_identical_bytes_and_other_seed_other_noise(case: DemoCase) -> None:
    again = generate_demo(0)
    assert again.volume.hu.tobytes() == case.volume.hu.tobytes()
    assert again.volume.series_uid == case.volume.series_uid
    other = generate_demo(1)
    diff = other.volume.hu.astype(np.int32) - case.volume.hu
    assert np.count_nonzero(diff) > 0.5 * diff.size  # noise differs almost everywhere
    assert abs(float(diff.mean())) < 1.0  # but the anatomy is the same
    assert other.volume.series_uid != case.volume.series_uid
    assert other.truth.to_json()["levels"] == case.truth.to_json()["levels"]


def test_volume_identity_and_geometry(case: DemoCase) -> None:
    v = case.volume
    assert v.hu.dtype == np.int16 and v.hu.ndim == 3
    np.testing.assert_allclose(v.spacing_mm, [0.7, 0.7, 1.0])
    assert v.grid.nearest_axis_codes() == "LPS"
    assert v.identity.modality == "CT"
    assert v.identity.description == "Demo thoracolumbar spine (synthetic)"
    assert v.series_uid.startswith("2.25.") and len(v.series_uid) <= 64
    assert v.patient.patient_name == "DEMO^SPINE" and v.patient.position == "HFS"
    lo, hi = v.hu_range()
    assert lo == -1024 and 1000 < hi < 1700
    # air in the corner, soft tissue inside, slices cover T11-L3 entirely
    assert np.mean(v.hu[:, :5, :5]) < -950
    assert v.shape_kji[0] >= 180


def test_levels_are_cranial_to_caudal_with_verse_ids(case: DemoCase) -> None:
    names = [lv.name for lv in case.truth.levels]
    assert names == list(LEVELS)
    assert [lv.verse_id for lv in case.truth.levels] == [18, 19, 20, 21, 22]
    z = [lv.centroid_lps[2] for lv in case.truth.levels]
    assert all(a > b for a, b in zip(z, z[1:], strict=False))
    with pytest.raises(ValueError, match="variant"):
        generate_demo(0, "nonsense")
    with pytest.raises(ValueError, match="seed"):
        generate_demo(-1)


# --- ground truth vs image ------------------------------------------------------------------
def test_each_centroid_voxel_is_cancellous_bone_of_its_level(case, labels) -> None:
    for lv in case.truth.levels:
        ijk = np.rint(case.volume.lps_to_voxel(lv.centroid_lps)).astype(int)
        assert labels[ijk[2], ijk[1], ijk[0]] == lv.verse_id
        hu = case.volume.hu[ijk[2] - 1:ijk[2] + 2, ijk[1] - 2:ijk[1] + 3, ijk[0] - 2:ijk[0] + 3]
        assert 60 < hu.mean() < 260, (lv.name, hu.mean())


def test_rasterised_body_volume_matches_truth_within_1_percent(case, labels) -> None:
    vox_ml = case.volume.grid.voxel_volume_mm3 / 1000.0
    for lv in case.truth.levels:
        measured = np.count_nonzero(labels == lv.verse_id) * vox_ml
        assert measured == pytest.approx(lv.body_volume_ml, rel=0.01), lv.name
        assert 15.0 < lv.body_volume_ml < 50.0


def test_heights_and_depth_from_the_mask_match_truth_within_a_voxel(case, labels) -> None:
    grid = case.volume.grid
    for lv in case.truth.levels:
        heights, depth = _measure_heights(labels == lv.verse_id, grid, lv.frame)
        assert depth == pytest.approx(lv.depth_mm, abs=1.0), lv.name
        for wall, h in heights.items():
            assert h == pytest.approx(lv.heights_mm.get(wall), abs=1.0), (lv.name, wall)


def test_body_dimensions_and_wedging_are_physiological(case) -> None:
    nominal_wedge = {"T11": 5.0, "T12": 4.0, "L2": 2.0, "L3": 0.0}  # Masharawi 2010
    for lv in case.truth.levels:
        assert 40.0 <= lv.width_mm <= 50.0 and 30.0 <= lv.depth_mm <= 35.0
        assert 24.0 <= lv.heights_mm.posterior <= 28.5
        if lv.name in nominal_wedge:
            assert lv.wedge_angle_deg == pytest.approx(nominal_wedge[lv.name], abs=1e-6)
            assert lv.genant_grade == 0 and lv.morphology == "normal"
            assert lv.reference_heights_mm == lv.heights_mm
    # the frames are tilted a few degrees from the scanner axes (column curvature)
    tilts = [math.degrees(math.acos(lv.frame.superior[2])) for lv in case.truth.levels]
    assert max(tilts) > 2.0 and all(t < 15.0 for t in tilts)


def test_l1_is_a_grade_2_wedge_fracture(case) -> None:
    l1 = case.truth.level("L1")
    ref, h = l1.reference_heights_mm, l1.heights_mm
    # the pre-fracture anterior height measured on the shape equals the level's design: the
    # posterior height less the physiological wedge over the 10-90 % measuring span; the
    # fracture removes the designed share of it
    from planner.demo import params as P

    p = P.LEVELS["L1"]
    designed = p.height_post - 0.8 * p.depth * math.tan(math.radians(p.wedge_deg))
    assert ref.anterior == pytest.approx(designed, abs=0.05)
    assert 1.0 - h.anterior / ref.anterior == pytest.approx(P.FRACTURE_ANTERIOR_LOSS, abs=0.005)
    assert P.FRACTURE_ANTERIOR_LOSS == 0.30  # Genant grade 2 (25-40 %), the demo's fracture
    assert h.posterior == pytest.approx(ref.posterior, abs=1e-9)
    assert 0.0 < 1.0 - h.middle / ref.middle < 0.20
    assert l1.genant_grade == 2 and l1.morphology == "wedge" and l1.posterior_wall == "intact"
    assert l1.prefracture_volume_ml > l1.body_volume_ml * 1.05
    assert l1.wedge_angle_deg > 10.0


def test_cortex_and_trabecular_hu(case, labels) -> None:
    from scipy.ndimage import binary_erosion

    hu = case.volume.hu
    for lv in case.truth.levels:
        mask = labels == lv.verse_id
        p99 = np.percentile(hu[mask], 99.5)
        assert 600 < p99 < 1500, (lv.name, p99)
        core = binary_erosion(mask, iterations=4)  # >= 2.8 mm in plane
        mean = float(hu[core].mean())
        assert mean == pytest.approx(lv.trabecular_hu, abs=6.0), lv.name
    l1 = case.truth.level("L1")
    assert 80.0 <= l1.trabecular_hu <= 150.0
    assert all(150.0 <= lv.trabecular_hu <= 200.0 for lv in case.truth.levels if lv.name != "L1")


def test_noise_level_in_soft_tissue(case) -> None:
    # inside the aorta (homogeneous blood, ~40 HU): the noise sigma is 15-25 HU
    l1 = case.truth.level("L1")
    c = np.array(l1.centroid_lps) + np.array([19.0, -l1.depth_mm / 2.0 - 13.0, 0.0])
    ijk = np.rint(case.volume.lps_to_voxel(c)).astype(int)
    patch = case.volume.hu[ijk[2] - 5:ijk[2] + 5, ijk[1] - 4:ijk[1] + 5, ijk[0] - 4:ijk[0] + 5]
    assert 30 < patch.mean() < 50
    assert 15.0 < patch.std() < 25.0


# --- pedicles -------------------------------------------------------------------------------
def test_pedicle_truth_is_plausible_and_matches_the_masks(case) -> None:
    grid = case.volume.grid
    for lv in case.truth.levels:
        for side, p in lv.pedicles.items():
            axis = np.array(p.axis_dir_lps)
            assert np.linalg.norm(axis) == pytest.approx(1.0)
            assert axis @ lv.frame.posterior < -0.9  # anterior
            medial = -1.0 if side == "left" else 1.0
            assert axis[0] * medial > 0.0 or lv.name == "T12"
            assert 6.5 <= p.isthmus_width_mm <= 11.0 and 14.0 <= p.isthmus_height_mm <= 17.0
            assert 40.0 < p.length_to_anterior_cortex_mm < 60.0
            entry, isth = np.array(p.entry_lps), np.array(p.isthmus_centre_lps)
            assert (entry - isth) @ axis < -5.0  # entry lies behind the isthmus
            ped = case.truth.pedicle_mask(lv.name, side, grid)
            ijk = np.rint(grid.lps_to_voxel(isth)).astype(int)
            assert ped[ijk[2], ijk[1], ijk[0]]
            width = _width_across(ped, grid, isth, np.cross(axis, lv.frame.superior))
            assert width == pytest.approx(p.isthmus_width_mm, abs=0.8), (lv.name, side)
            vert = case.truth.vertebra_mask(lv.name, grid)
            inside = np.rint(grid.lps_to_voxel(entry + 1.5 * axis)).astype(int)
            outside = np.rint(grid.lps_to_voxel(entry - 1.5 * axis)).astype(int)
            assert vert[inside[2], inside[1], inside[0]]
            assert not vert[outside[2], outside[1], outside[0]]


def _width_across(mask: np.ndarray, grid: ImageGrid, centre: np.ndarray,
                  direction: np.ndarray) -> float:
    d = direction / np.linalg.norm(direction)
    t = np.arange(-15.0, 15.0, 0.05)
    ijk = np.rint(grid.lps_to_voxel(centre + t[:, None] * d)).astype(int)
    vals = mask[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
    return float(vals.sum() * 0.05)


def test_pedicle_isthmus_widths_grow_caudally(case) -> None:
    w = [case.truth.level(n).pedicles["left"].isthmus_width_mm for n in LEVELS]
    assert w == sorted(w) and w[0] < 8.0 and w[-1] > 10.0


# --- masks and level anatomy ----------------------------------------------------------------
def test_level_anatomy_is_consistent(case) -> None:
    la = case.truth.level_anatomy("L2", case.volume.grid)
    assert isinstance(la, LevelAnatomy)
    lv = case.truth.level("L2")
    assert la.body_volume_ml == pytest.approx(lv.body_volume_ml, rel=0.01)
    assert la.pedicle_left.sum() > 100 and la.pedicle_right.sum() > 100
    assert not (la.body & la.pedicle_left).any() and not (la.body & la.canal).any()
    assert not (la.vertebra & la.canal).any()
    canal_ml = la.canal.sum() * la.grid.voxel_volume_mm3 / 1000.0
    assert 4.0 < canal_ml < 12.0  # ~ pi/4 * 22.5 * 18 mm * ~27 mm
    # the crop sits in the CT grid where its offset says
    k, j, i = la.offset_kji
    np.testing.assert_allclose(la.grid.voxel_to_lps([0, 0, 0]),
                               case.volume.grid.voxel_to_lps([i, j, k]))
    # canal and vertebra voxels are CSF/fat and bone in the image
    sub = case.volume.hu[k:k + la.grid.shape_kji[0], j:j + la.grid.shape_kji[1],
                         i:i + la.grid.shape_kji[2]]
    assert -60 < sub[la.canal].mean() < 40
    assert sub[la.vertebra].mean() > 200


def test_masks_work_on_another_grid(case) -> None:
    # an oblique 1.2 mm grid: the analytic volume holds to a few percent at this resolution
    rot = np.array([[0.9848, 0.0, -0.1736], [0.0, 1.0, 0.0], [0.1736, 0.0, 0.9848]])
    aff = np.eye(4)
    aff[:3, :3] = rot * 1.2
    lv = case.truth.level("L3")
    aff[:3, 3] = np.array(lv.centroid_lps) - rot @ np.array([40.0, 40.0, 30.0]) * 1.2
    grid = ImageGrid((60, 70, 70), aff)
    lab = case.truth.body_label_map(grid)
    ml = np.count_nonzero(lab == 22) * grid.voxel_volume_mm3 / 1000.0
    assert ml == pytest.approx(lv.body_volume_ml, rel=0.03)


# --- variants and JSON ----------------------------------------------------------------------
def test_cortical_gap_variant_plants_a_hole_in_l1(case) -> None:
    gap_case = generate_demo(0, "cortical_gap")
    assert case.truth.cortical_gap is None
    centre, radius, wall = gap_case.truth.cortical_gap
    assert radius == pytest.approx(2.0) and "anterolateral" in wall
    l1 = gap_case.truth.level("L1")
    g = gap_case.volume.grid
    # the centre lies on the body's outer surface (within half a voxel of the mask edge)
    body = gap_case.truth.body_mask("L1", g)
    ijk = np.rint(g.lps_to_voxel(centre)).astype(int)
    near = body[ijk[2] - 1:ijk[2] + 2, ijk[1] - 1:ijk[1] + 2, ijk[0] - 1:ijk[0] + 2]
    assert near.any() and not near.all()
    # the shell is bright in the standard case, gone in the gap variant
    def shell_max(vol) -> float:
        d = np.array(centre) - np.array(l1.centroid_lps)
        d[2] = 0.0
        p = np.array(centre) - 0.5 * d / np.linalg.norm(d)
        ijk = np.rint(g.lps_to_voxel(p)).astype(int)
        return float(vol.hu[ijk[2] - 1:ijk[2] + 2, ijk[1] - 1:ijk[1] + 2,
                            ijk[0] - 1:ijk[0] + 2].max())

    assert shell_max(case.volume) > 450
    assert shell_max(gap_case.volume) < 300
    outside = np.abs(gap_case.volume.hu.astype(np.int32) - case.volume.hu) > 0
    assert outside.sum() < 2000  # nothing else changed


def test_json_round_trip(case) -> None:
    d = case.truth.to_json()
    text = json.dumps(d)
    back = json.loads(text)
    assert back["coordinate_system"] == "LPS" and back["variant"] == "standard"
    assert back["height_positions_frac"] == HEIGHT_POSITIONS_FRAC
    for orig, js in zip(case.truth.levels, back["levels"], strict=True):
        lv = LevelTruth.from_json(js)
        assert lv.name == orig.name and lv.genant_grade == orig.genant_grade
        assert lv.body_volume_ml == pytest.approx(orig.body_volume_ml, abs=1e-4)
        assert lv.heights_mm.anterior == pytest.approx(orig.heights_mm.anterior, abs=1e-3)
        np.testing.assert_allclose(lv.frame.superior, orig.frame.superior, atol=1e-8)
        for side in ("left", "right"):
            np.testing.assert_allclose(lv.pedicles[side].entry_lps,
                                       orig.pedicles[side].entry_lps, atol=1e-3)
        assert lv.to_json() == js
