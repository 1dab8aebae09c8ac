"""A lean reader for the common case: one uncompressed little-endian CT image per file.

Reads the first bytes of a Part 10 file (preamble, "DICM", group 0002) and walks the data set
element by element, decoding only the ~40 tags the loader needs and skipping everything else by
its length (sequences included), until (7FE0,0010) Pixel Data, whose value offset is recorded.
This avoids building a full pydicom Dataset per file, which was 75-80 % of the load time of a
300-image series.

Compressed (encapsulated) images get their header here too; their pixels are decoded later by
pydicom's plugins. Anything unusual returns None and the caller falls back to pydicom: big
endian or deflated syntaxes, no "DICM" marker, a character set other than ASCII, Latin-1
or UTF-8, Enhanced/multi-frame objects, DICOMDIRs, encapsulated or float pixel data, or any
inconsistency in the byte stream. The result is the same :class:`FrameHeader` either way (a test
compares both readers on every syntax the factory writes and on the shared real data).
"""

from __future__ import annotations

import os
import struct
from dataclasses import replace
from typing import Any

from planner.dicom.headers import EXPLICIT_LE, IMPLICIT_LE, FrameHeader
from planner.volume import PatientInfo

_HEAD_BYTES = 16384
_MAX_HEADER_BYTES = 1 << 20
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
# JPEG family (1.2.840.10008.1.2.4.x), RLE (.1.2.5) and HTJ2K (.1.2.4.201+): explicit VR LE
# data sets with encapsulated pixel data, decoded later by pydicom's plugins
_ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")

# tag -> (name, kind): kind "s" text, "ds" decimal strings, "is" integer string, "us" binary
_WANTED: dict[int, tuple[str, str]] = {
    0x00080005: ("SpecificCharacterSet", "s"),
    0x00080008: ("ImageType", "s"),
    0x00080016: ("SOPClassUID", "s"),
    0x00080020: ("StudyDate", "s"),
    0x00080021: ("SeriesDate", "s"),
    0x00080060: ("Modality", "s"),
    0x00080080: ("InstitutionName", "s"),
    0x00081030: ("StudyDescription", "s"),
    0x0008103E: ("SeriesDescription", "s"),
    0x00100010: ("PatientName", "s"),
    0x00100020: ("PatientID", "s"),
    0x00100030: ("PatientBirthDate", "s"),
    0x00100040: ("PatientSex", "s"),
    0x00180015: ("BodyPartExamined", "s"),
    0x00180050: ("SliceThickness", "ds"),
    0x00180088: ("SpacingBetweenSlices", "ds"),
    0x00181210: ("ConvolutionKernel", "s"),
    0x00185100: ("PatientPosition", "s"),
    0x0020000D: ("StudyInstanceUID", "s"),
    0x0020000E: ("SeriesInstanceUID", "s"),
    0x00200011: ("SeriesNumber", "is"),
    0x00200012: ("AcquisitionNumber", "is"),
    0x00200013: ("InstanceNumber", "is"),
    0x00200032: ("ImagePositionPatient", "ds"),
    0x00200037: ("ImageOrientationPatient", "ds"),
    0x00280002: ("SamplesPerPixel", "us"),
    0x00280004: ("PhotometricInterpretation", "s"),
    0x00280008: ("NumberOfFrames", "is"),
    0x00280010: ("Rows", "us"),
    0x00280011: ("Columns", "us"),
    0x00280030: ("PixelSpacing", "ds"),
    0x00280100: ("BitsAllocated", "us"),
    0x00280101: ("BitsStored", "us"),
    0x00280103: ("PixelRepresentation", "us"),
    0x00280120: ("PixelPaddingValue", "xs"),
    0x00280121: ("PixelPaddingRangeLimit", "xs"),
    0x00281052: ("RescaleIntercept", "ds"),
    0x00281053: ("RescaleSlope", "ds"),
    0x00281054: ("RescaleType", "s"),
}
_FALLBACK_TAGS = frozenset({0x00041220, 0x52009229, 0x52009230})  # DICOMDIR, Enhanced CT
_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}


class _Fallback(Exception):
    """Not the common case: let pydicom read this file."""


class _Reader:
    """Little-endian element walker over a growing buffer of the file's first bytes."""

    def __init__(self, fd: int, buf: bytes, implicit: bool, encapsulated: bool) -> None:
        self.fd, self.buf, self.implicit = fd, buf, implicit
        self.encapsulated = encapsulated

    def need(self, end: int) -> None:
        if end <= len(self.buf):
            return
        if end > _MAX_HEADER_BYTES:
            raise _Fallback
        more = os.pread(self.fd, max(end - len(self.buf), _HEAD_BYTES), len(self.buf))
        self.buf += more
        if end > len(self.buf):
            raise _Fallback  # truncated: pydicom reports it properly

    def element(self, pos: int) -> tuple[int, bytes, int, int]:
        """(tag, VR or b'', value length, value offset) of the element at ``pos``."""
        self.need(pos + 8)
        group, elem = struct.unpack_from("<HH", self.buf, pos)
        tag = (group << 16) | elem
        if group == 0xFFFE:
            return tag, b"", struct.unpack_from("<I", self.buf, pos + 4)[0], pos + 8
        if self.implicit:
            return tag, b"", struct.unpack_from("<I", self.buf, pos + 4)[0], pos + 8
        vr = self.buf[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            self.need(pos + 12)
            return tag, vr, struct.unpack_from("<I", self.buf, pos + 8)[0], pos + 12
        if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
            raise _Fallback
        return tag, vr, struct.unpack_from("<H", self.buf, pos + 6)[0], pos + 8

    def skip_undefined(self, pos: int, depth: int = 0) -> int:
        """Offset after an undefined-length sequence or item whose value starts at ``pos``."""
        if depth > 8:
            raise _Fallback
        while True:
            tag, _vr, length, start = self.element(pos)
            if tag in (_SEQ_END, _ITEM_END):
                return start
            if length == _UNDEFINED:
                pos = self.skip_undefined(start, depth + 1)
            else:
                pos = start + length


def _walk_meta(buf: bytes) -> tuple[str, int]:
    """(transfer syntax, offset of the data set) from group 0002 (always explicit VR LE)."""
    pos, ts = 132, ""
    while pos + 8 <= len(buf):
        group, elem = struct.unpack_from("<HH", buf, pos)
        if group != 0x0002:
            return ts, pos
        vr = buf[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            length, start = struct.unpack_from("<I", buf, pos + 8)[0], pos + 12
        else:
            length, start = struct.unpack_from("<H", buf, pos + 6)[0], pos + 8
        if elem == 0x0010:
            ts = buf[start : start + length].decode("ascii", "replace").strip("\0 ")
        pos = start + length
    raise _Fallback


def _decode_value(raw: bytes, kind: str, vr: bytes, codec: str, signed: bool) -> Any:
    if kind in ("us", "xs"):
        if len(raw) < 2:
            return None
        fmt = "<h" if (vr == b"SS" or (kind == "xs" and not vr and signed)) else "<H"
        return struct.unpack_from(fmt, raw)[0]
    text = raw.decode(codec, "replace").rstrip("\0 ").lstrip()
    parts = [p.strip() for p in text.split("\\")]
    if kind == "s":
        return "\\".join(parts)
    if not text:
        return None
    try:
        if kind == "is":
            return int(float(parts[0])) if len(parts) == 1 else None
        return tuple(float(p) for p in parts)
    except ValueError:
        return None


def _collect(r: _Reader, pos: int) -> tuple[dict[str, Any], int, int]:
    """(wanted values, pixel value offset, pixel value length) walking from ``pos``."""
    found: dict[str, tuple[bytes, bytes, str]] = {}
    while True:
        tag, vr, length, start = r.element(pos)
        if tag == _PIXEL_DATA:
            if vr not in (b"", b"OW", b"OB") or (length == _UNDEFINED) != r.encapsulated:
                raise _Fallback
            break
        if tag in _FALLBACK_TAGS or tag > _PIXEL_DATA:
            raise _Fallback
        if length == _UNDEFINED:
            if vr not in (b"", b"SQ"):
                raise _Fallback  # e.g. UN holding an implicit-VR sequence
            pos = r.skip_undefined(start)
            continue
        want = _WANTED.get(tag)
        if want is not None:
            r.need(start + length)
            found[want[0]] = (r.buf[start : start + length], vr, want[1])
        pos = start + length
    cs = found.get("SpecificCharacterSet")
    charset = cs[0].decode("ascii", "replace").strip("\0 ").split("\\")[0].strip() if cs else ""
    codec = _CHARSETS.get(charset.upper())
    if codec is None:
        raise _Fallback
    signed = (
        bool(found.get("PixelRepresentation"))
        and _decode_value(
            found["PixelRepresentation"][0], "us", found["PixelRepresentation"][1], codec, False
        )
        == 1
    )
    values = {
        name: _decode_value(raw, kind, vr, codec, signed) for name, (raw, vr, kind) in found.items()
    }
    return values, start, length


def _text(v: dict[str, Any], name: str) -> str:
    value = v.get(name)
    return "" if value is None else str(value).strip()


def _n(v: dict[str, Any], name: str, n: int) -> tuple[float, ...] | None:
    value = v.get(name)
    return value if value is not None and len(value) == n else None


def _one(v: dict[str, Any], name: str) -> float | None:
    value = _n(v, name, 1)
    return None if value is None else value[0]


def _frame_header(path: str, v: dict[str, Any], offset: int | None, ts: str) -> FrameHeader:
    from planner.dicom.headers import rescale_values

    slope, intercept, missing = rescale_values(_one(v, "RescaleSlope"), _one(v, "RescaleIntercept"))
    bits = v.get("BitsAllocated") or 16
    padding = v.get("PixelPaddingValue")
    return FrameHeader(
        path=path,
        frame=None,
        series_uid=_text(v, "SeriesInstanceUID"),
        study_uid=_text(v, "StudyInstanceUID"),
        sop_class_uid=_text(v, "SOPClassUID"),
        modality=_text(v, "Modality").upper(),
        image_type=tuple(t for t in _text(v, "ImageType").upper().split("\\") if t),
        description=_text(v, "SeriesDescription"),
        date=_text(v, "SeriesDate") or _text(v, "StudyDate"),
        series_number=v.get("SeriesNumber"),
        acquisition_number=v.get("AcquisitionNumber"),
        instance_number=v.get("InstanceNumber"),
        rows=int(v["Rows"]),
        columns=int(v["Columns"]),
        n_frames=1,
        pixel_spacing=_n(v, "PixelSpacing", 2),  # type: ignore[arg-type]
        orientation=_n(v, "ImageOrientationPatient", 6),
        position=_n(v, "ImagePositionPatient", 3),  # type: ignore[arg-type]
        thickness=_one(v, "SliceThickness"),
        spacing_between=_one(v, "SpacingBetweenSlices"),
        kernel=_text(v, "ConvolutionKernel"),
        body_part=_text(v, "BodyPartExamined"),
        slope=slope,
        intercept=intercept,
        rescale_missing=missing,
        rescale_type=_text(v, "RescaleType").upper(),
        bits_allocated=int(bits),
        bits_stored=int(v.get("BitsStored") or bits),
        pixel_representation=int(v.get("PixelRepresentation") or 0),
        samples_per_pixel=int(v.get("SamplesPerPixel") or 1),
        photometric=_text(v, "PhotometricInterpretation").upper(),
        padding=padding,
        padding_limit=v.get("PixelPaddingRangeLimit") if padding is not None else None,
        transfer_syntax=ts,
        value_offset=offset,
        patient=PatientInfo(
            patient_name=_text(v, "PatientName"),
            patient_id=_text(v, "PatientID"),
            birth_date=_text(v, "PatientBirthDate"),
            sex=_text(v, "PatientSex"),
            study_date=_text(v, "StudyDate"),
            study_description=_text(v, "StudyDescription"),
            institution=_text(v, "InstitutionName"),
            position=_text(v, "PatientPosition"),
        ),
    )


def fast_frame_header(path: str) -> FrameHeader | None:
    """The header of a plain single-frame little-endian image, or None (use pydicom)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        buf = os.pread(fd, _HEAD_BYTES, 0)
        if len(buf) < 144 or buf[128:132] != b"DICM":
            return None
        ts, pos = _walk_meta(buf)
        encapsulated = ts.startswith(_ENCAPSULATED_PREFIXES)
        if ts not in (IMPLICIT_LE, EXPLICIT_LE) and not encapsulated:
            return None
        r = _Reader(fd, buf, ts == IMPLICIT_LE, encapsulated)
        values, offset, length = _collect(r, pos)
        rows, cols = values.get("Rows"), values.get("Columns")
        bits = values.get("BitsAllocated")
        frames = values.get("NumberOfFrames")
        if not rows or not cols or bits not in (8, 16, 32) or (frames or 1) != 1:
            return None
        spp = values.get("SamplesPerPixel") or 1
        if rows > 32768 or cols > 32768:
            return None  # oversized: the pydicom path words the refusal
        if encapsulated:
            return replace(_frame_header(path, values, None, ts), encapsulated_offset=offset)
        if min(length, os.fstat(fd).st_size - offset) < rows * cols * spp * bits // 8:
            return None  # truncated: the pydicom path words the refusal
        return _frame_header(path, values, offset, ts)
    except (_Fallback, struct.error, ValueError, OSError, TypeError):
        return None
    finally:
        os.close(fd)
