"""The CT images the exported objects reference, and where each CT slice sits in the volume.

For a DICOM study the plan's own series is read back (headers and pixels, as highdicom needs
them). A NIfTI volume has no DICOM identity: it is first written as a CT series with UIDs
derived deterministically from the volume's identifier (:func:`planner.dicom_export.derived_uid`),
so the same input always gives the same Study, Series and Frame of Reference UIDs and the
SR, SEG and PDF reference real images; the export says so (``generated_uids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from planner.errors import InputError
from planner.volume import CTVolume


@dataclass(frozen=True, eq=False)
class CTSource:
    """Source CT datasets sorted as in the volume, with each one's slice index ``k``."""

    datasets: tuple[Dataset, ...]
    k_index: tuple[int, ...]
    generated_uids: bool
    folder: Path | None  # where the generated CT series was written, if any

    @property
    def study_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.datasets[0].FrameOfReferenceUID)

    @property
    def series_uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)


def _slice_indices(volume: CTVolume, datasets: Sequence[Dataset]) -> list[int]:
    """Volume slice index of each dataset from its (0020,0032); refuse what does not fit."""
    ks = []
    for ds in datasets:
        ijk = volume.grid.lps_to_voxel(np.asarray([float(v) for v in ds.ImagePositionPatient]))
        ijk = np.asarray(ijk).reshape(3)
        if np.any(np.abs(ijk[:2]) > 0.05) or abs(ijk[2] - round(ijk[2])) > 0.05:
            raise InputError(
                "the series was resampled on loading (tilt or uneven spacing): its slices do "
                "not match the volume, so a segmentation cannot reference them"
            )
        ks.append(int(round(ijk[2])))
    return ks


def _dicom_files(path: Path, series_uid: str) -> list[Path]:
    from planner.dicom.scan import scan_headers

    scan = scan_headers(path)
    files = sorted({Path(f.path) for f in scan.frames if f.series_uid == series_uid})
    return files


def load_ct_source(volume: CTVolume, path: str | Path, outdir: Path) -> CTSource:
    """The CT datasets behind ``volume`` (see module notes); ``outdir`` receives a generated
    CT series for a NIfTI input or a volume without files (``path`` empty, e.g. the demo)."""
    p = Path(path)
    files: list[Path] = []
    if str(path) and (p.is_dir() or p.suffix.lower() == ".dcm" or p.name.upper() == "DICOMDIR"):
        files = _dicom_files(p if p.is_dir() else p.parent, volume.series_uid)
    generated = not files
    folder = None
    if generated:
        from planner.dicom_export import write_dicom_series

        folder = outdir / "ct"
        res = write_dicom_series(volume, folder, signed=True, study_description="Planned CT")
        files = list(res.files)
    datasets = [pydicom.dcmread(str(f)) for f in files]
    if any(
        getattr(ds, "NumberOfFrames", 1) not in (1, None, "")
        and int(getattr(ds, "NumberOfFrames", 1)) > 1
        for ds in datasets
    ):
        raise InputError(
            "multi-frame CT is not supported for export yet; give the single-frame series", path=p
        )
    ks = _slice_indices(volume, datasets)
    order = np.argsort(ks)
    return CTSource(
        tuple(datasets[i] for i in order),
        tuple(ks[i] for i in order),
        generated,
        folder,
    )
