"""``python -m planner report PATH PLAN.json [PLAN2.json ...] --pdf OUT.pdf``: the OR sheet.

One page per treated level (four images per needle: axial and sagittal through the path, AP
and lateral simulated fluoroscopy; the numbers to set up with), a summary page with the total
cement, every finding by severity, caveats and sources. Patient identifiers only with
``--include-patient``. Prints the sheet's numbers as JSON (mm, degrees, mL).
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "report"
HELP = "OR sheet (PDF) of a plan: images and set-up numbers per needle, cement, findings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT study folder, DICOM file or NIfTI file")
    parser.add_argument("plan", nargs="+", help="plan file(s) made on this series, one per level")
    parser.add_argument("--pdf", required=True, help="write the OR sheet here (PDF)")
    parser.add_argument(
        "--include-patient",
        action="store_true",
        help="print patient name, ID, birth date, sex and study date",
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--labels", default=None, help="vertebra label map (NIfTI) naming the levels")
    src.add_argument(
        "--seed", default=None, help="X,Y,Z (LPS mm) inside the level's body (one plan file only)"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import parse_seed
    from planner.orsheet.build import load_case, sheet_content, sheet_json
    from planner.orsheet.pdf import make_sheet, write_pdf

    case = load_case(
        args.path, list(args.plan), args.labels, parse_seed(args.seed), args.include_patient
    )
    content = sheet_content(case, args.include_patient)
    sheet = make_sheet(content, case.volume)
    out = write_pdf(sheet, args.pdf)
    result = sheet_json(content)
    result.update(
        {
            "pdf": str(out),
            "pages": len(sheet.pages),
            "images": sheet.n_images,
            "warnings": [w.to_json() for w in case.warnings],
        }
    )
    return result
