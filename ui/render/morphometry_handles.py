"""The six morphometry points of a level as handles on the sagittal view (VTK only, no Qt).

A handle is one of a level's six points (anterior / middle / posterior on the superior and
inferior endplates, LPS mm, from its ``height_lines_lps``). Handles are shown for the levels
whose mid-sagittal plane the slice shows (the slice faces the body's left axis and passes
within 30 % of its width from the centre), projected onto the slice. Points the user corrected
are drawn in another colour. :mod:`ui.tools.morphometry_tool` drags them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

from ui.render.adapters import OverlayAdapter

AUTO_COLOUR = (1.0, 0.9, 0.3)  # the height lines' colour
EDITED_COLOUR = (1.0, 0.35, 0.85)
HANDLE_PX = 11.0
#: The slice shows a level's mid-sagittal plane within this fraction of its width (as the
#: height lines do).
NEAR_WIDTH_FRAC = 0.3
FACING_COS = 0.8


@dataclass(frozen=True)
class LevelHandles:
    """One level's six points (key → LPS mm), its frame's centre and left axis, its width."""

    level: str
    points: dict[str, tuple[float, float, float]]
    origin_lps: NDArray[np.float64]
    left: NDArray[np.float64]
    width_mm: float
    edited: frozenset[str]


def level_handles(
    analysis: Any, edited: dict[str, set[str]] | None = None
) -> tuple[LevelHandles, ...]:
    """Handles of every analysed level with measured points (``edited``: level → keys)."""
    if analysis is None:
        return ()
    out = []
    for r in analysis.levels:
        m = r.morphometry
        if not m.height_lines_lps:
            continue
        pts = {}
        for wall, (inf, sup) in m.height_lines_lps.items():
            pts[f"{wall}_superior"] = tuple(float(v) for v in sup)
            pts[f"{wall}_inferior"] = tuple(float(v) for v in inf)
        fr = r.anatomy.frame
        out.append(
            LevelHandles(
                r.level,
                pts,
                np.asarray(fr.origin_lps),
                np.asarray(fr.left),
                float(m.width_mm),
                frozenset((edited or {}).get(r.level, ())),
            )
        )
    return tuple(out)


def _actor(colour: tuple[float, float, float]) -> tuple[vtkActor, vtkPolyData]:
    poly = vtkPolyData()
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*colour)
    prop.SetPointSize(HANDLE_PX)
    prop.SetRenderPointsAsSpheres(True)
    actor.PickableOff()
    return actor, poly


def _set_points(poly: vtkPolyData, points: list[NDArray[np.float64]]) -> None:
    pts = vtkPoints()
    verts = vtkCellArray()
    for i, p in enumerate(points):
        pts.InsertNextPoint(*p)
        verts.InsertNextCell(1)
        verts.InsertCellPoint(i)
    poly.SetPoints(pts)
    poly.SetVerts(verts)
    poly.Modified()


class MorphometryHandlesAdapter(OverlayAdapter):
    """Value: a tuple of :class:`LevelHandles`. ``visible`` lists (level, key, LPS on slice)."""

    def build(self) -> None:
        self.auto_actor, self.auto_poly = _actor(AUTO_COLOUR)
        self.edited_actor, self.edited_poly = _actor(EDITED_COLOUR)
        self.add_prop(self.auto_actor)
        self.add_prop(self.edited_actor)
        self.visible: list[tuple[str, str, NDArray[np.float64]]] = []

    def draw(self, value: Any) -> None:
        self.slice_changed()

    def shown_levels(self) -> list[LevelHandles]:
        """The levels whose mid-sagittal plane the slice shows."""
        plane = None if self.context is None else self.context.slice_plane()
        if plane is None or not self.value:
            return []
        origin, normal, _ = plane
        return [
            h
            for h in self.value
            if abs(float(normal @ h.left)) > FACING_COS
            and abs(float((h.origin_lps - origin) @ normal)) <= NEAR_WIDTH_FRAC * h.width_mm
        ]

    def slice_changed(self) -> None:
        if self.context is None:
            return
        self.visible = []
        auto: list[NDArray[np.float64]] = []
        edited: list[NDArray[np.float64]] = []
        plane = self.context.slice_plane()
        for h in self.shown_levels():
            origin, normal, _ = plane  # type: ignore[misc]
            for key, p in h.points.items():
                q = np.asarray(p) - ((np.asarray(p) - origin) @ normal) * normal
                self.visible.append((h.level, key, q))
                (edited if key in h.edited else auto).append(q)
        for actor, poly, pts in (
            (self.auto_actor, self.auto_poly, auto),
            (self.edited_actor, self.edited_poly, edited),
        ):
            actor.SetVisibility(bool(pts))
            if pts:
                _set_points(poly, pts)
