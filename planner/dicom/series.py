"""Group image headers into series and stacks, describe them, and choose the default CT series.

A SeriesInstanceUID (0020,000E) that holds several stacks (different orientation, matrix size or
pixel spacing, or repeated positions from several acquisitions) is split: the largest stack keeps
the UID as its key, the others get ``UID#2``, ``UID#3``... Images with an empty UID form series
keyed by :func:`planner.volume.stable_uid_from_paths` of their files.

The default series is a CT (modality and SOP class) original axial stack with the most images;
localizers/scouts, secondary captures (screenshots), dose reports, RT objects and PET are never
chosen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.dicom.geometry import INPLANE_JUMP_MM, stack_problem
from planner.dicom.headers import FrameHeader
from planner.volume import LoadWarning, stable_uid_from_paths

CT_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
        "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT Image Storage
        "",  # missing (seen in real exports): judged by Modality
    }
)
SC_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture family
RT_PREFIX = "1.2.840.10008.5.1.4.1.1.481"
PET_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.130"})
AXIAL_COS = 0.8  # |normal . z| above this: axial (tilted gantry acquisitions included)


@dataclass(frozen=True, eq=False)
class SeriesInfo:
    """One stack of images as listed by ``info`` and offered for loading.

    Notes
    -----
    ``pixel_spacing_mm`` is in DICOM (0028,0030) order: (between rows, between columns) in mm.
    ``slice_spacing_mm`` is the median distance between neighbouring slices along the slice
    normal, from (0020,0032) Image Position (Patient). ``files`` are sorted along the normal
    when the geometry is known.
    """

    key: str
    series_uid: str
    modality: str
    description: str
    date: str
    n_images: int
    rows: int
    columns: int
    pixel_spacing_mm: tuple[float, float] | None
    slice_spacing_mm: float | None
    thickness_mm: float | None
    kernel: str
    body_part: str
    image_type: tuple[str, ...]
    is_axial: bool
    is_candidate: bool
    reason: str
    incomplete: bool
    warnings: tuple[LoadWarning, ...]
    files: tuple[str, ...]
    series_number: int | None = None
    frames: tuple[FrameHeader, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        """Non-identifying description (no patient data), as printed by ``info``."""
        return {
            "key": self.key,
            "series_uid": self.series_uid,
            "series_number": self.series_number,
            "modality": self.modality,
            "description": self.description,
            "date": self.date,
            "n_images": self.n_images,
            "rows": self.rows,
            "columns": self.columns,
            "pixel_spacing_mm": list(self.pixel_spacing_mm) if self.pixel_spacing_mm else None,
            "slice_spacing_mm": self.slice_spacing_mm,
            "thickness_mm": self.thickness_mm,
            "kernel": self.kernel,
            "body_part": self.body_part,
            "image_type": list(self.image_type),
            "is_axial": self.is_axial,
            "is_candidate": self.is_candidate,
            "reason": self.reason,
            "incomplete": self.incomplete,
            "warnings": [w.to_json() for w in self.warnings],
            "n_files": len(set(self.files)),
        }


def _normal(h: FrameHeader) -> np.ndarray | None:
    if h.orientation is None:
        return None
    o = np.asarray(h.orientation, dtype=np.float64)
    if not np.all(np.isfinite(o)) or np.any(np.abs(o) > 2):
        return None
    n = np.cross(o[:3], o[3:])
    norm = float(np.linalg.norm(n))
    return n / norm if norm > 1e-6 else None


def _rounded(values: Sequence[float] | None, digits: int) -> tuple[Any, ...] | None:
    """Values rounded for grouping; a non-finite value groups as 'bad' (NaN != NaN)."""
    if values is None:
        return None
    return tuple(round(v, digits) + 0.0 if math.isfinite(v) else "bad" for v in values)


def _signature(h: FrameHeader) -> tuple[Any, ...]:
    ori, ps = _rounded(h.orientation, 2), _rounded(h.pixel_spacing, 3)
    return (h.rows, h.columns, ori, ps, h.samples_per_pixel, h.position is None)


def _depth(h: FrameHeader, n: np.ndarray | None) -> float:
    if n is None or h.position is None:
        return 0.0
    return float(np.dot(h.position, n))


def _split_duplicates(frames: list[FrameHeader]) -> list[list[FrameHeader]]:
    """Split a stack whose images repeat positions (several acquisitions / phases)."""
    n = _normal(frames[0])
    if n is None or any(h.position is None or not np.all(np.isfinite(h.position)) for h in frames):
        return [frames]
    depth_key = [round(_depth(h, n) / 0.01) for h in frames]
    if len(set(depth_key)) == len(frames):
        return [frames]
    acq: dict[Any, list[FrameHeader]] = defaultdict(list)
    for h in frames:
        acq[h.acquisition_number].append(h)
    if len(acq) > 1 and all(
        len({round(_depth(h, n) / 0.01) for h in g}) == len(g) for g in acq.values()
    ):
        return list(acq.values())
    seen: dict[int, int] = defaultdict(int)
    stacks: dict[int, list[FrameHeader]] = defaultdict(list)
    for h, d in sorted(
        zip(frames, depth_key, strict=True), key=lambda t: t[0].instance_number or 0
    ):
        stacks[seen[d]].append(h)
        seen[d] += 1
    return list(stacks.values())


def _inplane_clusters(frames: list[FrameHeader], n: np.ndarray) -> list[list[FrameHeader]]:
    """Frames grouped by their in-plane offset (within 1 mm), for stacks that zigzag."""
    o = np.asarray(frames[0].orientation, dtype=np.float64)
    r, c = o[:3], o[3:]
    pos = np.array([h.position for h in frames], dtype=np.float64)
    rel = pos - pos[0]
    uv, d = np.stack([rel @ r, rel @ c], axis=1), rel @ n
    if float(np.ptp(d)) <= 0:
        return [frames]
    coef = np.polyfit(d, uv, 1)
    if float(np.max(np.hypot(*(uv - (np.outer(d, coef[0]) + coef[1])).T))) <= INPLANE_JUMP_MM:
        return [frames]
    centres: list[np.ndarray] = []
    groups: list[list[FrameHeader]] = []
    for h, p in zip(frames, uv, strict=True):
        near = [i for i, ctr in enumerate(centres) if float(np.hypot(*(p - ctr))) < INPLANE_JUMP_MM]
        if near:
            groups[near[0]].append(h)
        else:
            centres.append(p)
            groups.append([h])
    if len(groups) > 8 or min(len(g) for g in groups) < 2:
        return [frames]  # not a few clean stacks: stack_geometry refuses it with a message
    return groups


def _acquisition_interleave(frames: list[FrameHeader], n: np.ndarray) -> list[list[FrameHeader]]:
    """Split acquisitions whose slices alternate along the normal (interleaved stacks)."""
    acq: dict[Any, list[FrameHeader]] = defaultdict(list)
    for h in frames:
        acq[h.acquisition_number].append(h)
    if len(acq) < 2:
        return [frames]
    ordered = sorted(frames, key=lambda h: _depth(h, n))
    changes = sum(
        a.acquisition_number != b.acquisition_number
        for a, b in zip(ordered, ordered[1:], strict=False)
    )
    return list(acq.values()) if changes > 2 * len(acq) else [frames]


def _alternating_gaps(frames: list[FrameHeader], n: np.ndarray) -> list[list[FrameHeader]]:
    """Split two position sets woven together: gaps along the normal alternate a, b, a, b...

    One acquisition has one increment (or a few runs of increments); two stacks offset by less
    than their increment alternate two different gaps all along the stack.
    """
    if len(frames) < 6:
        return [frames]
    ordered = sorted(frames, key=lambda h: _depth(h, n))
    gaps = np.diff([_depth(h, n) for h in ordered])
    even, odd = gaps[0::2], gaps[1::2]
    if (
        float(np.ptp(even)) < 0.02
        and float(np.ptp(odd)) < 0.02
        and abs(float(even.mean() - odd.mean())) > 0.1
    ):
        return [ordered[0::2], ordered[1::2]]
    return [frames]


def _split_interleaved(frames: list[FrameHeader]) -> list[list[FrameHeader]]:
    """Split one UID's stack whose images zigzag in plane or alternate acquisitions."""
    n = _normal(frames[0])
    if n is None or len(frames) < 4 or any(h.position is None for h in frames):
        return [frames]
    if any(not np.all(np.isfinite(h.position or ())) for h in frames):
        return [frames]
    return [
        woven
        for cluster in _inplane_clusters(frames, n)
        for part in _acquisition_interleave(cluster, n)
        for woven in _alternating_gaps(part, n)
    ]


def _group(frames: Iterable[FrameHeader]) -> list[tuple[str, list[FrameHeader]]]:
    """(series uid or derived id, frames) per series, then split into stacks."""
    by_uid: dict[tuple[str, ...], list[FrameHeader]] = defaultdict(list)
    for h in frames:
        key: tuple[str, ...] = (
            (h.series_uid,) if h.series_uid else ("", h.study_uid, str(h.series_number), h.modality)
        )
        by_uid[key].append(h)
    out: list[tuple[str, list[FrameHeader]]] = []
    for key, members in by_uid.items():
        uid = key[0] or stable_uid_from_paths(sorted({h.path for h in members}))
        by_sig: dict[tuple[Any, ...], list[FrameHeader]] = defaultdict(list)
        for h in members:
            by_sig[_signature(h)].append(h)
        stacks = [
            part
            for group in by_sig.values()
            for s in _split_duplicates(group)
            for part in _split_interleaved(s)
        ]
        stacks.sort(key=lambda s: (-len(s), min(h.path for h in s)))
        for i, stack in enumerate(stacks):
            out.append((uid if i == 0 else f"{uid}#{i + 1}", stack))
    return out


def _exclusion(stack: Sequence[FrameHeader], localizer: bool) -> str:
    h = stack[0]
    desc = h.description.upper()
    if h.modality == "PT" or h.sop_class_uid in PET_SOP_CLASSES:
        return "PET images are not CT"
    if h.sop_class_uid.startswith(RT_PREFIX) or h.modality.startswith("RT"):
        return "radiotherapy object, not an image series"
    if h.sop_class_uid.startswith(SC_PREFIX):
        return "secondary capture (screenshot), not a CT acquisition"
    if "DOSE" in desc and ("REPORT" in desc or "INFO" in desc) or "SCREEN SAVE" in h.image_type:
        return "dose report"
    if localizer or any(t in ("LOCALIZER", "SCOUT", "TOPOGRAM") for t in h.image_type):
        return "localizer / scout image"
    if h.modality != "CT":
        return f"modality {h.modality or 'missing'} is not CT"
    if h.sop_class_uid not in CT_SOP_CLASSES:
        return f"SOP class {h.sop_class_uid} is not a CT image"
    if h.samples_per_pixel != 1:
        return "colour image"
    if h.position is None or h.orientation is None:
        return "no Image Position/Orientation (Patient): slices cannot be placed"
    problem, _ = stack_problem(stack)
    return problem


def _sorted_stack(stack: list[FrameHeader]) -> tuple[list[FrameHeader], float | None]:
    n = _normal(stack[0])
    if n is None or any(h.position is None for h in stack):
        return stack, None
    ordered = sorted(stack, key=lambda h: _depth(h, n))
    d = np.array([_depth(h, n) for h in ordered])
    return ordered, (float(np.median(np.diff(d))) if len(d) > 1 else None)


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _stack_warnings(
    key: str, h: FrameHeader, damaged: list[str], split: str
) -> tuple[LoadWarning, ...]:
    warnings = []
    if damaged:
        shown = ", ".join(damaged[:5]) + (" ..." if len(damaged) > 5 else "")
        warnings.append(
            LoadWarning(
                "incomplete_series",
                f"{len(damaged)} file(s) of this series could not be read ({shown}); "
                "the series is incomplete.",
            )
        )
    if split:
        warnings.append(
            LoadWarning(
                "series_split",
                f"Series UID {h.series_uid or key.split('#')[0]} holds several image stacks "
                "(orientation, size, spacing, or positions that repeat or interleave); each is "
                f"listed separately{split}",
            )
        )
    return tuple(warnings)


def describe_stack(
    key: str, stack: list[FrameHeader], localizer: bool, bad: dict[str, list[str]], split: str
) -> SeriesInfo:
    """A :class:`SeriesInfo` for one stack (``bad``: series uid -> damaged file names;
    ``split``: '' when the UID holds one stack, else the end of the ``series_split`` note)."""
    ordered, spacing = _sorted_stack(stack)
    h = ordered[0]
    reason = _exclusion(ordered, localizer)
    n = _normal(h)
    damaged = bad.get(h.series_uid, []) if h.series_uid else []
    warnings = _stack_warnings(key, h, damaged, split)
    return SeriesInfo(
        key=key,
        series_uid=h.series_uid,
        modality=h.modality,
        description=h.description,
        date=h.date,
        n_images=len(ordered),
        rows=h.rows,
        columns=h.columns,
        pixel_spacing_mm=h.pixel_spacing,
        slice_spacing_mm=None if spacing is None else round(spacing, 4),
        thickness_mm=_first(f.thickness for f in ordered),
        kernel=h.kernel,
        body_part=h.body_part,
        image_type=h.image_type,
        is_axial=bool(n is not None and abs(n[2]) > AXIAL_COS),
        is_candidate=not reason,
        reason=reason,
        incomplete=bool(damaged),
        warnings=warnings,
        files=tuple(f.path for f in ordered),
        series_number=h.series_number,
        frames=tuple(ordered),
    )


def build_series(frames: Sequence[FrameHeader], bad: dict[str, list[str]]) -> list[SeriesInfo]:
    """Series/stacks from all headers of a scan, each described and classified."""
    groups = _group(frames)
    largest: dict[str, tuple[int, np.ndarray | None]] = {}
    for _, stack in groups:
        study = stack[0].study_uid
        if study not in largest or len(stack) > largest[study][0]:
            largest[study] = (len(stack), _normal(stack[0]))
    split_uids = {k.split("#")[0] for k, _ in groups if "#" in k}
    notes: dict[str, list[str]] = defaultdict(list)
    for key, stack in groups:
        problem, bad_frame = stack_problem(stack)
        if problem and key.split("#")[0] in split_uids:
            notes[key.split("#")[0]].append(f"{key} ({len(stack)} image(s)) set apart: {problem}")
    out = []
    for key, stack in groups:
        size, ref = largest[stack[0].study_uid]
        n = _normal(stack[0])
        localizer = (
            len(stack) <= 2 < size
            and n is not None
            and ref is not None
            and abs(float(n @ ref)) < 0.9
        )
        uid = key.split("#")[0]
        split = (
            ("; " + "; ".join(notes[uid]) + "." if notes[uid] else ".") if uid in split_uids else ""
        )
        out.append(describe_stack(key, stack, localizer, bad, split))
    return out


def rank_key(s: SeriesInfo) -> tuple[Any, ...]:
    """Sort key: candidates first, then ORIGINAL, axial, most images, smallest spacing."""
    original = bool(s.image_type) and s.image_type[0] == "ORIGINAL"
    return (
        not s.is_candidate,
        not original,
        not s.is_axial,
        -s.n_images,
        s.slice_spacing_mm or 1e9,
        s.key,
    )


def choose_default(series: Sequence[SeriesInfo]) -> str | None:
    """Key of the best CT candidate series, or None when there is none."""
    candidates = sorted((s for s in series if s.is_candidate), key=rank_key)
    return candidates[0].key if candidates else None
