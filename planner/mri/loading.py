"""Open an MRI study: the explicit MR path beside the CT loader.

The CT loader (:mod:`planner.loading`) chooses CT series and warns about anything else. Here
the same scanner and decoder are used (headers first, then pixels into a preallocated stack),
but only MR image series are chosen, and the sequence is recognised from the headers:

- ``"stir"``: inversion recovery ((0018,0020) Scanning Sequence contains IR, or (0018,0082)
  Inversion Time set) with a short inversion time (< 300 ms), or "STIR"/"TIRM" in the
  description; fat-suppressed T2 ("T2" with "FS"/"FATSAT"/"SPAIR"/"DIXON W") counts too,
  as both show bone-marrow oedema bright;
- ``"t1"``: "T1" in the description, or a spin-echo without IR with TR < 1000 ms and TE < 30 ms;
- ``"t2"``, ``"other"``: anything else.

NIfTI files load too (no sequence header: the contrast comes from the file name or the
caller). Values are the scanner's signal (arbitrary units, not HU), kept in the volume's int16
array; the volume's modality is ``"MR"``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from planner.errors import NoImageSeriesError, UnsupportedDataError
from planner.io_nifti import is_nifti
from planner.loading import LoadResult, StudyScan, load_series, scan_path
from planner.progress import Progress
from planner.volume import CTVolume, LoadWarning, SeriesIdentity

log = logging.getLogger(__name__)

CONTRASTS = ("stir", "t1", "t2", "other")


@dataclass(frozen=True, eq=False)
class MRLoadResult:
    """A loaded MR series, its recognised contrast and the load warnings."""

    volume: CTVolume
    contrast: str
    warnings: tuple[LoadWarning, ...]


def contrast_from_text(text: str) -> str | None:
    """Contrast named in a series description or file name, or None."""
    t = text.upper().replace("-", "_").replace(" ", "_")
    if "STIR" in t or "TIRM" in t:
        return "stir"
    if "T2" in t and any(k in t for k in ("FS", "FATSAT", "FAT_SAT", "SPAIR", "SPIR", "DIXON_W")):
        return "stir"
    if "T1" in t:
        return "t1"
    if "T2" in t:
        return "t2"
    return None


def _float(v: object) -> float | None:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def contrast_from_header(path: str | Path) -> str:
    """Recognise the sequence of the file at ``path`` (see module notes)."""
    import pydicom

    ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
    named = contrast_from_text(f"{ds.get('SeriesDescription', '')} "
                               f"{ds.get('ProtocolName', '')}")
    if named is not None:
        return named
    seq = ds.get("ScanningSequence", "")
    seq_values = [str(seq)] if isinstance(seq, str) else [str(v) for v in seq]
    ti = _float(ds.get("InversionTime"))
    tr, te = _float(ds.get("RepetitionTime")), _float(ds.get("EchoTime"))
    if ("IR" in seq_values or ti is not None) and ti is not None and ti < 300.0:
        return "stir"
    if "SE" in seq_values and tr is not None and te is not None and tr < 1000.0 and te < 30.0:
        return "t1"
    return "other"


def mr_series_keys(scan: StudyScan) -> list[str]:
    """Keys of the MR image series of a scan (localizers, reports and colour images left out)."""
    return [s.key for s in scan.series
            if s.modality == "MR" and s.reason.startswith("modality") and s.frames]


def _as_mr(res: LoadResult) -> tuple[CTVolume, tuple[LoadWarning, ...]]:
    vol = res.volume
    ident = SeriesIdentity(vol.identity.series_uid, vol.identity.source_path, "MR",
                           vol.identity.description)
    keep = tuple(w for w in res.warnings
                 if w.code not in ("not_ct", "not_candidate", "not_hounsfield", "hu_clipped"))
    return replace(vol, identity=ident), keep


def _load_nifti_mr(path: Path, contrast: str | None) -> MRLoadResult:
    from planner.io_nifti import load_nifti_ct

    vol, warnings = load_nifti_ct(path)
    res = LoadResult(vol, tuple(warnings))
    mr, keep = _as_mr(res)
    if int(np.max(mr.hu)) < 50:
        keep += (LoadWarning("mr_low_range", "MR values span less than 50 units after rounding "
                             "to integers; signal ratios will be coarse."),)
    name = contrast or contrast_from_text(path.name) or "other"
    return MRLoadResult(mr, name, keep)


def load_mr(path: str | Path, series_uid: str | None = None, contrast: str | None = None,
            progress: Progress | None = None) -> MRLoadResult:
    """Load one MR series from a DICOM folder/file or a NIfTI file.

    Parameters
    ----------
    path
        DICOM folder (searched recursively), file, DICOMDIR, or ``.nii``/``.nii.gz``.
    series_uid
        Series key or SeriesInstanceUID; default: the series of the wanted ``contrast``, else
        the MR series with the most images.
    contrast
        ``"stir"`` or ``"t1"`` to pick that sequence among several (DICOM), or to declare it
        (NIfTI).

    Raises
    ------
    NoImageSeriesError
        No MR image series under ``path``.

    Notes
    -----
    LPS mm; ``volume.hu`` holds the MR signal (arbitrary units), ``identity.modality`` "MR".
    """
    p = Path(path)
    if contrast is not None and contrast not in CONTRASTS:
        raise UnsupportedDataError(f"contrast must be one of {', '.join(CONTRASTS)}; "
                                   f"got {contrast!r}")
    if p.is_file() and is_nifti(p):
        return _load_nifti_mr(p, contrast)
    scan = scan_path(p, progress.sub(0.0, 0.2) if progress is not None else None)
    keys = mr_series_keys(scan)
    if series_uid:
        key = scan.get(series_uid).key
        if scan.get(key).modality != "MR":
            raise UnsupportedDataError(f"series {key} is {scan.get(key).modality}, not MR",
                                       path=p)
    elif not keys:
        found = ", ".join(f"{s.modality or '?'} {s.description!r}" for s in scan.series[:4])
        raise NoImageSeriesError(f"no MR image series found (found: {found or 'nothing'}); "
                                 "choose the folder of the MRI study", path=p)
    else:
        key = _choose(scan, keys, contrast)
    info = scan.get(key)
    res = load_series(scan, key, progress.sub(0.2, 1.0) if progress is not None else None)
    vol, warnings = _as_mr(res)
    found = contrast_from_header(info.files[0]) if info.files else "other"
    if contrast is not None and found != contrast:
        warnings += (LoadWarning("contrast_unconfirmed", f"Series {key} was loaded as "
                                 f"{contrast.upper()} but its headers suggest {found}."),)
        found = contrast
    log.info("loaded MR series %s (%s): %s voxels", key, found, vol.shape_kji)
    return MRLoadResult(vol, found, warnings)


def _choose(scan: StudyScan, keys: list[str], contrast: str | None) -> str:
    ranked = sorted(keys, key=lambda k: -scan.get(k).n_images)
    if contrast is None:
        return ranked[0]
    for k in ranked:
        files = scan.get(k).files
        if files and contrast_from_header(files[0]) == contrast:
            return k
    return ranked[0]


def load_mr_study(path: str | Path, t1_path: str | Path | None = None,
                  progress: Progress | None = None) -> dict[str, MRLoadResult]:
    """The STIR (or fat-sat T2) and, if present, the T1 of an MRI study: ``{"stir", "t1"}``.

    ``path`` may hold both series (one study folder) or just one; ``t1_path`` names the T1
    separately. A study with one sequence only returns it under its own contrast.
    """
    p = Path(path)
    out: dict[str, MRLoadResult] = {}
    if p.is_file() and is_nifti(p):
        r = load_mr(p)
        out[r.contrast if r.contrast in ("stir", "t1") else "stir"] = r
    else:
        scan = scan_path(p)
        keys = mr_series_keys(scan)
        if not keys:
            raise NoImageSeriesError("no MR image series found; choose the MRI study folder",
                                     path=p)
        for key in sorted(keys, key=lambda k: -scan.get(k).n_images):
            files = scan.get(key).files
            c = contrast_from_header(files[0]) if files else "other"
            if c in ("stir", "t1") and c not in out:
                out[c] = load_mr(p, key, c)
        if not out:
            out["stir"] = load_mr(p, keys[0])
    if t1_path is not None:
        out["t1"] = load_mr(t1_path, contrast="t1")
    return out
