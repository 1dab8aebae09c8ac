"""Cost of one dragged morphometry point (issue 11 target: everything updated in <= 50 ms).

Run: ``python bench/bench_corrections.py``. For the demo and each real case under
../shared/data that the analysis can read, the analysis runs once; then 30 drag steps move the
anterior superior point of a level 0.2 mm per step. One update = the correction (one undo
step's edit) + the corrected analysis (heights, wedge angle, grades and the neighbours'
reference heights of every level) + the level's closed-form estimates (restoration, cement,
VP/BKP comparison). Reference in the same run: re-measuring the level from the CT
(``measure_level``), which an update must not need. Figures, not a pass/fail test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))


def bench_case(name: str, volume: Any, analysis: Any) -> None:
    from planner.plan.model import SeriesBinding
    from planner.session import Case, edit, level_closed_form
    from planner.session.corrections import automatic_points, point_correction
    from planner.vertebra import measure_level

    names = analysis.names()
    level = max(names, key=lambda n: analysis.level(n).morphometry.genant_grade)
    r = analysis.level(level)
    case = edit.add_level(Case(SeriesBinding("bench", "bench"), analysis=analysis), level)
    start = np.asarray(automatic_points(r.morphometry)["anterior_superior"])
    times = []
    for k in range(0, 31):  # step 0 (not counted) is the first update: lazy imports, caches
        t0 = time.perf_counter()
        p = start + 0.2 * k * r.anatomy.frame.superior
        new = edit.add_correction(case, point_correction(r.morphometry, "anterior_superior", p))
        for n in names:  # every level's corrected morphometry, as the table reads it
            new.level_data(n)
        cf = level_closed_form(new, level)
        times.append(1000.0 * (time.perf_counter() - t0))
    first, times = times[0], times[1:]
    m = new.level_data(level).morphometry  # type: ignore[union-attr]
    ref = []
    for _ in range(3):
        t0 = time.perf_counter()
        measure_level(volume, r.anatomy)
        ref.append(1000.0 * (time.perf_counter() - t0))
    gain = None if cf is None or cf.restoration is None else cf.restoration.immediate_mm
    gain_txt = "—" if gain is None else f"{gain['anterior'].median:.1f} mm"
    print(f"{name}: {len(names)} levels ({', '.join(names)}); dragged {level} anterior superior "
          f"+6 mm: grade {r.morphometry.genant_grade} -> {m.genant_grade}, wedge "
          f"{r.morphometry.wedge_angle_deg:.1f} -> {m.wedge_angle_deg:.1f} deg, restoration "
          f"anterior {gain_txt}")
    print(f"  update per drag step: median {np.median(times):.2f} ms, max {np.max(times):.2f} ms"
          f" (target <= 50 ms); reference re-measure of {level} from the CT: "
          f"median {np.median(ref):.0f} ms; first update {first:.0f} ms")


def main() -> None:
    from planner.demo import generate_demo
    from planner.vertebra import analyze_spine, measure_from_mask

    demo = generate_demo()
    bench_case("demo", demo.volume, analyze_spine(demo.volume))
    ts = DATA / "totalseg_example" / "example_ct.nii.gz"
    if ts.exists():
        from planner.io_nifti import load_nifti_ct

        vol, _ = load_nifti_ct(ts)
        bench_case("totalseg_example", vol, analyze_spine(vol))
    verse = DATA / "verse004_labels" / "sub-verse004_seg-vert_msk.nii.gz"
    if verse.exists():
        from planner.io_nifti import load_nifti_labels
        from planner.vertebra.labels import volume_from_mask

        lm = load_nifti_labels(verse)
        bench_case("verse004_labels (mask)", volume_from_mask(lm), measure_from_mask(lm))
    if not ts.exists():
        print(f"(real data not found at {DATA})")


if __name__ == "__main__":
    main()
