"""One 2D slice view: reslice mapper, camera, crosshair, orientation letters, annotations.

World coordinates are LPS mm (see :mod:`ui.render.image`). The slice is the plane through the
camera's focal point facing the camera (``vtkImageResliceMapper`` with SliceFacesCamera and
SliceAtFocalPoint), so moving the focal point along the view normal is scrolling. The
screen convention lives in :mod:`ui.render.orientation`.

Two renderers share one camera: layer 0 draws the image, layer 1 draws overlays (crosshair,
measurements, plan elements) with its own depth buffer, so lines lying in the slice plane are
never hidden by the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.vtkCommonCore import vtkPoints, vtkUnsignedCharArray
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkImageProperty,
    vtkImageSlice,
    vtkPolyDataMapper,
    vtkRenderer,
)
from vtkmodules.vtkRenderingImage import vtkImageResliceMapper

from planner.grid import ImageGrid
from ui.render.image import image_to_lps_matrix, to_vtk_matrix
from ui.render.orientation import VIEW_AXES, edge_letters, screen_axes
from ui.render.view_text import CornerText, ScaleBar, fit_edge_letters, letter_actor

CAMERA_DISTANCE_MM = 2000.0
BACKGROUND = (0.0, 0.0, 0.0)
# Crosshair lines take the colour of the view whose plane they show (Slicer's convention).
VIEW_COLOURS = {
    "axial": (232, 96, 88),
    "sagittal": (230, 200, 80),
    "coronal": (110, 190, 110),
}
# World direction one step "forward" (wheel away from the user, Page Up) moves the slice.
FORWARD = {"axial": (0.0, 0.0, 1.0), "coronal": (0.0, -1.0, 0.0), "sagittal": (1.0, 0.0, 0.0)}


@dataclass(frozen=True, slots=True)
class SliceInfo:
    """Where the view's slice is: voxel index along the volume axis closest to the normal."""

    index: int
    count: int
    world_axis: str  # 'x', 'y' or 'z': the LPS axis closest to the view normal
    position_mm: float  # LPS coordinate of the slice along that axis


def axis_aligned(direction: NDArray[np.float64], tol: float = 1e-4) -> bool:
    """True when every volume axis lies along an LPS axis (a signed permutation matrix)."""
    return bool(np.all(np.abs(np.abs(direction).max(axis=0) - 1.0) < tol))


def make_image_property() -> vtkImageProperty:
    prop = vtkImageProperty()
    prop.SetColorWindow(1800.0)
    prop.SetColorLevel(400.0)
    prop.SetInterpolationTypeToLinear()
    return prop


class ResliceLayers:
    """An image layer (reslice mapper facing the camera) and an overlay layer sharing its
    parallel-projection camera: the common base of the slice views and the needle views."""

    def __init__(
        self,
        image_property: vtkImageProperty,
        background: tuple[float, float, float],
        screen_pixels: bool = False,
    ) -> None:
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*background)
        self.overlay = vtkRenderer()
        self.overlay.SetLayer(1)
        self.overlay.InteractiveOff()
        # Order-independent translucency copies the frame buffer each render; flat overlays
        # drawn in order do not need it, and on llvmpipe it cost ~12 ms per maximised frame.
        self.renderer.SetUseOIT(False)
        self.overlay.SetUseOIT(False)
        self.overlay.SetActiveCamera(self.renderer.GetActiveCamera())
        self.renderer.GetActiveCamera().ParallelProjectionOn()
        self.mapper = vtkImageResliceMapper()
        self.mapper.SliceFacesCameraOn()
        self.mapper.SliceAtFocalPointOn()
        # Slice views reslice at the volume's own resolution and let the texture do the
        # in-plane bilinear interpolation: the same picture for planes along the volume axes,
        # without reslicing and colour-mapping a million pixels per scroll step in a maximised
        # view (~6 ms on llvmpipe). Oblique planes (needle views, small) keep one trilinear
        # resampling at screen pixels rather than two interpolations in a row.
        self.mapper.SetResampleToScreenPixels(screen_pixels)
        self.image_slice = vtkImageSlice()
        self.image_slice.SetMapper(self.mapper)
        self.image_slice.SetProperty(image_property)
        self.image_slice.VisibilityOff()
        self.renderer.AddViewProp(self.image_slice)


class SliceViewPipeline:
    """VTK side of one 2D view (axial, coronal or sagittal)."""

    def __init__(self, orientation: str, image_property: vtkImageProperty) -> None:
        if orientation not in VIEW_AXES:
            raise ValueError(f"orientation must be one of {sorted(VIEW_AXES)}, got {orientation!r}")
        self.orientation = orientation
        layers = ResliceLayers(image_property, BACKGROUND)
        self.renderer, self.overlay = layers.renderer, layers.overlay
        self.mapper, self.image_slice = layers.mapper, layers.image_slice
        self.grid: ImageGrid | None = None
        self.cursor_lps = np.zeros(3)
        self._crosshair = _Crosshair(orientation)
        self.overlay.AddActor(self._crosshair.actor)
        self._letters = {edge: letter_actor(edge) for edge in ("left", "right", "top", "bottom")}
        for actor in self._letters.values():
            self.overlay.AddViewProp(actor)
        self.corners = CornerText(self.overlay)
        self.scale_bar = ScaleBar(self.overlay)
        self._fitted_size: tuple[int, ...] = (0, 0)
        self._letters_key: tuple | None = None
        dop, up = VIEW_AXES[orientation]
        self._place_camera(np.zeros(3), np.asarray(dop), np.asarray(up))

    # --- geometry ---------------------------------------------------------------------------
    @property
    def normal(self) -> NDArray[np.float64]:
        """Unit direction of projection (LPS), pointing away from the viewer."""
        return np.asarray(self.renderer.GetActiveCamera().GetDirectionOfProjection())

    def screen_axes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        cam = self.renderer.GetActiveCamera()
        return screen_axes(cam.GetDirectionOfProjection(), cam.GetViewUp())

    def edge_letters(self) -> dict[str, str]:
        cam = self.renderer.GetActiveCamera()
        return edge_letters(cam.GetDirectionOfProjection(), cam.GetViewUp())

    def set_volume(self, image: vtkImageData, grid: ImageGrid) -> None:
        """Show ``image`` (from :func:`image_from_array`) placed in LPS by ``grid``."""
        self.grid = grid
        self.mapper.SetInputData(image)
        # volume axes not along LPS: the views' planes are oblique to the voxels, so resample
        # once at screen pixels (see ResliceLayers)
        self.mapper.SetResampleToScreenPixels(not axis_aligned(grid.direction))
        self.image_slice.SetUserMatrix(to_vtk_matrix(image_to_lps_matrix(grid.ijk_to_lps)))
        self.image_slice.VisibilityOn()
        lo, hi = grid.bounds_lps()
        self.cursor_lps = (lo + hi) / 2.0
        self.reset_camera()

    def clear_volume(self) -> None:
        self.grid = None
        self.image_slice.VisibilityOff()
        self.mapper.RemoveAllInputs()
        self.corners.ClearAllTexts()
        self.scale_bar.update(0.0, 0.0)

    def set_cursor(self, lps: ArrayLike) -> None:
        """Move the slice plane through ``lps`` (keeping pan and zoom) and the crosshair there."""
        p = np.asarray(lps, dtype=np.float64)
        self.cursor_lps = p.copy()
        cam = self.renderer.GetActiveCamera()
        f = np.asarray(cam.GetFocalPoint())
        n = self.normal
        self._place_camera(f + n * float((p - f) @ n), n, np.asarray(cam.GetViewUp()))
        self._update_crosshair()

    def reset_camera(self, aspect: float | None = None) -> None:
        """Centre the volume in the view at the current slice and fit it, standard axes."""
        dop, up = (np.asarray(v) for v in VIEW_AXES[self.orientation])
        if self.grid is None:
            self._place_camera(np.zeros(3), dop, up)
            return
        lo, hi = self.grid.bounds_lps()
        centre = (lo + hi) / 2.0
        focal = centre + dop * float((self.cursor_lps - centre) @ dop)
        self._place_camera(focal, dop, up)
        right, upv = screen_axes(dop, up)
        corners = self.grid.corner_voxel_centres_lps()
        half_w = float(np.abs((corners - centre) @ right).max()) + 1.0
        half_h = float(np.abs((corners - centre) @ upv).max()) + 1.0
        if aspect is None:
            w, h = self.renderer.GetSize()
            aspect = w / h if w > 0 and h > 0 else 1.0
        cam = self.renderer.GetActiveCamera()
        cam.SetParallelScale(max(half_h, half_w / aspect) * 1.04)
        self.refresh_overlays()

    def _place_camera(
        self, focal: NDArray[np.float64], dop: NDArray[np.float64], up: ArrayLike
    ) -> None:
        cam = self.renderer.GetActiveCamera()
        cam.SetFocalPoint(*focal)
        cam.SetPosition(*(focal - dop * CAMERA_DISTANCE_MM))
        cam.SetViewUp(*np.asarray(up, dtype=np.float64))
        cam.SetClippingRange(CAMERA_DISTANCE_MM - 1500.0, CAMERA_DISTANCE_MM + 1500.0)
        self._update_letters()

    def zoom(self, factor: float) -> None:
        cam = self.renderer.GetActiveCamera()
        cam.SetParallelScale(min(max(cam.GetParallelScale() / factor, 2.0), 2000.0))

    def pan_pixels(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) display pixels (VTK convention: y up)."""
        cam = self.renderer.GetActiveCamera()
        h = max(self.renderer.GetSize()[1], 1)
        mm_per_px = 2.0 * cam.GetParallelScale() / h
        right, up = self.screen_axes()
        shift = -(right * dx + up * dy) * mm_per_px
        f = np.asarray(cam.GetFocalPoint()) + shift
        self._place_camera(f, self.normal, cam.GetViewUp())

    def mm_per_pixel(self) -> float:
        h = max(self.renderer.GetSize()[1], 1)
        return 2.0 * self.renderer.GetActiveCamera().GetParallelScale() / h

    # --- slices ----------------------------------------------------------------------------
    def _slice_axis(self) -> int:
        assert self.grid is not None
        return int(np.argmax(np.abs(self.grid.direction.T @ self.normal)))

    def slice_info(self) -> SliceInfo | None:
        if self.grid is None:
            return None
        a = self._slice_axis()
        f = np.asarray(self.renderer.GetActiveCamera().GetFocalPoint())
        v = self.grid.lps_to_voxel(f)[a]
        w = int(np.argmax(np.abs(self.normal)))
        return SliceInfo(int(np.rint(v)), int(self.grid.shape_kji[::-1][a]), "xyz"[w], float(f[w]))

    def stepped_point(self, steps: int) -> NDArray[np.float64]:
        """The cursor moved ``steps`` slices forward (superior, anterior or left; see
        FORWARD), snapped to voxel centres, whatever the volume's own slice order."""
        if self.grid is None:
            return self.cursor_lps.copy()
        a = self._slice_axis()
        n = self.normal
        v = float(self.grid.lps_to_voxel(self.cursor_lps)[a])
        count = self.grid.shape_kji[::-1][a]
        forward = float(self.grid.lps_to_ijk[a, :3] @ np.asarray(FORWARD[self.orientation]))
        target = float(np.clip(np.rint(v) + steps * np.sign(forward), 0, count - 1))
        rate = float(self.grid.lps_to_ijk[a, :3] @ n)  # voxel units per mm along n
        return self.cursor_lps + n * ((target - v) / rate)

    # --- picking ---------------------------------------------------------------------------
    def display_to_lps(self, x: float, y: float) -> NDArray[np.float64]:
        """LPS point on the slice plane under display pixel (x, y), VTK convention (y up)."""
        r = self.renderer
        r.SetDisplayPoint(float(x), float(y), 0.0)
        r.DisplayToWorld()
        w = np.asarray(r.GetWorldPoint(), dtype=np.float64)
        p = w[:3] / w[3] if w[3] != 0 else w[:3]
        f = np.asarray(r.GetActiveCamera().GetFocalPoint())
        n = self.normal
        return p - n * float((p - f) @ n)

    def lps_to_display(self, lps: ArrayLike) -> NDArray[np.float64]:
        r = self.renderer
        p = np.asarray(lps, dtype=np.float64)
        r.SetWorldPoint(float(p[0]), float(p[1]), float(p[2]), 1.0)
        r.WorldToDisplay()
        return np.asarray(r.GetDisplayPoint()[:2], dtype=np.float64)

    # --- overlays --------------------------------------------------------------------------
    def set_crosshair_visible(self, visible: bool) -> None:
        self._crosshair.actor.SetVisibility(visible)

    def _update_crosshair(self) -> None:
        right, up = self.screen_axes()
        self._crosshair.update(self.cursor_lps, right, up, self.mm_per_pixel())

    def _update_letters(self) -> None:
        cam = self.renderer.GetActiveCamera()
        key = (cam.GetDirectionOfProjection(), cam.GetViewUp())
        if key == self._letters_key:  # scrolling and panning keep the camera's axes
            return
        self._letters_key = key
        for edge, text in self.edge_letters().items():
            self._letters[edge].SetInput(text)

    def set_corner_text(self, corner: int, text: str) -> None:
        """0 lower-left, 1 lower-right, 2 upper-left, 3 upper-right."""
        if self.corners.GetText(corner) != text:
            self.corners.SetText(corner, text)
            self._fit_letters()

    def refresh_overlays(self) -> None:
        """Recompute crosshair gap and letters after a zoom, pan or resize."""
        self._update_crosshair()
        self._update_letters()
        self._fit_letters()
        self.scale_bar.update(
            self.mm_per_pixel() if self.grid is not None else 0.0, float(self.renderer.GetSize()[0])
        )

    def _fit_letters(self) -> None:
        """Move the top and bottom letters clear of the corner text in a narrow view."""
        self._fitted_size = tuple(self.renderer.GetSize())
        fit_edge_letters(self.renderer, self._letters, self.corners)

    def before_render(self) -> None:
        """Refit what depends on the view's pixel size if it changed since the last fit (Qt
        delivers the resize before VTK knows the new size)."""
        if tuple(self.renderer.GetSize()) != self._fitted_size:
            self.refresh_overlays()


class _Crosshair:
    """Two lines through the cursor with a gap around it, coloured by the plane each shows."""

    def __init__(self, orientation: str) -> None:
        self.orientation = orientation
        self.poly = vtkPolyData()
        self.actor = vtkActor()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.poly)
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUseCellData()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetLineWidth(1.0)
        self.actor.GetProperty().SetOpacity(0.85)
        self.actor.PickableOff()

    def _plane_colour(self, direction: NDArray[np.float64]) -> tuple[int, int, int]:
        # A line along `direction` lies in the plane of the other view whose normal is
        # perpendicular to it and to this view's normal.
        own = np.asarray(VIEW_AXES[self.orientation][0])
        for name, (dop, _up) in VIEW_AXES.items():
            if name == self.orientation:
                continue
            if (
                abs(float(np.asarray(dop) @ direction)) < 0.5
                and abs(float(np.asarray(dop) @ own)) < 0.5
            ):
                return VIEW_COLOURS[name]
        return (200, 200, 200)

    def update(
        self,
        centre: NDArray[np.float64],
        right: NDArray[np.float64],
        up: NDArray[np.float64],
        mm_per_px: float,
    ) -> None:
        gap = 12.0 * mm_per_px
        length = 5000.0
        pts = vtkPoints()
        lines = vtkCellArray()
        colours = vtkUnsignedCharArray()
        colours.SetNumberOfComponents(3)
        for axis in (right, up):
            c = self._plane_colour(axis)
            for sign in (-1.0, 1.0):
                a = pts.InsertNextPoint(*(centre + sign * gap * axis))
                b = pts.InsertNextPoint(*(centre + sign * length * axis))
                lines.InsertNextCell(2)
                lines.InsertCellPoint(a)
                lines.InsertCellPoint(b)
                colours.InsertNextTuple3(*c)
        self.poly.SetPoints(pts)
        self.poly.SetLines(lines)
        self.poly.GetCellData().SetScalars(colours)
        self.poly.Modified()
