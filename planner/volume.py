"""CT volume and label map value types.

A :class:`CTVolume` is an int16 Hounsfield-unit array indexed ``[k, j, i]`` plus its
:class:`~planner.grid.ImageGrid` (one ``ijk_to_lps`` affine), the identity of the series it
came from, and the patient/study information kept apart from the pixels so that logs,
screenshots and JSON output can leave it out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.grid import FloatArray, ImageGrid, trilinear_sample


@dataclass(frozen=True, slots=True)
class SeriesIdentity:
    """What a plan binds to: the series UID and, for files without one, their path.

    ``series_uid`` is the DICOM SeriesInstanceUID (0020,000E), or a stable identifier derived
    from the files when the tag is empty or the data is not DICOM.
    """

    series_uid: str
    source_path: str = ""
    modality: str = "CT"
    description: str = ""


@dataclass(frozen=True, slots=True)
class PatientInfo:
    """Identifying information. Never logged, never drawn into screenshots by default."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_description: str = ""
    institution: str = ""
    position: str = ""  # (0018,5100) Patient Position, e.g. HFS, FFS, HFP


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """A recoverable problem met while loading; shown in the UI and printed by the CLI."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


NOT_HU_MIN = -50  # a CT in HU holds air (-1000) or at least fat (about -100) below this


def hounsfield_warning(hu: NDArray[np.int16], what: str) -> LoadWarning | None:
    """A ``not_hounsfield`` warning when the values cannot be Hounsfield units, else None.

    Any CT of the body holds air (about -1000 HU) around or inside it, or at least fat
    (-100 to -50 HU); values that never go below ``NOT_HU_MIN`` are stored values without
    their rescale (e.g. air at 0 to +24) or not CT at all (tool assumption).
    """
    lo = int(hu.min())
    if lo <= NOT_HU_MIN:
        return None
    hi = int(hu.max())
    return LoadWarning(
        "not_hounsfield",
        f"{what}: values range {lo}..{hi} with nothing below {NOT_HU_MIN}: there is no air "
        "(about -1000) or fat, so these are not Hounsfield units (a missing rescale?). "
        "Bone segmentation, HU readings and cement estimates will be wrong.",
    )


@dataclass(frozen=True, eq=False)
class CTVolume:
    """A CT volume in patient LPS millimetres.

    Parameters
    ----------
    hu
        int16 array ``[k, j, i]`` of Hounsfield units (C-contiguous, read-only).
    grid
        Placement of the voxels in LPS mm.
    identity
        Series identity the volume came from.
    patient
        Identifying data, kept apart from the pixels.
    slice_thickness_mm
        Nominal reconstructed slice thickness (DICOM (0018,0050) Slice Thickness, mm), None
        when not known. It can exceed the slice spacing (overlapping reconstruction, e.g.
        5 mm slices every 2.5 mm): the image is then as blurred along the slice axis as the
        thickness says, not as the spacing suggests.
    """

    hu: NDArray[np.int16]
    grid: ImageGrid
    identity: SeriesIdentity
    patient: PatientInfo = field(default_factory=PatientInfo)
    slice_thickness_mm: float | None = None

    def __post_init__(self) -> None:
        a = np.ascontiguousarray(self.hu)
        if a.dtype != np.int16:
            raise TypeError(f"CTVolume.hu must be int16, got {a.dtype}")
        if a.ndim != 3:
            raise ValueError(f"CTVolume.hu must be 3-D [k, j, i], got shape {a.shape}")
        if tuple(a.shape) != tuple(self.grid.shape_kji):
            raise ValueError(f"array shape {a.shape} != grid shape {self.grid.shape_kji}")
        a.setflags(write=False)
        object.__setattr__(self, "hu", a)

    @classmethod
    def from_array(
        cls,
        hu: ArrayLike,
        ijk_to_lps: ArrayLike,
        series_uid: str,
        *,
        source_path: str = "",
        modality: str = "CT",
        description: str = "",
        patient: PatientInfo | None = None,
    ) -> CTVolume:
        arr = np.asarray(hu)
        if arr.dtype != np.int16:
            arr = np.clip(np.rint(arr), -32768, 32767).astype(np.int16)
        grid = ImageGrid(tuple(arr.shape), np.asarray(ijk_to_lps, dtype=np.float64))
        ident = SeriesIdentity(series_uid, source_path, modality, description)
        return cls(arr, grid, ident, patient or PatientInfo())

    # --- convenience wrappers around the grid ----------------------------------------------
    @property
    def shape_kji(self) -> tuple[int, int, int]:
        return self.grid.shape_kji

    @property
    def ijk_to_lps(self) -> FloatArray:
        return self.grid.ijk_to_lps

    @property
    def spacing_mm(self) -> FloatArray:
        return self.grid.spacing_mm

    @property
    def series_uid(self) -> str:
        return self.identity.series_uid

    @property
    def is_ct(self) -> bool:
        return self.identity.modality.upper() == "CT"

    def voxel_to_lps(self, ijk: ArrayLike) -> FloatArray:
        return self.grid.voxel_to_lps(ijk)

    def lps_to_voxel(self, lps: ArrayLike) -> FloatArray:
        return self.grid.lps_to_voxel(lps)

    def bounds_lps(self) -> tuple[FloatArray, FloatArray]:
        return self.grid.bounds_lps()

    def sample_lps(self, lps: ArrayLike, fill: float = np.nan) -> FloatArray:
        """Trilinear HU at LPS points ``(..., 3)``; ``fill`` outside the volume."""
        return trilinear_sample(self.hu, self.grid.lps_to_voxel(lps), fill)

    def value_at_lps(self, lps: ArrayLike) -> int | None:
        """HU of the voxel containing the LPS point, or None outside."""
        ijk = np.rint(self.grid.lps_to_voxel(lps)).astype(int)
        if not self.grid.contains_voxel(ijk):
            return None
        return int(self.hu[ijk[2], ijk[1], ijk[0]])

    def hu_range(self) -> tuple[int, int]:
        return int(self.hu.min()), int(self.hu.max())

    def geometry_fingerprint(self) -> str:
        return self.grid.fingerprint()

    def summary_json(self) -> dict[str, Any]:
        """Non-identifying description, as printed by ``python -m planner info``."""
        lo, hi = self.hu_range()
        return {
            "series_uid": self.series_uid,
            "modality": self.identity.modality,
            "shape_kji": list(self.shape_kji),
            "spacing_mm": [round(float(s), 6) for s in self.spacing_mm],
            "ijk_to_lps": [[round(float(v), 6) for v in row] for row in self.ijk_to_lps],
            "axis_codes_ijk": self.grid.nearest_axis_codes(),
            "hu_range": [lo, hi],
            "geometry_fingerprint": self.geometry_fingerprint(),
        }


@dataclass(frozen=True, eq=False)
class LabelMap:
    """Integer label image on a grid, with optional label names (id → name)."""

    labels: NDArray[np.integer[Any]]
    grid: ImageGrid
    names: dict[int, str] = field(default_factory=dict)
    source_path: str = ""

    def __post_init__(self) -> None:
        a = np.ascontiguousarray(self.labels)
        if tuple(a.shape) != tuple(self.grid.shape_kji):
            raise ValueError(f"label shape {a.shape} != grid shape {self.grid.shape_kji}")
        a.setflags(write=False)
        object.__setattr__(self, "labels", a)

    def ids(self) -> list[int]:
        return [int(v) for v in np.unique(self.labels) if v != 0]


def stable_uid_from_paths(paths: list[str] | list[Path]) -> str:
    """A stable identifier for images without a SeriesInstanceUID, derived from their files."""
    h = hashlib.sha256()
    for p in sorted(str(Path(x).resolve()) for x in paths):
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return "derived." + h.hexdigest()[:24]
