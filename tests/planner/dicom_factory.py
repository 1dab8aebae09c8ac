"""Synthetic DICOM CT series written with pydicom into a test folder.

Every pixel holds a known linear function of its LPS position (``hu_at``), so a loaded volume
can be checked voxel by voxel: the value at voxel (i, j, k) must equal ``hu_at`` of the LPS
position the affine gives it. A linear field is reproduced exactly by (tri)linear resampling, so
the same check holds for tilted and unevenly spaced stacks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

WRITABLE_SYNTAXES = (
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
    RLELossless,
    JPEG2000Lossless,
    JPEGLSLossless,
)
GRADIENT_HU_PER_MM = np.array([6.0, -4.0, 3.0])  # asymmetric: any flip or swap changes values


def hu_at(lps: np.ndarray) -> np.ndarray:
    """The synthetic HU field: linear in LPS mm."""
    return np.asarray(lps, dtype=np.float64) @ GRADIENT_HU_PER_MM + 100.0


# (0020,0037) for the four standard patient positions, axial slices (PS3.3 C.7.6.2.1.1)
ORIENTATIONS = {
    "HFS": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    "FFS": (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    "HFP": (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0),
    "FFP": (1.0, 0.0, 0.0, 0.0, -1.0, 0.0),
}


@dataclass
class SyntheticSeries:
    folder: Path
    paths: list[Path]
    series_uid: str
    positions: np.ndarray  # (n, 3) LPS of each written slice, in writing order
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]


def _base_dataset(series_uid: str, study_uid: str, modality: str, sop_class: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.PatientName = "Synthetic^Phantom"
    ds.PatientID = "SYN-0001"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 3
    ds.SeriesDescription = "synthetic"
    ds.StudyDate = ds.SeriesDate = "20240101"
    ds.FrameOfReferenceUID = generate_uid()
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds


def write_series(
    folder: Path,
    *,
    n: int = 20,
    rows: int = 64,
    cols: int = 64,
    pixel_spacing: tuple[float, float] = (0.8, 0.8),
    step_mm: float = 2.0,
    orientation: Sequence[float] = ORIENTATIONS["HFS"],
    origin: Sequence[float] = (-25.0, -20.0, 10.0),
    stack_dir: Sequence[float] | None = None,
    depths_mm: Sequence[float] | None = None,
    series_uid: str | None = None,
    study_uid: str | None = None,
    modality: str = "CT",
    sop_class: str = CTImageStorage,
    image_type: str = "ORIGINAL\\PRIMARY\\AXIAL",
    transfer_syntax: str = ExplicitVRLittleEndian,
    slope: float = 1.0,
    intercept: float = -1024.0,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    padding_value: int | None = None,
    pad_corner: bool = False,
    names: str = "shuffled",
    field: Callable[[np.ndarray], np.ndarray] = hu_at,
    omit: Sequence[str] = (),
    prefix: str = "",
    seed: int = 0,
    thickness_mm: float | None = None,
) -> SyntheticSeries:
    """Write one series; slice k sits at ``origin + depth_k * stack_dir``.

    ``stack_dir`` defaults to the slice normal; pass another direction for gantry tilt.
    ``names``: "shuffled" (random file names), "reversed" (names in reverse spatial order) or
    "ordered". ``thickness_mm``: Slice Thickness (default: the slice step).
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid() if series_uid is None else series_uid
    study_uid = study_uid or generate_uid()
    o = np.asarray(orientation, dtype=np.float64)
    r, c = o[:3], o[3:]
    normal = np.cross(r, c)
    sdir = normal if stack_dir is None else np.asarray(stack_dir, dtype=np.float64)
    depths = (
        np.arange(n) * step_mm if depths_mm is None else np.asarray(depths_mm, dtype=np.float64)
    )
    positions = np.asarray(origin, dtype=np.float64) + depths[:, None] * sdir[None, :]
    order = list(range(len(depths)))
    rng = random.Random(seed)
    if names == "shuffled":
        labels = [f"{prefix}{rng.getrandbits(40):010x}.dcm" for _ in order]
    elif names == "reversed":
        labels = [f"{prefix}IM{len(order) - k:04d}" for k in order]
    else:
        labels = [f"{prefix}IM{k + 1:04d}" for k in order]
    jj, ii = np.mgrid[0:rows, 0:cols]
    paths = []
    for k in order:
        lps = (
            positions[k]
            + ii[..., None] * pixel_spacing[1] * r
            + jj[..., None] * pixel_spacing[0] * c
        )
        hu = np.rint(field(lps))
        stored = np.rint((hu - intercept) / slope)
        if pad_corner and padding_value is not None:
            stored[:4, :4] = padding_value
        ds = _base_dataset(series_uid, study_uid, modality, sop_class)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = 1000 - k if names != "ordered" else k + 1  # misleading on purpose
        ds.SliceLocation = float(-positions[k][2])  # misleading on purpose
        ds.ImageType = image_type
        ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in o]
        ds.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
        ds.SliceThickness = f"{step_mm if thickness_mm is None else thickness_mm:.3f}"
        ds.Rows, ds.Columns = rows, cols
        ds.PhotometricInterpretation = photometric
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = f"{intercept:g}"
        ds.RescaleType = "HU"
        ds.ConvolutionKernel = "B30f"
        ds.BodyPartExamined = "SPINE"
        if padding_value is not None:
            ds.PixelPaddingValue = int(padding_value)
        dtype = np.int16 if signed else np.uint16
        info = np.iinfo(dtype)
        assert stored.min() >= info.min and stored.max() <= info.max, "stored values out of range"
        arr = stored.astype(dtype)
        for name in omit:
            if name in ds:
                delattr(ds, name)
        path = folder / labels[k]
        _save(ds, arr, path, transfer_syntax)
        paths.append(path)
    return SyntheticSeries(folder, paths, series_uid, positions, tuple(o), tuple(pixel_spacing))


def _save(ds: Dataset, arr: np.ndarray, path: Path, ts: str) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = arr.tobytes()
    if ts in (RLELossless, JPEG2000Lossless, JPEGLSLossless):
        ds.compress(ts, arr)
    elif ts == ExplicitVRBigEndian:
        ds.file_meta.TransferSyntaxUID = ts
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        ds["PixelData"].VR = "OW"
    else:
        ds.file_meta.TransferSyntaxUID = ts
    ds.preamble = b"\0" * 128
    little = ts != ExplicitVRBigEndian
    implicit = ts == ImplicitVRLittleEndian
    pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=little, enforce_file_format=True)


def write_localizer(folder: Path, study_uid: str, n: int = 2) -> Path:
    """A 2-image localizer (coronal), as scanners put in the study folder."""
    s = write_series(
        folder,
        n=n,
        rows=32,
        cols=64,
        orientation=(1, 0, 0, 0, 0, -1),
        step_mm=1.0,
        image_type="ORIGINAL\\PRIMARY\\LOCALIZER",
        study_uid=study_uid,
        prefix="loc_",
        field=lambda p: np.zeros(p.shape[:-1]),
    )
    return s.paths[0]


def write_secondary_capture(folder: Path, study_uid: str) -> Path:
    """A screenshot labelled CT (secondary capture SOP class), as PACS exports often contain."""
    s = write_series(
        folder,
        n=30,
        rows=16,
        cols=16,
        sop_class=SecondaryCaptureImageStorage,
        image_type="DERIVED\\SECONDARY",
        study_uid=study_uid,
        prefix="sc_",
        field=lambda p: np.zeros(p.shape[:-1]),
    )
    return s.paths[0]


def expected_volume(vol_ijk_to_lps: np.ndarray, shape_kji: tuple[int, int, int]) -> np.ndarray:
    """``hu_at`` evaluated at every voxel centre of a grid: the HU a correct loader produces."""
    k, j, i = np.indices(shape_kji)
    ijk = np.stack([i, j, k], axis=-1).astype(np.float64)
    lps = ijk @ vol_ijk_to_lps[:3, :3].T + vol_ijk_to_lps[:3, 3]
    return hu_at(lps)
