"""Estimates in the views: balloons, lifted endplates, the cement cloud and the ghost outline.

Values come from ``ui.panels.estimates_state.EstimateView`` (duck-typed here: ``full`` holds
``planner.estimate.PlanEstimates``). In 2D the surfaces are cut by the slice plane; the cement
is drawn filled and translucent so the bone stays readable under it.

- :class:`BalloonAdapter`: each inflated balloon (magenta) and, when it lifts the endplates,
  the lifted superior endplate (green polyline through the three height positions).
- :class:`CementAdapter`: the cloud filled up to the injected volume (``set_injected``), leak
  points as red dots.
- :class:`GhostAdapter`: sagittal only: the expected shape — the body outline in its
  mid-sagittal plane with the median immediate gain per wall added (dotted white).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkCutter, vtkStripper
from vtkmodules.vtkFiltersGeneral import vtkContourTriangulator
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

from planner.anatomy import HEIGHT_POSITIONS_FRAC
from ui.render.adapters import OverlayAdapter, polyline_actor, set_polyline
from ui.render.vertebra_actors import body_surface, height_line_points, mask_surface, text_actor

BALLOON_COLOUR = (0.95, 0.35, 0.85)
LIFT_COLOUR = (0.4, 1.0, 0.5)
CEMENT_COLOUR = (0.35, 0.95, 1.0)
LEAK_COLOUR = (1.0, 0.25, 0.2)
GHOST_COLOUR = (1.0, 1.0, 1.0)


def _points_poly(points: NDArray[np.float64]) -> vtkPolyData:
    pts = vtkPoints()
    verts = vtkCellArray()
    for n, p in enumerate(np.asarray(points, float).reshape(-1, 3)):
        pts.InsertNextPoint(*p)
        verts.InsertNextCell(1)
        verts.InsertCellPoint(n)
    poly = vtkPolyData()
    poly.SetPoints(pts)
    poly.SetVerts(verts)
    return poly


class _MaskShape:
    """A surface shown whole (3D) or cut (2D, outline + optional translucent fill)."""

    def __init__(
        self,
        adapter: OverlayAdapter,
        colour: tuple[float, float, float],
        fill: bool,
        opacity_3d: float = 1.0,
    ) -> None:
        self.is_2d = adapter.context is not None and adapter.context.is_2d
        self.plane = vtkPlane()
        self.surface = vtkPolyData()
        self.outline = vtkActor()
        self.fill: vtkActor | None = None
        m = vtkPolyDataMapper()
        m.ScalarVisibilityOff()
        self.outline.SetMapper(m)
        self.outline.GetProperty().SetColor(*colour)
        self.outline.PickableOff()
        if self.is_2d:
            cutter = vtkCutter()
            cutter.SetInputData(self.surface)
            cutter.SetCutFunction(self.plane)
            strip = vtkStripper()
            strip.SetInputConnection(cutter.GetOutputPort())
            m.SetInputConnection(strip.GetOutputPort())
            self.outline.GetProperty().SetLineWidth(2.0)
            self.outline.GetProperty().LightingOff()
            if fill:
                tri = vtkContourTriangulator()
                tri.SetInputConnection(strip.GetOutputPort())
                fm = vtkPolyDataMapper()
                fm.SetInputConnection(tri.GetOutputPort())
                fm.ScalarVisibilityOff()
                self.fill = vtkActor()
                self.fill.SetMapper(fm)
                self.fill.GetProperty().SetColor(*colour)
                self.fill.GetProperty().SetOpacity(0.35)
                self.fill.GetProperty().LightingOff()
                self.fill.PickableOff()
                adapter.add_prop(self.fill)
        else:
            m.SetInputData(self.surface)
            self.outline.GetProperty().SetOpacity(opacity_3d)
        adapter.add_prop(self.outline)

    def set_mask(self, mask: NDArray[np.bool_] | None, grid: Any) -> None:
        if mask is None or not mask.any():
            self.surface.Initialize()
        else:
            self.surface.DeepCopy(mask_surface(mask, grid, 0.6))
        self.surface.Modified()

    def set_visible(self, on: bool) -> None:
        self.outline.SetVisibility(on)
        if self.fill is not None:
            self.fill.SetVisibility(on)

    def slice_changed(self, plane: Any) -> None:
        if plane is None or not self.is_2d:
            return
        origin, normal, _ = plane
        self.plane.SetOrigin(*origin)
        self.plane.SetNormal(*normal)


class BalloonAdapter(OverlayAdapter):
    """Inflated balloons and lifted endplates (value: EstimateView or None)."""

    def build(self) -> None:
        self.shapes = {
            s: _MaskShape(self, BALLOON_COLOUR, fill=False, opacity_3d=0.45)
            for s in ("left", "right")
        }
        self.lift, self.lift_poly = polyline_actor(LIFT_COLOUR, 2.0)
        self.add_prop(self.lift)
        self._lift_pts: NDArray[np.float64] | None = None

    def draw(self, value: Any) -> None:
        full = getattr(value, "full", None)
        by_side = {b.side: b for b in full.balloons} if full is not None else {}
        for side, shape in self.shapes.items():
            b = by_side.get(side)
            shape.set_mask(
                None if b is None else b.cavity_fine, None if full is None else full.fine.grid
            )
            shape.set_visible(b is not None)
        self._lift_pts = None
        lifted = [b for b in by_side.values() if any(v > 0.05 for v in b.lift_mm.values())]
        if lifted and value is not None:
            r = value.result
            pts = height_line_points(r.anatomy, r.morphometry)
            lift = {w: max(b.lift_mm.get(w, 0.0) for b in lifted) for w in HEIGHT_POSITIONS_FRAC}
            self._lift_pts = np.array(
                [
                    pts[w][1] + r.anatomy.frame.superior * lift[w]
                    for w in ("anterior", "middle", "posterior")
                ]
            )
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        for shape in self.shapes.values():
            shape.slice_changed(plane)
        if self._lift_pts is None:
            self.lift.VisibilityOff()
            return
        p = self._lift_pts
        if plane is not None:
            origin, normal, _ = plane
            if abs(float((p.mean(axis=0) - origin) @ normal)) > 12.0:
                self.lift.VisibilityOff()
                return
            p = p - ((p - origin) @ normal)[:, None] * normal
        set_polyline(self.lift_poly, p)
        self.lift.VisibilityOn()


class CementAdapter(OverlayAdapter):
    """The planned cement cloud up to the injected volume (value: EstimateView or None)."""

    def __init__(self) -> None:
        super().__init__()
        self.injected_ml: float | None = None
        self._shown: tuple[Any, float | None] | None = None

    def build(self) -> None:
        self.shape = _MaskShape(self, CEMENT_COLOUR, fill=True, opacity_3d=0.9)
        self.leaks = vtkActor()
        m = vtkPolyDataMapper()
        self.leaks.SetMapper(m)
        self.leaks.GetProperty().SetColor(*LEAK_COLOUR)
        self.leaks.GetProperty().SetPointSize(11.0)
        self.leaks.GetProperty().SetRenderPointsAsSpheres(True)
        self.leaks.PickableOff()
        self.add_prop(self.leaks)
        self._shown = None

    def set_injected(self, ml: float | None) -> None:
        self.injected_ml = ml
        if self.context is not None:
            self.draw(self.value)

    def draw(self, value: Any) -> None:
        spread = getattr(getattr(value, "full", None), "spread", None)
        key = (spread, self.injected_ml)
        if (
            self._shown is None
            or self._shown[0] is not spread
            or self._shown[1] != self.injected_ml
        ):
            self._shown = key
            if spread is None:
                self.shape.set_mask(None, None)
            else:
                cloud = (
                    spread.cloud if self.injected_ml is None else spread.cloud_at(self.injected_ml)
                )
                self.shape.set_mask(cloud, spread.grid)
        self.shape.set_visible(spread is not None)
        leaks = (
            []
            if spread is None
            else [
                lp
                for lp in spread.leak_points
                if self.injected_ml is None or lp.injected_ml_at_reach <= self.injected_ml
            ]
        )
        self._leak_pts = np.array([lp.location_lps for lp in leaks], float).reshape(-1, 3)
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        self.shape.slice_changed(plane)
        pts = getattr(self, "_leak_pts", np.zeros((0, 3)))
        if plane is not None and len(pts):
            origin, normal, half = plane
            near = np.abs((pts - origin) @ normal) <= max(3.0, half)
            pts = pts[near] - ((pts[near] - origin) @ normal)[:, None] * normal
        self.leaks.GetMapper().SetInputData(_points_poly(pts))
        self.leaks.SetVisibility(len(pts) > 0)


def ghost_outline(
    anatomy: Any, gains: dict[str, float], surface: vtkPolyData | None = None
) -> NDArray[np.float64]:
    """Points (LPS) of the expected mid-sagittal outline: each column of the body outline
    stretched upward so the superior endplate rises by the gain interpolated between the walls.
    """
    fr = anatomy.frame
    surface = surface if surface is not None else body_surface(anatomy)
    plane = vtkPlane()
    plane.SetOrigin(*fr.origin_lps)
    plane.SetNormal(*fr.left)
    cutter = vtkCutter()
    cutter.SetInputData(surface)
    cutter.SetCutFunction(plane)
    strip = vtkStripper()
    strip.SetInputConnection(cutter.GetOutputPort())
    strip.Update()
    out = strip.GetOutput()
    if out.GetNumberOfPoints() == 0:
        return np.zeros((0, 3))
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkIdList

    pts = vtk_to_numpy(out.GetPoints().GetData()).astype(float)
    cells = out.GetLines()
    cells.InitTraversal()
    ids, best = vtkIdList(), np.zeros(0, np.int64)
    while cells.GetNextCell(ids):  # the longest loop is the body's outline
        if ids.GetNumberOfIds() > best.size:
            best = np.array([ids.GetId(n) for n in range(ids.GetNumberOfIds())], np.int64)
    order = best
    body = fr.to_body(pts[order])
    y, z = body[:, 1], body[:, 2]
    y0, y1 = y.min(), y.max()
    xs = [y0 + HEIGHT_POSITIONS_FRAC[w] * (y1 - y0) for w in ("anterior", "middle", "posterior")]
    g = np.interp(
        y, xs, [gains.get("anterior", 0.0), gains.get("middle", 0.0), gains.get("posterior", 0.0)]
    )
    bins = np.round(y).astype(int)
    lo = {b: z[bins == b].min() for b in np.unique(bins)}
    hi = {b: z[bins == b].max() for b in np.unique(bins)}
    zl = np.array([lo[b] for b in bins])
    zh = np.array([hi[b] for b in bins])
    t = np.where(zh - zl > 1e-6, (z - zl) / np.maximum(zh - zl, 1e-6), 0.0)
    body[:, 2] = z + g * t
    return fr.to_lps(body)


class GhostAdapter(OverlayAdapter):
    """Expected shape after the procedure (value: EstimateView or None), sagittal view only."""

    def __init__(self) -> None:
        super().__init__()
        self.enabled = True
        self._cache: tuple[Any, Any, NDArray[np.float64]] | None = None

    def build(self) -> None:
        self.actor, self.poly = polyline_actor(GHOST_COLOUR, 1.0)
        self.actor.GetProperty().SetPointSize(3.0)
        self.actor.GetProperty().SetOpacity(0.9)
        # a legend in the view's lower-right corner, clear of the height labels
        self.label = text_actor(GHOST_COLOUR, 12)
        self.label.GetTextProperty().SetJustificationToRight()
        self.label.GetTextProperty().SetVerticalJustificationToBottom()
        self.label.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        self.label.GetPositionCoordinate().SetValue(0.99, 0.1)  # above the scale bar
        self.label.SetInput("- - - expected shape\n(median, just after)")
        self.add_prop(self.actor)
        self.add_prop(self.label)
        self._pts = np.zeros((0, 3))

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if self.context is not None:
            self.slice_changed()

    def draw(self, value: Any) -> None:
        rest = getattr(value, "restoration", None)
        if value is None or rest is None:
            self._pts = np.zeros((0, 3))
        else:
            anatomy = value.result.anatomy
            if self._cache is None or self._cache[0] is not anatomy or self._cache[1] is not rest:
                gains = {w: b.median for w, b in rest.immediate_mm.items()}
                self._cache = (anatomy, rest, ghost_outline(anatomy, gains))
            self._pts = self._cache[2]
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        v = self.value
        show = self.enabled and len(self._pts) > 2 and plane is not None and v is not None
        if show:
            origin, normal, _ = plane
            fr = v.result.anatomy.frame
            show = (
                abs(float(normal @ fr.left)) > 0.8
                and abs(float((fr.origin_lps - origin) @ normal))
                <= 0.3 * v.result.morphometry.width_mm
            )
        self.actor.SetVisibility(show)
        self.label.SetVisibility(show)
        if not show:
            return
        p = self._pts - ((self._pts - origin) @ normal)[:, None] * normal
        set_polyline(self.poly, np.vstack([p, p[:1]]))
