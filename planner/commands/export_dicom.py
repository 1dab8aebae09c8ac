"""``python -m planner export-dicom PATH PLAN.json [PLAN2.json ...] OUTDIR``: the plan as DICOM.

Writes a Comprehensive 3D SR (TID 1500 measurement report: heights, grades, volumes, needle
lengths and angles, cement), a Segmentation of the treated vertebral bodies and planned cement
on the CT's Frame of Reference, and the OR sheet as Encapsulated PDF, all in the CT's study.
For a NIfTI input the CT is first written as DICOM with derived UIDs (the output says so).
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "export-dicom"
HELP = "write the plan as DICOM: TID 1500 SR, SEG of bodies and cement, OR sheet as PDF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("plan", nargs="+", help="plan file(s) made on this series, one per level")
    parser.add_argument("outdir", help="folder to write the DICOM objects into")
    parser.add_argument(
        "--include-patient",
        action="store_true",
        help="print patient identifiers on the encapsulated OR sheet",
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--labels", default=None, help="vertebra label map (NIfTI)")
    src.add_argument(
        "--seed", default=None, help="X,Y,Z (LPS mm) inside the level's body (one plan file only)"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import parse_seed
    from planner.dicom_objects.export import export_dicom
    from planner.orsheet.build import load_case, sheet_content
    from planner.orsheet.pdf import make_sheet, pdf_bytes

    plans = list(args.plan)
    case = load_case(args.path, plans, args.labels, parse_seed(args.seed), args.include_patient)
    content = sheet_content(case, args.include_patient)
    sheet = make_sheet(content, case.volume)
    out = export_dicom(case, content, pdf_bytes(sheet), args.path, args.outdir)
    out["warnings"] = [w.to_json() for w in case.warnings]
    return out
