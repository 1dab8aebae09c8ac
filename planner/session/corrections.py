"""The surgeon's corrections applied to the automatic analysis (pure functions of values).

A ``"morphometry_point"`` correction moves one of a level's six morphometry points
(anterior / middle / posterior on the superior and inferior endplates; key
``"<wall>_<endplate>"``, e.g. ``"anterior_superior"``; points patient LPS mm).
:func:`apply_corrections` returns a new analysis in which

- the corrected level's heights are recomputed from its six points: each height is the distance
  between the wall's superior and inferior points measured along the body frame's superior
  axis (perpendicular to the endplates) in the body's mid-sagittal plane — the points are
  projected onto that plane first (six-point quantitative morphometry: Genant 1993; Chou &
  Vokes 2015, J Clin Densitom);
- its wedge angle is ``atan((Hp - Ha) / (x_p - x_a))`` with ``x`` the wall's mean AP position
  in the body frame (+ = anterior lower), the definition of :mod:`planner.vertebra.morphometry`;
- every level is graded again with :func:`planner.vertebra.grading.grade_all`, so the
  neighbours' reference heights, losses, Genant grades and types follow. Levels whose grading
  does not change keep their original :class:`~planner.anatomy.Morphometry` object.

The level's mid-sagittal plane (``"midsagittal_plane"``), body outline (``"body_outline"``)
and pedicle axes (``"pedicle_axis"``) are applied first, per level
(:mod:`planner.session.corrections_levels`): the moved points then sit on top of the heights
measured in a corrected plane.

The derived estimates (restoration, cement) read the corrected morphometry through
:meth:`planner.session.model.Case.level_data`, and their cache keys contain the morphometry's
content (:func:`planner.session.derive.anatomy_key`), hence the corrections.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import fields, replace
from typing import Any

import numpy as np

from planner.anatomy import WALLS, BodyFrame, Heights, Morphometry
from planner.session.corrections_levels import GEOMETRY_KINDS, CorrectedLevel, corrected_level
from planner.session.model import Correction
from planner.vertebra.grading import grade_all

KIND = "morphometry_point"
ENDPLATES = ("superior", "inferior")
#: The six point keys, ``"<wall>_<endplate>"`` (the keys of ``morphometry_points_lps``).
POINT_KEYS = tuple(f"{w}_{e}" for w in WALLS for e in ENDPLATES)
#: The kinds this module applies to the analysis (level names are applied by the UI).
APPLIED_KINDS = (KIND, *GEOMETRY_KINDS)
#: A point may be moved at most this far from its automatic place (LPS mm): a larger move is
#: a misplaced handle, not a correction **[tool assumption]**.
MAX_SHIFT_MM = 40.0

Point = tuple[float, float, float]
Lines = dict[str, tuple[Point, Point]]


def automatic_points(m: Morphometry) -> dict[str, Point]:
    """The six morphometry points of ``m`` (key → LPS mm), from its height lines."""
    out: dict[str, Point] = {}
    for wall, (inf, sup) in m.height_lines_lps.items():
        out[f"{wall}_superior"] = _point(sup)
        out[f"{wall}_inferior"] = _point(inf)
    return out


def _point(p: Iterable[Any]) -> Point:
    x, y, z = (float(v) for v in p)
    if not all(math.isfinite(v) for v in (x, y, z)):
        raise ValueError(f"a morphometry point must be finite LPS mm, got {(x, y, z)}")
    return (x, y, z)


def point_correction(m: Morphometry, key: str, value_lps: Iterable[float]) -> Correction:
    """A correction moving point ``key`` of level ``m`` to ``value_lps`` (LPS mm).

    The automatic value stored beside it is the point of the automatic analysis ``m``.

    Raises
    ------
    ValueError
        Unknown key, a level without height lines, or a move beyond :data:`MAX_SHIFT_MM`.
    """
    if key not in POINT_KEYS:
        raise ValueError(f"morphometry point must be one of {', '.join(POINT_KEYS)}; got {key!r}")
    auto = automatic_points(m)
    if key not in auto:
        raise ValueError(f"level {m.level} has no measured morphometry points to correct")
    value = _point(value_lps)
    shift = math.dist(value, auto[key])
    if shift > MAX_SHIFT_MM:
        raise ValueError(
            f"{m.level} {key.replace('_', ' ')}: moved {shift:.0f} mm from the "
            f"automatic point; at most {MAX_SHIFT_MM:.0f} mm is accepted"
        )
    return Correction.make(m.level, KIND, key, list(auto[key]), list(value))


def points_by_level(corrections: Iterable[Correction]) -> dict[str, dict[str, Point]]:
    """The corrected points (level → key → LPS mm); the last correction of a key wins."""
    out: dict[str, dict[str, Point]] = {}
    for c in corrections:
        if c.kind != KIND:
            continue
        if c.key not in POINT_KEYS:
            raise ValueError(f"{c.level}: unknown morphometry point {c.key!r}")
        v = c.value
        if not isinstance(v, list) or len(v) != 3:
            raise ValueError(f"{c.level} {c.key}: a point is three LPS mm numbers, got {v!r}")
        out.setdefault(c.level, {})[c.key] = _point(v)
    return out


def six_point_morphometry(
    frame: BodyFrame,
    points: dict[str, Point],
) -> tuple[Heights, float, Lines]:
    """Heights (mm), wedge angle (°, + = anterior lower) and height lines from six points.

    Parameters
    ----------
    frame
        The level's body frame; its superior axis is perpendicular to the endplates.
    points
        The six points (:data:`POINT_KEYS` → LPS mm).

    Notes
    -----
    Points are projected onto the body's mid-sagittal plane (left coordinate dropped); the
    height of a wall is the superior-axis distance between its two points.
    """
    heights: dict[str, float] = {}
    ap: dict[str, float] = {}
    lines: Lines = {}
    for wall in WALLS:
        sup = frame.to_body(points[f"{wall}_superior"])
        inf = frame.to_body(points[f"{wall}_inferior"])
        h = float(sup[2] - inf[2])
        if not h > 0.0:
            raise ValueError(
                f"{wall} height: the superior point must lie above the inferior "
                f"one along the body axis (got {h:.1f} mm)"
            )
        heights[wall] = h
        ap[wall] = 0.5 * float(sup[1] + inf[1])
        lines[wall] = (points[f"{wall}_inferior"], points[f"{wall}_superior"])
    dx = ap["posterior"] - ap["anterior"]
    if not dx > 0.0:
        raise ValueError("the anterior points must lie in front of the posterior ones")
    wedge = math.degrees(math.atan2(heights["posterior"] - heights["anterior"], dx))
    return Heights(**heights), wedge, lines


def _remeasured(m: Morphometry, frame: BodyFrame, moved: dict[str, Point]) -> Morphometry:
    pts = {**automatic_points(m), **moved}
    missing = set(POINT_KEYS) - set(pts)
    if missing:
        raise ValueError(f"level {m.level} lacks morphometry points {sorted(missing)}")
    heights, wedge, lines = six_point_morphometry(frame, pts)
    return replace(m, heights_mm=heights, wedge_angle_deg=wedge, height_lines_lps=lines)


_GRADED = (
    "heights_mm",
    "reference_heights_mm",
    "height_loss_pct",
    "genant_grade",
    "morphology",
    "wedge_angle_deg",
    "height_lines_lps",
)


def _same_grading(a: Morphometry, b: Morphometry) -> bool:
    def flat(m: Morphometry) -> list[float]:
        ref = m.reference_heights_mm
        vals = [*m.heights_mm.as_dict().values(), m.wedge_angle_deg, float(m.genant_grade)]
        vals += [] if ref is None else list(ref.as_dict().values())
        return vals + [m.height_loss_pct.get(w, 0.0) for w in WALLS]

    return (
        a.morphology == b.morphology
        and (a.reference_heights_mm is None) == (b.reference_heights_mm is None)
        and a.height_lines_lps == b.height_lines_lps
        and bool(np.allclose(flat(a), flat(b), rtol=0.0, atol=1e-9))
    )


def _merge(orig: Morphometry, graded: Morphometry, keep_prefracture: bool) -> Morphometry:
    notes = tuple(dict.fromkeys(graded.notes))
    pre = orig.prefracture_volume_ml if keep_prefracture else graded.prefracture_volume_ml
    return replace(
        orig, notes=notes, prefracture_volume_ml=pre, **{k: getattr(graded, k) for k in _GRADED}
    )


def corrected_morphometry(
    morph: dict[str, Morphometry],
    frames: dict[str, BodyFrame],
    corrections: Iterable[Correction],
    strict: bool = True,
    remeasured: frozenset[str] = frozenset(),
) -> dict[str, Morphometry]:
    """Every level's morphometry after the point corrections (unchanged levels: same objects).

    ``remeasured`` names levels whose ``morph`` already differs from the automatic analysis
    (a corrected plane or outline): every level is graded again when it is not empty.

    ``morph`` and ``frames`` are by level name; corrections of levels not in ``morph`` are
    ignored (the level was not analysed). An impossible point set (a superior point below its
    inferior one, anterior behind posterior) raises ``ValueError`` when ``strict``; otherwise
    that level keeps its automatic heights with a note saying so (e.g. a hand-edited file).
    """
    moved = {k: v for k, v in points_by_level(corrections).items() if k in morph}
    if not moved and not remeasured & set(morph):
        return dict(morph)
    measured = dict(morph)
    refused: dict[str, str] = {}
    for k in list(moved):
        try:
            measured[k] = _remeasured(morph[k], frames[k], moved[k])
        except ValueError as exc:
            if strict:
                raise
            refused[k] = f"{EDITED_PREFIX} correction not applied ({exc}); automatic heights kept"
            del moved[k]
    graded = grade_all(measured, set_by_hand=set(moved))
    out: dict[str, Morphometry] = {}
    for k, m in morph.items():
        g = graded[k]
        if k in moved or k in refused:
            note = refused[k] if k in refused else edited_note(m, moved[k])
            g = replace(g, notes=(*g.notes, note))
        elif _same_grading(m, g):
            out[k] = m
            continue
        out[k] = _merge(
            m, g, keep_prefracture=g.genant_grade > 0 and m.genant_grade > 0 and k not in moved
        )
    return out


#: Notes of a corrected level start with this (tables and the report mark it "edited").
EDITED_PREFIX = "edited:"


def edited_note(m: Morphometry, moved: dict[str, Point]) -> str:
    """The note a corrected level carries: which points moved, the automatic heights."""
    names = ", ".join(k.replace("_", " ") for k in POINT_KEYS if k in moved)
    auto = " / ".join(f"{m.heights_mm.get(w):.1f}" for w in WALLS)
    return (
        f"{EDITED_PREFIX} morphometry points moved by the user ({names}); automatic "
        f"heights A/M/P {auto} mm"
    )


def is_edited(m: Morphometry) -> bool:
    """Whether ``m`` carries a user correction (see :func:`edited_note`)."""
    return any(n.startswith(EDITED_PREFIX) for n in m.notes)


def apply_corrections(analysis: Any, corrections: Iterable[Correction], strict: bool = True) -> Any:
    """``analysis`` with the surgeon's morphometry-point corrections applied.

    Parameters
    ----------
    analysis
        A :class:`planner.vertebra.SpineAnalysis` (levels of ``LevelResult``) or a
        :class:`planner.session.model.LevelsAnalysis`.
    corrections
        The case's corrections: morphometry points, mid-sagittal planes, body outlines and
        pedicle axes (``"level_name"`` corrections are applied by the workstation).
    strict
        Raise ``ValueError`` on a correction that cannot apply (impossible points, an outline
        drawn on another analysis, a malformed value); otherwise the level keeps its
        automatic value with a note.

    Returns
    -------
    The same type; the input object itself when nothing changes. Level results of corrected
    levels carry ``edited[flag] = True`` (``"morphometry_points"``, ``"mid_sagittal_plane"``,
    ``"body_outline"``, ``"pedicle_axis"``) when the result type has ``edited``.
    """
    corrections = tuple(corrections)
    pairs = _pairs(analysis)
    geo = _geometry(pairs, corrections, strict)
    anatomy = {n: geo[n].anatomy if n in geo else d.anatomy for n, d in pairs}
    morph = {n: geo[n].morphometry if n in geo else d.morphometry for n, d in pairs}
    frames = {n: a.frame for n, a in anatomy.items()}
    remeasured = frozenset(n for n, g in geo.items() if g.remeasured)
    new = corrected_morphometry(morph, frames, corrections, strict, remeasured)
    flags = {n: set(g.flags) for n, g in geo.items()}
    for n in points_by_level(corrections):
        flags.setdefault(n, set()).add("morphometry_points")
    if (
        not geo
        and all(new[n] is d.morphometry for n, d in pairs)
        and not flags.keys() & morph.keys()
    ):
        return analysis
    items = [(n, _with(d, new[n], anatomy[n], flags.get(n, set()))) for n, d in pairs]
    if hasattr(analysis, "warnings"):
        return replace(analysis, levels=tuple(d for _, d in items))
    return replace(analysis, levels=tuple(items))


def _pairs(analysis: Any) -> list[tuple[str, Any]]:
    levels = analysis.levels
    if levels and isinstance(levels[0], tuple):
        return [(n, d) for n, d in levels]
    return [(r.level, r) for r in levels]


def _geometry(
    pairs: list[tuple[str, Any]], corrections: tuple[Correction, ...], strict: bool
) -> dict[str, CorrectedLevel]:
    """The levels with plane, outline or pedicle-axis corrections, corrected."""
    by_level: dict[str, list[Correction]] = {}
    for c in corrections:
        if c.kind in GEOMETRY_KINDS:
            by_level.setdefault(c.level, []).append(c)
    order = {k: i for i, k in enumerate(GEOMETRY_KINDS)}
    return {
        n: corrected_level(
            d.anatomy, d.morphometry, sorted(by_level[n], key=lambda c: order[c.kind]), strict
        )
        for n, d in pairs
        if n in by_level
    }


def _with(data: Any, m: Morphometry, anatomy: Any, flags: set[str]) -> Any:
    names = {f.name for f in fields(data)}
    changes: dict[str, Any] = {}
    if m is not data.morphometry:
        changes["morphometry"] = m
        if "prefracture" in names and m.genant_grade == 0:
            changes["prefracture"] = None
    if anatomy is not data.anatomy:
        changes["anatomy"] = anatomy
    if "edited" in names and flags:
        changes["edited"] = {**data.edited, **dict.fromkeys(sorted(flags), True)}
    return replace(data, **changes) if changes else data


def edited_levels(corrections: Iterable[Correction]) -> dict[str, tuple[str, ...]]:
    """Level → the kinds of correction made on it (for "edited" marks in tables, report)."""
    out: dict[str, list[str]] = {}
    for c in corrections:
        kinds = out.setdefault(c.level, [])
        if c.kind not in kinds:
            kinds.append(c.kind)
    return {k: tuple(v) for k, v in out.items()}



# the memoised corrected analysis and the checked edit live in corrections_edit (module size)
from planner.session.corrections_edit import (  # noqa: E402
    add_checked_correction as add_checked_correction,
)
from planner.session.corrections_edit import (  # noqa: E402
    corrected_analysis as corrected_analysis,
)

add_point_correction = add_checked_correction
"""The morphometry tool's name for :func:`add_checked_correction`."""
