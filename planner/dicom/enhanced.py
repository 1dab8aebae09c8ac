"""Per-frame geometry and rescale of Enhanced (multi-frame) CT objects.

Each frame's attributes are looked up first in its item of the Per-frame Functional Groups
Sequence (5200,9230), then in the Shared Functional Groups Sequence (5200,9229)
(PS3.3 C.7.6.16): Plane Position (0020,9113), Plane Orientation (0020,9116),
Pixel Measures (0028,9110) and Pixel Value Transformation (0028,9145).
"""

from __future__ import annotations

from typing import Any


def _macro(groups: tuple[Any, ...], seq_name: str) -> Any:
    for group in groups:
        if group is None:
            continue
        seq = group.get(seq_name)
        if seq:
            return seq[0]
    return None


def _floats(item: Any, name: str, n: int) -> tuple[float, ...] | None:
    if item is None:
        return None
    try:
        value = item.get(name)
        out = tuple(float(v) for v in value) if value is not None else ()
    except Exception:
        return None
    return out if len(out) == n else None


def _float(item: Any, name: str) -> float | None:
    if item is None:
        return None
    try:
        value = item.get(name)
        return None if value is None or value == "" else float(value)
    except Exception:
        return None


def enhanced_frames(ds: Any, n_frames: int) -> list[dict[str, Any]]:
    """Per-frame keyword arguments for :class:`~planner.dicom.headers.FrameHeader`."""
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    out = []
    for i in range(n_frames):
        own = per_frame[i] if i < len(per_frame) else None
        groups = (own, shared)
        pos = _macro(groups, "PlanePositionSequence")
        ori = _macro(groups, "PlaneOrientationSequence")
        meas = _macro(groups, "PixelMeasuresSequence")
        pvt = _macro(groups, "PixelValueTransformationSequence")
        slope = _float(pvt, "RescaleSlope")
        intercept = _float(pvt, "RescaleIntercept")
        if slope is None and intercept is None:  # some writers keep them at the top level
            slope, intercept = _float(ds, "RescaleSlope"), _float(ds, "RescaleIntercept")
        rtype = str(pvt.get("RescaleType", "")) if pvt is not None else ""
        out.append(
            {
                "frame": i,
                "pixel_spacing": _floats(meas, "PixelSpacing", 2),
                "orientation": _floats(ori, "ImageOrientationPatient", 6),
                "position": _floats(pos, "ImagePositionPatient", 3),
                "thickness": _float(meas, "SliceThickness"),
                "spacing_between": _float(meas, "SpacingBetweenSlices"),
                "slope": 1.0 if not slope else slope,
                "intercept": 0.0 if intercept is None else intercept,
                "rescale_missing": slope is None or intercept is None,
                "rescale_type": rtype.strip().upper(),
            }
        )
    return out
