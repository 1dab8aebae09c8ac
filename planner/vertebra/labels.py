"""Levels from an existing segmentation, and measurement from a mask without its CT.

Label maps: TotalSegmentator writes its names into a NIfTI extension as a Caret XML label
table (``vertebrae_L1``…); VerSe uses fixed ids (1-7 C1-C7, 8-19 T1-T12, 20-24 L1-L5, 25 L6,
28 T13; :data:`planner.io_nifti.VERSE_NAMES`). Names win over ids when both exist.

Measuring from a mask alone (e.g. the VerSe expert masks): a stand-in CT is painted from the
mask (bone 300 HU, outside -50 HU) so the same ray casting and edge location run unchanged;
every edge is then the mask surface itself. Trabecular HU is meaningless there and reported
as NaN (null in JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from planner.constants import LABEL_MASK_BONE_HU
from planner.errors import AnalysisError, InputError
from planner.grid import ImageGrid
from planner.io_nifti import VERSE_NAMES
from planner.plan.levels import LEVEL_NAMES, counting_order
from planner.vertebra.common import level_index as _level_index
from planner.vertebra.types import LevelCandidate
from planner.volume import CTVolume, LabelMap

_NAME_RE = re.compile(r"vertebra(?:e)?[_ ]?([CTLS]\d{1,2})$", re.IGNORECASE)
MASK_BONE_HU = LABEL_MASK_BONE_HU
MASK_OUTSIDE_HU = -50


def level_names(labelmap: LabelMap) -> dict[int, str]:
    """Label id → level name for the vertebrae in ``labelmap`` (names first, then VerSe ids)."""
    present = set(labelmap.ids())
    out: dict[int, str] = {}
    for key, name in labelmap.names.items():
        m = _NAME_RE.search(name.strip())
        if m and key in present and m.group(1).upper() in LEVEL_NAMES:
            out[key] = m.group(1).upper()
    if not out and not labelmap.names:
        out = {k: VERSE_NAMES[k] for k in present if k in VERSE_NAMES and VERSE_NAMES[k]
               in LEVEL_NAMES}
    return out


def labels_on_grid(labelmap: LabelMap, grid: ImageGrid) -> np.ndarray:
    """The label array on ``grid`` (nearest neighbour if the grids differ)."""
    from scipy import ndimage as ndi

    if labelmap.grid.fingerprint() == grid.fingerprint():
        return np.asarray(labelmap.labels)
    m = labelmap.grid.lps_to_ijk @ grid.ijk_to_lps  # target (i,j,k) -> source (i,j,k)
    perm = np.zeros((4, 4))
    perm[[0, 1, 2], [2, 1, 0]] = 1.0
    perm[3, 3] = 1.0
    mk = perm @ m @ perm  # (k,j,i) -> (k,j,i)
    return np.asarray(ndi.affine_transform(labelmap.labels, mk[:3, :3], mk[:3, 3],
                                           output_shape=grid.shape_kji, order=0, cval=0))


def _body_start(grid: ImageGrid, mask: np.ndarray) -> np.ndarray:
    """A point inside the body: centroid of the anterior 45 % of the vertebra (LPS)."""
    idx = np.argwhere(mask)
    lps = grid.voxel_to_lps(idx[:, ::-1].astype(float))
    y = lps[:, 1]
    front = lps[y <= y.min() + 0.45 * (y.max() - y.min())]
    return np.asarray(front.mean(axis=0), dtype=np.float64)


#: A label whose second-largest connected piece holds at least this share of its voxels is
#: split (non-contiguous) **[engineering threshold]**.
SPLIT_FRACTION = 0.05
#: A label holding less than this share of the median volume of its labelled neighbours
#: (within two levels) is a fragment **[engineering threshold]**: healthy neighbours differ
#: by < 15 % (biceps reference, T3-L5), a collapsed VerSe L1 keeps 75 % of its neighbours'.
FRAGMENT_FRACTION = 0.55
#: Adjacent labels whose centroids are closer than this share of the typical spacing overlap
#: (one is a fragment or mislabelled) **[engineering threshold]**.
OVERLAP_FRACTION = 0.5


def _label_stats(lab: np.ndarray, grid: ImageGrid, names: dict[int, str],
                 ) -> dict[str, tuple[float, np.ndarray, float]]:
    """Level → (volume mL, centroid LPS, share of the voxels outside the largest piece)."""
    from scipy import ndimage as ndi

    out = {}
    objs = ndi.find_objects(lab)
    for key, name in names.items():
        if key - 1 >= len(objs) or objs[key - 1] is None:
            continue
        sl = objs[key - 1]
        m = lab[sl] == key
        pieces, n = ndi.label(m)
        sizes = np.sort(np.bincount(pieces.ravel())[1:])[::-1] if n else np.zeros(1)
        second = float(sizes[1]) / float(sizes.sum()) if n > 1 else 0.0
        idx = np.argwhere(m).mean(axis=0) + np.array([s.start for s in sl])
        centre = grid.voxel_to_lps(idx[::-1].astype(float))
        out[name] = (float(m.sum()) * grid.voxel_volume_mm3 / 1000.0, centre, second)
    return out


def label_problems(stats: dict[str, tuple[float, np.ndarray, float]]) -> dict[str, str]:
    """Levels whose label cannot be measured honestly, with the reason (see thresholds)."""
    def level_index(name: str) -> int:  # counting with the variants this map names
        return _index(name, stats)

    order = sorted(stats, key=level_index)
    out: dict[str, str] = {}
    gaps = [float(np.linalg.norm(stats[b][1] - stats[a][1])) / (level_index(b) - level_index(a))
            for a, b in zip(order, order[1:], strict=False)]
    typical = float(np.median(gaps)) if gaps else 0.0
    for n, name in enumerate(order):
        vol, centre, second = stats[name]
        if second >= SPLIT_FRACTION:
            out[name] = (f"label is split into separate pieces ({100 * second:.0f} % outside "
                         "the main piece)")
            continue
        near = [stats[o][0] for o in order
                if o != name and abs(level_index(o) - level_index(name)) <= 2]
        if near and vol < FRAGMENT_FRACTION * float(np.median(near)):
            out[name] = (f"label is a fragment ({vol:.1f} mL against "
                         f"{float(np.median(near)):.1f} mL for its labelled neighbours)")
            continue
        for o in order[max(0, n - 1):n + 2]:
            if o == name or typical <= 0 or abs(level_index(o) - level_index(name)) != 1:
                continue
            d = float(np.linalg.norm(stats[o][1] - centre))
            if d < OVERLAP_FRACTION * typical:
                out[name] = (f"label overlaps {o} (centroids {d:.0f} mm apart, typical "
                             f"{typical:.0f} mm per level)")
    return out


def _index(name: str, named: Iterable[str]) -> int:
    """Index of ``name`` in the counting order with the variants among ``named``."""
    return _level_index(name, named)


def missing_levels(cands: list[LevelCandidate] | tuple[LevelCandidate, ...]) -> list[str]:
    """Warnings for levels missing between labelled levels, and for gaps that look like one.

    Two labels named two or more levels apart whose centres are no further apart than
    1.5 typical level spacings suggest a misnamed level rather than a missing one.
    """
    by = {c.level: np.asarray(c.centroid_lps) for c in cands}
    counted = counting_order(by)

    def level_index(name: str) -> int:  # counting with the variants these levels name
        return _index(name, by)

    order = sorted(by, key=level_index)
    out = []
    steps = [float(np.linalg.norm(by[b] - by[a])) / (level_index(b) - level_index(a))
             for a, b in zip(order, order[1:], strict=False)]
    typical = float(np.median(steps)) if steps else 0.0
    for a, b in zip(order, order[1:], strict=False):
        gap = level_index(b) - level_index(a)
        if gap < 2:
            continue
        names = ", ".join(counted[i] for i in range(level_index(a) + 1, level_index(b)))
        text = (f"{names}: missing from the label map (between {a} and {b}); their "
                "neighbours' reference heights skip them")
        d = float(np.linalg.norm(by[b] - by[a]))
        if typical > 0 and d <= 1.5 * typical:
            text += (f"; but {a} and {b} are only {d:.0f} mm apart, like adjacent levels: "
                     "a level may be misnamed — check the names")
        out.append(text)
    return out


def levels_from_labels(volume: CTVolume, labelmap: LabelMap) -> tuple[LevelCandidate, ...]:
    """One candidate per vertebra label (cranial first), ``source="labels"``, unconfirmed.

    Notes
    -----
    The label map may lie on another grid than the CT (resampled by nearest neighbour).
    Sacrum labels are skipped (not a body to measure). Each candidate carries its vertebra
    mask on a crop of the CT grid.
    """
    names = level_names(labelmap)
    names = {k: v for k, v in names.items() if v != "S1"}
    if not names:
        raise InputError("the label map holds no vertebra labels (neither TotalSegmentator "
                         "names such as 'vertebrae_L1' nor VerSe ids 1-25)",
                         path=labelmap.source_path or None)
    lab = labels_on_grid(labelmap, volume.grid)
    problems = label_problems(_label_stats(lab, volume.grid, names))
    out = []
    for key, name in sorted(names.items(), key=lambda kv: _index(kv[1], names.values())):
        m = lab == key
        if m.sum() < 50:
            continue
        idx = np.argwhere(m)
        a, b = idx.min(axis=0), idx.max(axis=0) + 1
        sub = volume.grid.crop(tuple(a), tuple(b))
        crop = m[a[0]:b[0], a[1]:b[1], a[2]:b[2]]
        out.append(LevelCandidate(name, tuple(_body_start(sub, crop)), "labels", False,
                                  label_grid=sub, label_mask=crop,
                                  problem=problems.get(name)))
    if not out:
        raise AnalysisError("no vertebra label overlaps the CT; check that the label map "
                            "belongs to this scan")
    return tuple(_with_axes(out))


def _with_axes(cands: list[LevelCandidate]) -> list[LevelCandidate]:
    """Cranial axis of each level from its neighbours' centres (the column direction)."""
    from dataclasses import replace

    pts = np.array([c.centroid_lps for c in cands])
    out = []
    for n, c in enumerate(cands):
        a, b = pts[max(0, n - 1)], pts[min(len(pts) - 1, n + 1)]
        d = a - b
        if np.linalg.norm(d) < 5 or abs(d[2]) < 0.5 * np.linalg.norm(d):
            out.append(c)
            continue
        out.append(replace(c, superior_lps=tuple(d / np.linalg.norm(d))))
    return out


def volume_from_mask(labelmap: LabelMap) -> CTVolume:
    """A stand-in CT painted from a vertebra mask (see module notes)."""
    hu = np.where(np.asarray(labelmap.labels) > 0, MASK_BONE_HU, MASK_OUTSIDE_HU).astype(np.int16)
    return CTVolume.from_array(hu, labelmap.grid.ijk_to_lps, "mask:" + labelmap.source_path,
                               source_path=labelmap.source_path, modality="SEG",
                               description="vertebra mask")
