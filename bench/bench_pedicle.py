"""Pedicles from the CT (issue 11 item 4): accuracy per case and the time per level.

Run: ``PYTHONPATH=. python bench/bench_pedicle.py``. Cases absent on this machine are skipped.
Prints, per pedicle, what :func:`planner.vertebra.pedicle.segment_posterior` finds and what the
trajectory context uses, against each case's own reference:

- demo (analytic truth): isthmus width / height / inner channel against the generator's,
  distance of the true isthmus centre from the found axis and the angle between the axes.
- tptbox_l3 (1.5 mm, expert vertebra label): width and height against the label's chords
  through the same centre, perpendicular to the found axis.
- totalseg_example (3 mm, vertebra labels, automatic analysis): share of an 11G needle's surface
  along the context's pedicle axis (isthmus ± 6 mm) inside the vertebra label.
- speed: segment_posterior and TrajectoryContext.build on the totalseg CT resampled to
  512x512x300 (median of 3).

Figures, not a pass/fail test (tests/planner/test_pedicle_ct.py asserts on them).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))


def demo() -> None:
    from planner.demo import generate_demo
    from planner.demo.params import CORTEX_POSTERIOR_MM
    from planner.vertebra.pedicle import segment_posterior
    from tests.planner.test_pedicle_ct import _axis_error

    case = generate_demo()
    vol = case.volume
    print("demo (0.7 x 0.7 x 1 mm, truth anatomy): found - true (mm), axis offset mm / angle deg")
    print("  level side   width  height  inner w  inner h   offset  angle")
    for lv in case.truth.levels:
        an = case.truth.level_anatomy(lv.name, vol.grid)
        seg = segment_posterior(vol, an)
        for side, pt in lv.pedicles.items():
            f = seg.pedicles[side]
            if f is None:
                print(f"  {lv.name:5s} {side:5s}  not found")
                continue
            off, ang = _axis_error(f.isthmus_point, f.axis_dir,
                                   an.frame.to_body(np.asarray(pt.isthmus_centre_lps)),
                                   an.frame.rotation.T @ np.asarray(pt.axis_dir_lps))
            c2 = 2 * CORTEX_POSTERIOR_MM
            print(f"  {lv.name:5s} {side:5s}  {f.isthmus_width_mm - pt.isthmus_width_mm:+5.2f}  "
                  f"{f.isthmus_height_mm - pt.isthmus_height_mm:+5.2f}   "
                  f"{f.inner_width_mm - (pt.isthmus_width_mm - c2):+5.2f}    "
                  f"{f.inner_height_mm - (pt.isthmus_height_mm - c2):+5.2f}    "
                  f"{off:5.2f}  {ang:5.1f}")


def tptbox() -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine
    from planner.vertebra.pedicle import segment_posterior
    from tests.planner.test_pedicle_ct import _label_chord, _surface_inside

    d = DATA / "tptbox_l3"
    vol, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    labels = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz")
    an = analyze_spine(vol, labels=labels).level("L3").anatomy
    lab = (np.asarray(labels.labels) == 22).astype(np.float32)
    seg = segment_posterior(vol, an)
    print("tptbox_l3 (1.5 mm, porotic, label map): CT vs expert label chords (mm)")
    for side in ("left", "right"):
        f = seg.pedicles[side]
        if f is None:
            print(f"  {side}: not found")
            continue
        a = f.axis_dir
        left = np.array([1.0, 0.0, 0.0]) - a[0] * a
        left /= np.linalg.norm(left)
        up = np.cross(a, left)
        w = _label_chord(vol, lab, an.frame, f.isthmus_point, left)
        h = _label_chord(vol, lab, an.frame, f.isthmus_point, up)
        inside = _surface_inside(vol, lab, an.frame, f.isthmus_point, a, 5.0)
        print(f"  {side:5s} width {f.isthmus_width_mm:5.1f} (label {w:5.1f})  height "
              f"{f.isthmus_height_mm:5.1f} (label {h:5.1f})  11G surface inside label over "
              f"isthmus +-5 mm: {inside:.0%}")
    _outline_robustness(vol, an)


def _outline_robustness(vol: Any, an: Any) -> None:
    """Width / height of each pedicle with the body mask eroded and dilated by one voxel."""
    from dataclasses import replace

    from scipy import ndimage as ndi

    from planner.vertebra.pedicle import segment_posterior

    row = []
    for name, body in (("eroded", ndi.binary_erosion(an.body)), ("as is", an.body),
                       ("dilated", ndi.binary_dilation(an.body))):
        peds = segment_posterior(vol, replace(an, body=body)).pedicles
        row.append(name + " " + " ".join(
            "-" if f is None else f"{f.isthmus_width_mm:.1f}/{f.isthmus_height_mm:.1f}"
            for f in (peds["left"], peds["right"])))
    print("  body outline one voxel off, left / right width/height (mm): " + ";  ".join(row))


def totalseg() -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.trajectory import TrajectoryContext
    from planner.vertebra import analyze_spine
    from tests.planner.test_pedicle_ct import _surface_inside

    d = DATA / "totalseg_example"
    vol, _ = load_nifti_ct(d / "example_ct.nii.gz")
    labels = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    an = analyze_spine(vol)
    print("totalseg_example (3 mm, automatic): 11G surface along the context's pedicle axis "
          "inside the vertebra label (isthmus +-6 mm); isthmus width / height (mm)")
    for r in an.levels:
        key = next(k for k, n in labels.names.items() if n == f"vertebrae_{r.level}")
        lab = (np.asarray(labels.labels) == key).astype(np.float32)
        ctx = TrajectoryContext.build(vol, r.anatomy, r.morphometry)
        row = []
        for side in ("left", "right"):
            i = ctx.pedicles[side]
            share = _surface_inside(vol, lab, ctx.frame, i.axis_point, i.axis_dir, 6.0)
            w, h = 2 * i.half_width_mm, 2 * i.half_height_mm
            row.append(f"{side} {share:4.0%} {w:4.1f}/{h:4.1f}")
        print(f"  {r.level}: " + "   ".join(row))


def speed(runs: int = 3) -> None:
    from scipy import ndimage as ndi

    from planner.io_nifti import load_nifti_ct
    from planner.trajectory import TrajectoryContext
    from planner.vertebra import analyze_spine
    from planner.vertebra.pedicle import segment_posterior
    from planner.volume import CTVolume

    ct, _ = load_nifti_ct(DATA / "totalseg_example" / "example_ct.nii.gz")
    zoom = np.array((300, 512, 512)) / np.array(ct.shape_kji)
    aff: Any = ct.grid.ijk_to_lps.copy()
    aff[:3, :3] = aff[:3, :3] / zoom[::-1][None, :]
    big = CTVolume.from_array(ndi.zoom(ct.hu, zoom, order=1).astype(np.int16), aff,
                              "bench:totalseg-512", modality="CT")
    an = analyze_spine(big)
    r = an.levels[len(an.levels) // 2]
    ts, tc = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        segment_posterior(big, r.anatomy)
        ts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        TrajectoryContext.build(big, r.anatomy, r.morphometry)
        tc.append(time.perf_counter() - t0)
    print(f"speed (totalseg at 512x512x300, {r.level}; load average "
          f"{os.getloadavg()[0]:.1f}): segment_posterior {np.median(ts):.2f} s, "
          f"TrajectoryContext.build {np.median(tc):.2f} s (median of {runs})")


def main() -> None:
    demo()
    for folder, fn in (("tptbox_l3", tptbox), ("totalseg_example", totalseg),
                       ("totalseg_example", speed)):
        if not (DATA / folder).is_dir():
            print(f"{folder}: absent at {DATA}, skipped")
            continue
        fn()


if __name__ == "__main__":
    main()
