"""Find the files of a study (folder, single file or DICOMDIR) and read their headers.

Files are only ever opened for reading. Non-DICOM files are skipped and counted; DICOM objects
without an image (reports, plans, DICOMDIRs) are counted separately; damaged files are reported by
name with the reason, and their series is marked incomplete.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from planner.dicom.dicomdir import is_dicomdir, read_dicomdir
from planner.dicom.fastheader import fast_frame_header
from planner.dicom.headers import (
    BadFileError,
    FrameHeader,
    NonImageError,
    NotDicomError,
    read_file_headers,
)
from planner.errors import EmptyInputError, NoImageSeriesError, NotFoundError
from planner.progress import Progress, report
from planner.volume import LoadWarning

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class HeaderScan:
    """Raw result of reading every header under a path."""

    frames: tuple[FrameHeader, ...]
    n_files: int
    skipped_files: int
    non_image_files: int
    bad_files: tuple[tuple[str, str], ...]
    bad_by_series: dict[str, list[str]]
    warnings: tuple[LoadWarning, ...]


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files.extend(Path(dirpath) / name for name in sorted(filenames))
    return files


def collect_files(
    root: Path,
) -> tuple[list[Path], list[tuple[Path, str]], list[LoadWarning]]:
    """(files to read, files a DICOMDIR lists but that are missing, warnings)."""
    if not root.exists():
        raise NotFoundError(path=root)
    warnings: list[LoadWarning] = []
    dicomdir = None
    if root.is_file():
        if not is_dicomdir(root):
            return [root], [], warnings
        dicomdir, folder = root, root.parent
    else:
        folder = root
        top = [p for p in (root / "DICOMDIR", root / "dicomdir") if p.is_file()]
        dicomdir = top[0] if top else None
    contents = read_dicomdir(dicomdir) if dicomdir is not None else None
    if dicomdir is not None and contents is None:
        warnings.append(
            LoadWarning(
                "dicomdir_unusable",
                f"The DICOMDIR {dicomdir.name} could not be used (unreadable or empty); "
                "the folder was searched instead.",
            )
        )
    if root.is_file() and contents is not None:
        files = list(contents.files)
    else:
        files = [f for f in _walk(folder) if dicomdir is None or f != dicomdir]
    missing = list(contents.missing) if contents is not None else []
    if contents is not None and contents.outside:
        shown = ", ".join(contents.outside[:3]) + (" ..." if len(contents.outside) > 3 else "")
        warnings.append(
            LoadWarning(
                "dicomdir_outside",
                f"The DICOMDIR {dicomdir.name if dicomdir else ''} refers to "
                f"{len(contents.outside)} file(s) outside its folder ({shown}); they were "
                "refused and not opened.",
            )
        )
    if missing:
        warnings.append(
            LoadWarning(
                "dicomdir_missing_files",
                f"The DICOMDIR lists {len(missing)} file(s) that are missing "
                f"(e.g. {missing[0][0].relative_to(folder)}); their series are incomplete.",
            )
        )
    return files, missing, warnings


def scan_headers(root: str | Path, progress: Progress | None = None) -> HeaderScan:
    """Read every header under ``root`` (recursively), never the pixel data."""
    root = Path(root)
    files, missing, warnings = collect_files(root)
    if not files and not missing:
        if warnings:
            raise NoImageSeriesError(" ".join(w.message for w in warnings), path=root)
        raise EmptyInputError(path=root)
    frames: list[FrameHeader] = []
    skipped = non_image = 0
    bad: list[tuple[str, str]] = []
    bad_by_series: dict[str, list[str]] = defaultdict(list)
    for path, uid in missing:
        bad.append((str(path), "listed in the DICOMDIR but missing"))
        bad_by_series[uid].append(path.name)
    for i, path in enumerate(files):
        if i % 32 == 0:
            report(progress, i / max(len(files), 1), f"Reading headers {i}/{len(files)}")
        fast = fast_frame_header(str(path))
        if fast is not None:
            frames.append(fast)
            continue
        try:
            frames.extend(read_file_headers(path))
        except NotDicomError:
            skipped += 1
        except NonImageError:
            non_image += 1
        except BadFileError as exc:
            log.info("bad DICOM file %s: %s", path.name, exc)
            bad.append((str(path), str(exc)))
            if exc.series_uid:
                bad_by_series[exc.series_uid].append(path.name)
    if non_image:
        warnings.append(
            LoadWarning(
                "non_image_objects",
                f"{non_image} DICOM object(s) without an image (reports, plans, directories) "
                "were ignored.",
            )
        )
    if skipped:
        warnings.append(
            LoadWarning("non_dicom_files", f"{skipped} file(s) that are not DICOM were skipped.")
        )
    report(progress, 1.0, "Headers read")
    return HeaderScan(
        tuple(frames),
        len(files),
        skipped,
        non_image,
        tuple(bad),
        dict(bad_by_series),
        tuple(warnings),
    )
