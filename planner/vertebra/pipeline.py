"""The whole vertebra analysis as the command line and the workstation run it.

``analyze_spine`` = candidates (labels, seed or automatic) → :func:`segment_level` per level →
:func:`measure_level` → grading of every level against its intact neighbours.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy, Morphometry
from planner.errors import AnalysisError, Cancelled
from planner.grid import FloatArray
from planner.progress import Progress, report
from planner.vertebra.common import check_ct, level_index
from planner.vertebra.grade_uncertainty import height_sd_mm
from planner.vertebra.grading import grade_all, grade_level, nearest_intact, wall_status
from planner.vertebra.morphometry import (
    heights_and_geometry,
    posterior_wall_bulge_mm,
    trabecular_hu,
)
from planner.vertebra.noisy_fit import measurement_fit
from planner.vertebra.segment import BodyFit, build_anatomy, fit_body
from planner.vertebra.types import LevelCandidate, LevelResult, SpineAnalysis
from planner.volume import CTVolume, LabelMap

log = logging.getLogger(__name__)


def segment_level(volume: CTVolume, candidate: LevelCandidate,
                  progress: Progress | None = None) -> LevelAnatomy:
    """Body, pedicles, canal and frame of one level (masks on a crop of the CT grid).

    Notes
    -----
    LPS mm; see :mod:`planner.vertebra.body` and :mod:`planner.vertebra.segment` for the
    method. With an imported label map the body is kept inside the level's vertebra label
    (dilated by 2 mm), which also becomes ``LevelAnatomy.vertebra``.
    """
    report(progress, 0.0, f"segmenting {candidate.level}")
    fit = candidate.fit_cache
    if not isinstance(fit, BodyFit) or fit.source != _volume_key(volume) or not np.allclose(
            fit.centroid_lps, candidate.centroid_lps, atol=0.5):
        fit = fit_body(volume, np.asarray(candidate.centroid_lps),
                       np.asarray(candidate.superior_lps), np.asarray(candidate.posterior_lps))
    anatomy = build_anatomy(candidate.level, measurement_fit(volume, fit))
    if candidate.label_mask is not None and candidate.label_grid is not None:
        anatomy = _restrict_to_label(volume, anatomy, candidate)
    _check_in_view(volume, anatomy, candidate)
    report(progress, 1.0, f"{candidate.level} segmented")
    return anatomy


def _volume_key(volume: CTVolume) -> tuple[str, str]:
    return volume.series_uid, volume.grid.fingerprint()


def _check_in_view(volume: CTVolume, anatomy: LevelAnatomy,
                   cand: LevelCandidate | None = None) -> None:
    """Refuse a body cut by the edge of the scan: its heights and volume would be wrong.

    The body (or its imported vertebra label) must stay two voxels clear of every face of the
    volume; the ray casting stops at the image edge, so a cut body ends just inside it.
    """
    o = anatomy.offset_kji
    body = anatomy.body
    if anatomy.body_corners is not None:  # the pedicle bases may reach a face, the body not
        body = body & ~anatomy.body_corners
    if body.sum() < 50:
        raise AnalysisError(f"{anatomy.level}: no body found (empty segmentation)")
    idx = np.argwhere(body)
    lo = idx.min(axis=0) + np.asarray(o)
    hi = idx.max(axis=0) + np.asarray(o)
    cut = np.any(lo < 2) or np.any(hi > np.asarray(volume.shape_kji) - 3)
    if cand is not None and cand.label_grid is not None and cand.label_mask is not None:
        start = np.rint(volume.grid.lps_to_voxel(cand.label_grid.origin_lps)).astype(int)[::-1]
        stop = start + np.asarray(cand.label_mask.shape)
        cut = cut or np.any(start < 1) or np.any(stop > np.asarray(volume.shape_kji) - 1)
    if cut:
        raise AnalysisError(
            f"{anatomy.level} is not entirely inside the scan (its body reaches the edge of "
            "the image); it is not measured. Use a scan that covers the whole level")


def _restrict_to_label(volume: CTVolume, anatomy: LevelAnatomy,
                       cand: LevelCandidate) -> LevelAnatomy:
    from scipy import ndimage as ndi

    assert cand.label_grid is not None and cand.label_mask is not None
    full = np.zeros(volume.shape_kji, dtype=bool)
    start = np.rint(volume.grid.lps_to_voxel(cand.label_grid.origin_lps)).astype(int)[::-1]
    sh = cand.label_mask.shape
    full[start[0]:start[0] + sh[0], start[1]:start[1] + sh[1], start[2]:start[2] + sh[2]] = \
        cand.label_mask
    o, s = anatomy.offset_kji, anatomy.grid.shape_kji
    lab = full[o[0]:o[0] + s[0], o[1]:o[1] + s[1], o[2]:o[2] + s[2]]
    it = max(1, int(round(2.0 / float(np.min(volume.spacing_mm)))))
    body = anatomy.body & ndi.binary_dilation(lab, iterations=it)
    return replace(anatomy, body=body, vertebra=lab)


def measure_level(volume: CTVolume, anatomy: LevelAnatomy,
                  neighbours: dict[str, Morphometry] | None = None) -> Morphometry:
    """Heights, depth, width, volume, wedge angle, trabecular HU, posterior wall, grade.

    Notes
    -----
    Body frame, mm, mL, degrees (+ = anterior lower), HU. ``neighbours`` (level name →
    Morphometry) give the reference heights (DOMAIN.md §2.3); without them the level's own
    posterior height is the reference.
    """
    g = heights_and_geometry(volume, anatomy)
    hu = trabecular_hu(volume, anatomy) if volume.is_ct else math.nan
    try:
        bulge: float | None = posterior_wall_bulge_mm(volume, anatomy, g)
    except AnalysisError:
        bulge = None
    m = Morphometry(
        level=anatomy.level,
        centroid_lps=tuple(float(v) for v in anatomy.frame.origin_lps),  # type: ignore[arg-type]
        body_volume_ml=anatomy.body_volume_ml,
        heights_mm=g["heights"],  # type: ignore[arg-type]
        depth_mm=float(g["depth"]),  # type: ignore[arg-type]
        width_mm=float(g["width"]),  # type: ignore[arg-type]
        wedge_angle_deg=float(g["wedge"]),  # type: ignore[arg-type]
        trabecular_hu=hu,
        posterior_wall=wall_status(bulge, float(np.max(volume.spacing_mm))),
        height_lines_lps=_height_lines(anatomy, g),
        height_sd_mm=height_sd_mm(volume.grid.ijk_to_lps, anatomy.frame.superior,
                                  volume.slice_thickness_mm),
    )
    return grade_level(m, dict(neighbours or {}))


def _height_lines(anatomy: LevelAnatomy, g: dict[str, object],
                  ) -> dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]]:
    out = {}
    for wall, x in g["x"].items():  # type: ignore[attr-defined]
        lo, hi = g["ends"][wall]  # type: ignore[index]
        a, b = anatomy.frame.to_lps([[0.0, x, lo], [0.0, x, hi]])
        out[wall] = (tuple(float(v) for v in a), tuple(float(v) for v in b))
    return out  # type: ignore[return-value]


def _candidates(volume: CTVolume, labels: LabelMap | None, seed_lps: FloatArray | None,
                level: str | None, progress: Progress | None,
                ) -> tuple[tuple[LevelCandidate, ...], list[str]]:
    from planner.vertebra.labels import levels_from_labels
    from planner.vertebra.levels import propose_levels_with_warnings
    from planner.vertebra.seeded import seeded_levels

    if labels is not None:
        from planner.vertebra.labels import missing_levels

        cands = levels_from_labels(volume, labels)
        return cands, missing_levels(cands)
    if seed_lps is not None:
        if not level:
            raise AnalysisError("a seed needs the name of its level (e.g. --level L1)")
        return seeded_levels(volume, seed_lps, level, progress)
    return propose_levels_with_warnings(volume, progress)


def analyze_spine(volume: CTVolume, labels: LabelMap | None = None,
                  seed_lps: FloatArray | None = None, level: str | None = None,
                  progress: Progress | None = None, *, check: bool = True) -> SpineAnalysis:
    """Find, name, segment, measure and grade every level (cranial first).

    Notes
    -----
    Level sources: ``labels`` (imported map) > ``seed_lps`` + ``level`` (user click, LPS
    mm) > automatic proposal. A level whose segmentation fails is left out with a warning;
    no number is made up for it.
    """
    if check:
        check_ct(volume)
    cands, warnings = _candidates(volume, labels, seed_lps, level,
                                  progress.sub(0.0, 0.3) if progress else None)
    return analyze_levels(volume, cands, progress.sub(0.3, 1.0) if progress else None,
                          warnings)


def analyze_levels(volume: CTVolume, candidates: tuple[LevelCandidate, ...] | list[LevelCandidate],
                   progress: Progress | None = None,
                   warnings: tuple[str, ...] | list[str] = ()) -> SpineAnalysis:
    """Segment, measure and grade a given list of levels (e.g. after the user renamed them).

    Notes
    -----
    Levels are reported cranial first; one that cannot be segmented is left out with a
    warning. Grading uses the levels in this list as neighbours.
    """
    notes = list(warnings)
    done: list[tuple[LevelCandidate, LevelAnatomy, Morphometry]] = []
    for n, cand in enumerate(candidates):
        report(progress, n / max(1, len(candidates)), f"measuring {cand.level}")
        if cand.problem:
            notes.append(f"{cand.level}: {cand.problem}; not measured or graded")
            continue
        try:
            anatomy = segment_level(volume, cand)
            partial = _partial_label(volume, cand, anatomy)
            if partial:
                notes.append(f"{cand.level}: {partial}; not graded")
                continue
            done.append((cand, anatomy, measure_level(volume, anatomy)))
        except Cancelled:
            raise
        except AnalysisError as exc:
            text = str(exc)
            notes.append(text if text.startswith(cand.level) else f"{cand.level}: {text}")
    if not done:
        raise AnalysisError("no vertebral body could be segmented and measured; "
                            + ("; ".join(notes) or "check the input"))
    graded = grade_all({c.level: m for c, _, m in done})
    named = [c.level for c, _, _ in done]
    done.sort(key=lambda t: level_index(t[0].level, named))
    anatomies = {c.level: a for c, a, _ in done}
    results = tuple(_with_prefracture(volume, LevelResult(c, a, graded[c.level]), graded,
                                      anatomies) for c, a, _ in done)
    report(progress, 1.0, f"{len(results)} levels measured")
    return SpineAnalysis(results, tuple(notes))


#: A body taking more than this share of its imported vertebra label means the label holds
#: only part of a vertebra (healthy whole vertebrae: body 40-60 % of the label, biceps
#: reference T3-L5) **[engineering threshold]**.
MAX_BODY_SHARE_OF_LABEL = 0.8


def _partial_label(volume: CTVolume, cand: LevelCandidate, anatomy: LevelAnatomy) -> str:
    """Why an imported label is only part of a vertebra, or ''."""
    if cand.label_mask is None:
        return ""
    label_ml = float(cand.label_mask.sum()) * volume.grid.voxel_volume_mm3 / 1000.0
    share = anatomy.body_volume_ml / max(label_ml, 1e-6)
    if share <= MAX_BODY_SHARE_OF_LABEL:
        return ""
    return (f"label holds only part of a vertebra (a {anatomy.body_volume_ml:.1f} mL body "
            f"fills {100 * min(share, 1.0):.0f} % of its {label_ml:.1f} mL label)")


def _with_prefracture(volume: CTVolume, r: LevelResult, graded: dict[str, Morphometry],
                      anatomies: dict[str, LevelAnatomy]) -> LevelResult:
    """Attach the neighbour-based pre-fracture shape to a fractured level (see prefracture)."""
    from planner.vertebra.prefracture import prefracture_shape

    m = r.morphometry
    if m.genant_grade == 0:
        return r
    intact = set(graded) - {k for k, g in graded.items() if g.genant_grade > 0}
    nbrs = []
    for step in (-1, 1):
        n = nearest_intact(r.level, step, graded, set(graded) - intact)
        if n is not None:
            nbrs.append((anatomies[n.level], n))
    shape = prefracture_shape(volume, (r.anatomy, m), nbrs)
    if shape is None:
        return r
    return replace(r, morphometry=replace(m, prefracture_volume_ml=shape.volume_ml),
                   prefracture=shape)


def measure_from_mask(labelmap: LabelMap, progress: Progress | None = None) -> SpineAnalysis:
    """Heights, volumes and grades of the vertebrae in a mask, without the CT (see labels)."""
    from planner.vertebra.labels import volume_from_mask

    vol = volume_from_mask(labelmap)
    return analyze_spine(vol, labels=labelmap, progress=progress, check=False)


def body_label_map(volume: CTVolume, analysis: SpineAnalysis) -> NDArray[np.int16]:
    """All body masks as one label image on the CT grid, VerSe ids (for ``--mask-out``)."""
    from planner.io_nifti import VERSE_NAMES

    ids = {v: k for k, v in VERSE_NAMES.items()}
    out = np.zeros(volume.shape_kji, dtype=np.int16)
    for r in analysis.levels:
        a = r.anatomy
        o, s = a.offset_kji, a.grid.shape_kji
        view = out[o[0]:o[0] + s[0], o[1]:o[1] + s[1], o[2]:o[2] + s[2]]
        view[a.body & (view == 0)] = ids.get(r.level, 0)
    return out
