"""MRI step timings and accuracy on the synthetic demo MRI (issue 16: <= 5 s on 2 cores,
registration error <= 1 mm and 1 deg vs the known offset).

Run: ``python bench/bench_mri.py``. Prints, for the T1 and for the STIR as the moving image:
registration time, rotation error and largest error at the body centres, per-level oedema
classification time and results; the reference in the same run is the MRI generation time and
one CT analysis of the same case. Figures, not a pass/fail test.
"""

from __future__ import annotations

import os
import time

import numpy as np


def _time(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    from planner.demo import generate_demo
    from planner.demo.mri import generate_demo_mri
    from planner.mri.oedema import classify_levels
    from planner.mri.pipeline import bodies_from_analysis
    from planner.mri.register import register_spine
    from planner.mri.rigid import transform_error
    from planner.vertebra import analyze_spine

    print(f"cores visible: {os.cpu_count()}; SimpleITK threads: 2")
    case = generate_demo(0)
    mri, t_gen = _time(generate_demo_mri, case)
    analysis, t_an = _time(analyze_spine, case.volume)
    print(f"reference: demo MRI generation {t_gen:.2f} s; CT analysis {t_an:.2f} s "
          f"({', '.join(analysis.names())})")
    levels = {r.level: tuple(float(v) for v in r.morphometry.centroid_lps)
              for r in analysis.levels}
    truth_pts = np.array([lv.centroid_lps for lv in case.truth.levels])
    bodies = bodies_from_analysis(analysis)
    for name, moving in (("T1", mri.t1), ("STIR", mri.stir)):
        reg, t_reg = _time(register_spine, case.volume, moving, levels)
        ang, disp = transform_error(reg.global_transform, mri.transform, truth_pts)
        worst = max(transform_error(reg.for_level(n), mri.transform,
                                    [case.truth.level(n).centroid_lps])[1] for n in levels)
        found, t_cls = _time(classify_levels, bodies, reg, mri.stir, mri.t1)
        print(f"moving {name}: registration {t_reg:.2f} s + oedema {t_cls:.2f} s = "
              f"{t_reg + t_cls:.2f} s; global error {ang:.2f} deg, {disp:.2f} mm at the "
              f"centres; per-segment worst {worst:.2f} mm")
        print("   " + "; ".join(f"{f.level} {f.classification} (STIR {f.stir_ratio:.2f}x, "
                                f"T1 {f.t1_ratio:.2f}x)" for f in found))


if __name__ == "__main__":
    main()
