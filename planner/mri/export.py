"""Write an MR volume as a DICOM MR Image Storage series (one file per slice).

Notes
-----
MR Image IOD (PS3.3 A.4): Patient, General Study, General Series, Frame of Reference, General
Equipment, General Image, Image Plane, Image Pixel, MR Image and SOP Common modules.
Geometry comes from the volume's ``ijk_to_lps``: (0020,0037) = LPS directions of i (along a
row) and j (down a column), (0020,0032) = LPS of voxel (0, 0, k), (0028,0030) = [spacing
along j, spacing along i], (0018,0050)/(0018,0088) = spacing along k. Pixels are unsigned
16-bit signal values without rescale. The sequence attributes ((0018,0020) Scanning Sequence,
(0018,0080) Repetition Time, (0018,0082) Inversion Time, ...) are given by the caller. Every
UID is derived deterministically, so writing the same volume twice gives identical files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planner.dicom_export import (
    FIXED_DATE,
    FIXED_TIME,
    ExportResult,
    write_slices,
)
from planner.errors import InputError
from planner.volume import CTVolume

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def _ds(v: float) -> str:
    """Decimal String of at most 16 characters (PS3.5 6.2)."""
    s = f"{float(v):.6f}".rstrip("0").rstrip(".")
    s = "0" if s in ("-0", "") else s
    return s if len(s) <= 16 else f"{float(v):.9g}"


def _base(volume: CTVolume, uids: dict[str, str], series_number: int,
          sequence: Sequence[tuple[str, Any]], study_description: str) -> Any:
    import pydicom

    pt = volume.patient
    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = FIXED_DATE
    ds.StudyTime = ds.ContentTime = ds.AcquisitionTime = FIXED_TIME
    ds.SeriesTime = f"{120000 + 100 * series_number:06d}"
    ds.AccessionNumber = ""
    ds.Modality = "MR"
    ds.Manufacturer = "vertebral-augmentation-planner"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study_description or pt.study_description
    ds.SeriesDescription = volume.identity.description
    ds.PatientName = pt.patient_name
    ds.PatientID = pt.patient_id
    ds.PatientBirthDate = pt.birth_date
    ds.PatientSex = pt.sex
    ds.BodyPartExamined = "SPINE"
    ds.PatientPosition = pt.position or "HFS"
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = uids["frame"]
    ds.PositionReferenceIndicator = ""
    ds.MRAcquisitionType = "2D"
    ds.MagneticFieldStrength = "1.5"
    ds.ImagedNucleus = "1H"
    ds.AngioFlag = "N"
    for key, value in sequence:
        setattr(ds, key, value)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    return ds


def write_mr_series(
    volume: CTVolume,
    out_dir: str | Path,
    *,
    study_uid: str,
    frame_uid: str,
    series_number: int = 2,
    sequence: Sequence[tuple[str, Any]] = (),
    study_description: str = "",
) -> ExportResult:
    """Write ``volume`` (modality MR, non-negative signal) as one MR image file per slice.

    Parameters
    ----------
    volume
        MR signal volume ``[k, j, i]`` (values 0-65535).
    out_dir
        Folder (created if missing); files ``MR0001.dcm``... are overwritten.
    study_uid, frame_uid
        StudyInstanceUID (shared with the CT of the same study) and the MRI's own
        FrameOfReferenceUID.
    sequence
        (keyword, value) pairs of the MR Image module's sequence attributes.

    Returns
    -------
    ExportResult
    """
    a = volume.hu
    if int(a.min()) < 0:
        raise InputError(f"MR series {volume.series_uid}: negative signal cannot be stored")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = volume.series_uid
    uids = {"study": study_uid, "series": volume.series_uid, "frame": frame_uid}
    base = _base(volume, uids, series_number, sequence, study_description)
    lo, hi = np.percentile(a, [1.0, 99.5])
    base.WindowCenter = _ds(round((lo + hi) / 2.0))
    base.WindowWidth = _ds(max(1.0, round(hi - lo)))
    pixels = np.ascontiguousarray(a.astype("<u2"))
    files = write_slices(base, pixels, volume.ijk_to_lps, volume.spacing_mm, out,
                         root=root, sop_class=MR_IMAGE_STORAGE, prefix="MR")
    return ExportResult(out, files, volume.series_uid, study_uid, frame_uid)
