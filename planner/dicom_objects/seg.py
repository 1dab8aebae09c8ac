"""DICOM Segmentation (highdicom) of the planned levels' vertebral bodies and cement spread.

One binary segment per treated level's body (the planner's own body mask, the one its volumes
are computed from) and one per level's simulated cement cloud, on the CT's own slices and
therefore its Frame of Reference. The cement cloud lives on the estimate's finer grid; it is
sampled at the CT voxel centres (nearest neighbour), so its volume in the SEG is that of the
cloud at CT resolution.
"""

from __future__ import annotations

from typing import Any

import highdicom as hd
import numpy as np
from numpy.typing import NDArray
from pydicom.sr.codedict import codes

from planner.dicom_export import derived_uid
from planner.dicom_objects.sources import CTSource
from planner.orsheet.content import LevelSheet
from planner.volume import CTVolume

MANUFACTURER = "Vertebral Augmentation Planner"
CEMENT_TYPE = hd.sr.CodedConcept("VAP0001", "99VAP", "Planned bone cement (PMMA) spread")
PHYSICAL_OBJECT = hd.sr.CodedConcept("260787004", "SCT", "Physical object")


def level_code(level: str) -> hd.sr.CodedConcept:
    """SNOMED CT code of a vertebra (``L1`` → L1 vertebra), or 'Vertebra' if none."""
    code = getattr(codes.SCT, f"{level}Vertebra", codes.SCT.Vertebra)
    return hd.sr.CodedConcept(code.value, code.scheme_designator, code.meaning)


def _algorithm() -> hd.AlgorithmIdentificationSequence:
    from planner import __version__

    return hd.AlgorithmIdentificationSequence(
        name="VAP body segmentation and cement spread",
        version=str(__version__),
        family=codes.DCM.ArtificialIntelligence,
    )


def _crop_into(
    full: NDArray[np.bool_], mask: NDArray[np.bool_], offset_kji: tuple[int, int, int]
) -> None:
    k0, j0, i0 = offset_kji
    sl = tuple(slice(o, o + s) for o, s in zip((k0, j0, i0), mask.shape, strict=True))
    full[sl] |= mask


def cement_on_ct(volume: CTVolume, lv: LevelSheet) -> NDArray[np.bool_] | None:
    """The level's simulated cement cloud sampled at CT voxel centres (full CT shape)."""
    spread = lv.estimates.spread
    if spread is None:
        return None
    cloud = spread.cloud
    g = spread.grid
    # CT voxels inside the cloud grid's box
    corners = np.array(
        [
            [a, b, c]
            for a in (0, g.shape_kji[2] - 1)
            for b in (0, g.shape_kji[1] - 1)
            for c in (0, g.shape_kji[0] - 1)
        ],
        dtype=np.float64,
    )
    ijk = volume.grid.lps_to_voxel(g.voxel_to_lps(corners))
    lo = np.maximum(np.floor(ijk.min(axis=0)).astype(int), 0)
    hi = np.minimum(np.ceil(ijk.max(axis=0)).astype(int) + 1, np.array(volume.grid.shape_kji[::-1]))
    ii, jj, kk = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in range(3)), indexing="ij")
    pts = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(np.float64)
    src = np.rint(g.lps_to_voxel(volume.grid.voxel_to_lps(pts))).astype(int)[:, ::-1]
    ok = np.all((src >= 0) & (src < np.array(cloud.shape)), axis=1)
    vals = np.zeros(len(src), dtype=bool)
    vals[ok] = cloud[src[ok, 0], src[ok, 1], src[ok, 2]]
    full = np.zeros(volume.grid.shape_kji, dtype=bool)
    full[kk.ravel()[vals], jj.ravel()[vals], ii.ravel()[vals]] = True
    return full


def _segments(
    volume: CTVolume, levels: tuple[LevelSheet, ...]
) -> list[tuple[str, Any, NDArray[np.bool_]]]:
    segs: list[tuple[str, Any, NDArray[np.bool_]]] = []
    for lv in levels:
        body = np.zeros(volume.grid.shape_kji, dtype=bool)
        _crop_into(body, lv.anatomy.body, lv.anatomy.offset_kji)
        segs.append((f"{lv.level} vertebral body", ("body", lv.level), body))
    for lv in levels:
        cement = cement_on_ct(volume, lv)
        if cement is not None and cement.any():
            segs.append((f"{lv.level} planned cement", ("cement", lv.level), cement))
    return segs


def make_seg(
    volume: CTVolume, levels: tuple[LevelSheet, ...], ct: CTSource, series_number: int = 901
) -> tuple[hd.seg.Segmentation, dict[int, tuple[str, str]]]:
    """The SEG and its segment numbers → ("body" | "cement", level)."""
    from planner import __version__

    segs = _segments(volume, levels)
    rows, cols = volume.grid.shape_kji[1:]
    pix = np.zeros((len(ct.datasets), rows, cols, len(segs)), dtype=bool)
    for n, (_, _, mask) in enumerate(segs):
        pix[:, :, :, n] = mask[list(ct.k_index)]
    descs = []
    for n, (label, (kind, level), _) in enumerate(segs, 1):
        if kind == "body":
            cat, typ = (
                hd.sr.CodedConcept("91723000", "SCT", "Anatomical structure"),
                level_code(level),
            )
        else:
            cat, typ = PHYSICAL_OBJECT, CEMENT_TYPE
        descs.append(
            hd.seg.SegmentDescription(
                segment_number=n,
                segment_label=label,
                segmented_property_category=cat,
                segmented_property_type=typ,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=_algorithm(),
            )
        )
    root = ct.series_uid
    seg = hd.seg.Segmentation(
        source_images=list(ct.datasets),
        pixel_array=pix,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descs,
        series_instance_uid=derived_uid(root, "plan-seg-series"),
        series_number=series_number,
        sop_instance_uid=derived_uid(root, "plan-seg"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name="planner",
        software_versions=str(__version__),
        device_serial_number="0",
        series_description="Vertebral bodies and planned cement",
    )
    return seg, {n: (kind, level) for n, (_, (kind, level), _) in enumerate(segs, 1)}


def seg_volumes_ml(seg: hd.seg.Segmentation, ct: CTSource, voxel_mm3: float) -> dict[str, float]:
    """Re-import a SEG as label masks on the CT slices: segment label → volume in mL."""
    uids = [str(ds.SOPInstanceUID) for ds in ct.datasets]
    out = {}
    for d in seg.SegmentSequence:
        n = int(d.SegmentNumber)
        arr = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=uids,
            segment_numbers=[n],
            combine_segments=False,
            ignore_spatial_locations=True,
        )
        out[str(d.SegmentLabel)] = float(np.count_nonzero(arr)) * voxel_mm3 / 1000.0
    return out
