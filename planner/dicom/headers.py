"""Header scan: one :class:`FrameHeader` per 2-D image, read without the pixel data.

Files are read with ``dcmread(stop_before_pixels=True)`` from an open file object; the file
position where pydicom stopped is the Pixel Data element (7FE0,0010), which is recorded so that
uncompressed pixels can later be read straight into the output array without parsing the header
again. Enhanced (multi-frame) CT objects give one header per frame from the per-frame and
shared functional groups (PS3.3 C.7.6.16).
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.volume import PatientInfo

log = logging.getLogger(__name__)

# Refused before allocating anything: one object claiming more voxels than this is not a CT.
MAX_FILE_VOXELS = 1 << 28  # 268 M voxels = 512 MiB as int16

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
NATIVE_SYNTAXES = frozenset({IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE})
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
_PIXEL_TAGS_LE = (b"\xe0\x7f\x10\x00", b"\xe0\x7f\x08\x00", b"\xe0\x7f\x09\x00")
_PIXEL_TAGS_BE = (b"\x7f\xe0\x00\x10", b"\x7f\xe0\x00\x08", b"\x7f\xe0\x00\x09")


class NotDicomError(Exception):
    """The file is not DICOM (skipped and counted, not reported)."""


class BadFileError(Exception):
    """The file is DICOM but damaged or unusable; reported by name.

    ``series_uid`` is set when the header could be read, so the series is marked incomplete.
    """

    def __init__(self, message: str, series_uid: str | None = None) -> None:
        super().__init__(message)
        self.series_uid = series_uid


class NonImageError(Exception):
    """A valid DICOM object without an image (report, plan, DICOMDIR, ...)."""


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """Everything the loader needs about one 2-D image, without its pixels.

    Notes
    -----
    ``orientation`` is (0020,0037) Image Orientation (Patient): the LPS direction of a row
    (increasing column index) then of a column (increasing row index). ``position`` is
    (0020,0032) Image Position (Patient), the LPS centre of the first pixel, in mm.
    ``pixel_spacing`` is (0028,0030) in DICOM order: (between rows, between columns) in mm.
    """

    path: str
    frame: int | None
    series_uid: str
    study_uid: str
    sop_class_uid: str
    modality: str
    image_type: tuple[str, ...]
    description: str
    date: str
    series_number: int | None
    acquisition_number: int | None
    instance_number: int | None
    rows: int
    columns: int
    n_frames: int
    pixel_spacing: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    position: tuple[float, float, float] | None
    thickness: float | None
    spacing_between: float | None
    kernel: str
    body_part: str
    slope: float
    intercept: float
    rescale_missing: bool
    rescale_type: str
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    photometric: str
    padding: int | None
    padding_limit: int | None
    transfer_syntax: str
    value_offset: int | None  # file offset of the first byte of native pixel data
    patient: PatientInfo = field(repr=False, compare=False, default_factory=PatientInfo)
    # file offset of the first item of encapsulated pixel data (set by the lean reader only)
    encapsulated_offset: int | None = field(default=None, compare=False)

    @property
    def is_native(self) -> bool:
        return self.value_offset is not None

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * self.samples_per_pixel * self.bits_allocated // 8


def _text(ds: Any, name: str) -> str:
    try:
        value = ds.get(name)
    except Exception:  # malformed value: treat as absent
        return ""
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Any, name: str) -> int | None:
    try:
        value = ds.get(name)
        return None if value is None or value == "" else int(value)
    except Exception:
        return None


def _floats(ds: Any, name: str, n: int) -> tuple[float, ...] | None:
    try:
        value = ds.get(name)
        if value is None:
            return None
        out = tuple(float(v) for v in value)
    except Exception:
        return None
    return out if len(out) == n else None


def _float(ds: Any, name: str) -> float | None:
    try:
        value = ds.get(name)
        return None if value is None or value == "" else float(value)
    except Exception:
        return None


def _patient(ds: Any) -> PatientInfo:
    return PatientInfo(
        patient_name=_text(ds, "PatientName"),
        patient_id=_text(ds, "PatientID"),
        birth_date=_text(ds, "PatientBirthDate"),
        sex=_text(ds, "PatientSex"),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        institution=_text(ds, "InstitutionName"),
        position=_text(ds, "PatientPosition"),
    )


def _looks_like_raw_dicom(head: bytes) -> bool:
    """A file without preamble that starts with a group 0002/0008 tag (LE or BE)."""
    if len(head) < 8:
        return False
    group_le = struct.unpack("<H", head[:2])[0]
    group_be = struct.unpack(">H", head[:2])[0]
    return group_le in (0x0002, 0x0008) or group_be in (0x0002, 0x0008)


def _read_dataset(fp: Any, path: Path) -> Any:
    head = fp.read(132)
    fp.seek(0)
    if head[128:132] != b"DICM" and not _looks_like_raw_dicom(head[:8]):
        raise NotDicomError(str(path))  # decided without importing pydicom
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(fp, stop_before_pixels=True)
    except InvalidDicomError:
        fp.seek(0)
        if not _looks_like_raw_dicom(fp.read(8)):
            raise NotDicomError(str(path)) from None
        fp.seek(0)
        try:
            return pydicom.dcmread(fp, stop_before_pixels=True, force=True)
        except Exception as exc:
            raise BadFileError(f"no DICOM file header and unreadable content ({exc})") from exc
    except Exception as exc:  # pydicom raises many types on damaged headers
        raise BadFileError(f"damaged DICOM header ({type(exc).__name__}: {exc})") from exc


def _transfer_syntax(ds: Any) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if ts:
        return ts
    # no (0002,0010): use the encoding pydicom detected while parsing the data set
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit is None:
        return ""
    if implicit:
        return IMPLICIT_LE
    return EXPLICIT_LE if little else EXPLICIT_BE


def _pixel_value_offset(fp: Any, ts: str, frames_bytes: int) -> tuple[bool, int | None]:
    """(has pixel data, offset of native pixel bytes or None) at the position pydicom stopped.

    Raises BadFileError when native pixel data is shorter than the header claims.
    """
    if ts == DEFLATED_LE:  # the file position is inside the inflated stream: decode later
        return True, None
    pos = fp.tell()
    head = fp.read(12)
    big = ts == EXPLICIT_BE
    tags = _PIXEL_TAGS_BE if big else _PIXEL_TAGS_LE
    if len(head) < 8 or head[:4] not in tags:
        return False, None
    if head[:4] != tags[0]:
        raise BadFileError("float or double float pixel data is not supported for CT")
    if ts not in NATIVE_SYNTAXES:
        return True, None
    fmt = ">" if big else "<"
    if ts == IMPLICIT_LE:
        length, start = struct.unpack("<I", head[4:8])[0], pos + 8
    else:
        length, start = struct.unpack(fmt + "I", head[8:12])[0], pos + 12
    if length == 0xFFFFFFFF:
        return True, None  # encapsulated despite a native syntax: let pydicom sort it out
    available = min(length, os.fstat(fp.fileno()).st_size - start)
    if available < frames_bytes:
        raise BadFileError(
            f"truncated: the pixel data holds {available} of the {frames_bytes} bytes "
            "its header claims"
        )
    return True, start


def read_file_headers(path: str | Path) -> list[FrameHeader]:
    """All image headers of one file (one per frame).

    Raises
    ------
    NotDicomError, NonImageError, BadFileError
        Not DICOM (skip and count); DICOM without an image; damaged or unusable (report).
    """
    p = Path(path)
    try:
        fp = open(p, "rb")  # noqa: SIM115 - closed below; read-only, never modifies the file
    except OSError as exc:
        raise BadFileError(f"cannot open ({exc.strerror})") from exc
    with fp:
        ds = _read_dataset(fp, p)
        try:
            return _headers_of(ds, fp, p)
        except BadFileError as exc:
            exc.series_uid = _text(ds, "SeriesInstanceUID")
            raise


def _headers_of(ds: Any, fp: Any, p: Path) -> list[FrameHeader]:
    ts = _transfer_syntax(ds)
    ts_in_meta = "TransferSyntaxUID" in getattr(ds, "file_meta", {})
    sop_class = _text(ds, "SOPClassUID") or _text(
        getattr(ds, "file_meta", {}), "MediaStorageSOPClassUID"
    )
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise NonImageError("DICOMDIR")
    rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
    n_frames = _int(ds, "NumberOfFrames") or 1
    bits = _int(ds, "BitsAllocated") or 0
    spp = _int(ds, "SamplesPerPixel") or 1
    if not rows or not cols:
        if len(ds) < 3:
            missing_ts = "" if ts_in_meta else "no Transfer Syntax UID in its file meta and "
            raise BadFileError(
                f"{missing_ts}no image attributes (Rows, Columns) could be read: the header is "
                "missing or damaged"
            )
        raise NonImageError(_text(ds, "Modality") or "no image")
    if rows * cols * max(n_frames, 1) > MAX_FILE_VOXELS or rows > 32768 or cols > 32768:
        raise BadFileError(
            f"claims {rows} x {cols} pixels x {n_frames} frames, past the limit of "
            f"{MAX_FILE_VOXELS} voxels per object; refused before reading"
        )
    if not ts:
        raise BadFileError("no Transfer Syntax UID and the encoding could not be detected")
    if bits not in (8, 16, 32):
        raise BadFileError(f"Bits Allocated {bits} is not supported")
    has_pixels, offset = _pixel_value_offset(fp, ts, rows * cols * spp * n_frames * bits // 8)
    if not has_pixels:
        raise NonImageError("no pixel data")
    return _frames_from_dataset(ds, str(p), ts, offset, n_frames)


def _common(ds: Any, path: str, ts: str, offset: int | None, n_frames: int) -> dict[str, Any]:
    padding = _int(ds, "PixelPaddingValue")
    return {
        "path": path,
        "series_uid": _text(ds, "SeriesInstanceUID"),
        "study_uid": _text(ds, "StudyInstanceUID"),
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "modality": _text(ds, "Modality").upper(),
        "image_type": tuple(v for v in _text(ds, "ImageType").upper().split("\\") if v),
        "description": _text(ds, "SeriesDescription"),
        "date": _text(ds, "SeriesDate") or _text(ds, "StudyDate"),
        "series_number": _int(ds, "SeriesNumber"),
        "acquisition_number": _int(ds, "AcquisitionNumber"),
        "instance_number": _int(ds, "InstanceNumber"),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "n_frames": n_frames,
        "kernel": _text(ds, "ConvolutionKernel"),
        "body_part": _text(ds, "BodyPartExamined"),
        "bits_allocated": int(_int(ds, "BitsAllocated") or 16),
        "bits_stored": int(_int(ds, "BitsStored") or _int(ds, "BitsAllocated") or 16),
        "pixel_representation": int(_int(ds, "PixelRepresentation") or 0),
        "samples_per_pixel": int(_int(ds, "SamplesPerPixel") or 1),
        "photometric": _text(ds, "PhotometricInterpretation").upper(),
        "padding": padding,
        "padding_limit": _int(ds, "PixelPaddingRangeLimit") if padding is not None else None,
        "transfer_syntax": ts,
        "value_offset": offset,
        "patient": _patient(ds),
    }


def rescale_values(
    slope: float | None, intercept: float | None
) -> tuple[float, float, bool]:
    """(slope, intercept, missing?) from (0028,1053) and (0028,1052) as read.

    A missing or zero slope becomes 1 and a missing intercept 0 (flagged as missing). Values
    that are not finite are kept as they are: the loader refuses or repairs those slices
    with a warning, never turns them into silent numbers.
    """
    missing = slope is None or intercept is None
    return (
        1.0 if slope is None or slope == 0 else slope,
        0.0 if intercept is None else intercept,
        missing,
    )


def _rescale(item: Any) -> tuple[float, float, bool, str]:
    slope, intercept, missing = rescale_values(
        _float(item, "RescaleSlope"), _float(item, "RescaleIntercept")
    )
    return slope, intercept, missing, _text(item, "RescaleType").upper()


def _frames_from_dataset(
    ds: Any, path: str, ts: str, offset: int | None, n_frames: int
) -> list[FrameHeader]:
    common = _common(ds, path, ts, offset, n_frames)
    if "PerFrameFunctionalGroupsSequence" in ds:
        from planner.dicom.enhanced import enhanced_frames

        return [FrameHeader(**common, **f) for f in enhanced_frames(ds, n_frames)]
    slope, intercept, missing, rtype = _rescale(ds)
    geo: dict[str, Any] = {
        "pixel_spacing": _floats(ds, "PixelSpacing", 2),
        "orientation": _floats(ds, "ImageOrientationPatient", 6),
        "position": _floats(ds, "ImagePositionPatient", 3),
        "thickness": _float(ds, "SliceThickness"),
        "spacing_between": _float(ds, "SpacingBetweenSlices"),
        "slope": slope,
        "intercept": intercept,
        "rescale_missing": missing,
        "rescale_type": rtype,
    }
    if n_frames == 1:
        return [FrameHeader(frame=None, **common, **geo)]
    # classic multi-frame without per-frame positions: frames cannot be placed in space
    geo["position"] = None
    return [FrameHeader(frame=i, **common, **geo) for i in range(n_frames)]
