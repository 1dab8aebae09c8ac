"""Overlay adapters: one per drawn element (plan element, measurement), in LPS mm.

How a panel author draws something in the views
-----------------------------------------------
Subclass :class:`OverlayAdapter`, build VTK props in ``build()`` (add them with
``self.add_prop``) and redraw them from a value in ``draw(value)``. Then call
``view.add_adapter(adapter)`` on each 2D view and/or the 3D view (``MainWindow.views()``), and
on ``document.plan_changed(old, new)`` call ``adapter.update(old_part, new_part)``: it returns at
once when ``old_part is new_part`` (plan values are immutable and share unchanged parts).
2D adapters get ``slice_changed()`` whenever the slice moves, to show only what lies near the
plane (``self.context.distance_to_slice(points)``). ``view.remove_adapter(adapter)`` calls
``remove()``, which takes the props out of the renderer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkPolyDataMapper,
    vtkProp,
    vtkRenderer,
    vtkTextActor,
)

PlaneFn = Callable[[], tuple[NDArray[np.float64], NDArray[np.float64], float] | None]


def values_equal(a: Any, b: Any) -> bool:
    """Whether two drawn values are equal by value (tuples, dataclasses, numpy arrays inside).

    Lets a view skip a redraw and a render when a new but equal value arrives (a correction of
    another level rebuilds the tuple of pedicle axes with the same points).
    """
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return False
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(np.array_equal(x, y))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(values_equal, a, b))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            values_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class ViewContext:
    """What an adapter may use of a view.

    Parameters
    ----------
    kind
        'axial', 'coronal', 'sagittal' or '3d'.
    renderer
        Renderer to add props to (the overlay layer in 2D views).
    request_render
        Call after changing props outside ``update``/``slice_changed``.
    plane
        For 2D views: returns (point on plane, unit normal, half slice thickness mm).
    """

    def __init__(
        self,
        kind: str,
        renderer: vtkRenderer,
        request_render: Callable[[], None],
        plane: PlaneFn | None = None,
        on_top: vtkRenderer | None = None,
    ) -> None:
        self.kind = kind
        self.renderer = renderer
        #: 3D: a renderer drawn over the scene with the same camera (what bone must not hide)
        self.on_top = on_top
        self.request_render = request_render
        self._plane = plane

    @property
    def is_2d(self) -> bool:
        return self._plane is not None

    def slice_plane(self) -> tuple[NDArray[np.float64], NDArray[np.float64], float] | None:
        return self._plane() if self._plane is not None else None

    def distance_to_slice(self, points_lps: ArrayLike) -> NDArray[np.float64]:
        """Signed distances (mm) of points ``(..., 3)`` to the slice plane (0 in 3D)."""
        p = np.asarray(points_lps, dtype=np.float64)
        plane = self.slice_plane()
        if plane is None:
            return np.zeros(p.shape[:-1])
        origin, normal, _half = plane
        return (p - origin) @ normal


class OverlayAdapter:
    """Base class: owns its VTK props, redraws only when its value changed."""

    def __init__(self) -> None:
        self.context: ViewContext | None = None
        self.value: Any = None
        self._props: list[vtkProp] = []
        self._top_props: list[vtkProp] = []

    def attach(self, context: ViewContext) -> None:
        self.context = context
        self.build()
        if self.value is not None:
            self.draw(self.value)

    def add_prop(self, prop: vtkProp) -> None:
        self._props.append(prop)
        if self.context is not None:
            self.context.renderer.AddViewProp(prop)

    def add_prop_on_top(self, prop: vtkProp) -> bool:
        """Add ``prop`` to the view's on-top layer, if it has one (returns whether it did)."""
        if self.context is None or self.context.on_top is None:
            return False
        self._top_props.append(prop)
        self.context.on_top.AddViewProp(prop)
        return True

    def update(self, old: Any, new: Any) -> None:
        """Show ``new``; nothing happens when ``old is new``."""
        if old is new and new is self.value:
            return
        self.value = new
        if self.context is not None:
            self.draw(new)

    def slice_changed(self) -> None:
        """The 2D view's slice moved; override to re-clip."""

    def remove(self) -> None:
        if self.context is not None:
            for prop in self._props:
                self.context.renderer.RemoveViewProp(prop)
            if self.context.on_top is not None:
                for prop in self._top_props:
                    self.context.on_top.RemoveViewProp(prop)
        self._props.clear()
        self._top_props.clear()
        self.context = None

    def build(self) -> None:
        """Create props (override)."""

    def draw(self, value: Any) -> None:
        """Update props from ``value`` (override)."""


def polyline_actor(
    colour: tuple[float, float, float], width: float = 2.0
) -> tuple[vtkActor, vtkPolyData]:
    poly = vtkPolyData()
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*colour)
    prop.SetLineWidth(width)
    prop.SetPointSize(6.0)
    prop.SetRenderPointsAsSpheres(True)
    actor.PickableOff()
    return actor, poly


def set_polyline(poly: vtkPolyData, points: ArrayLike, with_vertices: bool = True) -> None:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pts = vtkPoints()
    for q in p:
        pts.InsertNextPoint(*q)
    lines = vtkCellArray()
    lines.InsertNextCell(len(p))
    for i in range(len(p)):
        lines.InsertCellPoint(i)
    poly.SetPoints(pts)
    poly.SetLines(lines)
    if with_vertices:
        verts = vtkCellArray()
        for i in range(len(p)):
            verts.InsertNextCell(1)
            verts.InsertCellPoint(i)
        poly.SetVerts(verts)
    poly.Modified()


class MeasurementAdapter(OverlayAdapter):
    """A distance or angle (``ui.tools.measurement.Measurement``): polyline plus value label.

    In a 2D view it shows only while the measured points lie within the current slice.
    """

    COLOUR = (0.35, 0.85, 1.0)

    def build(self) -> None:
        self.actor, self.poly = polyline_actor(self.COLOUR)
        self.label = vtkTextActor()
        tp = self.label.GetTextProperty()
        tp.SetFontSize(14)
        tp.SetColor(*self.COLOUR)
        tp.BoldOn()
        tp.ShadowOn()
        self.label.GetPositionCoordinate().SetCoordinateSystemToWorld()
        self.add_prop(self.actor)
        self.add_prop(self.label)

    def draw(self, value: Any) -> None:
        if value is None:
            self.actor.VisibilityOff()
            self.label.VisibilityOff()
            return
        pts = np.asarray(value.points_lps, dtype=np.float64)
        set_polyline(self.poly, pts)
        anchor = pts[1] if value.kind == "angle" else pts[np.argmax(pts[:, 0])]  # vertex / one end
        self.label.GetPositionCoordinate().SetValue(*anchor)
        self.label.SetInput(value.label)
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None or self.value is None:
            return
        visible = True
        plane = self.context.slice_plane()
        if plane is not None:
            d = np.abs(self.context.distance_to_slice(self.value.points_lps))
            visible = bool(np.all(d <= plane[2] + 1e-3))
        self.actor.SetVisibility(visible)
        self.label.SetVisibility(visible)
