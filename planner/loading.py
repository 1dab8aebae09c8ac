"""Open a study: scan a path (DICOM folder / file / DICOMDIR, or NIfTI), choose a series, load it.

This is the one entry point the UI and the command line use::

    scan = scan_path("/media/cdrom")          # headers only: fast, lists every series
    result = load_series(scan, scan.default_key)
    result.volume, result.warnings

or in one step ``load_path(path, series_uid=None)``.

Recoverable problems are returned as :class:`~planner.volume.LoadWarning` values (tilt,
uneven spacing, missing slices, skipped files, non-CT); unrecoverable ones raise a
:class:`~planner.errors.PlannerError` subclass naming the file or series.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from planner.dicom.geometry import StackGeometry, frame_label, stack_geometry
from planner.dicom.headers import FrameHeader
from planner.dicom.pixels import AIR_HU, decode_volume
from planner.dicom.resample import resample_stack
from planner.dicom.scan import scan_headers
from planner.dicom.series import SeriesInfo, build_series, choose_default, rank_key
from planner.errors import (
    CorruptFileError,
    GeometryError,
    ImageTooLargeError,
    NoImageSeriesError,
    NotFoundError,
    SeriesNotFoundError,
    UnsupportedDataError,
)
from planner.grid import ImageGrid
from planner.io_nifti import check_affine, is_nifti
from planner.progress import Progress, report
from planner.volume import (
    CTVolume,
    LoadWarning,
    SeriesIdentity,
    hounsfield_warning,
    stable_uid_from_paths,
)

log = logging.getLogger(__name__)

MAX_SERIES_VOXELS = 1 << 30  # 2 GiB of int16: refused before allocating
MAX_SLOPE, MAX_INTERCEPT = 1e4, 1e6  # beyond these a rescale is not CT (tool assumption)

__all__ = [
    "LoadResult",
    "SeriesInfo",
    "StudyScan",
    "load_path",
    "load_series",
    "resolve_key",
    "scan_path",
]


@dataclass(frozen=True, eq=False)
class StudyScan:
    """Every series found under a path, from headers only.

    Notes
    -----
    ``skipped_files`` counts files that are not DICOM; ``bad_files`` lists damaged files as
    (path, reason); ``default_key`` is the best CT series, or None when there is none.
    """

    root: Path
    series: tuple[SeriesInfo, ...]
    default_key: str | None
    skipped_files: int = 0
    bad_files: tuple[tuple[str, str], ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    kind: str = "dicom"

    def get(self, key: str) -> SeriesInfo:
        """The series with this key, or else the first stack with this SeriesInstanceUID."""
        for s in self.series:
            if s.key == key:
                return s
        for s in self.series:
            if key and s.series_uid == key:
                return s
        known = ", ".join(s.key for s in self.series[:6]) or "none"
        raise SeriesNotFoundError(
            f"series {key!r} is not in {self.root} (series found: {known}); "
            "run `python -m planner info PATH` to list them"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "series": [s.to_json() for s in self.series],
            "default_key": self.default_key,
            "skipped_files": self.skipped_files,
            "bad_files": [{"file": Path(p).name, "reason": r} for p, r in self.bad_files],
            "warnings": [w.to_json() for w in self.warnings],
        }


@dataclass(frozen=True, eq=False)
class LoadResult:
    """A loaded volume with the warnings met on the way and where it came from."""

    volume: CTVolume
    warnings: tuple[LoadWarning, ...]
    series: SeriesInfo | None = None
    scan: StudyScan | None = None


def _scan_nifti(path: Path) -> StudyScan:
    import nibabel as nib

    try:
        img: Any = nib.load(str(path))  # typed FileBasedImage: no .shape/.affine
        shape = tuple(int(s) for s in img.shape)
        zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
        affine = np.asarray(img.affine, dtype=np.float64)
    except Exception as exc:
        raise CorruptFileError(f"cannot read NIfTI header ({exc})", path=path) from exc
    if len(shape) < 3:
        raise UnsupportedDataError(f"expected a 3-D image, found shape {shape}", path=path)
    affine = check_affine(affine, path)
    zooms = tuple(float(z) for z in np.linalg.norm(affine[:3, :3], axis=0))
    key = stable_uid_from_paths([path])
    k_dir = affine[:3, 2] / max(float(np.linalg.norm(affine[:3, 2])), 1e-9)
    info = SeriesInfo(
        key=key,
        series_uid=key,
        modality="CT",
        description=path.name,
        date="",
        n_images=shape[2],
        rows=shape[1],
        columns=shape[0],
        pixel_spacing_mm=(zooms[1], zooms[0]),
        slice_spacing_mm=zooms[2],
        thickness_mm=None,
        kernel="",
        body_part="",
        image_type=(),
        is_axial=bool(abs(k_dir[2]) > 0.8),
        is_candidate=True,
        reason="",
        incomplete=False,
        warnings=(),
        files=(str(path),),
    )
    return StudyScan(path, (info,), key, kind="nifti")


def scan_path(path: str | Path, progress: Progress | None = None) -> StudyScan:
    """List the series under ``path`` from headers only (no pixel data is read).

    Parameters
    ----------
    path
        A DICOM folder (searched recursively), a DICOM file, a DICOMDIR, or a NIfTI file.
    progress
        Progress and cancellation.

    Raises
    ------
    NotFoundError, EmptyInputError
        The path does not exist / holds no files.

    Notes
    -----
    Files are only read, never written. Series are keyed by (0020,000E) SeriesInstanceUID
    (``UID#2``... for further stacks of one UID; a derived ``derived.<hash>`` key when the UID
    is empty). Geometry in the listing is in LPS mm.
    """
    p = Path(path)
    if not p.exists():
        raise NotFoundError(path=p)
    if p.is_file() and is_nifti(p):
        return _scan_nifti(p)
    hs = scan_headers(p, progress)
    series = tuple(sorted(build_series(hs.frames, hs.bad_by_series), key=rank_key))
    return StudyScan(
        root=p,
        series=series,
        default_key=choose_default(series),
        skipped_files=hs.skipped_files,
        bad_files=hs.bad_files,
        warnings=hs.warnings,
    )


def _check_size(info: SeriesInfo, shape: tuple[int, ...]) -> None:
    n = int(np.prod(shape, dtype=np.int64))
    if n > MAX_SERIES_VOXELS:
        raise ImageTooLargeError(
            f"series {info.key}: {' x '.join(map(str, shape))} = {n} voxels exceeds the limit "
            f"of {MAX_SERIES_VOXELS}; load a thinner or cropped reconstruction"
        )


def _rescale_ok(h: FrameHeader) -> bool:
    return (
        math.isfinite(h.slope)
        and math.isfinite(h.intercept)
        and abs(h.slope) <= MAX_SLOPE
        and abs(h.intercept) <= MAX_INTERCEPT
    )


def _repair_rescale(
    info: SeriesInfo, frames: list[FrameHeader]
) -> tuple[list[FrameHeader], list[LoadWarning]]:
    """Images whose Rescale Slope/Intercept is not a usable number: given the value every
    other image shares, or left out; never turned into silent 0 HU."""
    bad = [h for h in frames if not _rescale_ok(h)]
    if not bad:
        return frames, []
    good = [h for h in frames if _rescale_ok(h)]
    names = ", ".join(frame_label(h) for h in bad[:3]) + (" ..." if len(bad) > 3 else "")
    what = f"slope {bad[0].slope:g}, intercept {bad[0].intercept:g}"
    if not good:
        raise CorruptFileError(
            f"series {info.key}: Rescale Slope/Intercept (0028,1053/1052) is not a usable number "
            f"in any image (e.g. {frame_label(bad[0])}: {what}); the HU cannot be computed. "
            "Export the series again",
            path=bad[0].path,
        )
    common = {(h.slope, h.intercept) for h in good}
    if len(common) == 1:
        slope, intercept = common.pop()
        fixed = {id(h) for h in bad}
        frames = [
            replace(h, slope=slope, intercept=intercept) if id(h) in fixed else h for h in frames
        ]
        action = (
            f"the value all other images share (slope {slope:g}, intercept {intercept:g}) was used"
        )
    else:
        frames = good
        action = "these images were left out (their slices are interpolated from their neighbours)"
    return frames, [
        LoadWarning(
            "rescale_invalid",
            f"{len(bad)} image(s) have a Rescale Slope/Intercept that is not a usable number "
            f"({names}: {what}); {action}. Check HU readings near those slices.",
        )
    ]


def _decode(
    info: SeriesInfo, frames: list[FrameHeader], progress: Progress | None
) -> tuple[np.ndarray, list[FrameHeader], StackGeometry, list[LoadWarning]]:
    frames, rescale_warnings = _repair_rescale(info, frames)
    geo = stack_geometry(frames)
    _check_size(info, (len(frames), info.rows, info.columns))
    _check_size(info, geo.shape_kji)
    ordered = [frames[i] for i in geo.order]
    fill = AIR_HU if info.modality == "CT" else 0
    stack, stats = decode_volume(ordered, fill, progress)
    warnings: list[LoadWarning] = list(rescale_warnings)
    if stats.failures:
        names = [f"{frame_label(ordered[k])} ({msg})" for k, msg in stats.failures]
        if len(stats.failures) == len(ordered):
            raise CorruptFileError(
                f"series {info.key}: no image could be decoded; {names[0]}",
                path=ordered[stats.failures[0][0]].path,
            )
        warnings.append(
            LoadWarning(
                "corrupt_images",
                f"{len(names)} image(s) could not be decoded and were left out: "
                + "; ".join(names[:3])
                + (" ..." if len(names) > 3 else ""),
            )
        )
        keep = np.ones(len(ordered), dtype=bool)
        keep[[k for k, _ in stats.failures]] = False
        stack = stack[keep]
        ordered = [h for h, ok in zip(ordered, keep, strict=True) if ok]
        geo = stack_geometry(ordered)
        stack = stack[list(geo.order)]
        ordered = [ordered[i] for i in geo.order]
    if stats.clipped:
        warnings.append(
            LoadWarning(
                "hu_clipped", f"{stats.clipped} pixel(s) beyond the int16 range were clipped."
            )
        )
    return stack, ordered, geo, warnings


def _content_warnings(
    info: SeriesInfo, frames: list[FrameHeader], stack: np.ndarray
) -> list[LoadWarning]:
    out: list[LoadWarning] = []
    h = frames[0]
    if info.modality == "CT" and h.rescale_type in ("", "HU"):
        plausibility = hounsfield_warning(stack, f"Series {info.key}")
        if plausibility is not None:
            out.append(plausibility)
    if not info.is_candidate:
        out.append(
            LoadWarning(
                "not_ct" if info.modality != "CT" else "not_candidate",
                f"Series {info.key} ({info.modality or 'no modality'}) is not a CT volume for "
                f"planning: {info.reason}. Values may not be Hounsfield units; HU-based features "
                "(bone segmentation, cement estimates) will not apply.",
            )
        )
    if info.modality == "CT" and h.rescale_type not in ("", "HU"):
        out.append(
            LoadWarning(
                "not_hounsfield",
                f"Rescale Type is {h.rescale_type!r}, not HU: values may not be Hounsfield units.",
            )
        )
    if info.modality == "CT" and any(f.rescale_missing for f in frames):
        out.append(
            LoadWarning(
                "rescale_missing",
                "Rescale Slope/Intercept are missing in some images; slope 1 and intercept 0 were "
                "assumed. Check that air reads about -1000 HU.",
            )
        )
    if info.pixel_spacing_mm is None:
        out.append(
            LoadWarning(
                "pixel_spacing_missing",
                "Pixel Spacing is missing: 1 mm was assumed; distances are not reliable.",
            )
        )
    return out


def load_series(scan: StudyScan, key: str, progress: Progress | None = None) -> LoadResult:
    """Load one series of a scan as an int16 HU volume on a regular LPS grid.

    Notes
    -----
    Voxel (i, j, k) lies at ``volume.ijk_to_lps @ (i, j, k, 1)`` in LPS mm; k increases along
    the slice normal (row direction x column direction of (0020,0037)). Tilted or unevenly
    spaced stacks are resampled (see :mod:`planner.dicom.resample`) and say so in the warnings.
    """
    info = scan.get(key)
    if scan.kind == "nifti":
        from planner.io_nifti import load_nifti_ct

        volume, nw = load_nifti_ct(scan.root)
        return LoadResult(volume, tuple(nw), info, scan)
    frames = list(info.frames)
    if not frames:
        raise NoImageSeriesError(f"series {info.key} holds no readable image", path=scan.root)
    if frames[0].samples_per_pixel != 1:
        raise UnsupportedDataError(
            f"series {info.key} is a colour image ({frames[0].photometric}); CT is greyscale"
        )
    report(progress, 0.0, f"Loading series {info.key}")
    sub = progress.sub(0.0, 0.9) if progress is not None else None
    stack, ordered, geo, warnings = _decode(info, frames, sub)
    if geo.needs_resample:
        fill = AIR_HU if info.modality == "CT" else float(stack.min())
        rsub = progress.sub(0.9, 1.0) if progress is not None else None
        stack = resample_stack(stack, geo, fill, rsub)
    warnings = (
        list(info.warnings)
        + list(geo.warnings)
        + warnings
        + _content_warnings(info, ordered, stack)
    )
    identity = SeriesIdentity(info.key, str(scan.root), info.modality, info.description)
    volume = CTVolume(stack, ImageGrid(stack.shape, geo.ijk_to_lps), identity, ordered[0].patient,
                      slice_thickness_mm=info.thickness_mm)
    report(progress, 1.0, "Loaded")
    log.info(
        "loaded series %s: %s voxels, %d warning(s)", info.key, volume.shape_kji, len(warnings)
    )
    return LoadResult(volume, tuple(warnings), info, scan)


def resolve_key(scan: StudyScan, series_uid: str | None = None) -> str:
    """The series to load: the one asked for, else the default CT series, else a fallback.

    With no CT candidate, a non-CT image series may load (with a ``not_ct`` warning);
    otherwise a :class:`~planner.errors.PlannerError` explains what was found.
    """
    if series_uid:
        return scan.get(series_uid).key
    if scan.default_key:
        return scan.default_key
    usable = [s for s in scan.series if s.reason.startswith("modality")]
    if usable:
        return sorted(usable, key=rank_key)[0].key
    if not scan.series:
        if scan.bad_files:
            p, reason = scan.bad_files[0]
            raise CorruptFileError(
                f"no readable image series; {len(scan.bad_files)} damaged file(s), e.g. "
                f"{Path(p).name}: {reason}",
                path=scan.root,
            )
        if scan.root.is_file() and scan.skipped_files:
            raise NoImageSeriesError(
                "not a DICOM file (no 'DICM' marker and no recognisable DICOM header) and not "
                "NIfTI (.nii/.nii.gz)",
                path=scan.root,
            )
        found = " ".join(w.message for w in scan.warnings)
        raise NoImageSeriesError(
            f"no image series found. {found} Choose the folder exported from the PACS or CD "
            "that contains the CT images",
            path=scan.root,
        )
    found = "; ".join(
        f"{s.key} ({s.modality}, {s.n_images} images): {s.reason}" for s in scan.series[:4]
    )
    geometry = ("Pixel Spacing", "Image Orientation", "Image Position")
    if all(s.reason.startswith(geometry) for s in scan.series):
        raise GeometryError(
            f"no series can be placed in patient space. Found: {found}. Export the series "
            "again from the scanner or PACS",
            path=scan.root,
        )
    raise UnsupportedDataError(
        f"no CT series usable for planning. Found: {found}. Pass --series KEY to load one anyway",
        path=scan.root,
    )


def load_path(
    path: str | Path, series_uid: str | None = None, progress: Progress | None = None
) -> LoadResult:
    """Scan ``path``, choose the series (``series_uid`` or the default CT series) and load it.

    Notes
    -----
    ``series_uid`` may be a series key from :func:`scan_path` or a SeriesInstanceUID. The
    volume is int16 HU ``[k, j, i]`` with ``ijk_to_lps`` in LPS mm; see :func:`load_series`.
    Compressed series are decoded in worker processes (forkserver): scripts that call this
    must guard their entry point with ``if __name__ == "__main__":``.
    """
    scan = scan_path(path, progress.sub(0.0, 0.2) if progress is not None else None)
    key = resolve_key(scan, series_uid)
    return load_series(scan, key, progress.sub(0.2, 1.0) if progress is not None else None)
