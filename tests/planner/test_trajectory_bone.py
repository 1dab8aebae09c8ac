"""Bone a path crosses besides its target, and transpedicular needles that miss their pedicle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, suggest
from planner.trajectory.geometry import direction_from_angles
from planner.vertebra.pedicle import TRANSVERSE
from planner.volume import CTVolume
from tests.planner.trajectory_phantom import Phantom

SMALL = dict(box_lo=(-50.3, -25.17, -20.41), box_mm=(110.0, 105.0, 40.0))
#: a transverse process: a bone bar lateral to the left pedicle's posterior end (body coords)
TP = ((19.0, 42.0), (27.0, 33.0), (-4.0, 4.0))


def _with_transverse_process(ph: Phantom) -> tuple[CTVolume, TrajectoryContext]:
    vol, an = ph.build()
    hu = np.array(vol.hu)
    k, j, i = np.meshgrid(*(np.arange(n) for n in hu.shape), indexing="ij")
    b = ph.frame().to_body(vol.grid.voxel_to_lps(np.stack([i, j, k], -1).astype(float)))
    inside = np.ones(hu.shape, dtype=bool)
    for axis, (lo, hi) in enumerate(TP):
        inside &= (b[..., axis] >= lo) & (b[..., axis] <= hi)
    hu[inside] = 400
    vol2 = CTVolume.from_array(hu, vol.grid.ijk_to_lps, "1.2.3.tp")
    return vol2, TrajectoryContext.build(vol2, an)


@pytest.fixture(scope="module")
def tp_case() -> tuple[Phantom, CTVolume, TrajectoryContext]:
    ph = Phantom(spacing=0.7, yaw_deg=-8.0, **SMALL)  # type: ignore[arg-type]
    vol, ctx = _with_transverse_process(ph)
    return ph, vol, ctx


def test_the_transverse_process_is_segmented_and_named(tp_case) -> None:  # type: ignore[no-untyped-def]
    ph, _, ctx = tp_case
    centre = ph.lps(np.array([30.0, 30.0, 0.0]))
    assert int(ctx.structure(centre[None])[0]) == TRANSVERSE


def test_parapedicular_path_through_the_transverse_process_is_a_danger(tp_case) -> None:  # type: ignore[no-untyped-def]
    ph, _, ctx = tp_case
    tip_b = np.array([8.0, -8.0, 0.0])
    through_b = np.array([27.0, 30.0, 0.0])  # inside the TP bar
    d = (tip_b - through_b) / np.linalg.norm(tip_b - through_b)
    skin_b = through_b - 40.0 * d
    # analytic length of the line inside the bar (l from 19 to 42 or p from 27 to 33)
    ts = []
    for axis, (lo, hi) in enumerate(TP[:2]):
        ts.append(sorted(((lo - through_b[axis]) / d[axis], (hi - through_b[axis]) / d[axis])))
    length = min(ts[0][1], ts[1][1]) - max(ts[0][0], ts[1][0])
    entry_b = tip_b - d * 24.0
    traj = Trajectory("left", "parapedicular", ph.lps(skin_b), ph.lps(entry_b), ph.lps(tip_b))
    res = evaluate(ctx, traj, "11G")
    cross = [f for f in res.findings if f.code == "crosses_other_bone"]
    assert cross, [f.code for f in res.findings]
    assert cross[0].severity == "danger"
    assert "transverse process" in cross[0].message
    assert res.metrics.foreign_bone_mm == pytest.approx(length, abs=1.5)


def test_transpedicular_axis_path_crosses_no_foreign_bone(tp_case) -> None:  # type: ignore[no-untyped-def]
    ph, _, ctx = tp_case
    for side in ("left", "right"):
        skin, entry, tip = ph.axis_trajectory_points(side)
        traj = Trajectory(side, "transpedicular", ph.lps(skin), ph.lps(entry), ph.lps(tip))
        res = evaluate(ctx, traj, "11G")
        codes = {f.code for f in res.findings}
        assert "crosses_other_bone" not in codes and "transpedicular_misses_pedicle" not in codes
        assert res.metrics.pedicle_path_mm >= 15.0


@pytest.fixture(scope="module")
def plain() -> tuple[Phantom, TrajectoryContext]:
    ph = Phantom(spacing=0.7, with_vertebra=True, **SMALL)  # type: ignore[arg-type]
    vol, an = ph.build()
    return ph, TrajectoryContext.build(vol, an)


def test_a_32_degree_medial_miss_is_a_danger_that_says_so(plain) -> None:  # type: ignore[no-untyped-def]
    ph, ctx = plain
    tip_b = np.array([-18.0, -8.0, 0.0])
    d_b = ph.frame().rotation.T @ direction_from_angles(32.0, 0.0, ph.frame().rotation, 1.0)
    traj = Trajectory(
        "left", "transpedicular", ph.lps(tip_b - 75 * d_b), ph.lps(tip_b - 50 * d_b),
        ph.lps(tip_b),
    )
    res = evaluate(ctx, traj, "11G")
    assert res.metrics.medial_angle_deg == pytest.approx(32.0, abs=0.1)
    miss = [f for f in res.findings if f.code == "transpedicular_misses_pedicle"]
    assert miss and miss[0].severity == "danger"
    assert "does not pass through the left pedicle" in miss[0].message
    assert "medial" in miss[0].message
    assert res.worst_severity == "danger"


def test_a_lateral_miss_is_named_lateral(plain) -> None:  # type: ignore[no-untyped-def]
    ph, ctx = plain
    skin, entry, tip = ph.axis_trajectory_points("right")
    shift = np.array([-9.0, 0.0, 0.0])  # right pedicle: lateral is −left
    traj = Trajectory("right", "transpedicular", ph.lps(skin + shift), ph.lps(entry + shift),
                      ph.lps(tip + shift))
    res = evaluate(ctx, traj, "11G")
    miss = [f for f in res.findings if f.code == "transpedicular_misses_pedicle"]
    assert miss and "lateral" in miss[0].message


# --- real CT and the demo: suggested paths raise no false bone findings -----------------------

BONE_CODES = {"crosses_other_bone", "transpedicular_misses_pedicle"}


def _load(shared_data: Path, case: str):  # type: ignore[no-untyped-def]
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine

    if case == "tptbox":
        d = shared_data / "tptbox_l3"
        vol, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
        labels = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz")
        return vol, labels, [analyze_spine(vol, labels=labels).level("L3")]
    d = shared_data / "totalseg_example"
    vol, _ = load_nifti_ct(d / "example_ct.nii.gz")
    labels = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    return vol, labels, list(analyze_spine(vol).levels)


@pytest.mark.parametrize("case", ["tptbox", "totalseg"])
def test_real_transpedicular_suggestions_cross_no_other_bone(shared_data: Path, case: str) -> None:
    vol, _, levels = _load(shared_data, case)
    checked = 0
    for r in levels:
        ctx = TrajectoryContext.build(vol, r.anatomy, r.morphometry)
        for side in ("left", "right"):
            s = suggest(ctx, side, "11G")
            if not s.transpedicular_feasible:
                continue
            checked += 1
            codes = {f.code for f in s.result.findings}
            assert not codes & BONE_CODES, (r.level, side, s.result.findings)
            assert s.result.metrics.pedicle_path_mm >= 5.0
    assert checked >= 2


#: The needle crosses the bone surface obliquely at its entry: at 3 mm voxels its whole
#: cross-section is inside the label within this distance of the bone entry.
ENTRY_MM = 8.0


def test_totalseg_l1_l4_suggestions_are_transpedicular_inside_the_label(shared_data: Path) -> None:
    """Issue 11: L1-L4 bipedicular suggestions transpedicular; the 11G surface, once it has
    entered, stays inside the vertebra label to the tip; tips in the anterior third measured on
    the label of the body (vertebral_bodies_and_discs == 1)."""
    from planner.io_nifti import load_nifti_labels
    from planner.plan.catalog import get_needle

    vol, labels, levels = _load(shared_data, "totalseg")
    bodies = load_nifti_labels(shared_data / "totalseg_example" /
                               "vertebral_bodies_and_discs.nii.gz").labels
    r11 = get_needle("11G").radius_mm
    lab = np.asarray(labels.labels)
    assert [r.level for r in levels[:4]] == ["L1", "L2", "L3", "L4"]
    from tests.planner.needle_in_label import surface_inside_label

    for r in levels[:4]:
        key = next(k for k, n in labels.names.items() if n == f"vertebrae_{r.level}")
        vert = (lab == key).astype(np.float32)
        ctx = TrajectoryContext.build(vol, r.anatomy, r.morphometry)
        for side in ("left", "right"):
            s = suggest(ctx, side, "11G")
            assert s.trajectory.approach == "transpedicular", (r.level, side, s.reason)
            assert s.result.worst_severity != "danger", s.result.findings
            be, tip = np.array(s.trajectory.bone_entry_lps), np.array(s.trajectory.target_lps)
            ok = surface_inside_label(vol.grid, vert, be, tip, ctx.frame.superior, r11)
            first = ok.index(True)
            assert first * 0.5 <= ENTRY_MM and all(ok[first:]), (r.level, side, ok)
            body = (lab == key) & (bodies == 1)
            p = np.arange(-60.0, 60.0, 0.25)
            ijk = np.rint(vol.grid.lps_to_voxel(tip[None] + p[:, None] * ctx.frame.posterior))
            ijk = ijk.astype(int)
            inside = np.flatnonzero(body[ijk[:, 2], ijk[:, 1], ijk[:, 0]])
            frac = p[inside[-1]] / (p[inside[-1]] - p[inside[0]])
            assert frac >= 2.0 / 3.0, (r.level, side, frac)
            assert s.result.metrics.tip_depth_frac == pytest.approx(frac, abs=0.1)
