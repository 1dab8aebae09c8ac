"""Trajectory planning speed: context build, live metric update, auto-suggest, DRR.

Run: ``python bench/bench_trajectory.py`` (demo case; add the tptbox L3 CT when
../shared/data is present). Targets (issue 5): metric update < 10 ms, auto-suggest < 1 s,
each DRR < 0.5 s for a 512 x 512 image.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from planner.drr import DRRRenderer
from planner.plan.model import Trajectory
from planner.trajectory import TrajectoryContext, evaluate, suggest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tptbox_l3"


def _timed(f, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, milliseconds) of one call."""
    t = time.perf_counter()
    out = f(*args, **kwargs)
    return out, (time.perf_counter() - t) * 1000


def bench_side(ctx: TrajectoryContext, side: str) -> None:
    s, t_s = _timed(suggest, ctx, side, "11G")
    _, t_u = _timed(suggest, ctx, side, "11G", unipedicular=True)
    m = s.result.metrics
    dangers = [f.code for f in s.result.findings if f.severity == "danger"]
    print(
        f"  {side:5s} suggest {t_s:6.1f} ms (unipedicular {t_u:6.1f} ms): "
        f"{s.trajectory.approach}, clearance {m.min_cortical_clearance_mm:.2f} mm, "
        f"breach grade {m.breach_grade}, medial {m.medial_angle_deg:.1f} deg, "
        f"cc {m.craniocaudal_angle_deg:.1f} deg, tip depth {m.tip_depth_frac:.2f}, "
        f"foreign bone {m.foreign_bone_mm:.1f} mm, in pedicle {m.pedicle_path_mm:.1f} mm, "
        f"dangers {dangers}"
    )
    rng = np.random.default_rng(0)
    tr = s.trajectory
    times = []
    for _ in range(200):  # a drag: the tip wanders around the suggestion
        tip = tuple(np.add(tr.target_lps, rng.normal(0, 1.5, 3)))
        moved = Trajectory(tr.side, tr.approach, tr.skin_entry_lps, tr.bone_entry_lps, tip)
        times.append(_timed(evaluate, ctx, moved)[1])
    ms = np.array(times)
    print(
        f"  {side:5s} evaluate (drag, 200 updates): median {np.median(ms):.2f} ms, "
        f"p95 {np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms"
    )
    extra = [_timed(_bone_and_depth_checks, ctx, tr)[1] for _ in range(200)]
    print(f"  {side:5s}   of which bone-crossing / pedicle / depth checks: median "
          f"{np.median(extra):.2f} ms (same run)")


def _bone_and_depth_checks(ctx: TrajectoryContext, tr: Trajectory) -> None:
    """The checks added for issue 11, alone (their share of one update)."""
    from planner.trajectory.crossing import bone_crossings
    from planner.trajectory.metrics import _sample_path, _tip_to_cortex

    skin, tip = np.asarray(tr.skin_entry_lps), np.asarray(tr.target_lps)
    pts, _ = _sample_path(skin, tip)
    d = (tip - skin) / np.linalg.norm(tip - skin)
    inside = ctx.in_pedicle(tr.side, pts)
    bone_crossings(ctx, tr.side, tr.approach == "transpedicular", pts, inside, 0.5)
    tip_b = ctx.frame.to_body(tip)
    ctx.ap_extent(float(tip_b[0]), float(tip_b[2]))
    _tip_to_cortex(ctx, tip, d)


def bench_level(name: str, volume, anatomy) -> None:  # type: ignore[no-untyped-def]
    ctx, build = _timed(TrajectoryContext.build, volume, anatomy)
    print(f"{name}: context build {build:7.1f} ms (crop {anatomy.grid.shape_kji})")
    for side in ("left", "right"):
        bench_side(ctx, side)
    tr = suggest(ctx, "left", "11G").trajectory
    r, t_r = _timed(DRRRenderer, volume, ctx.frame.origin_lps)
    print(f"  DRR renderer (attenuation crop, once per level) {t_r:6.1f} ms")
    pts = [tr.skin_entry_lps, tr.bone_entry_lps, tr.target_lps]
    d = np.subtract(tr.target_lps, tr.skin_entry_lps)
    for view in ("ap", "lateral", "bullseye"):
        runs = [_timed(r.render, view, 512, direction_lps=d, needle_lps=pts) for _ in range(3)]
        img = runs[0][0]
        ms = np.median([t for _, t in runs])
        print(f"  DRR {view:8s} 512x512: median {ms:6.1f} ms  ({img.angles.label})")


def main() -> None:
    from planner.demo import generate_demo

    t = time.perf_counter()
    case = generate_demo()
    print(f"demo generated in {time.perf_counter() - t:.1f} s, volume {case.volume.shape_kji}")
    for name in ("T12", "L1", "L3"):
        bench_level(f"demo {name}", case.volume, case.truth.level_anatomy(name, case.volume.grid))
    if DATA.is_dir():
        from planner.io_nifti import load_nifti_ct, load_nifti_labels
        from planner.vertebra import analyze_spine

        vol, _ = load_nifti_ct(DATA / "sub-ct_label-22_ct.nii.gz")
        labels = load_nifti_labels(DATA / "sub-ct_seg-vert_label-22_msk.nii.gz")
        try:
            anatomy = analyze_spine(vol, labels=labels).level("L3").anatomy
        except Exception as exc:  # the vertebra analysis is developed alongside; say so, go on
            print(f"tptbox L3: vertebra analysis failed: {type(exc).__name__}: {exc}")
            return
        bench_level("tptbox L3", vol, anatomy)
    totalseg = DATA.parent / "totalseg_example" / "example_ct.nii.gz"
    if totalseg.is_file():
        from planner.io_nifti import load_nifti_ct
        from planner.vertebra import analyze_spine

        ct, _ = load_nifti_ct(totalseg)
        for r in analyze_spine(ct).levels:
            ctx, build = _timed(TrajectoryContext.build, ct, r.anatomy, r.morphometry)
            print(f"totalseg {r.level}: context build {build:7.1f} ms")
            for side in ("left", "right"):
                bench_side(ctx, side)


if __name__ == "__main__":
    main()
