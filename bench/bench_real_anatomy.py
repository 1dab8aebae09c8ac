"""Vertebral column analysis on every real case under ../shared/data (issue 11 figures).

Run: ``python bench/bench_real_anatomy.py``. Cases absent on this machine are skipped. Prints,
per case, what the automatic analysis finds against the case's own ground truth:

- totalseg_example: level names; body Dice per level against (vertebra label ∩ body label);
  heights minus the CT's own endplate edges measured perpendicular to the endplates at
  10/50/90 % depth in the label's mid-sagittal plane (tests/planner/vertebra_reference.py);
  angle between the tool's and the reference's cranial axis; Genant grade; wedge angle.
- tptbox_l3: share of clicks (random voxels inside the L3 body label) accepted; L3 Dice.
- cptac_chest_ct: levels found and named automatically against levels_truth.json (centre
  error, heights).
- verse004_labels, biceps_healthy_reference: grades from the label maps; per-level warnings.
- speed: whole-spine analysis of the totalseg CT resampled to 512x512x300 (a real spine on a
  full-size grid) and one level, compared in the same run with the 3 mm original.

Figures, not a pass/fail test; the README's accuracy section quotes them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))

from planner.vertebra.grading import grade_text  # noqa: E402


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2.0 * (a & b).sum() / max(1, a.sum() + b.sum()))


def _full(shape: tuple[int, int, int], anatomy: Any) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    o, s = anatomy.offset_kji, anatomy.grid.shape_kji
    out[o[0]:o[0] + s[0], o[1]:o[1] + s[1], o[2]:o[2] + s[2]] = anatomy.body
    return out


def _timed(fn: Any, *a: Any, **k: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t0


def totalseg() -> None:
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import analyze_spine
    from tests.planner.vertebra_reference import reference_heights

    d = DATA / "totalseg_example"
    ct, _ = load_nifti_ct(d / "example_ct.nii.gz")
    lab = load_nifti_labels(d / "vertebrae_labels.nii.gz")
    bodies = load_nifti_labels(d / "vertebral_bodies_and_discs.nii.gz").labels
    an, t = _timed(analyze_spine, ct)
    print(f"totalseg_example (3 mm, automatic): {an.names()} in {t:.2f} s; {list(an.warnings)}")
    print("  level  Dice   dH ant/mid/post (mm)   axis°  grade  wedge°  heights (mm)")
    for r in an.levels:
        key = next(k for k, n in lab.names.items() if n == f"vertebrae_{r.level}")
        body = (lab.labels == key) & (bodies == 1)
        ref = reference_heights(ct, body, lab.labels == key)
        m = r.morphometry
        dh = [m.heights_mm.get(w) - ref["heights"][w] for w in ("anterior", "middle", "posterior")]
        cos = abs(float(ref["axis_lps"] @ r.anatomy.frame.superior))
        ang = np.degrees(np.arccos(min(1.0, cos)))
        print(f"  {r.level:5s}  {_dice(_full(ct.shape_kji, r.anatomy), body):.3f}  "
              f"{dh[0]:+5.1f} {dh[1]:+5.1f} {dh[2]:+5.1f}        {ang:4.1f}   {grade_text(m)}"
              f"      {m.wedge_angle_deg:+5.1f}  "
              f"{m.heights_mm.anterior:.1f}/{m.heights_mm.middle:.1f}/{m.heights_mm.posterior:.1f}"
              f" (ref {ref['heights']['anterior']:.1f}/{ref['heights']['middle']:.1f}/"
              f"{ref['heights']['posterior']:.1f})")


def tptbox(n_clicks: int = 20) -> None:
    from planner.errors import AnalysisError
    from planner.io_nifti import load_nifti_ct, load_nifti_labels
    from planner.vertebra import neighbours_from_seed, segment_level

    d = DATA / "tptbox_l3"
    ct, _ = load_nifti_ct(d / "sub-ct_label-22_ct.nii.gz")
    sub = load_nifti_labels(d / "sub-ct_seg-subreg_label-22_msk.nii.gz").labels
    vert = load_nifti_labels(d / "sub-ct_seg-vert_label-22_msk.nii.gz").labels
    ref = np.isin(sub, (49, 50)) & (vert == 22)
    idx = np.argwhere(ref)
    rng = np.random.default_rng(0)
    dices, refused, times = [], 0, []
    core = float(np.median(ct.hu[ref]))
    for p in idx[rng.choice(len(idx), n_clicks, replace=False)]:
        seed = ct.grid.voxel_to_lps(p[::-1].astype(float))
        try:
            t0 = time.perf_counter()
            cands = neighbours_from_seed(ct, seed, "L3")
            l3 = next(c for c in cands if c.level == "L3")
            dices.append(_dice(_full(ct.shape_kji, segment_level(ct, l3)), ref))
            times.append(time.perf_counter() - t0)
        except (AnalysisError, StopIteration):
            refused += 1
    print(f"tptbox_l3 (1.5 mm PIR, median body HU {core:.0f}): {n_clicks - refused}/{n_clicks} "
          f"clicks inside the L3 body accepted; L3 Dice min {min(dices):.3f}, median "
          f"{np.median(dices):.3f}; {np.median(times):.2f} s per click")


def cptac() -> None:
    from planner.errors import AnalysisError
    from planner.loading import load_path
    from planner.vertebra import analyze_spine

    d = DATA / "cptac_chest_ct"
    vol = load_path(str(d / "dicom")).volume
    truth = json.loads((d / "levels_truth.json").read_text())["levels"]
    try:
        an, t = _timed(analyze_spine, vol)
    except AnalysisError as exc:
        print(f"cptac_chest_ct (3 mm, B70f, automatic): refused: {exc}")
        return
    print(f"cptac_chest_ct (3 mm, B70f, automatic): {an.names()} in {t:.2f} s; "
          f"{list(an.warnings)}")
    errors = {}
    off: dict[str, float] = {}  # height minus the reader's, where the reader gives one
    for tr in truth:
        c = np.asarray(tr["centre_lps"])
        near = min(an.levels, key=lambda r, c=c: float(np.linalg.norm(
            np.asarray(r.morphometry.centroid_lps) - c)))
        err = float(np.linalg.norm(np.asarray(near.morphometry.centroid_lps) - c))
        if near.level == tr["level"]:
            errors[tr["level"]] = err
        h = near.morphometry.heights_mm
        if near.level == tr["level"]:
            off.update({f"{tr['level']} {w[:4]}": h.as_dict()[w] - v
                        for w, v in tr["heights_mm"].items() if v is not None})
        print(f"  truth {tr['level']:4s}: nearest found {near.level:4s} at {err:5.1f} mm, heights "
              f"{h.anterior:.1f}/{h.middle:.1f}/{h.posterior:.1f} (truth middle "
              f"{tr['heights_mm']['middle']}), grade {grade_text(near.morphometry)}")
    worst = max(errors, key=errors.__getitem__) if errors else "-"
    graded = [f"{r.level} {grade_text(r.morphometry)}" for r in an.levels
              if r.morphometry.genant_grade > 0 or "possible" in grade_text(r.morphometry)]
    print(f"  {len(errors)}/{len(truth)} truth levels found under their own name; centre error "
          f"max {errors.get(worst, float('nan')):.1f} mm ({worst}), "
          f"{sum(e <= 5.0 for e in errors.values())} within 5 mm; graded (no fracture in the "
          f"case): {', '.join(graded) or 'none'}")
    far = {k: v for k, v in off.items() if abs(v) > 3.5}
    print(f"  heights within 3.5 mm of the reader's: {len(off) - len(far)}/{len(off)}; beyond: "
          f"{', '.join(f'{k} {v:+.1f}' for k, v in far.items()) or 'none'}; mean "
          f"{np.mean(list(off.values())):+.1f} mm")


def label_maps() -> None:
    from planner.io_nifti import load_nifti_labels
    from planner.vertebra import measure_from_mask

    for name, rel in (("verse004_labels", "sub-verse004_seg-vert_msk.nii.gz"),
                      ("biceps_healthy_reference", "healthy_ref_mask.nii.gz")):
        path = DATA / name / rel
        if not path.exists():
            print(f"{name}: absent, skipped")
            continue
        an, t = _timed(measure_from_mask, load_nifti_labels(path))
        grades = ", ".join(f"{r.level} {grade_text(r.morphometry)}" for r in an.levels)
        print(f"{name} (label map, {t:.1f} s): grades {grades}")
        for w in an.warnings:
            print(f"  warning: {w}")


def speed() -> None:
    from scipy import ndimage as ndi

    from planner.io_nifti import load_nifti_ct
    from planner.vertebra import analyze_spine, measure_level, segment_level
    from planner.volume import CTVolume

    ct, _ = load_nifti_ct(DATA / "totalseg_example" / "example_ct.nii.gz")
    shape = (300, 512, 512)
    zoom = np.array(shape) / np.array(ct.shape_kji)
    big_hu = ndi.zoom(ct.hu, zoom, order=1).astype(np.int16)
    aff = ct.grid.ijk_to_lps.copy()
    aff[:3, :3] = aff[:3, :3] / zoom[::-1][None, :]
    big = CTVolume.from_array(big_hu, aff, "bench:totalseg-512", modality="CT")
    print(f"speed: totalseg resampled to {big.shape_kji} at "
          f"{np.round(big.spacing_mm, 2).tolist()} mm")
    for label, vol in (("original 3 mm", ct), ("512x512x300", big)):
        an, t = _timed(analyze_spine, vol)
        cand = an.levels[len(an.levels) // 2].candidate
        from dataclasses import replace

        (_, t_one) = _timed(lambda c=cand, v=vol: measure_level(v, segment_level(
            v, replace(c, fit_cache=None))))
        print(f"  {label}: whole spine {t:.2f} s ({len(an.levels)} levels: {an.names()}), "
              f"one level {t_one:.2f} s")


def main() -> None:
    cases = [("totalseg_example", totalseg), ("tptbox_l3", tptbox), ("cptac_chest_ct", cptac),
             ("verse004_labels", label_maps), ("totalseg_example", speed)]
    for folder, fn in cases:
        if not (DATA / folder).is_dir():
            print(f"{folder}: absent at {DATA}, skipped")
            continue
        fn()


if __name__ == "__main__":
    main()
