"""Needle overlays: a tube at the needle's true outer diameter in 3D, its projection and
cross-section in 2D views, and the entry/target handles (VTK only, no Qt).

Value drawn: :class:`NeedleDisplay` (frozen). In a 2D view the needle is drawn as what it is
in that plane: the orthographic projection of a cylinder of diameter OD is a band of width OD
(two outline lines), the part of the needle within the slice slab is drawn bold, and where
the axis crosses the slice plane the cylinder's cross-section (an ellipse, a circle of the
true OD when the needle is perpendicular to the slice) is drawn. All points LPS mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkTubeFilter
from vtkmodules.vtkFiltersSources import vtkLineSource, vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

from ui.render.adapters import OverlayAdapter, polyline_actor, set_polyline

Point = tuple[float, float, float]
SEVERITY_COLOURS: dict[str, tuple[float, float, float]] = {
    "none": (0.35, 0.9, 0.45),
    "info": (0.35, 0.9, 0.45),
    "warning": (1.0, 0.75, 0.2),
    "danger": (1.0, 0.3, 0.25),
    "unknown": (0.4, 0.8, 1.0),
    # a needle of another level of the plan: shown for context, not checked or edited here
    "other level": (0.68, 0.7, 0.76),
}
TARGET_COLOUR = (1.0, 0.35, 0.85)
#: Opacity of a 3D needle's axis drawn over the bone (the tube itself is depth-tested).
GHOST_OPACITY = 0.55
SKIN_COLOUR = (0.3, 0.85, 1.0)
BONE_COLOUR = (1.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class NeedleDisplay:
    """What a needle overlay shows.

    ``depth_mm``: if set, only the first ``depth_mm`` from the skin entry are drawn (the
    needle "advanced" to that depth); None draws the whole planned needle.
    """

    skin_lps: Point
    bone_lps: Point
    target_lps: Point
    od_mm: float
    severity: str = "unknown"
    preview: bool = False
    selected: str = ""  # 'skin' | 'target' | ''
    depth_mm: float | None = None

    @property
    def colour(self) -> tuple[float, float, float]:
        c = SEVERITY_COLOURS.get(self.severity, SEVERITY_COLOURS["unknown"])
        return tuple(0.55 * v + 0.45 for v in c) if self.preview else c  # type: ignore[return-value]

    def axis(self) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """(start, unit direction, drawn length) of the needle axis."""
        a = np.asarray(self.skin_lps, dtype=np.float64)
        b = np.asarray(self.target_lps, dtype=np.float64)
        length = float(np.linalg.norm(b - a))
        d = (b - a) / max(length, 1e-9)
        if self.depth_mm is not None:
            length = float(np.clip(self.depth_mm, 0.0, length + 30.0))
        return a, d, length


def ellipse_points(
    centre: NDArray[np.float64],
    d: NDArray[np.float64],
    n: NDArray[np.float64],
    radius: float,
    count: int = 48,
) -> NDArray[np.float64]:
    """Cross-section of a cylinder (axis ``d``, radius) with the plane of normal ``n``."""
    cos = abs(float(d @ n))
    u = np.cross(n, d)
    if np.linalg.norm(u) < 1e-9:
        u = np.cross(n, [1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.cross(n, [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    w = np.cross(n, u)
    w /= np.linalg.norm(w)
    major = radius / max(cos, 0.05)
    th = np.linspace(0.0, 2 * np.pi, count + 1)
    return centre + radius * np.cos(th)[:, None] * u + major * np.sin(th)[:, None] * w


class NeedleAdapter(OverlayAdapter):
    """One needle in one view (3D or 2D); ``value`` is a :class:`NeedleDisplay` or None."""

    def build(self) -> None:
        assert self.context is not None
        if self.context.is_2d:
            self._build_2d()
        else:
            self._build_3d()

    # --- 3D ------------------------------------------------------------------------------------
    def _build_3d(self) -> None:
        self.line = vtkLineSource()
        self.tube = vtkTubeFilter()
        self.tube.SetInputConnection(self.line.GetOutputPort())
        self.tube.SetNumberOfSides(24)
        self.tube.CappingOn()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(self.tube.GetOutputPort())
        self.tube_actor = vtkActor()
        self.tube_actor.SetMapper(mapper)
        self.tube_actor.GetProperty().SetSpecular(0.4)
        self.add_prop(self.tube_actor)
        # a faint axis over everything: the needle stays visible inside bone
        ghost_mapper = vtkPolyDataMapper()
        ghost_mapper.SetInputConnection(self.line.GetOutputPort())
        self.ghost = vtkActor()
        self.ghost.SetMapper(ghost_mapper)
        self.ghost.GetProperty().SetLineWidth(3.0)
        self.ghost.GetProperty().SetOpacity(GHOST_OPACITY)
        self.ghost.PickableOff()
        self.add_prop_on_top(self.ghost)
        self.spheres: dict[str, tuple[vtkSphereSource, vtkActor]] = {}
        for name, colour, radius in (
            ("skin", SKIN_COLOUR, 2.6),
            ("target", TARGET_COLOUR, 2.6),
            ("bone", BONE_COLOUR, 1.6),
        ):
            src = vtkSphereSource()
            src.SetRadius(radius)
            src.SetThetaResolution(16)
            src.SetPhiResolution(12)
            m = vtkPolyDataMapper()
            m.SetInputConnection(src.GetOutputPort())
            a = vtkActor()
            a.SetMapper(m)
            a.GetProperty().SetColor(*colour)
            self.add_prop(a)
            self.spheres[name] = (src, a)

    def _draw_3d(self, v: NeedleDisplay) -> None:
        start, d, length = v.axis()
        self.line.SetPoint1(*start)
        self.line.SetPoint2(*(start + d * max(length, 0.1)))
        self.tube.SetRadius(v.od_mm / 2.0)
        self.tube_actor.GetProperty().SetColor(*v.colour)
        self.ghost.GetProperty().SetColor(*v.colour)
        self.tube_actor.GetProperty().SetOpacity(0.7 if v.preview else 1.0)
        for name, p in (("skin", v.skin_lps), ("target", v.target_lps), ("bone", v.bone_lps)):
            src, actor = self.spheres[name]
            src.SetCenter(*p)
            src.SetRadius((3.4 if v.selected == name else 2.6) if name != "bone" else 1.6)
            actor.SetVisibility(v.depth_mm is None)

    # --- 2D ------------------------------------------------------------------------------------
    def _build_2d(self) -> None:
        self.band, self.band_poly = polyline_actor((1, 1, 1), 1.0)
        self.axis_actor, self.axis_poly = polyline_actor((1, 1, 1), 1.0)
        self.slab, self.slab_poly = polyline_actor((1, 1, 1), 3.0)
        self.section, self.section_poly = polyline_actor((1, 1, 1), 2.0)
        self.band.GetProperty().SetOpacity(0.75)
        self.axis_actor.GetProperty().SetOpacity(0.45)
        self.axis_actor.GetProperty().SetLineStipplePattern(0xF0F0)
        self.handles: dict[str, tuple[vtkActor, object]] = {}
        for prop in (self.band, self.axis_actor, self.slab, self.section):
            self.add_prop(prop)
        for name, colour, size in (
            ("skin", SKIN_COLOUR, 11.0),
            ("target", TARGET_COLOUR, 11.0),
            ("bone", BONE_COLOUR, 7.0),
        ):
            actor, poly = polyline_actor(colour, 1.0)
            actor.GetProperty().SetPointSize(size)
            self.add_prop(actor)
            self.handles[name] = (actor, poly)

    def _draw_2d(self, v: NeedleDisplay) -> None:
        assert self.context is not None
        plane = self.context.slice_plane()
        start, d, length = v.axis()
        end = start + d * length
        colour = v.colour
        for actor in (self.band, self.axis_actor, self.slab, self.section):
            actor.GetProperty().SetColor(*colour)
        if plane is None or length <= 0:
            for actor in (self.band, self.axis_actor, self.slab, self.section):
                actor.VisibilityOff()
            return
        origin, n, half = plane
        r = v.od_mm / 2.0
        # projected outline: ± r perpendicular to the axis, within the view plane
        side = np.cross(n, d)
        if np.linalg.norm(side) > 1e-6:
            side /= np.linalg.norm(side)
            pts = [
                start + r * side,
                end + r * side,
                end - r * side,
                start - r * side,
                start + r * side,
            ]
            set_polyline(self.band_poly, pts, with_vertices=False)
            self.band.VisibilityOn()
        else:
            self.band.VisibilityOff()
        set_polyline(self.axis_poly, [start, end], with_vertices=False)
        self.axis_actor.VisibilityOn()
        # part within the slab (axis within half-thickness + radius of the plane)
        da = float((start - origin) @ n)
        db = float((end - origin) @ n)
        lim = half + r
        t0, t1 = _inside_interval(da, db, lim)
        if t1 > t0:
            set_polyline(
                self.slab_poly,
                [start + (end - start) * t0, start + (end - start) * t1],
                with_vertices=False,
            )
            self.slab.VisibilityOn()
        else:
            self.slab.VisibilityOff()
        tc = da / (da - db) if abs(da - db) > 1e-9 else -1.0
        if -1e-6 <= tc <= 1.0 + 1e-6:
            c = start + (end - start) * tc
            set_polyline(self.section_poly, ellipse_points(c, d, n, r), with_vertices=False)
            self.section.VisibilityOn()
        else:
            self.section.VisibilityOff()
        for name, p in (("skin", v.skin_lps), ("target", v.target_lps), ("bone", v.bone_lps)):
            actor, poly = self.handles[name]
            set_polyline(poly, [p], with_vertices=True)
            near = abs(float((np.asarray(p) - origin) @ n)) <= lim
            actor.GetProperty().SetOpacity(1.0 if near else 0.45)
            actor.GetProperty().SetPointSize(
                (15.0 if v.selected == name else 11.0) if name != "bone" else 7.0
            )
            actor.SetVisibility(v.depth_mm is None)

    # --- adapter API ---------------------------------------------------------------------------
    def draw(self, value: NeedleDisplay | None) -> None:
        assert self.context is not None
        for prop in (*self._props, *self._top_props):
            prop.SetVisibility(value is not None)
        if value is None:
            return
        if self.context.is_2d:
            self._draw_2d(value)
        else:
            self._draw_3d(value)

    def slice_changed(self) -> None:
        if self.context is not None and self.value is not None and self.context.is_2d:
            self._draw_2d(self.value)


SUGGESTION_COLOUR = (0.8, 0.55, 1.0)
DASH_MM, GAP_MM = 4.0, 3.0


def dashed_segments(a: ArrayLike, b: ArrayLike) -> vtkPolyData:
    """Line ``a → b`` (LPS mm) as separate dashes of ``DASH_MM`` every ``DASH_MM + GAP_MM``.

    Geometry, not line stipple: stipple patterns are ignored by VTK's OpenGL2 back end.
    """
    pa, pb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    length = float(np.linalg.norm(pb - pa))
    d = (pb - pa) / max(length, 1e-9)
    starts = np.arange(0.0, max(length, 1e-6), DASH_MM + GAP_MM)
    pts, lines = vtkPoints(), vtkCellArray()
    for t in starts:
        i = pts.InsertNextPoint(*(pa + d * t))
        j = pts.InsertNextPoint(*(pa + d * min(t + DASH_MM, length)))
        lines.InsertNextCell(2)
        lines.InsertCellPoint(i)
        lines.InsertCellPoint(j)
    poly = vtkPolyData()
    poly.SetPoints(pts)
    poly.SetLines(lines)
    return poly


class SuggestionAdapter(OverlayAdapter):
    """A pending auto-suggestion (value: :class:`NeedleDisplay` or None), drawn dashed.

    3D: dashed tube at the needle's outer diameter; 2D: the dashed axis projected into the
    view plane (the slice views show it whatever the slice, like a planning line).
    """

    def build(self) -> None:
        assert self.context is not None
        mapper = vtkPolyDataMapper()
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*SUGGESTION_COLOUR)
        self.actor.PickableOff()
        if self.context.is_2d:
            self.tube: vtkTubeFilter | None = None
            self.actor.GetProperty().SetLineWidth(2.5)
        else:
            self.tube = vtkTubeFilter()
            self.tube.SetInputData(vtkPolyData())
            self.tube.SetNumberOfSides(16)
            self.tube.CappingOn()
            mapper.SetInputConnection(self.tube.GetOutputPort())
            self.actor.GetProperty().SetOpacity(0.9)
        self.mapper = mapper
        self.add_prop(self.actor)

    def draw(self, value: NeedleDisplay | None) -> None:
        self.actor.SetVisibility(value is not None)
        if value is None:
            return
        poly = dashed_segments(value.skin_lps, value.target_lps)
        if self.tube is None:
            self.mapper.SetInputData(poly)
        else:
            self.tube.SetInputData(poly)
            self.tube.SetRadius(max(value.od_mm / 2.0, 0.5))


def _inside_interval(da: float, db: float, lim: float) -> tuple[float, float]:
    """Parameter interval [t0, t1] ⊂ [0, 1] where |da + t (db − da)| ≤ lim."""
    if abs(db - da) < 1e-12:
        return (0.0, 1.0) if abs(da) <= lim else (0.0, 0.0)
    ta = (-lim - da) / (db - da)
    tb = (lim - da) / (db - da)
    lo, hi = min(ta, tb), max(ta, tb)
    return max(0.0, lo), min(1.0, hi)
