"""Benchmark: demo case generation (target < 2 s) and its DICOM export.

Run: ``python bench/bench_demo.py [--repeat N]``. Prints wall times (best and median of N),
the volume size, and the export time and size. Not a test; figures only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from planner.demo import generate_demo
    from planner.dicom_export import write_dicom_series

    print(f"import planner.demo: {time.perf_counter() - t0:.2f} s")
    times, cpu = [], []
    for i in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        case = generate_demo(seed=i)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    v = case.volume
    print(f"volume {v.shape_kji} (k, j, i), spacing {list(v.spacing_mm)} mm, "
          f"{v.hu.nbytes / 1e6:.1f} MB int16")
    print(f"generate_demo: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {args.repeat} runs (target < 2 s); CPU time median "
          f"{statistics.median(cpu):.3f} s (wall exceeds it only when other work shares the CPU)")
    t = time.perf_counter()
    generate_demo(seed=0, variant="cortical_gap")
    print(f"generate_demo(variant='cortical_gap'): {time.perf_counter() - t:.3f} s")
    t = time.perf_counter()
    case.truth.body_label_map(v.grid)
    print(f"truth.body_label_map on the CT grid: {time.perf_counter() - t:.3f} s")
    t = time.perf_counter()
    case.truth.level_anatomy("L1", v.grid)
    print(f"truth.level_anatomy('L1'): {time.perf_counter() - t:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = write_dicom_series(v, Path(tmp) / "dicom")
        dt = time.perf_counter() - t
        size = sum(f.stat().st_size for f in res.files)
        print(f"DICOM export: {len(res.files)} files, {size / 1e6:.1f} MB in {dt:.3f} s")


if __name__ == "__main__":
    main()
