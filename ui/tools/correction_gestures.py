"""The gestures of the correction modes as values: which level, what correction, which case.

No Qt here: :mod:`ui.tools.correction_modes` feeds LPS points (mm) from the mouse and pushes
the cases these return. Each function returns ``(case, undo text)`` or a message (str) for
the status bar when the gesture cannot be taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.session.corrections import add_checked_correction
from planner.session.corrections_geometry import (
    PEDICLE_KIND,
    pedicle_correction,
    plane_correction,
)
from planner.session.corrections_outline import brush, outline_correction
from planner.vertebra.grading import grade_text
from ui.render.correction_overlays import PlaneLine

#: A brush or pedicle click this far (mm) from every body's centre picks no level.
PICK_MM = 45.0


def plane_lines(case: Any) -> tuple[PlaneLine, ...]:
    """Every analysed level's (corrected) mid-sagittal plane as an axial-view line."""
    analysis = case.corrected_analysis()
    if analysis is None:
        return ()
    out = []
    for r in analysis.levels:
        fr, m = r.anatomy.frame, r.morphometry
        edited = bool(getattr(r, "edited", {}).get("mid_sagittal_plane", False))
        half_h = 0.5 * max(m.heights_mm.anterior, m.heights_mm.middle, m.heights_mm.posterior)
        out.append(PlaneLine(r.level, np.asarray(fr.origin_lps), np.asarray(fr.left),
                             np.asarray(fr.posterior), np.asarray(fr.superior),
                             0.5 * m.depth_mm + 3.0, half_h, edited))
    return tuple(out)


def pedicle_axes(case: Any) -> list[tuple[Any, Any]]:
    """(entry, exit) LPS of every pedicle axis the user set."""
    out = []
    for c in case.plan.corrections:
        if c.kind == PEDICLE_KIND and isinstance(c.value, dict):
            out.append((np.asarray(c.value["entry_lps"]), np.asarray(c.value["exit_lps"])))
    return out


def pick_level(case: Any, p: Any, active: str | None) -> str | None:
    """The analysed level at LPS ``p``: the one whose body holds it, else the active level or
    the nearest body centre within :data:`PICK_MM` whose crop holds it."""
    analysis = case.corrected_analysis()
    if analysis is None:
        return None
    near: list[tuple[float, str]] = []
    for r in analysis.levels:
        a = r.anatomy
        ijk = np.rint(a.grid.lps_to_voxel(np.asarray(p, float))).astype(int)
        k, j, i = int(ijk[2]), int(ijk[1]), int(ijk[0])
        if not all(0 <= v < n for v, n in zip((k, j, i), a.body.shape, strict=True)):
            continue
        if a.body[k, j, i]:
            return str(r.level)
        d = float(np.linalg.norm(np.asarray(p) - a.frame.origin_lps))
        if d <= PICK_MM:
            near.append((d, r.level))
    if not near:
        return None
    names = [n for _, n in near]
    return active if active in names else min(near)[1]


@dataclass
class PlaneDrag:
    """Dragging a level's plane handle (``"centre"`` moves, an end turns)."""

    base: Any  # the case when the drag started
    volume: Any
    level: str
    handle: str
    key: int
    point: Any = None
    dirty: bool = False

    def _frame(self, p: Any) -> tuple[Any, Any]:
        """(origin, left) of the plane the handle at LPS ``p`` asks for."""
        fr = self.base.level_data(self.level).anatomy.frame
        sup = np.asarray(fr.superior)
        if self.handle == "centre":
            return fr.origin_lps + float((p - fr.origin_lps) @ fr.left) * fr.left, fr.left
        v = np.asarray(p) - fr.origin_lps
        v = v - float(v @ sup) * sup
        if float(np.linalg.norm(v)) < 2.0:
            return fr.origin_lps, fr.left
        post = v / np.linalg.norm(v) * (1.0 if self.handle == "posterior" else -1.0)
        return fr.origin_lps, np.cross(post, sup)

    def preview(self, p: Any) -> PlaneLine | None:
        """The line at the handle's new place (no measurement: every mouse move)."""
        self.point, self.dirty = np.asarray(p, float), True
        line = next((x for x in plane_lines(self.base) if x.level == self.level), None)
        if line is None:
            return None
        origin, left = self._frame(self.point)
        post = np.cross(line.superior, left)
        return PlaneLine(self.level, np.asarray(origin), np.asarray(left), post, line.superior,
                         line.half_depth_mm, line.half_height_mm, True)

    def case_now(self) -> tuple[Any, str] | str | None:
        """The case with the plane at the last point, measured in it from the CT."""
        if self.point is None:
            return None
        self.dirty = False
        r = self.base.analysis.level(self.level)  # the automatic level: its plane is stored
        origin, left = self._frame(self.point)
        try:
            c = plane_correction(self.volume, r.anatomy, r.morphometry, origin, left)
            case = add_checked_correction(self.base, c)
        except ValueError as exc:
            return str(exc)
        verb = "Move" if self.handle == "centre" else "Turn"
        return case, f"{verb} {self.level} mid-sagittal plane"


@dataclass
class BrushStroke:
    """One brush stroke on a level's body outline (add or erase)."""

    base: Any
    level: str
    normal: Any
    radius_mm: float
    add: bool
    mask: Any
    key: int = -1
    last: Any = None
    touched: bool = field(default=False)

    @classmethod
    def start(cls, case: Any, p: Any, normal: Any, radius_mm: float, add: bool,
              active: str | None) -> BrushStroke | None:
        level = pick_level(case, p, active)
        if level is None or case.analysis is None:
            return None
        body = case.level_data(level).anatomy.body
        return cls(case, level, np.asarray(normal, float), radius_mm, add, np.array(body))

    def case_at(self, p: Any) -> tuple[Any, str] | str:
        """The case with the stroke painted up to LPS ``p`` (points between the last and
        this one every half radius, so a fast drag leaves no gaps)."""
        p = np.asarray(p, float)
        pts = [p]
        if self.last is not None:
            n = max(1, int(math.ceil(np.linalg.norm(p - self.last) / (0.5 * self.radius_mm))))
            pts = [self.last + (p - self.last) * (t / n) for t in range(1, n + 1)]
        self.last = p
        auto = self.base.analysis.level(self.level).anatomy  # the delta's reference
        self.mask = brush(auto, self.mask, pts, self.radius_mm, self.normal, self.add)
        try:
            case = add_checked_correction(self.base, outline_correction(auto, self.mask))
        except ValueError as exc:
            return str(exc)
        verb = "Add to" if self.add else "Erase from"
        return case, f"{verb} {self.level} body outline"


def pedicle_case(case: Any, entry: Any, exit_: Any, active: str | None,
                 context_of: Any = None) -> tuple[str, Any, str]:
    """(level, new case, side) for a pedicle axis clicked from ``entry`` to ``exit_`` (LPS).

    ``context_of(level)`` gives the level's trajectory context if it is ready (its automatic
    axis is stored beside the correction), else None.
    """
    mid = 0.5 * (np.asarray(entry, float) + np.asarray(exit_, float))
    level = pick_level(case, mid, active) or pick_level(case, exit_, active)
    if level is None:
        raise ValueError("No analysed level near these clicks: click on a pedicle of a level")
    fr = case.level_data(level).anatomy.frame
    side = "left" if float(fr.to_body(mid)[0]) >= 0.0 else "right"
    auto = None
    ctx = context_of(level) if context_of is not None else None
    if ctx is not None and not getattr(ctx.pedicles.get(side), "user_axis", True):
        auto = ctx.pedicle_axis_lps(side)
    for c in case.plan.corrections:  # an earlier correction of this axis knows the automatic
        if c.kind == PEDICLE_KIND and c.level == level and c.key == side and c.automatic:
            a = c.automatic
            auto = (a["isthmus_lps"], a["direction_lps"])
    c = pedicle_correction(level, side, entry, exit_, auto)
    return level, add_checked_correction(case, c), side


def summary(case: Any, level: str) -> str:
    """A status-bar line: the level's heights, grade, wedge and body volume."""
    data = case.level_data(level)
    if data is None:
        return ""
    m = data.morphometry
    h = " / ".join(f"{m.heights_mm.get(w):.1f}" for w in ("anterior", "middle", "posterior"))
    return (f"{level}: heights A/M/P {h} mm, Genant {grade_text(m)}, wedge "
            f"{m.wedge_angle_deg:.1f}°, body {m.body_volume_ml:.1f} mL")
