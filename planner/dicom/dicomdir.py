"""Files referenced by a DICOMDIR (PS3.10 media directory), tolerant of real-world variants.

Referenced File IDs (0004,1500) are resolved relative to the DICOMDIR's folder, case-insensitively
(CD file systems and the machines that wrote them disagree on case). Files the DICOMDIR lists but
that are missing are reported with the SeriesInstanceUID of their series record, so the series can
be marked incomplete. A DICOMDIR that cannot be read, or lists nothing, is not trusted: the caller
falls back to scanning the folder.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DicomdirContents:
    files: tuple[Path, ...]
    missing: tuple[tuple[Path, str], ...]  # (expected path, series uid from the directory)
    outside: tuple[str, ...] = ()  # Referenced File IDs pointing outside the folder: refused


def _escapes(parts: list[str]) -> bool:
    """True for a Referenced File ID that leaves the DICOMDIR's folder tree.

    PS3.10 8.3 allows only relative IDs of up to 8 components of uppercase letters, digits and
    underscore; '..', '.', absolute paths and drive letters are never legitimate.
    """
    return any(p in ("..", ".") or p.startswith(("/", "~")) or ":" in p for p in parts)


def is_dicomdir(path: Path) -> bool:
    if path.name.upper().startswith("DICOMDIR"):
        return True
    try:
        with open(path, "rb") as fp:
            head = fp.read(512)
    except OSError:
        return False
    return b"1.2.840.10008.1.3.10" in head


def _resolve(root: Path, parts: list[str], cache: dict[Path, dict[str, str]]) -> Path | None:
    current = root
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        if current not in cache:
            try:
                cache[current] = {n.upper(): n for n in os.listdir(current)}
            except OSError:
                return None
        real = cache[current].get(part.upper())
        if real is None:
            return None
        current = current / real
    return current if current.is_file() else None


def read_dicomdir(path: Path) -> DicomdirContents | None:
    """Referenced files of a DICOMDIR, or None when it cannot be used (caller scans the folder)."""
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), force=True)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except Exception as exc:
        log.warning("DICOMDIR %s unreadable (%s); scanning its folder instead", path, exc)
        return None
    root = path.parent
    files: list[Path] = []
    missing: list[tuple[Path, str]] = []
    series_uid = ""
    cache: dict[Path, dict[str, str]] = {}
    outside: list[str] = []
    for rec in records:
        rtype = str(rec.get("DirectoryRecordType", "")).upper()
        if rtype == "SERIES":
            series_uid = str(rec.get("SeriesInstanceUID", ""))
        ref = rec.get("ReferencedFileID")
        if ref is None:
            continue
        parts = [str(ref)] if isinstance(ref, str) else [str(x) for x in ref]
        raw = "\\".join(parts)
        parts = [p for part in parts for p in part.replace("/", "\\").split("\\") if p]
        if not parts or _escapes(parts) or raw.startswith(("/", "\\")):
            outside.append(raw)
            continue
        found = _resolve(root, parts, cache)
        if found is not None and not _inside(found, root):
            outside.append(raw)  # a symbolic link out of the tree
            continue
        if found is None:
            missing.append((root.joinpath(*parts), series_uid))
        else:
            files.append(found)
    if outside:
        log.warning("DICOMDIR %s: %d reference(s) outside its folder refused", path, len(outside))
    if not files and not missing and not outside:
        return None
    return DicomdirContents(tuple(dict.fromkeys(files)), tuple(missing), tuple(outside))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
