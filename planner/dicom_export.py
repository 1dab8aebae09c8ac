"""Write a :class:`~planner.volume.CTVolume` as a DICOM CT image series (one file per slice).

Notes
-----
Files are CT Image Storage, Explicit VR Little Endian. Geometry comes from the volume's one
``ijk_to_lps`` affine: (0020,0037) Image Orientation (Patient) = the LPS directions of i (along a
row) and j (down a column); (0020,0032) Image Position (Patient) = LPS of voxel (0, 0, k);
(0028,0030) Pixel Spacing = [spacing along j, spacing along i] (row spacing first, PS3.3
C.7.6.2.1.1); (0018,0050) Slice Thickness and (0018,0088) Spacing Between Slices = spacing along
k. Pixels are stored unsigned with (0028,1052) Rescale Intercept -1024 and slope 1 (the common
scanner convention), or signed with intercept 0 when ``signed=True``. Every UID is derived
deterministically from ``uid_root`` (default: the volume's series UID), so writing the same
volume twice gives identical files.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from planner.errors import InputError
from planner.volume import CTVolume

if TYPE_CHECKING:
    import pydicom

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
#: Fixed date/time so exports are reproducible byte for byte.
FIXED_DATE = "20260101"
FIXED_TIME = "120000"


def derived_uid(root: str, what: str) -> str:
    """A valid DICOM UID (``2.25.<uuid>``) derived from ``root`` and ``what`` by SHA-256."""
    digest = hashlib.sha256(f"{root}/{what}".encode()).digest()
    return "2.25." + str(uuid.UUID(bytes=digest[:16], version=4).int)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the series went and what identifies it."""

    directory: Path
    files: tuple[Path, ...]
    series_uid: str
    study_uid: str
    frame_of_reference_uid: str


def write_dicom_series(
    volume: CTVolume,
    out_dir: str | Path,
    *,
    uid_root: str | None = None,
    study_uid: str | None = None,
    series_number: int = 1,
    signed: bool = False,
    study_description: str = "",
) -> ExportResult:
    """Write ``volume`` as one CT image file per axial slice into ``out_dir``.

    Parameters
    ----------
    volume
        The CT volume; its ``series_uid`` becomes (0020,000E) when it is a valid UID.
    out_dir
        Folder to write into (created if missing). Existing files named ``CT*.dcm`` with the
        same numbers are overwritten; nothing else is touched.
    uid_root
        Seed for the derived study/frame/instance UIDs (default: the series UID).
    study_uid
        Explicit StudyInstanceUID, else derived.
    signed
        Store signed int16 pixels (intercept 0) instead of unsigned with intercept -1024.

    Returns
    -------
    ExportResult

    Notes
    -----
    LPS mm; see the module notes for the attributes that carry the geometry.
    """

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = uid_root or volume.series_uid
    series_uid = volume.series_uid if _valid_uid(volume.series_uid) else derived_uid(
        root, "series")
    study = study_uid or derived_uid(root, "study")
    frame_uid = derived_uid(root, "frame-of-reference")
    pixels = _stored_pixels(volume, signed)
    base = _base_dataset(volume, series_uid, study, frame_uid, series_number, signed,
                         study_description)
    files = write_slices(base, pixels, volume.ijk_to_lps, volume.spacing_mm, out,
                         root=root, sop_class=CT_IMAGE_STORAGE, prefix="CT")
    return ExportResult(out, tuple(files), series_uid, study, frame_uid)


def write_slices(
    base: pydicom.Dataset,
    pixels: np.ndarray,
    ijk_to_lps: np.ndarray,
    spacing_mm: ArrayLike,
    out: Path,
    *,
    root: str,
    sop_class: str,
    prefix: str,
) -> tuple[Path, ...]:
    """Write one single-frame image file per slice ``pixels[k]`` (stored values).

    Sets the plane geometry (orientation, pixel spacing, slice thickness, rows, columns) on
    ``base`` from the ``ijk_to_lps`` affine (LPS mm) and, per slice, its position, location,
    SOP instance UID (derived from ``root``) and file meta; files are ``<prefix>0001.dcm``...
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID

    m = np.asarray(ijk_to_lps, dtype=np.float64)
    sp = np.asarray(spacing_mm, dtype=np.float64)
    row_dir, col_dir = m[:3, 0] / sp[0], m[:3, 1] / sp[1]
    base.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
    base.PixelSpacing = [_ds(sp[1]), _ds(sp[0])]
    base.SliceThickness = _ds(sp[2])
    base.SpacingBetweenSlices = _ds(sp[2])
    base.Rows, base.Columns = int(pixels.shape[1]), int(pixels.shape[2])
    normal = np.cross(row_dir, col_dir)
    files = []
    for k in range(pixels.shape[0]):
        ds = pydicom.Dataset()
        ds.update(base)
        sop_uid = derived_uid(root, f"instance/{k}")
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(sop_class)
        meta.MediaStorageSOPInstanceUID = UID(sop_uid)
        meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)
        meta.ImplementationClassUID = UID("1.2.826.0.1.3680043.8.498.1")
        meta.ImplementationVersionName = "VAPLANNER_DEMO"
        ds.file_meta = meta
        ds.SOPInstanceUID = sop_uid
        ds.InstanceNumber = k + 1
        pos = m[:3, :3] @ np.array([0.0, 0.0, float(k)]) + m[:3, 3]
        ds.ImagePositionPatient = [_ds(v) for v in pos]
        ds.SliceLocation = _ds(float(pos @ normal))
        ds.PixelData = pixels[k].tobytes()
        path = out / f"{prefix}{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return tuple(files)


def _valid_uid(uid: str) -> bool:
    return 0 < len(uid) <= 64 and all(p.isdigit() for p in uid.split(".")) and not any(
        len(p) > 1 and p.startswith("0") for p in uid.split("."))


def _ds(v: float) -> str:
    """Decimal String value of at most 16 characters (PS3.5 6.2)."""
    s = f"{float(v):.6f}".rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s if len(s) <= 16 else f"{float(v):.9g}"


def _stored_pixels(volume: CTVolume, signed: bool) -> np.ndarray:
    hu = volume.hu
    if signed:
        return np.ascontiguousarray(hu.astype("<i2"))
    lo = int(hu.min())
    if lo < -1024:
        raise InputError(
            f"series {volume.series_uid}: HU down to {lo} cannot be stored unsigned with "
            "intercept -1024; export with signed=True")
    return np.ascontiguousarray((hu.astype(np.int32) + 1024).astype("<u2"))


def _base_dataset(volume: CTVolume, series_uid: str, study_uid: str, frame_uid: str,
                  series_number: int, signed: bool, study_description: str) -> pydicom.Dataset:
    import pydicom

    pt = volume.patient
    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = FIXED_DATE
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = FIXED_TIME
    ds.AccessionNumber = ""
    ds.Modality = volume.identity.modality or "CT"
    ds.Manufacturer = "vertebral-augmentation-planner"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study_description or pt.study_description
    ds.SeriesDescription = volume.identity.description
    ds.PatientName = pt.patient_name
    ds.PatientID = pt.patient_id
    ds.PatientBirthDate = pt.birth_date
    ds.PatientSex = pt.sex
    ds.BodyPartExamined = "SPINE"
    ds.KVP = "120"
    ds.ConvolutionKernel = "SYNTHETIC"
    ds.PatientPosition = pt.position or "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.WindowCenter = ["400", "40"]
    ds.WindowWidth = ["1800", "400"]
    ds.RescaleIntercept = "0" if signed else "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds
