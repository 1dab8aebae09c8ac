"""Oblique reslice views along and across a needle (VTK only, no Qt).

Same rendering path as the standard slice views (``vtkImageResliceMapper`` with
SliceFacesCamera + SliceAtFocalPoint, image direction identity, placement on the prop's user
matrix), but the camera's direction of projection is any unit vector: the slice is the plane
through the focal point facing the camera. Orientation letters come from the camera
(:func:`ui.render.orientation.edge_letters`), never hard-coded.

Planes for a needle with unit direction ``d`` (skin entry → tip), LPS:

- ``along_cc``: contains ``d`` and the superior axis (a sagittal-like oblique), seen from the
  patient's left like a sagittal view, superior up;
- ``along_tr``: contains ``d`` and the in-plane perpendicular of ``along_cc`` (an axial-like
  oblique), seen from the feet like an axial view, anterior up;
- ``eye``: perpendicular to ``d`` ("needle's eye"), looking from the skin towards the tip,
  superior up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageProperty

from planner.grid import ImageGrid
from ui.render.image import image_to_lps_matrix, to_vtk_matrix
from ui.render.orientation import edge_letters, screen_axes
from ui.render.slice_pipeline import ResliceLayers
from ui.render.view_text import CornerText, fit_edge_letters, letter_actor

CAMERA_DISTANCE_MM = 1000.0
F64 = NDArray[np.float64]
_S = np.array([0.0, 0.0, 1.0])
_X = np.array([1.0, 0.0, 0.0])


def _unit(v: ArrayLike) -> F64:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def needle_planes(direction_lps: ArrayLike) -> dict[str, tuple[F64, F64]]:
    """(direction of projection, view up) of the three needle views (module notes)."""
    d = _unit(direction_lps)
    n1 = np.cross(d, _S)
    if np.linalg.norm(n1) < 1e-3:  # needle along the spine's axis
        n1 = np.cross(d, _X)
    n1 = _unit(n1)
    if n1 @ np.array([-1.0, 0.0, 0.0]) < 0:  # look from the patient's left, like a sagittal view
        n1 = -n1
    up1 = _unit(_S - (_S @ n1) * n1)
    n2 = _unit(np.cross(d, n1))
    if n2 @ _S < 0:  # look from the feet, like an axial view
        n2 = -n2
    ant = np.array([0.0, -1.0, 0.0])
    up2 = ant - (ant @ n2) * n2
    up2 = _unit(up2 if np.linalg.norm(up2) > 1e-3 else d)
    up3 = _S - (_S @ d) * d
    up3 = _unit(up3 if np.linalg.norm(up3) > 1e-3 else ant - (ant @ d) * d)
    return {"along_cc": (n1, up1), "along_tr": (n2, up2), "eye": (d, up3)}


class ObliquePipeline:
    """One oblique view: image layer + overlay layer sharing a camera, letters, corner text."""

    def __init__(self, image_property: vtkImageProperty) -> None:
        layers = ResliceLayers(image_property, (0.0, 0.0, 0.0), screen_pixels=True)
        self.renderer, self.overlay = layers.renderer, layers.overlay
        self.mapper, self.image_slice = layers.mapper, layers.image_slice
        self.grid: ImageGrid | None = None
        self.letters = {
            e: letter_actor(e, font_size=15) for e in ("left", "right", "top", "bottom")
        }
        for a in self.letters.values():
            self.overlay.AddViewProp(a)
        self.corners = CornerText(self.overlay, font_size=12)
        self.half_thickness_mm = 0.5

    def set_volume(self, image: vtkImageData | None, grid: ImageGrid | None) -> None:
        self.grid = grid
        if image is None or grid is None:
            self.image_slice.VisibilityOff()
            self.mapper.RemoveAllInputs()
            return
        self.mapper.SetInputData(image)
        self.image_slice.SetUserMatrix(to_vtk_matrix(image_to_lps_matrix(grid.ijk_to_lps)))
        self.image_slice.VisibilityOn()
        self.half_thickness_mm = 0.5 * float(np.min(grid.spacing_mm))

    def set_plane(
        self, focal_lps: ArrayLike, dop: ArrayLike, up: ArrayLike, half_height_mm: float
    ) -> None:
        """Show the plane through ``focal_lps`` with normal ``dop`` (away from the viewer)."""
        f = np.asarray(focal_lps, dtype=np.float64)
        d = _unit(dop)
        cam = self.renderer.GetActiveCamera()
        cam.SetFocalPoint(*f)
        cam.SetPosition(*(f - d * CAMERA_DISTANCE_MM))
        cam.SetViewUp(*np.asarray(up, dtype=np.float64))
        cam.SetClippingRange(CAMERA_DISTANCE_MM - 600.0, CAMERA_DISTANCE_MM + 600.0)
        cam.SetParallelScale(max(half_height_mm, 5.0))
        for edge, text in edge_letters(d, up).items():
            self.letters[edge].SetInput(text)
        self.fit_letters()

    def fit_letters(self) -> None:
        """Top and bottom letters clear of the corner text (these views are small)."""
        fit_edge_letters(self.renderer, self.letters, self.corners)

    def plane(self) -> tuple[F64, F64, float]:
        cam = self.renderer.GetActiveCamera()
        return (
            np.asarray(cam.GetFocalPoint()),
            np.asarray(cam.GetDirectionOfProjection()),
            self.half_thickness_mm,
        )

    def screen_axes(self) -> tuple[F64, F64]:
        cam = self.renderer.GetActiveCamera()
        return screen_axes(cam.GetDirectionOfProjection(), cam.GetViewUp())

    def display_to_lps(
        self, x: float, y: float, plane: tuple[ArrayLike, ArrayLike] | None = None
    ) -> F64:
        """Display pixel (x, y) → the LPS point under it on ``plane`` = (point, normal)
        (default: the shown slice plane). Parallel projection: exact for any plane."""
        self.renderer.SetDisplayPoint(float(x), float(y), 0.0)
        self.renderer.DisplayToWorld()
        w = np.asarray(self.renderer.GetWorldPoint(), dtype=np.float64)
        p = w[:3] / w[3] if w[3] != 0 else w[:3]
        focal, normal = (self.plane()[:2]) if plane is None else plane
        o, n = np.asarray(focal, dtype=np.float64), _unit(normal)
        d = _unit(self.renderer.GetActiveCamera().GetDirectionOfProjection())
        return p + d * float(((o - p) @ n) / (d @ n))  # along the view ray onto the plane

    def lps_to_display(self, lps: ArrayLike) -> F64:
        p = np.asarray(lps, dtype=np.float64)
        self.renderer.SetWorldPoint(float(p[0]), float(p[1]), float(p[2]), 1.0)
        self.renderer.WorldToDisplay()
        return np.asarray(self.renderer.GetDisplayPoint()[:2], dtype=np.float64)
