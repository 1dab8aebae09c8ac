"""The surgeon's geometric corrections: a level's mid-sagittal plane and its pedicle axes.

``"midsagittal_plane"`` (key ``"plane"``)
    The plane is moved along the body's left axis and turned about its superior axis (the
    axial view shows it as a line). Its value is the plane (``origin_lps``, unit normal
    ``left_lps``) and the six morphometry points measured in it from the CT at the time of the
    gesture (:func:`plane_correction`, the analysis' own edge finder
    :func:`planner.vertebra.morphometry.heights_and_geometry` on the turned frame), with depth
    and width; the automatic value beside it is the automatic plane and points. Applying it
    (:func:`planner.session.corrections.apply_corrections`) needs no CT: the level's frame
    becomes the corrected one (so the trajectory context, depth fractions and the sagittal
    views follow the corrected axes) and its heights come from the stored points
    (six-point morphometry, Genant 1993, J Bone Miner Res).
``"pedicle_axis"`` (key ``"left"`` / ``"right"``)
    Two clicks, entry (posterior) then exit (anterior, at the body), LPS mm. The level's
    anatomy carries them (``LevelAnatomy.pedicle_axes_lps``) and the trajectory context uses
    that line as the pedicle's axis (:mod:`planner.trajectory.pedicle_axis`) for the checks
    and auto-suggest. The automatic value beside it is the automatic isthmus centre and axis
    direction when known.

Points are patient LPS millimetres; angles degrees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from planner.anatomy import WALLS, BodyFrame, LevelAnatomy, Morphometry
from planner.constants import (
    PEDICLE_AXIS_LENGTH_RANGE_MM,
    PLANE_MAX_SHIFT_MM,
    PLANE_MAX_TURN_DEG,
)
from planner.grid import FloatArray
from planner.session.model import Correction
from planner.volume import CTVolume

PLANE_KIND = "midsagittal_plane"
PLANE_KEY = "plane"
PEDICLE_KIND = "pedicle_axis"
SIDES = ("left", "right")
Point = tuple[float, float, float]


def _vec(v: Iterable[Any], what: str) -> FloatArray:
    a = np.asarray([float(x) for x in v], dtype=np.float64)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be three finite LPS numbers, got {a.tolist()!r}")
    return a


def _point(v: FloatArray, digits: int = 4) -> list[float]:
    return [round(float(x), digits) for x in v]


# --- mid-sagittal plane -------------------------------------------------------------------------
def turned_frame(
    frame: BodyFrame, origin_lps: Iterable[float], left_lps: Iterable[float]
) -> BodyFrame:
    """The body frame whose mid-sagittal plane passes through ``origin_lps`` with normal
    ``left_lps`` (projected perpendicular to the frame's superior axis, which is kept).

    The origin is kept at the automatic origin's height along the superior axis.
    """
    sup = np.asarray(frame.superior)
    left = _vec(left_lps, "the plane normal")
    left = left - float(left @ sup) * sup
    n = float(np.linalg.norm(left))
    if n < 1e-6:
        raise ValueError("the plane normal must not lie along the body's superior axis")
    left = left / n
    if float(left @ frame.left) < 0.0:
        left = -left
    o = _vec(origin_lps, "the plane origin")
    o = o - float((o - frame.origin_lps) @ sup) * sup
    return BodyFrame(o, left, np.cross(sup, left), sup)


def plane_of(frame: BodyFrame, shift_mm: float, turn_deg: float) -> tuple[FloatArray, FloatArray]:
    """(origin, normal) of the plane moved ``shift_mm`` along ``frame.left`` and turned
    ``turn_deg`` about ``frame.superior`` (+ = the anterior end towards the patient's left)."""
    t = math.radians(turn_deg)
    left = math.cos(t) * np.asarray(frame.left) + math.sin(t) * np.asarray(frame.posterior)
    return np.asarray(frame.origin_lps + shift_mm * frame.left), left


def shift_and_turn(auto: BodyFrame, new: BodyFrame) -> tuple[float, float]:
    """(shift mm along the automatic left axis, turn ° about its superior axis) of ``new``."""
    shift = float((new.origin_lps - auto.origin_lps) @ auto.left)
    turn = math.degrees(math.atan2(float(new.left @ auto.posterior), float(new.left @ auto.left)))
    return shift, turn


_BODY_CROPS: list[tuple[LevelAnatomy, LevelAnatomy]] = []  # the last few (level, body crop)


def body_crop(anatomy: LevelAnatomy) -> LevelAnatomy:
    """``anatomy`` cut to its body's bounding box (+1 voxel), same voxel placement: the
    morphometry reads only the body mask and the CT, and a smaller crop makes a plane drag
    update cheaper. Remembered for the last few levels."""
    for a, crop in _BODY_CROPS:
        if a is anatomy:
            return crop
    kji = np.argwhere(anatomy.body)
    if kji.size == 0:
        return anatomy
    lo = np.maximum(kji.min(axis=0) - 1, 0)
    hi = np.minimum(kji.max(axis=0) + 2, anatomy.body.shape)
    start = (int(lo[0]), int(lo[1]), int(lo[2]))
    stop = (int(hi[0]), int(hi[1]), int(hi[2]))
    sl = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    o = anatomy.offset_kji
    off = (o[0] + start[0], o[1] + start[1], o[2] + start[2])
    crop = replace(
        anatomy,
        grid=anatomy.grid.crop(start, stop),
        offset_kji=off,
        body=anatomy.body[sl],
        pedicle_left=anatomy.pedicle_left[sl],
        pedicle_right=anatomy.pedicle_right[sl],
        canal=anatomy.canal[sl],
        vertebra=None if anatomy.vertebra is None else anatomy.vertebra[sl],
        body_corners=None if anatomy.body_corners is None else anatomy.body_corners[sl],
    )
    _BODY_CROPS.insert(0, (anatomy, crop))
    del _BODY_CROPS[4:]
    return crop


def measured_points(
    volume: CTVolume, anatomy: LevelAnatomy
) -> tuple[dict[str, Point], float, float]:
    """The six morphometry points (key → LPS mm), depth and width (mm) measured from the CT in
    ``anatomy``'s frame by the analysis' own method
    (:func:`planner.session.corrections_measure.measure_in_plane`: the same numbers, cheaper)."""
    from planner.session.corrections_measure import measure_in_plane

    g = measure_in_plane(volume, anatomy, anatomy.frame)
    pts: dict[str, Point] = {}
    for wall in WALLS:
        x = float(g["x"][wall])  # type: ignore[index]
        lo, hi = g["ends"][wall]  # type: ignore[index]
        a, b = anatomy.frame.to_lps([[0.0, x, lo], [0.0, x, hi]])
        pts[f"{wall}_inferior"] = (float(a[0]), float(a[1]), float(a[2]))
        pts[f"{wall}_superior"] = (float(b[0]), float(b[1]), float(b[2]))
    return pts, float(g["depth"]), float(g["width"])  # type: ignore[arg-type]


def plane_correction(
    volume: CTVolume,
    anatomy: LevelAnatomy,
    morphometry: Morphometry,
    origin_lps: Iterable[float],
    left_lps: Iterable[float],
) -> Correction:
    """The correction putting the mid-sagittal plane of the *automatic* level at the given
    plane; its heights are measured in it from ``volume`` now (see the module notes).

    Raises
    ------
    ValueError
        A move beyond :data:`PLANE_MAX_SHIFT_MM` / :data:`PLANE_MAX_TURN_DEG`, or a plane in
        which the body's endplates cannot be measured (message for the user).
    """
    from planner.errors import AnalysisError
    from planner.session.corrections import automatic_points

    auto = anatomy.frame
    new = turned_frame(auto, origin_lps, left_lps)
    shift, turn = shift_and_turn(auto, new)
    if abs(shift) > PLANE_MAX_SHIFT_MM or abs(turn) > PLANE_MAX_TURN_DEG:
        raise ValueError(
            f"{anatomy.level} mid-sagittal plane: moved {shift:.0f} mm and turned {turn:.0f}°; "
            f"at most {PLANE_MAX_SHIFT_MM:.0f} mm and {PLANE_MAX_TURN_DEG:.0f}° are accepted"
        )
    try:
        pts, depth, width = measured_points(volume, replace(body_crop(anatomy), frame=new))
    except AnalysisError as exc:
        raise ValueError(
            f"{anatomy.level}: the body cannot be measured in that plane ({exc})"
        ) from exc
    automatic = {
        "origin_lps": _point(auto.origin_lps),
        "left_lps": _point(auto.left, 9),
        "points_lps": {k: list(v) for k, v in automatic_points(morphometry).items()},
        "depth_mm": round(morphometry.depth_mm, 3),
        "width_mm": round(morphometry.width_mm, 3),
    }
    value = {
        "origin_lps": _point(new.origin_lps),
        "left_lps": _point(new.left, 9),
        "points_lps": {k: _point(np.asarray(v)) for k, v in pts.items()},
        "depth_mm": round(depth, 3),
        "width_mm": round(width, 3),
        "shift_mm": round(shift, 2),
        "turn_deg": round(turn, 2),
    }
    return Correction.make(anatomy.level, PLANE_KIND, PLANE_KEY, automatic, value)


def stored_plane(
    anatomy: LevelAnatomy, correction: Correction
) -> tuple[BodyFrame, dict[str, Point], float, float]:
    """(corrected frame, six points, depth mm, width mm) of a plane correction's value."""
    from planner.session.corrections import POINT_KEYS

    v = correction.value
    if not isinstance(v, dict):
        raise ValueError("a mid-sagittal plane correction's value must be an object")
    frame = turned_frame(anatomy.frame, v.get("origin_lps", ()), v.get("left_lps", ()))
    raw = v.get("points_lps")
    if not isinstance(raw, dict) or set(raw) != set(POINT_KEYS):
        raise ValueError("a mid-sagittal plane correction needs its six measured points")
    pts: dict[str, Point] = {}
    for k in POINT_KEYS:
        a = _vec(raw[k], f"point {k}")
        pts[k] = (float(a[0]), float(a[1]), float(a[2]))
    depth, width = float(v.get("depth_mm", math.nan)), float(v.get("width_mm", math.nan))
    return frame, pts, depth, width


# --- pedicle axes -------------------------------------------------------------------------------
def pedicle_correction(
    level: str,
    side: str,
    entry_lps: Iterable[float],
    exit_lps: Iterable[float],
    automatic: tuple[Iterable[float], Iterable[float]] | None = None,
) -> Correction:
    """The correction setting the ``side`` pedicle's axis of ``level`` from two clicks.

    Parameters
    ----------
    entry_lps, exit_lps
        The first click (posterior end, where a needle enters the pedicle) and the second
        (anterior end, at the body), LPS mm.
    automatic
        The automatic (isthmus centre, unit axis direction towards anterior) in LPS, e.g.
        :meth:`planner.trajectory.TrajectoryContext.pedicle_axis_lps`; None when unknown.

    Raises
    ------
    ValueError
        Unknown side, or clicks closer or farther apart than
        :data:`PEDICLE_AXIS_LENGTH_RANGE_MM`.
    """
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    a, b = _vec(entry_lps, "the entry point"), _vec(exit_lps, "the exit point")
    length = float(np.linalg.norm(b - a))
    lo, hi = PEDICLE_AXIS_LENGTH_RANGE_MM
    if not lo <= length <= hi:
        raise ValueError(
            f"{level} {side} pedicle axis: the two clicks are {length:.1f} mm apart; "
            f"{lo:.0f}–{hi:.0f} mm are accepted"
        )
    auto: object = None
    if automatic is not None:
        c, d = (np.asarray([float(x) for x in v]) for v in automatic)
        if np.all(np.isfinite(c)) and np.all(np.isfinite(d)):
            auto = {"isthmus_lps": _point(c), "direction_lps": _point(d, 9)}
    value = {"entry_lps": _point(a), "exit_lps": _point(b), "length_mm": round(length, 2)}
    return Correction.make(level, PEDICLE_KIND, side, auto, value)


def stored_axis(correction: Correction) -> tuple[Point, Point]:
    """(entry, exit) LPS mm of a pedicle axis correction."""
    v = correction.value
    if not isinstance(v, dict) or correction.key not in SIDES:
        raise ValueError("a pedicle axis correction is {entry_lps, exit_lps} of side left/right")
    a, b = _vec(v.get("entry_lps", ()), "entry"), _vec(v.get("exit_lps", ()), "exit")
    if float(np.linalg.norm(b - a)) < PEDICLE_AXIS_LENGTH_RANGE_MM[0]:
        raise ValueError("a pedicle axis' two points are too close")
    return (
        (float(a[0]), float(a[1]), float(a[2])),
        (float(b[0]), float(b[1]), float(b[2])),
    )


def with_axes(anatomy: LevelAnatomy, corrections: Iterable[Correction]) -> LevelAnatomy:
    """``anatomy`` carrying the pedicle axes of ``corrections`` (the level's own)."""
    axes = dict(anatomy.pedicle_axes_lps)
    for c in corrections:
        if c.kind == PEDICLE_KIND:
            axes[c.key] = stored_axis(c)
    return replace(anatomy, pedicle_axes_lps=axes)
