"""Fracture grading: reference heights, % height loss, Genant grade and type, posterior wall.

Sources (DOMAIN.md)
-------------------
- Genant semiquantitative grades from the worst height loss: grade 0 < 20 %, 1 20-25 %,
  2 25-40 %, 3 > 40 % (Genant 1993; thresholds as summarised by Wáng 2019; §2.1).
- Types: wedge (anterior height reduced), biconcave (middle), crush (whole body incl.
  posterior) (Lenchik; §2.1).
- Reference heights: same wall of the nearest intact vertebra above and below, averaged
  (§2.3, an engineering choice there) — unless the two differ by more than 15 %: then the
  taller (a compression fracture only ever lowers a body; with adjacent mild fractures an
  average lets one hide the other — measured on the VerSe mask in
  ../shared/data/verse004_labels, T9/T10) **[engineering choice]**; with one neighbour it
  is used alone; with none, the level's own posterior height (Kunkel 2010: Hp predicts the
  rest of the vertebra).
- Physiological ventral wedging per level, mean of Masharawi 2010's women and men (§1.2), so
  the normal 4-5° of T11-L1 is expected, not called a fracture: the anterior (middle)
  reference is shifted by the difference in expected wedging between the level and the
  neighbour over the distance from the posterior measuring point.
- Short vertebral height: a body lower than its neighbours at all three heights alike, with its
  own shape kept (the middle lost no more than the walls, so no endplate depression; anterior
  and posterior within 10 points of each other, so no wedge), is a non-fracture deformity, not
  a fracture: the algorithm-based qualitative method requires endplate depression (Jiang et al.
  2004, Osteoporos Int 15:887; "short vertebral height" vertebrae, Chou & Vokes 2015,
  J Clin Densitom). Such a level is graded 0 with a note and not used as a reference;
  a loss of 40 % or more is always graded **[10-point spread: engineering threshold]**.
- A body taller than the tallest measured neighbour within two levels by more than 20 %, next
  to bodies of undeformed shape, is not used as a reference (a fracture only lowers a body;
  heights change by 1-2 mm per level, Panjabi et al., Spine 1991/1992): its outline likely
  holds part of a disc **[20 %: engineering threshold]**.
- A body whose AP depth is outside 0.70-1.35 of the depth expected at its level (a robust line
  of depth against level over the measured levels) is not used as a reference either: depth
  grows by about 1 mm per level (Panjabi et al., Spine 1991/1992) and a fracture lowers a body
  rather than shortening it, so its outline is cut short or holds other bone
  **[engineering thresholds]**.
- Posterior wall: protrusion of the mid-sagittal wall behind the line joining its corners
  ≥ 2 mm "bulging", ≥ 4 mm "retropulsion" (at least 1 and 2 voxels) — **[engineering
  thresholds, not from a source]**; a normal wall is straight or concave (≤ 0 mm).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from planner.anatomy import HEIGHT_POSITIONS_FRAC, WALLS, Heights, Morphometry
from planner.grid import FloatArray
from planner.vertebra.common import level_index, nearest_measured, shift_level
from planner.vertebra.frame_tilt import TILT_NOTE_START, tilt_note, tilted_frames
from planner.vertebra.grade_uncertainty import (
    POSSIBLE_NOTE_START,
    loss_sd_pct,
    possible_grade,
    possible_note,
)

#: Physiological sagittal wedging (°, + = ventral), mean of women and men, Masharawi 2010.
PHYSIOLOGICAL_WEDGE_DEG: dict[str, float] = {
    "T9": 3.8, "T10": 3.2, "T11": 5.0, "T12": 4.2, "L1": 3.35,
    "L2": 1.65, "L3": 0.1, "L4": -1.9, "L5": -6.2,
}
GENANT_LIMITS_PCT = (20.0, 25.0, 40.0)
BULGE_MM = 2.0
RETROPULSION_MM = 4.0
MAX_REFERENCE_STEPS = 2
#: Morphology of a level measured but not graded: its outline failed a plausibility check
#: (see :func:`grade_all`); losses are still shown as measured.
NOT_GRADED = "not graded"


def genant_grade(loss_pct: float) -> int:
    """Genant SQ grade (0-3) from the worst height loss in %."""
    return sum(loss_pct >= t for t in GENANT_LIMITS_PCT)


def grade_text(m: Morphometry) -> str:
    """The grade as tables and sheets show it: "2 (wedge)", "0 (short)", "0", "not graded"."""
    if m.morphology == NOT_GRADED:
        return NOT_GRADED
    shown = m.genant_grade or m.morphology == "short"
    text = f"{m.genant_grade} ({m.morphology})" if shown else "0"
    higher = possible_grade(m.notes)
    return text if higher is None else f"{text} · possible {higher}"


def known_intact(m: Morphometry) -> bool:
    """Grade 0 with no higher grade possible and not withheld: the estimates treat the level
    as intact (no restoration predicted)."""
    return (m.genant_grade == 0 and m.morphology != NOT_GRADED
            and possible_grade(m.notes) is None)


def morphology(loss: dict[str, float], grade: int) -> str:
    if grade == 0:
        return "normal"
    la, lm, lp = (loss.get(w, 0.0) for w in WALLS)
    if lp >= GENANT_LIMITS_PCT[0] and min(la, lm) >= 15.0:
        return "crush"
    if lm > la + 5.0:
        return "biconcave"
    return "wedge"


#: Anterior and posterior losses closer than this (percentage points) are "alike" (no wedge) for
#: the short-vertebral-height rule **[engineering threshold]**.
SHORT_WALL_SPREAD_PCT = 10.0


def short_vertebral_height(loss: dict[str, float]) -> bool:
    """Whether a height loss against the neighbours is a short vertebra, not a fracture.

    Parameters
    ----------
    loss : dict
        Height loss (%) per wall (anterior, middle, posterior) against the reference heights.

    Returns
    -------
    bool
        True when some wall lost at least 20 % and less than 40 %, the middle lost no more than
        either wall (no endplate depression) and the anterior and posterior losses are within
        ``SHORT_WALL_SPREAD_PCT`` of each other (no wedge).
    """
    la, lm, lp = (loss.get(w, 0.0) for w in WALLS)
    worst = max(la, lm, lp)
    return (GENANT_LIMITS_PCT[0] <= worst < GENANT_LIMITS_PCT[2] and lm <= min(la, lp)
            and abs(la - lp) <= SHORT_WALL_SPREAD_PCT)


SHORT_NOTE = ("short vertebral height: all three heights {lo:.0f}-{hi:.0f} % below the "
              "neighbours' with the body's own shape kept (no endplate depression, no wedge): a "
              "non-fracture deformity, graded 0 (Jiang et al. 2004); check the endplates by eye")


def wall_status(bulge_mm: float | None, voxel_mm: float = 1.0) -> str:
    """Posterior wall class from its protrusion; limits grow to 1 and 2 voxels on coarse data."""
    if bulge_mm is None or not math.isfinite(bulge_mm):
        return "unknown"
    if bulge_mm >= max(RETROPULSION_MM, 2.0 * voxel_mm):
        return "retropulsion"
    return "bulging" if bulge_mm >= max(BULGE_MM, voxel_mm) else "intact"


def _wedge_tan(level: str) -> float:
    return math.tan(math.radians(PHYSIOLOGICAL_WEDGE_DEG.get(level, 0.0)))


def predicted_heights(target: str, target_depth: float, n: Morphometry) -> Heights:
    """A neighbour's heights carried over to ``target`` (physiological wedging corrected)."""
    out = {}
    for wall in WALLS:
        arm = (HEIGHT_POSITIONS_FRAC["posterior"] - HEIGHT_POSITIONS_FRAC[wall]) * target_depth
        out[wall] = n.heights_mm.get(wall) - arm * (_wedge_tan(target) - _wedge_tan(n.level))
    return Heights(**out)


def _own_reference(m: Morphometry) -> Heights:
    hp = m.heights_mm.posterior
    out = {}
    for wall in WALLS:
        arm = (HEIGHT_POSITIONS_FRAC["posterior"] - HEIGHT_POSITIONS_FRAC[wall]) * m.depth_mm
        out[wall] = hp - arm * _wedge_tan(m.level)
    return Heights(**out)


def nearest_intact(level: str, step: int, levels: dict[str, Morphometry],
                    fractured: set[str]) -> Morphometry | None:
    return nearest_measured(level, step, levels, fractured, MAX_REFERENCE_STEPS)


#: Two neighbours' predictions further apart than this (relative) are not averaged: the
#: taller one is taken (see module notes) **[engineering threshold]**.
NEIGHBOUR_SPREAD = 0.15


def _combine(values: list[float]) -> float:
    """Mean of the neighbours' predicted heights, or the taller when they disagree."""
    hi, lo = max(values), min(values)
    return hi if hi > (1.0 + NEIGHBOUR_SPREAD) * lo else sum(values) / len(values)


def grade_level(m: Morphometry, neighbours: dict[str, Morphometry],
                fractured: set[str] = frozenset()) -> Morphometry:  # type: ignore[assignment]
    """``m`` with reference heights, losses, Genant grade and type filled in."""
    refs = [predicted_heights(m.level, m.depth_mm, n) for n in (
        nearest_intact(m.level, -1, neighbours, fractured),
        nearest_intact(m.level, +1, neighbours, fractured)) if n is not None]
    notes = [x for x in m.notes if not x.startswith(("reference", POSSIBLE_NOTE_START))]
    if refs:
        ref = Heights(**{w: _combine([r.get(w) for r in refs]) for w in WALLS})
        if len(refs) == 1:
            notes.append("reference heights from one intact neighbour only")
    else:
        ref = _own_reference(m)
        notes.append("reference heights from the level's own posterior height "
                     "(no intact neighbour within two levels)")
    loss = {w: max(0.0, 100.0 * (1.0 - m.heights_mm.get(w) / ref.get(w))) for w in WALLS}
    sd = {w: loss_sd_pct(m.heights_mm.get(w), ref.get(w), m.height_sd_mm, len(refs))
          for w in WALLS}
    point = genant_grade(max(loss.values()))
    grade = genant_grade(max(loss[w] - sd[w] for w in WALLS))  # what the sampling supports
    notes = [x for x in notes if not x.startswith("short vertebral height")]
    short = point > 0 and short_vertebral_height(loss)
    if short:
        grade = 0
        notes.append(SHORT_NOTE.format(lo=min(loss.values()), hi=max(loss.values())))
    elif point > grade:
        worst = max(WALLS, key=lambda w: loss[w])
        notes.append(possible_note(point, loss[worst], sd[worst], m.height_sd_mm))
    mean_h = sum(m.heights_mm.get(w) for w in WALLS)
    mean_ref = sum(ref.get(w) for w in WALLS)
    pre = m.body_volume_ml * max(1.0, mean_ref / mean_h) if grade > 0 else m.body_volume_ml
    return replace(m, reference_heights_mm=ref, height_loss_pct=loss, genant_grade=grade,
                   morphology="short" if short else morphology(loss, grade),
                   prefracture_volume_ml=pre,
                   notes=tuple(notes))


def grade_all(levels: dict[str, Morphometry],
              set_by_hand: frozenset[str] | set[str] = frozenset()) -> dict[str, Morphometry]:
    """Grade every level against its nearest intact neighbours (two passes).

    The first pass grades against the nearest neighbours whatever their state; levels found
    fractured are then excluded as references and everything is graded again. A level whose
    outline fails a plausibility check (:func:`outline_suspect`) is not graded — a grade from
    an implausible outline is no evidence of a fracture (on ../shared/data/cptac_chest_ct at
    coarser pixels or a soft kernel 6 of 18 false grades were such levels; no level of the real
    cases' originals is) — unless its heights are in ``set_by_hand`` (the surgeon placed its
    morphometry points); it is then graded on them.
    """
    levels = {k: replace(m, notes=tuple(n for n in m.notes if not _suspect_note(n)))
              for k, m in levels.items()}  # graded again: the checks below add them anew
    odd = {k for k, m in levels.items() if implausible_middle(m)}
    tall = {k for k in levels if k not in odd and implausibly_tall(k, levels)}
    deep = implausible_depths(levels)
    tilted = tilted_frames(levels)
    suspect = odd | tall | set(deep) | set(tilted)
    first = {k: grade_level(m, levels, suspect) for k, m in levels.items()}
    fractured = {k for k, m in first.items()
                 if m.genant_grade > 0 or m.morphology == "short"} | suspect
    out = {k: grade_level(m, levels, fractured) for k, m in
           sorted(levels.items(), key=lambda kv: level_index(kv[0], levels))}
    for k in odd:
        out[k] = replace(out[k], notes=(*out[k].notes, MIDDLE_NOTE))
    for k in tall:
        out[k] = replace(out[k], notes=(*out[k].notes, TALL_NOTE))
    for k, med in deep.items():
        out[k] = replace(out[k], notes=(*out[k].notes, depth_note(levels[k].depth_mm, med)))
    for k, tilt in tilted.items():
        out[k] = replace(out[k], notes=(*out[k].notes, tilt_note(tilt)))
    for k in suspect - set(set_by_hand):
        out[k] = replace(out[k], genant_grade=0, morphology=NOT_GRADED,
                         prefracture_volume_ml=out[k].body_volume_ml,
                         notes=(*out[k].notes, NOT_GRADED_NOTE))
    return out


NOT_GRADED_NOTE = ("not graded: a grade from an implausible outline is no evidence of a "
                   "fracture; correct the outline or place the six morphometry points to grade it")


MIDDLE_NOTE = ("middle height taller than both walls by > 15 %: endplates are flat or concave, "
               "so the measurement is suspect (check the outline); not used as a reference")


def outline_suspect(m: Morphometry) -> bool:
    """Whether the grading found the level's outline implausible (a middle taller than both
    walls, a body much taller than its neighbours, or an AP depth far from theirs): it
    should be checked."""
    return any(_suspect_note(n) for n in m.notes)


def _suspect_note(note: str) -> bool:
    return (note in (MIDDLE_NOTE, TALL_NOTE, NOT_GRADED_NOTE)
            or note.startswith((DEPTH_NOTE_START, TILT_NOTE_START)))


def grading_notes(m: Morphometry) -> tuple[str, ...]:
    """The notes on how a level was graded (reference, short vertebra, suspect heights);
    the surgeon's corrections (``edited:`` notes) excluded."""
    return tuple(n for n in m.notes if not n.startswith("edited:"))


#: A body whose mean height exceeds the tallest of its measured neighbours' (two levels up and
#: down) by more than this share is not used as a reference: body heights change by 1-2 mm
#: from one level to the next (Panjabi et al., Spine 1991/1992) and a fracture only lowers a
#: body (so fractured neighbours do not make a normal body look tall against the tallest), so
#: such a body holds part of a disc or its neighbours' endplates. On
#: ../shared/data/cptac_chest_ct at 0.70 mm pixels T12 measured 31.7 mm against 24.2-24.9 at
#: T10, T11 and L1 and made both T10 and T11 look fractured **[engineering threshold]**.
MAX_TALLER_THAN_NEIGHBOURS = 0.20
TALL_NOTE = ("taller than its neighbours by more than 20 %: the outline may hold part of a disc "
             "(check it); not used as a neighbour's reference")


def _measured_near(level: str, levels: dict[str, Morphometry],
                   steps: tuple[int, ...]) -> list[Morphometry]:
    """The measured levels ``steps`` away from ``level`` (+ caudal)."""
    return [levels[n] for k in steps if (n := shift_level(level, k)) is not None and n in levels]


def _mean_height(m: Morphometry) -> float:
    return sum(m.heights_mm.get(w) for w in WALLS) / len(WALLS)


def implausibly_tall(level: str, levels: dict[str, Morphometry]) -> bool:
    """Whether ``level`` is taller than its measured neighbours allow.

    Parameters
    ----------
    level : str
        The level tested (a key of ``levels``).
    levels : dict
        Morphometry of every measured level, by name (heights in mm).

    Returns
    -------
    bool
        True when at least two levels within two steps are measured, the adjacent ones show
        no wedge or endplate depression of their own (:func:`undeformed`; so a normal body
        between fractures is never "too tall"), and the level's mean height exceeds the
        tallest of their mean heights by more than :data:`MAX_TALLER_THAN_NEIGHBOURS`.
    """
    near = [_mean_height(m) for m in _measured_near(level, levels, (-2, -1, 1, 2))]
    if len(near) < 2:
        return False
    adjacent = _measured_near(level, levels, (-1, 1))
    if not adjacent or not all(undeformed(m) for m in adjacent):
        return False  # lowered by wedge or endplate fractures: the body itself may be normal
    return _mean_height(levels[level]) > (1.0 + MAX_TALLER_THAN_NEIGHBOURS) * max(near)


#: A body whose AP depth is outside this range of the depth expected at its level has an outline
#: cut short or holding other bone. The expectation is a robust straight line of depth against
#: level over every measured level (Theil-Sen, fitted again without the worst outlier until
#: the rest fit): depth grows by about 1 mm per level from T1 to L1 (Panjabi et al., Spine
#: 1991/1992; on ../shared/data/cptac_chest_ct 17.6 mm at T1, 29.1 at T5, 35.1 at L1, within
#: 0.82-1.16 of the line) and a compression fracture lowers a body rather than shortening or
#: lengthening it. On the same CT re-sampled or blurred, outlines 43-48 mm deep (T1 at 0.85 mm
#: pixels, T2 and T3 with a soft kernel) and 16 mm deep (T7, soft) were graded 2-3
#: **[engineering thresholds]**.
DEPTH_RATIO_RANGE = (0.70, 1.35)
MIN_LEVELS_FOR_DEPTH_TREND = 4
DEPTH_NOTE_START = "AP depth implausible for its level"


def implausible_depths(levels: dict[str, Morphometry]) -> dict[str, float]:
    """The levels whose AP depth is far from the spine's depth trend, with the expected depth.

    Parameters
    ----------
    levels : dict
        Morphometry of every measured level, by name (depths in mm).

    Returns
    -------
    dict
        Level name → depth expected at that level (mm), for the levels whose depth is outside
        :data:`DEPTH_RATIO_RANGE` of it; empty with fewer than
        :data:`MIN_LEVELS_FOR_DEPTH_TREND` levels.
    """
    if len(levels) < MIN_LEVELS_FOR_DEPTH_TREND:
        return {}
    names = list(levels)
    x = np.array([level_index(k, names) for k in names], dtype=float)
    y = np.array([levels[k].depth_mm for k in names])
    lo, hi = DEPTH_RATIO_RANGE
    keep = np.ones(len(y), dtype=bool)
    while True:  # refit without the worst outlier until every kept level fits the line
        slope, intercept = _theil_sen(x[keep], y[keep])
        ratio = y / np.maximum(intercept + slope * x, 1e-6)
        outside = (ratio < lo) | (ratio > hi)
        bad = keep & outside
        if not bad.any() or keep.sum() <= MIN_LEVELS_FOR_DEPTH_TREND:
            break
        keep[np.flatnonzero(bad)[np.argmax(np.abs(np.log(ratio[bad])))]] = False
    return {k: float(intercept + slope * xi)
            for k, xi, o in zip(names, x, outside, strict=True) if o}


def _theil_sen(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Median of the pairwise slopes and median intercept (as ``scipy.stats.theilslopes``,
    whose import costs 0.4 s at start-up for a dozen points)."""
    i, j = np.triu_indices(len(x), 1)
    slope = float(np.median((y[j] - y[i]) / (x[j] - x[i])))
    return slope, float(np.median(y) - slope * np.median(x))


def depth_note(depth_mm: float, expected_mm: float) -> str:
    return (f"{DEPTH_NOTE_START} ({depth_mm:.0f} mm where the other levels give "
            f"{expected_mm:.0f} mm): the outline may be cut short or hold other bone (check it); "
            "not used as a neighbour's reference")


#: A body whose anterior height is at least this share of its posterior height and whose middle
#: height is at least this share of its lower wall has no wedge and no endplate depression
#: (Genant's 20 % less 5 points of measurement tolerance) **[engineering threshold]**.
UNDEFORMED_RATIO = 0.85


def undeformed(m: Morphometry) -> bool:
    """Whether a body's own shape shows no wedge and no endplate depression."""
    h = m.heights_mm
    return (h.anterior >= UNDEFORMED_RATIO * h.posterior
            and h.middle >= UNDEFORMED_RATIO * min(h.anterior, h.posterior))


#: Endplates are flat or concave (Schmorl nodes and fractures make them more so): a middle
#: height this much taller than both walls is a segmentation leak, not anatomy
#: **[engineering threshold]**.
MAX_MIDDLE_EXCESS = 0.15


def implausible_middle(m: Morphometry) -> bool:
    """Whether the middle height exceeds both wall heights by more than 15 %."""
    h = m.heights_mm
    return h.middle > (1.0 + MAX_MIDDLE_EXCESS) * max(h.anterior, h.posterior)
