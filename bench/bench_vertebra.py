"""Vertebra analysis timings (issue 4 targets: < 2 s per level on the demo, proposal < 10 s).

Run: ``python bench/bench_vertebra.py``. Prints per-level segmentation + measurement times on
the demo case, the automatic proposal, the whole pipeline, and the same on the real
TotalSegmentator example when ../shared/data is present. Figures, not a pass/fail test.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()


def _time(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def bench_volume(name: str, volume) -> None:  # type: ignore[no-untyped-def]
    from planner.vertebra import analyze_spine, measure_level, propose_levels, segment_level

    cands, t_prop = _time(propose_levels, volume)
    print(f"{name}: automatic proposal of {len(cands)} levels: {t_prop:.2f} s "
          f"({', '.join(c.level for c in cands)})")
    per = []
    from dataclasses import replace

    for c in cands:
        # from scratch: drop the detection's cached body fit
        anatomy, t_seg = _time(segment_level, volume, replace(c, fit_cache=None))
        m, t_meas = _time(measure_level, volume, anatomy)
        per.append(t_seg + t_meas)
        print(f"  {c.level}: segment {t_seg:.2f} s + measure {t_meas:.2f} s = "
              f"{t_seg + t_meas:.2f} s  (volume {m.body_volume_ml:.1f} mL)")
    print(f"  per level: mean {np.mean(per):.2f} s, max {np.max(per):.2f} s")
    _, t_all = _time(analyze_spine, volume)
    print(f"  whole pipeline (propose + all levels + grading): {t_all:.2f} s")


def main() -> None:
    from planner.demo import generate_demo

    case, t_demo = _time(generate_demo)
    v = case.volume
    print(f"demo: {v.shape_kji} voxels of {np.round(v.spacing_mm, 2).tolist()} mm "
          f"(generated in {t_demo:.1f} s)")
    bench_volume("demo", v)
    ts = DATA / "totalseg_example" / "example_ct.nii.gz"
    if ts.exists():
        from planner.io_nifti import load_nifti_ct

        vol, _ = load_nifti_ct(ts)
        print(f"totalseg_example: {vol.shape_kji} voxels of 3 mm")
        bench_volume("totalseg_example", vol)
    else:
        print(f"(real data not found at {DATA})")


if __name__ == "__main__":
    main()
