"""``python -m planner info PATH [--series UID]``: list the series and describe the chosen volume.

Output (JSON, LPS mm): ``{"series": [...], "default_key", "skipped_files", "bad_files",
"volume": {"series_uid", "shape_kji", "spacing_mm" (along i, j, k), "ijk_to_lps", "hu_range",
...}, "warnings": [{"code", "message"}]}``. No patient-identifying data is printed.
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "info"
HELP = "List the series of a study (DICOM folder/file/DICOMDIR or NIfTI) and describe one volume."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="DICOM folder, DICOM file, DICOMDIR, or .nii/.nii.gz file")
    parser.add_argument(
        "--series",
        metavar="UID",
        default=None,
        help="series key or SeriesInstanceUID to describe (default: the best CT series)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.loading import load_series, resolve_key, scan_path

    scan = scan_path(args.path)
    result = load_series(scan, resolve_key(scan, args.series))
    volume = result.volume.summary_json()
    volume["series_key"] = result.series.key if result.series else volume["series_uid"]
    volume["description"] = result.volume.identity.description
    out = scan.to_json()
    out["volume"] = volume
    out["warnings"] = [w.to_json() for w in (*scan.warnings, *result.warnings)]
    return out
