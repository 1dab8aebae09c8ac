"""``python -m planner convert PATH OUT.nii.gz [--series UID]``: write the HU volume as NIfTI.

The NIfTI affine (qform and sform, RAS as NIfTI requires) is ``diag(-1, -1, 1, 1) @ ijk_to_lps``,
so every voxel keeps its patient position. The input is only read, never modified.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from planner.errors import InputError

NAME = "convert"
HELP = "Convert a study's CT series (DICOM or NIfTI) to a NIfTI file in HU with its affine."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="DICOM folder, DICOM file, DICOMDIR, or .nii/.nii.gz file")
    parser.add_argument("out", help="output file, .nii or .nii.gz")
    parser.add_argument(
        "--series",
        metavar="UID",
        default=None,
        help="series key or SeriesInstanceUID to convert (default: the best CT series)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.io_nifti import is_nifti, save_ct_nifti
    from planner.loading import load_path

    out = Path(args.out)
    if not is_nifti(out):
        raise InputError("the output must end in .nii or .nii.gz", path=out)
    src = Path(args.path)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise InputError("the output would overwrite the input; choose another file name", path=out)
    result = load_path(src, args.series)
    save_ct_nifti(result.volume, out)
    summary = result.volume.summary_json()
    return {
        "output": str(out),
        "series_uid": summary["series_uid"],
        "shape_kji": summary["shape_kji"],
        "spacing_mm": summary["spacing_mm"],
        "ijk_to_lps": summary["ijk_to_lps"],
        "hu_range": summary["hu_range"],
        "warnings": [w.to_json() for w in result.warnings],
    }
