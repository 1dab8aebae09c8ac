"""``python -m planner demo OUTDIR``: write the built-in demo case as DICOM plus its ground truth.

Output (JSON, LPS mm): ``{"dicom_dir", "ground_truth", "series_uid", "n_images", "levels":
[{"name", "verse_id", "centroid_lps", "genant_grade", ...}]}``. The series goes to
``OUTDIR/dicom/`` (one CT file per slice), the truth to ``OUTDIR/ground_truth.json``. With
``--mri`` the synthetic MRI goes to ``OUTDIR/mri_stir/`` and ``OUTDIR/mri_t1/`` and its true
offset to the truth's ``"mri"`` key.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from planner.errors import InputError

NAME = "demo"
HELP = "Write the synthetic demo spine CT (L1 wedge fracture) as a DICOM series + ground truth."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("outdir", help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--variant", choices=("standard", "cortical_gap"), default="standard",
                        help="'cortical_gap' plants a 4 mm hole in L1's anterolateral cortex")
    parser.add_argument("--mri", action="store_true",
                        help="also write the synthetic sagittal MRI (STIR, T1) of the same "
                             "patient to OUTDIR/mri_stir and OUTDIR/mri_t1 (own frame)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.demo import generate_demo
    from planner.demo.case import demo_uid
    from planner.dicom_export import write_dicom_series

    if args.seed < 0:
        raise InputError(f"--seed must be a non-negative integer; got {args.seed}")
    out = Path(args.outdir)
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder; give a folder to write the demo into",
                         path=out)
    dicom_dir = out / "dicom"
    if dicom_dir.is_dir() and any(p.suffix.lower() != ".dcm" for p in dicom_dir.iterdir()):
        raise InputError("already holds files other than the demo's CT*.dcm; choose an empty "
                         "folder", path=dicom_dir)
    try:
        case = generate_demo(args.seed, args.variant)
        result = write_dicom_series(
            case.volume, dicom_dir, study_uid=demo_uid(args.seed, args.variant, "study"),
            study_description="Demo spine")
        truth = case.truth.to_json()
        truth["series_uid"] = result.series_uid
        mri_out = None
        if args.mri:
            from planner.commands._demo_mri import write_demo_mri

            mri_out = write_demo_mri(case, out)
            truth["mri"] = mri_out["truth"]
        truth_path = out / "ground_truth.json"
        truth_path.write_text(json.dumps(truth, indent=2), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the demo: {exc.strerror or exc}", path=out) from exc
    extra = {} if mri_out is None else {"mri": mri_out["summary"]}
    return {
        **extra,
        "dicom_dir": str(dicom_dir),
        "ground_truth": str(truth_path),
        "series_uid": result.series_uid,
        "n_images": len(result.files),
        "levels": [
            {"name": lv.name, "verse_id": lv.verse_id,
             "centroid_lps": [round(v, 3) + 0.0 for v in lv.centroid_lps],
             "genant_grade": lv.genant_grade, "morphology": lv.morphology,
             "body_volume_ml": round(lv.body_volume_ml, 3)}
            for lv in case.truth.levels
        ],
    }
