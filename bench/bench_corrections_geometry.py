"""Cost of one update of the plane, outline and pedicle-axis corrections (target <= 50 ms).

Run: ``PYTHONPATH=. python bench/bench_corrections_geometry.py``. For the demo and each real
case under ../shared/data that the analysis can read, on the most fractured level:

- *plane*: 20 drag updates turning the mid-sagittal plane 0.5° each; one update = the
  heights measured in the turned plane from the CT (``plane_correction``) + the edit + the
  corrected analysis (every level regraded) + the level's closed-form estimates;
- *brush*: 20 steps of one eraser stroke (radius 3 mm, 1 mm apart) on the body's mid axial
  slice; one update = the brush + the run-length delta with SHA-1 + the edit + the corrected
  analysis + the closed-form estimates (cement follows the volume);
- *pedicle axis*: setting the left axis by two clicks; one update = the edit + the corrected
  analysis + the level's trajectory context with the new axis (its distance fields reused)
  + the checks of a needle.

The trajectory context of a corrected *outline* must be rebuilt (its distance fields change);
its time is printed beside (the workstation builds it in the background). Figures, not a test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))


def _times(steps: int, one: Callable[[int], Any]) -> tuple[list[float], Any]:
    out, last = [], None
    for k in range(steps + 1):  # step 0 (not counted): lazy imports, first caches
        t0 = time.perf_counter()
        last = one(k)
        out.append(1000.0 * (time.perf_counter() - t0))
    return out[1:], last


def _fmt(name: str, times: list[float]) -> str:
    return (f"  {name}: median {np.median(times):.1f} ms, max {np.max(times):.1f} ms "
            "(target <= 50 ms)")


def bench_case(name: str, volume: Any, analysis: Any) -> None:
    from planner.plan.model import SeriesBinding
    from planner.session import Case, edit, level_check, level_closed_form, level_context
    from planner.session.corrections import add_checked_correction
    from planner.session.corrections_geometry import (
        pedicle_correction,
        plane_correction,
        plane_of,
    )
    from planner.session.corrections_outline import brush, outline_correction

    names = analysis.names()
    level = max(names, key=lambda n: analysis.level(n).morphometry.genant_grade)
    r = analysis.level(level)
    fr = r.anatomy.frame
    case = edit.add_level(Case(SeriesBinding("bench", "bench"), analysis=analysis), level)

    def plane(k: int) -> Any:
        c = plane_correction(volume, r.anatomy, r.morphometry, *plane_of(fr, 0.0, 0.5 * k))
        new = add_checked_correction(case, c)
        for n in names:
            new.level_data(n)
        level_closed_form(new, level)
        return new

    t_plane, turned = _times(20, plane)
    m0, m1 = r.morphometry, turned.level_data(level).morphometry
    mask = r.anatomy.body
    start = fr.origin_lps - 0.25 * m0.depth_mm * fr.posterior - 10.0 * fr.left

    def stroke(k: int) -> Any:
        nonlocal mask
        mask = brush(r.anatomy, mask, [start + k * fr.left], 3.0, fr.superior, add=False)
        new = add_checked_correction(case, outline_correction(r.anatomy, mask))
        for n in names:
            new.level_data(n)
        level_closed_form(new, level)
        return new

    t_brush, erased = _times(20, stroke)
    v0, v1 = m0.body_volume_ml, erased.level_data(level).morphometry.body_volume_ml
    t0 = time.perf_counter()
    level_context(volume, erased.level_data(level))
    rebuild = 1000.0 * (time.perf_counter() - t0)
    base_ctx = level_context(volume, r)
    iso, d = base_ctx.pedicle_axis_lps("left")
    needle = None
    try:
        from planner.trajectory.suggest import suggest

        needle = suggest(base_ctx, "left").transpedicular
    except Exception as exc:  # a case without a transpedicular corridor: checks skipped
        print(f"  (no suggested needle on {level}: {exc})")
    planned = case if needle is None else edit.place_needle(case, level, needle)

    def axis(k: int) -> Any:
        c = pedicle_correction(level, "left", iso - 15.0 * d, iso + (10.0 + 0.1 * k) * d, (iso, d))
        new = add_checked_correction(planned, c)
        level_context(volume, new.level_data(level))
        if needle is not None:
            level_check(volume, new, level)
        return new

    t_axis, _ = _times(10, axis)
    print(f"{name}: {len(names)} levels; {level} (Genant {m0.genant_grade})")
    print(_fmt("plane turned 0.5°/update", t_plane)
          + f"; at 10°: heights A/M/P {m0.heights_mm.anterior:.1f}/{m0.heights_mm.middle:.1f}/"
          f"{m0.heights_mm.posterior:.1f} -> {m1.heights_mm.anterior:.1f}/"
          f"{m1.heights_mm.middle:.1f}/{m1.heights_mm.posterior:.1f} mm, grade "
          f"{m0.genant_grade} -> {m1.genant_grade}")
    print(_fmt("eraser step", t_brush) + f"; body {v0:.2f} -> {v1:.2f} mL; context rebuild "
          f"after the outline {rebuild:.0f} ms (background)")
    print(_fmt("pedicle axis (context + checks)", t_axis))


def main() -> None:
    from planner.demo import generate_demo
    from planner.vertebra import analyze_spine

    demo = generate_demo()
    bench_case("demo", demo.volume, analyze_spine(demo.volume))
    ts = DATA / "totalseg_example" / "example_ct.nii.gz"
    if ts.exists():
        from planner.io_nifti import load_nifti_ct

        vol, _ = load_nifti_ct(ts)
        bench_case("totalseg_example", vol, analyze_spine(vol))
    tp = DATA / "tptbox_l3"
    if tp.exists():
        from planner.io_nifti import load_nifti_ct, load_nifti_labels

        vol, _ = load_nifti_ct(tp / "sub-ct_label-22_ct.nii.gz")
        labels = load_nifti_labels(tp / "sub-ct_seg-vert_label-22_msk.nii.gz")
        bench_case("tptbox_l3 (label map)", vol, analyze_spine(vol, labels=labels))
    verse = DATA / "verse004_labels" / "sub-verse004_seg-vert_msk.nii.gz"
    if verse.exists():
        from planner.io_nifti import load_nifti_labels
        from planner.vertebra import measure_from_mask
        from planner.vertebra.labels import volume_from_mask

        lm = load_nifti_labels(verse)
        bench_case("verse004_labels (mask)", volume_from_mask(lm), measure_from_mask(lm))
    if not ts.exists():
        print(f"(real data not found at {DATA})")


if __name__ == "__main__":
    main()
