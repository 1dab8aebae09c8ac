"""Pixel decoding straight into a preallocated int16 Hounsfield-unit array.

Uncompressed (native) images are read with ``readinto`` from the file offset recorded during the
header scan: no second header parse, no intermediate full-volume copy. Compressed images (JPEG
2000, JPEG-LS, JPEG lossless, RLE, deflate) are decoded by pydicom's decoder plugins
(pylibjpeg-openjpeg, pyjpegls, python-gdcm), also in worker processes
(:mod:`planner.dicom.decode_workers`), which claim images one at a time with this process and
write them straight into the output volume (a shared mapping made by :func:`decode_volume`).

HU = stored value x (0028,1053) Rescale Slope + (0028,1052) Rescale Intercept, per slice.
Stored values are masked / sign-extended to (0028,0101) Bits Stored according to (0028,0103)
Pixel Representation. Pixels equal to (0028,0120) Pixel Padding Value (or within the range up
to (0028,0121) Pixel Padding Range Limit) become air. (0028,0004) MONOCHROME1 only changes how
values are displayed (PS3.3 C.7.6.3.1.2); the rescaled values are HU either way and are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.dicom.headers import EXPLICIT_BE, FrameHeader
from planner.progress import Progress, report

log = logging.getLogger(__name__)

AIR_HU = -1000
# Below this many compressed images, starting a worker from a fork server (about 0.5 s: a
# process, numpy and the decoders imported) costs more than it saves (a 512 x 512 JPEG 2000
# image decodes in ~16-25 ms).
PARALLEL_MIN_IMAGES = 48
# ... and when the worker is forked from this single-threaded process (a few tens of ms,
# measured 45-78 ms under a load average of 7 on 2 cores), while this process decodes too.
PARALLEL_MIN_IMAGES_FORKED = 8


@dataclass(frozen=True, slots=True)
class DecodeStats:
    """What decoding found: images that failed (index, reason), clipped and padded pixels."""

    failures: tuple[tuple[int, str], ...]
    clipped: int
    padded: int


def _raw_dtype(h: FrameHeader) -> np.dtype:
    kind = "i" if h.pixel_representation == 1 else "u"
    order = ">" if h.transfer_syntax == EXPLICIT_BE else "<"
    return np.dtype(f"{order}{kind}{h.bits_allocated // 8}")


def _fix_bits(raw: NDArray[Any], h: FrameHeader) -> NDArray[Any]:
    """Mask unused high bits (unsigned) or sign-extend from Bits Stored (signed)."""
    if h.bits_stored >= h.bits_allocated:
        return raw
    if h.pixel_representation == 0:
        masked: NDArray[Any] = raw & np.asarray((1 << h.bits_stored) - 1, dtype=raw.dtype)
        return masked
    shift = h.bits_allocated - h.bits_stored
    out: NDArray[Any] = (raw << shift) >> shift
    return out


def read_native(h: FrameHeader) -> NDArray[Any]:
    """Stored values of one uncompressed image, read from its recorded file offset."""
    assert h.value_offset is not None
    dtype = _raw_dtype(h)
    raw = np.empty((h.rows, h.columns), dtype=dtype)
    with open(h.path, "rb") as fp:
        fp.seek(h.value_offset + (h.frame or 0) * h.frame_bytes)
        n = fp.readinto(memoryview(raw).cast("B"))  # type: ignore[arg-type]
    if n != raw.nbytes:
        raise ValueError(f"truncated: read {n} of {raw.nbytes} pixel bytes")
    return _fix_bits(raw.astype(raw.dtype.newbyteorder("="), copy=False), h)


J2K_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"})
_ITEM_TAG, _SEQ_END_TAG = b"\xfe\xff\x00\xe0", b"\xfe\xff\xdd\xe0"


def _fragments(data: bytes) -> bytes:
    """The codestream of a single-frame encapsulated Pixel Data value (PS3.5 A.4): the basic
    offset table item is skipped, the fragment items are joined."""
    pos, parts = 0, list[bytes]()
    first = True
    while pos + 8 <= len(data):
        tag, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if tag == _SEQ_END_TAG:
            return b"".join(parts)
        if tag != _ITEM_TAG or pos + 8 + length > len(data):
            break
        if not first:
            parts.append(data[pos + 8 : pos + 8 + length])
        first, pos = False, pos + 8 + length
    raise ValueError("encapsulated pixel data is damaged (no sequence delimiter)")


#: (0xFF4F SOC, 0xFF51 SIZ): a raw JPEG 2000 codestream (ISO/IEC 15444-1 A.5.1).
_J2K_START = b"\xff\x4f\xff\x51"
#: Byte offset of the first component's Ssiz (signedness bit 7, precision - 1 in bits 0-6):
#: SOC 2 + SIZ marker 2 + Lsiz 2 + Rsiz 2 + eight 4-byte sizes and offsets 32 + Csiz 2.
_SSIZ0 = 42


def _decode_j2k_codestream(codestream: bytes, rows: int, columns: int) -> NDArray[Any] | None:
    """One single-component codestream decoded by pylibjpeg-openjpeg's extension module
    directly (the package's ``openjpeg.utils.decode`` also parses the header twice more and
    its import reads package metadata, ~60 ms per process); None when it does not apply."""
    if len(codestream) <= _SSIZ0 or not codestream.startswith(_J2K_START):
        return None
    if int.from_bytes(codestream[40:42], "big") != 1:  # Csiz: one component
        return None
    try:
        import _openjpeg
    except ImportError:
        return None
    ssiz = codestream[_SSIZ0]
    nbytes = -(-((ssiz & 0x7F) + 1) // 8)
    if nbytes not in (1, 2, 4):
        return None
    from io import BytesIO

    try:
        code, out = _openjpeg.decode(BytesIO(codestream), 0, as_array=True)
    except TypeError:  # another version of the extension's interface
        return None
    if code != 0:
        raise ValueError(f"JPEG 2000 decoding failed (OpenJPEG error {code})")
    if out.size != rows * columns * nbytes:
        return None
    kind = "i" if ssiz & 0x80 else "u"
    arr: NDArray[Any] = out.view(f"<{kind}{nbytes}").reshape(rows, columns)
    return arr


def read_j2k_direct(h: FrameHeader) -> NDArray[Any] | None:
    """Stored values of a single-frame JPEG 2000 image decoded by OpenJPEG straight from the
    file bytes (no pydicom data set), or None when this shortcut does not apply.

    A codestream whose signedness disagrees with (0028,0103) is reinterpreted at Bits Stored
    precision, as pydicom does.
    """
    if h.encapsulated_offset is None or h.transfer_syntax not in J2K_SYNTAXES or h.n_frames != 1:
        return None
    with open(h.path, "rb") as fp:
        fp.seek(h.encapsulated_offset)
        data = fp.read()
    codestream = _fragments(data)
    arr = _decode_j2k_codestream(codestream, h.rows, h.columns)
    if arr is None:
        try:
            from openjpeg.utils import decode as j2k_decode
        except ImportError:
            return None
        arr = j2k_decode(codestream)
    if arr.shape != (h.rows, h.columns) or arr.dtype.kind not in "iu":
        return None
    if h.pixel_representation == 1 and arr.dtype.kind == "u":
        wide = arr.astype(np.int32)
        wide[wide >= 1 << (h.bits_stored - 1)] -= 1 << h.bits_stored
        return wide
    if h.pixel_representation == 0 and arr.dtype.kind == "i":
        return None
    return arr


def read_with_pydicom(h: FrameHeader) -> NDArray[Any]:
    """Stored values of one image through pydicom's decoders (compressed, deflated, odd files)."""
    import pydicom
    from pydicom.pixels.utils import pixel_array

    ds = pydicom.dcmread(h.path, force=True)
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
        ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = h.transfer_syntax
    arr = pixel_array(ds, index=h.frame) if h.n_frames > 1 else ds.pixel_array
    if arr.shape != (h.rows, h.columns):
        raise ValueError(f"decoded shape {arr.shape} is not {h.rows} x {h.columns}")
    return arr


def to_hu(
    raw: NDArray[Any], h: FrameHeader, out: NDArray[np.int16], pad_fill: int
) -> tuple[int, int]:
    """Write HU of one image into ``out``; returns (clipped pixels, padding pixels)."""
    if _int16_safe(h) and raw.dtype.itemsize == 2 and raw.dtype.isnative:
        clipped = 0
        np.add(raw.view(np.int16), np.int16(int(h.intercept)), out=out)
        hu = None
    elif h.slope == 1.0 and float(h.intercept).is_integer():
        hu = raw.astype(np.int32)
        if h.intercept:
            hu += int(h.intercept)
    else:
        hu = np.rint(raw.astype(np.float32) * np.float32(h.slope) + np.float32(h.intercept))
    if hu is not None:
        lo, hi = hu.min(), hu.max()
        clipped = 0
        if lo < -32768 or hi > 32767:
            clipped = int(np.count_nonzero((hu < -32768) | (hu > 32767)))
            hu = np.clip(hu, -32768, 32767)
        out[...] = hu
    padded = 0
    if h.padding is not None:
        if h.padding_limit is None:
            mask = raw == h.padding
        else:
            a, b = sorted((h.padding, h.padding_limit))
            mask = (raw >= a) & (raw <= b)
        padded = int(np.count_nonzero(mask))
        if padded:
            out[mask] = pad_fill
    return clipped, padded


def _int16_safe(h: FrameHeader) -> bool:
    """True when every possible stored value maps to HU inside int16 with integer arithmetic."""
    if h.slope != 1.0 or not float(h.intercept).is_integer() or h.bits_allocated != 16:
        return False
    bs = min(h.bits_stored, 16)
    lo, hi = (
        (-(1 << (bs - 1)), (1 << (bs - 1)) - 1) if h.pixel_representation else (0, (1 << bs) - 1)
    )
    icpt = int(h.intercept)
    if h.pixel_representation == 0 and bs == 16:
        return False  # values >= 32768 do not fit the int16 view
    return -32768 <= lo + icpt and hi + icpt <= 32767


def _native_in_place(h: FrameHeader, out: NDArray[np.int16], pad_fill: int) -> int:
    """Read one native 16-bit image straight into ``out`` and convert it there (no temporaries).

    Only for images where :func:`_int16_safe` holds; returns the number of padding pixels.
    """
    assert h.value_offset is not None
    with open(h.path, "rb") as fp:
        fp.seek(h.value_offset + (h.frame or 0) * h.frame_bytes)
        n = fp.readinto(memoryview(out).cast("B"))  # type: ignore[arg-type]
    if n != out.nbytes:
        raise ValueError(f"truncated: read {n} of {out.nbytes} pixel bytes")
    if h.transfer_syntax == EXPLICIT_BE:
        out.byteswap(inplace=True)
    if h.bits_stored < 16:
        bits = out.view(np.uint16)
        if h.pixel_representation == 0:
            np.bitwise_and(bits, np.uint16((1 << h.bits_stored) - 1), out=bits)
        else:
            shift = 16 - h.bits_stored
            np.left_shift(out, shift, out=out)
            np.right_shift(out, shift, out=out)
    mask = None
    if h.padding is not None:
        a, b = sorted((h.padding, h.padding if h.padding_limit is None else h.padding_limit))
        mask = (out == a) if a == b else (out >= a) & (out <= b)
    if h.intercept:
        np.add(out, np.int16(int(h.intercept)), out=out)
    padded = 0
    if mask is not None:
        padded = int(np.count_nonzero(mask))
        if padded:
            out[mask] = pad_fill
    return padded


def decode_one(h: FrameHeader, out: NDArray[np.int16], pad_fill: int) -> tuple[int, int]:
    """Decode one image into ``out`` (HU); returns (clipped pixels, padding pixels)."""
    if h.is_native and _int16_safe(h) and out.flags.c_contiguous:
        return 0, _native_in_place(h, out, pad_fill)
    if h.is_native:
        raw = read_native(h)
    else:
        direct = read_j2k_direct(h)
        raw = direct if direct is not None else read_with_pydicom(h)
    return to_hu(raw, h, out, pad_fill)


def decode_serial(
    out: NDArray[np.int16],
    frames: Sequence[FrameHeader],
    index: Sequence[int],
    pad_fill: int,
    progress: Progress | None,
) -> tuple[list[tuple[int, str]], int, int]:
    """Decode the images ``index`` of ``frames`` into ``out`` in this process.

    Returns (failures as (index, message), clipped pixels, padding pixels); a damaged image is
    a failure, never an exception.
    """
    failures: list[tuple[int, str]] = []
    clipped = padded = 0
    for done, k in enumerate(index):
        try:
            c, p = decode_one(frames[k], out[k], pad_fill)
            clipped, padded = clipped + c, padded + p
        except Exception as exc:  # a damaged image: reported by name, never a crash
            failures.append((k, f"{type(exc).__name__}: {exc}"))
        if done % 16 == 0:
            report(progress, done / len(index), f"Reading images {done}/{len(index)}")
    return failures, clipped, padded


def _plan(
    frames: Sequence[FrameHeader], workers: int | None, min_parallel: int | None
) -> tuple[list[int], list[int], int]:
    """(indices decoded here first, indices shared with workers, number of workers)."""
    from planner.dicom import decode_workers as pool

    native = [k for k, h in enumerate(frames) if h.is_native]
    other = [k for k, h in enumerate(frames) if not h.is_native]
    cores = min(workers or pool.cpu_workers(), max(1, len(other) // 2))
    n_workers = cores - 1  # this process decodes too
    if min_parallel is None:
        forked = pool.running() or pool.can_fork()  # a running pool costs nothing to start
        min_parallel = PARALLEL_MIN_IMAGES_FORKED if forked else PARALLEL_MIN_IMAGES
    parallel = n_workers >= 1 and len(other) >= min_parallel
    return (native, other, n_workers) if parallel else (native + other, [], 0)


def _decode_planned(
    out: NDArray[np.int16],
    frames: Sequence[FrameHeader],
    serial: list[int],
    rest: list[int],
    n_workers: int,
    pad_fill: int,
    progress: Progress | None,
) -> DecodeStats:
    total = len(frames)
    sub = progress.sub(0.0, len(serial) / total) if progress is not None and serial else None
    failures, clipped, padded = decode_serial(out, frames, serial, pad_fill, sub)
    if rest:
        from planner.dicom import decode_workers as pool

        sub = progress.sub(len(serial) / total, 1.0) if progress is not None else None
        f, c, p = pool.decode_parallel(out, frames, rest, pad_fill, n_workers, sub)
        failures, clipped, padded = failures + f, clipped + c, padded + p
    report(progress, 1.0, "Images decoded")
    return DecodeStats(tuple(sorted(failures)), clipped, padded)


def decode_into(
    out: NDArray[np.int16],
    frames: Sequence[FrameHeader],
    pad_fill: int = AIR_HU,
    progress: Progress | None = None,
    workers: int | None = None,
    min_parallel: int | None = None,
) -> DecodeStats:
    """Decode ``frames[k]`` into ``out[k]`` (HU, int16).

    Native images are read in this process (they are I/O bound); compressed ones also in
    ``workers - 1`` worker processes (default: one per CPU, this process counting as one)
    when there are at least ``min_parallel`` of them (default :data:`PARALLEL_MIN_IMAGES`, or
    :data:`PARALLEL_MIN_IMAGES_FORKED` when workers are forked from this process). Workers
    write into a shared file, copied into ``out`` at the end unless ``out`` came from
    :func:`decode_volume`'s allocator. A worker process that dies costs only its current
    image, reported as a failure when it kills a second worker alone.
    """
    serial, rest, n_workers = _plan(frames, workers, min_parallel)
    return _decode_planned(out, frames, serial, rest, n_workers, pad_fill, progress)


def decode_volume(
    frames: Sequence[FrameHeader],
    pad_fill: int = AIR_HU,
    progress: Progress | None = None,
    workers: int | None = None,
    min_parallel: int | None = None,
) -> tuple[NDArray[np.int16], DecodeStats]:
    """A new int16 HU array ``[k, j, i]`` holding ``frames[k]`` (same rows and columns).

    When worker processes decode, the array is a mapping of their shared file, so their
    images are written in place and never copied (see :func:`decode_into`).
    """
    shape = (len(frames), frames[0].rows, frames[0].columns)
    serial, rest, n_workers = _plan(frames, workers, min_parallel)
    if not rest:
        out = np.empty(shape, dtype=np.int16)
        return out, _decode_planned(out, frames, serial, rest, n_workers, pad_fill, progress)
    from planner.dicom import decode_workers as pool

    out, shared = pool.new_output(shape)
    try:
        return out, _decode_planned(out, frames, serial, rest, n_workers, pad_fill, progress)
    finally:
        shared.release()
