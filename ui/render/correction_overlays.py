"""What the correction modes draw on the 2D views (VTK only, no Qt; LPS mm).

- :class:`PlaneLineAdapter` (axial view): each level's mid-sagittal plane as a line across the
  body with three handles — the centre (drag: move the plane) and both ends (drag: turn it) —
  on the slices that cross the body; edited planes in the edited colour.
- :class:`BrushCursorAdapter`: the brush's circle (radius mm) on the slice, green when it
  adds to the body outline, red when it erases.
- :class:`PedicleAxisAdapter`: the pedicle axes the surgeon set (entry → exit) and the pending
  first click, drawn where they pass near the slice.

:mod:`ui.tools.correction_modes` owns the gestures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ui.render.adapters import OverlayAdapter, polyline_actor, set_polyline

PLANE_COLOUR = (0.3, 0.95, 0.95)
EDITED_COLOUR = (1.0, 0.35, 0.85)
ADD_COLOUR = (0.35, 1.0, 0.35)
ERASE_COLOUR = (1.0, 0.3, 0.3)
AXIS_COLOUR = (1.0, 0.85, 0.2)
#: The plane line's opacity: below 1 it is drawn with (after) the translucent crosshair.
LINE_OPACITY = 0.99
#: Axes are drawn when they pass this close to the slice (mm).
AXIS_NEAR_MM = 6.0
Vec = NDArray[np.float64]


@dataclass(frozen=True)
class PlaneLine:
    """One level's mid-sagittal plane as the axial view shows it (LPS mm).

    ``half_depth_mm``: half the line's length along ``posterior``; ``half_height_mm``: the
    slices within this distance of ``origin`` along ``superior`` show it.
    """

    level: str
    origin: Vec
    left: Vec
    posterior: Vec
    superior: Vec
    half_depth_mm: float
    half_height_mm: float
    edited: bool

    def handles(self) -> dict[str, Vec]:
        """Handle name (``"centre"``, ``"anterior"``, ``"posterior"``) → LPS point."""
        d = self.half_depth_mm * self.posterior
        return {"anterior": self.origin - d, "centre": self.origin, "posterior": self.origin + d}


def _project(p: Vec, plane: tuple[Vec, Vec, float]) -> Vec:
    origin, normal, _ = plane
    return np.asarray(p - ((p - origin) @ normal) * normal, dtype=np.float64)


class PlaneLineAdapter(OverlayAdapter):
    """Value: a tuple of :class:`PlaneLine`. ``visible`` lists (level, handle, LPS on slice)."""

    def build(self) -> None:
        self.actors: list[tuple[Any, Any]] = []
        self.visible: list[tuple[str, str, Vec]] = []

    def _actor(self, i: int, colour: tuple[float, float, float]) -> tuple[Any, Any]:
        while len(self.actors) <= i:
            actor, poly = polyline_actor(PLANE_COLOUR, 2.0)
            actor.GetProperty().SetPointSize(10.0)
            # over the crosshair, which it lies along when the plane is untilted: the
            # crosshair (opacity 0.85) is drawn in the translucent pass, after opaque props;
            # in that pass props draw in the order they were added, the crosshair first
            actor.GetProperty().SetOpacity(LINE_OPACITY)
            self.add_prop(actor)
            self.actors.append((actor, poly))
        actor, poly = self.actors[i]
        actor.GetProperty().SetColor(*colour)
        return actor, poly

    def draw(self, value: Any) -> None:
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        self.visible = []
        shown = 0
        for line in self.value or ():
            if plane is None:
                continue
            if abs(float((line.origin - plane[0]) @ plane[1])) > line.half_height_mm:
                continue
            pts = {k: _project(p, plane) for k, p in line.handles().items()}
            actor, poly = self._actor(shown, EDITED_COLOUR if line.edited else PLANE_COLOUR)
            set_polyline(poly, [pts["anterior"], pts["centre"], pts["posterior"]])
            actor.VisibilityOn()
            shown += 1
            self.visible += [(line.level, k, p) for k, p in pts.items()]
        for actor, _ in self.actors[shown:]:
            actor.VisibilityOff()


def circle_points(centre: Vec, normal: Vec, radius_mm: float, n: int = 48) -> Vec:
    """``n + 1`` points of a closed circle of ``radius_mm`` about ``centre`` ⟂ ``normal``."""
    nn = np.asarray(normal, dtype=np.float64)
    nn = nn / np.linalg.norm(nn)
    a = np.cross(nn, [1.0, 0.0, 0.0] if abs(nn[0]) < 0.9 else [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(nn, a)
    t = np.linspace(0.0, 2.0 * np.pi, n + 1)
    return np.asarray(centre + radius_mm * (np.outer(np.cos(t), a) + np.outer(np.sin(t), b)))


class BrushCursorAdapter(OverlayAdapter):
    """Value: ``(centre LPS, radius mm, add)`` or None (hidden)."""

    def build(self) -> None:
        self.actor, self.poly = polyline_actor(ADD_COLOUR, 1.5)
        self.add_prop(self.actor)
        self.actor.VisibilityOff()

    def draw(self, value: Any) -> None:
        plane = None if self.context is None else self.context.slice_plane()
        if value is None or plane is None:
            self.actor.VisibilityOff()
            return
        centre, radius, add = value
        pts = circle_points(_project(np.asarray(centre, float), plane), plane[1], radius)
        set_polyline(self.poly, pts, with_vertices=False)
        self.actor.GetProperty().SetColor(*(ADD_COLOUR if add else ERASE_COLOUR))
        self.actor.VisibilityOn()

    def slice_changed(self) -> None:
        self.draw(self.value)


class PedicleAxisAdapter(OverlayAdapter):
    """Value: a tuple of ``(entry LPS, exit LPS or None)``; None ends are a pending click."""

    def build(self) -> None:
        self.actors: list[tuple[Any, Any]] = []

    def draw(self, value: Any) -> None:
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        shown = 0
        for entry, exit_ in self.value or ():
            pts = [np.asarray(entry, float)] + ([] if exit_ is None else [np.asarray(exit_, float)])
            if plane is not None:
                d = np.abs(self.context.distance_to_slice(pts))
                if float(d.min()) > AXIS_NEAR_MM:
                    continue
                pts = [_project(p, plane) for p in pts]
            while len(self.actors) <= shown:
                actor, poly = polyline_actor(AXIS_COLOUR, 2.5)
                actor.GetProperty().SetPointSize(9.0)
                self.add_prop(actor)
                self.actors.append((actor, poly))
            actor, poly = self.actors[shown]
            set_polyline(poly, pts)
            actor.VisibilityOn()
            shown += 1
        for actor, _ in self.actors[shown:]:
            actor.VisibilityOff()
