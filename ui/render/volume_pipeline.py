"""The 3D view: bone volume rendering or an iso-surface, cropped to a region of interest.

CPU machines use ``vtkFixedPointVolumeRayCastMapper`` (fast on llvmpipe, with the
desired-update-rate level of detail while interacting); ``vtkGPUVolumeRayCastMapper`` only when
:func:`has_real_gpu` says a hardware OpenGL renderer is present (DESIGN.md §4). The mapper
ignores image direction, so the cropped image keeps an identity direction and the prop carries
the LPS placement as a user matrix. World coordinates are LPS mm.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.vtkCommonCore import vtkSMPTools
from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D, vtkPolyDataNormals
from vtkmodules.vtkImagingCore import vtkImageShrink3D
from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor, vtkCornerAnnotation
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkColorTransferFunction,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

from planner.constants import DISPLAY_BONE_ISO_HU
from planner.volume import CTVolume
from ui.render.image import image_from_array, image_to_lps_matrix, to_vtk_matrix

log = logging.getLogger(__name__)

MAX_SURFACE_TRIANGLES = 250_000  # DESIGN.md §4 ceiling
INTERACTIVE_SURFACE_TRIANGLES = 150_000  # llvmpipe rotates ~100k triangles at about 10 fps
BONE_ISO_HU = DISPLAY_BONE_ISO_HU
# Camera presets: (direction of projection, view up) in LPS.
CAMERA_PRESETS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "ap": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),  # from the front, patient's left on the right
    "lateral": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),  # from the patient's left
    # from behind and 30 deg to the patient's left: how the pedicles are approached (prone)
    "oblique": ((-0.5, -0.866, 0.0), (0.0, 0.0, 1.0)),
    "posterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
}


SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software", "lavapipe", "swiftshader")


def opengl_renderer(render_window: vtkRenderWindow) -> str:
    """The OpenGL renderer string ('' when the window cannot tell yet)."""
    try:
        info = render_window.ReportCapabilities() or ""
    except Exception:  # noqa: BLE001 - capability probing must never break the view
        return ""
    for line in info.splitlines():
        if "renderer string" in line.lower():
            return line.split(":", 1)[1].strip()
    return ""


def has_real_gpu(render_window: vtkRenderWindow) -> bool:
    """True only when a hardware OpenGL renderer is positively identified."""
    renderer = opengl_renderer(render_window).lower()
    return bool(renderer) and not any(s in renderer for s in SOFTWARE_RENDERERS)


def roi_bounds_kji(
    volume: CTVolume, centre_lps: ArrayLike | None, size_mm: float | None
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Voxel box [start, stop) along k, j, i: a cube of ``size_mm`` around ``centre_lps``.

    ``size_mm`` None or ``centre_lps`` None selects the whole volume.
    """
    shape = np.asarray(volume.shape_kji)
    if size_mm is None or centre_lps is None:
        return (0, 0, 0), tuple(int(s) for s in shape)  # type: ignore[return-value]
    c_ijk = volume.lps_to_voxel(np.asarray(centre_lps, dtype=np.float64))
    half_ijk = (size_mm / 2.0) / volume.spacing_mm
    start_ijk = np.clip(np.floor(c_ijk - half_ijk), 0, shape[::-1] - 1).astype(int)
    stop_ijk = np.clip(np.ceil(c_ijk + half_ijk) + 1, start_ijk + 2, shape[::-1]).astype(int)
    return tuple(int(v) for v in start_ijk[::-1]), tuple(int(v) for v in stop_ijk[::-1])  # type: ignore[return-value]


#: 3D rendering grid: thick-slice data (3 mm) is resampled to this isotropic spacing and
#: smoothed across its slices, so bone is not a stack of steps (tool assumption).
RENDER_SPACING_MM = 1.0
MAX_RENDER_VOXELS = 6_000_000


def smooth_for_3d(
    hu: NDArray[np.int16], spacing_kji: ArrayLike
) -> tuple[NDArray[np.int16], NDArray[np.float64]]:
    """Resample a crop ``[k, j, i]`` to about :data:`RENDER_SPACING_MM` (linear) and smooth
    it with a Gaussian of half the original spacing along each axis.

    Returns the new array and its spacing (k, j, i) in mm. Data already at ≤ 1.5 mm with
    anisotropy ≤ 2 is returned as is.
    """
    from scipy.ndimage import gaussian_filter, zoom

    sp = np.asarray(spacing_kji, dtype=np.float64)
    if (sp.max() <= 1.5 and sp.max() / sp.min() <= 2.0) or min(hu.shape) < 2:
        return hu, sp  # fine already, or a single slice (nothing to interpolate between)
    target = max(RENDER_SPACING_MM, float(np.cbrt(hu.size * np.prod(sp) / MAX_RENDER_VOXELS)))
    factors = sp / target
    out = zoom(hu.astype(np.float32), factors, order=1, mode="nearest", grid_mode=False)
    new_sp = sp * (np.asarray(hu.shape) - 1) / np.maximum(np.asarray(out.shape) - 1, 1)
    sigma = 0.5 * sp / new_sp  # in output voxels: half an original voxel
    out = gaussian_filter(out, sigma=np.where(sigma > 0.35, sigma, 0.0), mode="nearest")
    return np.round(out).astype(np.int16), new_sp


def bone_volume_property() -> vtkVolumeProperty:
    colour = vtkColorTransferFunction()
    colour.AddRGBPoint(-1000, 0.0, 0.0, 0.0)
    colour.AddRGBPoint(150, 0.55, 0.30, 0.20)
    colour.AddRGBPoint(300, 0.88, 0.78, 0.62)
    colour.AddRGBPoint(1000, 1.0, 0.98, 0.92)
    colour.AddRGBPoint(3000, 1.0, 1.0, 1.0)
    opacity = vtkPiecewiseFunction()
    opacity.AddPoint(-1000, 0.0)
    opacity.AddPoint(140, 0.0)
    opacity.AddPoint(250, 0.25)
    opacity.AddPoint(600, 0.7)
    opacity.AddPoint(3000, 0.9)
    prop = vtkVolumeProperty()
    prop.SetColor(colour)
    prop.SetScalarOpacity(opacity)
    prop.SetInterpolationTypeToLinear()
    prop.ShadeOn()
    prop.SetAmbient(0.25)
    prop.SetDiffuse(0.75)
    prop.SetSpecular(0.15)
    return prop


class VolumeViewPipeline:
    """VTK side of the 3D view."""

    def __init__(self, use_gpu: bool = False) -> None:
        vtkSMPTools.SetBackend("STDThread")
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.07, 0.08, 0.10)
        self.renderer.SetBackground2(0.16, 0.18, 0.22)
        self.renderer.GradientBackgroundOn()
        self.volume: CTVolume | None = None
        self.mode = "volume"
        self.roi_centre_lps: NDArray[np.float64] | None = None
        self.roi_size_mm: float | None = 120.0
        self.use_gpu = use_gpu
        self.prop = vtkVolume()
        self.prop.SetProperty(bone_volume_property())
        self.prop.SetMapper(self._make_mapper())
        self.surface = vtkActor()
        self.surface.SetMapper(vtkPolyDataMapper())
        sp = self.surface.GetProperty()
        sp.SetColor(0.93, 0.88, 0.78)
        sp.SetSpecular(0.2)
        sp.SetSpecularPower(20)
        self.renderer.AddVolume(self.prop)
        self.renderer.AddActor(self.surface)
        self.corners = vtkCornerAnnotation()
        self.corners.SetMaximumFontSize(16)
        self.corners.SetMinimumFontSize(12)
        self.corners.GetTextProperty().SetColor(0.85, 0.88, 0.92)
        self.corners.GetTextProperty().SetFontFamilyToArial()
        self.renderer.AddViewProp(self.corners)
        self.prop.VisibilityOff()
        self.surface.VisibilityOff()
        self.surface_triangles = 0
        self.cut_origin_lps: NDArray[np.float64] | None = None

    def _make_mapper(self):  # type: ignore[no-untyped-def]
        if self.use_gpu:
            import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (the OpenGL override)
            from vtkmodules.vtkRenderingVolume import vtkGPUVolumeRayCastMapper

            mapper = vtkGPUVolumeRayCastMapper()
        else:
            mapper = vtkFixedPointVolumeRayCastMapper()
            mapper.SetNumberOfThreads(0)
            # finer still frames (no wood-grain rings); interaction still adapts the distance
            mapper.SetSampleDistance(0.5)
        mapper.SetBlendModeToComposite()
        return mapper

    def set_volume(self, volume: CTVolume | None) -> None:
        self.volume = volume
        if volume is None:
            self.prop.VisibilityOff()
            self.surface.VisibilityOff()
            self.corners.ClearAllTexts()
            return
        if self.roi_centre_lps is None or not self._inside(self.roi_centre_lps):
            lo, hi = volume.bounds_lps()
            self.roi_centre_lps = (lo + hi) / 2.0
        self._rebuild()
        self.set_camera_preset("ap")

    def _inside(self, lps: NDArray[np.float64]) -> bool:
        assert self.volume is not None
        return bool(self.volume.grid.contains_voxel(self.volume.lps_to_voxel(lps)))

    def set_roi(self, centre_lps: ArrayLike | None, size_mm: float | None) -> None:
        """Crop the 3D view to a cube of ``size_mm`` around ``centre_lps`` (None: everything)."""
        if centre_lps is not None:
            self.roi_centre_lps = np.asarray(centre_lps, dtype=np.float64)
        self.roi_size_mm = size_mm
        self._rebuild()

    def set_mode(self, mode: str) -> None:
        if mode not in ("volume", "surface"):
            raise ValueError(f"3D mode must be 'volume' or 'surface', got {mode!r}")
        self.mode = mode
        self._rebuild()

    def _rebuild(self) -> None:
        if self.volume is None:
            return
        (k0, j0, i0), (k1, j1, i1) = roi_bounds_kji(
            self.volume, self.roi_centre_lps, self.roi_size_mm
        )
        crop = np.ascontiguousarray(self.volume.hu[k0:k1, j0:j1, i0:i1])
        grid = self.volume.grid.crop((k0, j0, i0), (k1, j1, i1))
        spacing_kji = np.asarray(grid.spacing_mm, dtype=np.float64)[::-1]
        crop, new_kji = smooth_for_3d(crop, spacing_kji)
        image = image_from_array(crop, tuple(new_kji[::-1]))
        ijk_to_lps = grid.ijk_to_lps.copy()
        ijk_to_lps[:3, :3] = ijk_to_lps[:3, :3] * (new_kji[::-1] / spacing_kji[::-1])
        matrix = to_vtk_matrix(image_to_lps_matrix(ijk_to_lps))
        if self.mode == "volume":
            self.prop.GetMapper().SetInputData(image)
            self.prop.SetUserMatrix(matrix)
            self.prop.VisibilityOn()
            self.surface.VisibilityOff()
        else:
            self.surface.GetMapper().SetInputData(
                iso_surface(image, max_triangles=INTERACTIVE_SURFACE_TRIANGLES)
            )
            self.surface.GetMapper().ScalarVisibilityOff()
            self.surface.SetUserMatrix(matrix)
            self.surface_triangles = self.surface.GetMapper().GetInput().GetNumberOfPolys()
            self.surface.VisibilityOn()
            self.prop.VisibilityOff()
        roi = "whole volume" if self.roi_size_mm is None else f"region {self.roi_size_mm:.0f} mm"
        what = "bone volume" if self.mode == "volume" else f"bone surface {BONE_ISO_HU:.0f} HU"
        self.corners.SetText(2, f"3D  {what}\n{roi}")
        log.debug(
            "3D ROI %s..%s (%d voxels), mode %s", (k0, j0, i0), (k1, j1, i1), crop.size, self.mode
        )

    def roi_bounds_lps(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        if self.volume is None:
            return None
        start, stop = roi_bounds_kji(self.volume, self.roi_centre_lps, self.roi_size_mm)
        return self.volume.grid.crop(start, stop).bounds_lps()

    def set_camera_preset(self, name: str) -> None:
        """Look at the ROI from a named direction (see CAMERA_PRESETS)."""
        dop, up = (np.asarray(v, dtype=np.float64) for v in CAMERA_PRESETS[name])
        bounds = self.roi_bounds_lps()
        if bounds is None:
            return
        lo, hi = bounds
        centre = (lo + hi) / 2.0
        radius = float(np.linalg.norm(hi - lo)) / 2.0 + 1.0
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOff()
        cam.SetViewAngle(30.0)
        cam.SetFocalPoint(*centre)
        cam.SetPosition(*(centre - dop / np.linalg.norm(dop) * radius * 3.6))
        cam.SetViewUp(*up)
        self.renderer.ResetCameraClippingRange()

    def focus(self, centre_lps: ArrayLike) -> None:
        """Aim the camera at ``centre_lps`` keeping its direction, distance and view up."""
        cam = self.renderer.GetActiveCamera()
        c = np.asarray(centre_lps, dtype=np.float64)
        shift = c - np.asarray(cam.GetFocalPoint())
        cam.SetFocalPoint(*c)
        cam.SetPosition(*(np.asarray(cam.GetPosition()) + shift))
        self.renderer.ResetCameraClippingRange()

    def set_posterior_cut(self, origin_lps: ArrayLike | None) -> None:
        """Cut away everything posterior (+y, LPS) of ``origin_lps`` (None: no cut).

        Laminae and spinous processes then never hide the body, cement or needles from a
        posterior or oblique camera; needles and overlays are separate props and stay whole.
        """
        from vtkmodules.vtkCommonDataModel import vtkPlane

        self.cut_origin_lps = None if origin_lps is None else np.asarray(origin_lps, float)
        for mapper in (self.prop.GetMapper(), self.surface.GetMapper()):
            mapper.RemoveAllClippingPlanes()
            if self.cut_origin_lps is not None:
                plane = vtkPlane()
                plane.SetOrigin(*self.cut_origin_lps)
                plane.SetNormal(0.0, -1.0, 0.0)  # keeps the anterior side
                mapper.AddClippingPlane(plane)

    def azimuth(self, degrees: float) -> None:
        self.renderer.GetActiveCamera().Azimuth(degrees)
        self.renderer.ResetCameraClippingRange()


def iso_surface(image, iso_hu: float = BONE_ISO_HU, max_triangles: int = MAX_SURFACE_TRIANGLES):  # type: ignore[no-untyped-def]
    """Bone surface at ``iso_hu`` (flying edges) with at most ``max_triangles`` triangles.

    Too many triangles: contour again on an averaged, coarser image (triangle count falls
    with the square of the voxel size). Quadric decimation barely reduces flying-edges output
    and DecimatePro takes seconds, so shrinking the image is the fast, bounded way.
    """
    out = _contour(image, iso_hu)
    shrink = 1
    while (n := out.GetNumberOfPolys()) > max_triangles and shrink < 8:
        shrink = max(shrink + 1, int(np.ceil(shrink * np.sqrt(n / max_triangles) * 1.05)))
        coarse = vtkImageShrink3D()
        coarse.SetInputData(image)
        coarse.SetShrinkFactors(shrink, shrink, shrink)
        coarse.AveragingOn()
        coarse.Update()
        out = _contour(coarse.GetOutput(), iso_hu)
    normals = vtkPolyDataNormals()
    normals.SetInputData(out)
    normals.SplittingOff()
    normals.Update()
    return normals.GetOutput()


def _contour(image, iso_hu: float):  # type: ignore[no-untyped-def]
    fe = vtkFlyingEdges3D()
    fe.SetInputData(image)
    fe.SetValue(0, iso_hu)
    fe.ComputeNormalsOff()
    fe.Update()
    return fe.GetOutput()


def make_orientation_cube() -> vtkAnnotatedCubeActor:
    """A cube whose faces name the patient directions in LPS world coordinates."""
    cube = vtkAnnotatedCubeActor()
    for setter, text in zip(
        (
            "SetXPlusFaceText",
            "SetXMinusFaceText",
            "SetYPlusFaceText",
            "SetYMinusFaceText",
            "SetZPlusFaceText",
            "SetZMinusFaceText",
        ),
        ("L", "R", "P", "A", "S", "I"),
        strict=True,
    ):
        getattr(cube, setter)(text)
    cube.SetFaceTextScale(0.6)
    cube.GetCubeProperty().SetColor(0.25, 0.30, 0.38)
    cube.GetTextEdgesProperty().SetColor(0.6, 0.6, 0.6)
    cube.GetTextEdgesProperty().SetLineWidth(1)
    for getter, rgb in (
        ("GetXPlusFaceProperty", (0.95, 0.85, 0.55)),
        ("GetXMinusFaceProperty", (0.95, 0.85, 0.55)),
        ("GetYPlusFaceProperty", (0.95, 0.85, 0.55)),
        ("GetYMinusFaceProperty", (0.95, 0.85, 0.55)),
        ("GetZPlusFaceProperty", (0.95, 0.85, 0.55)),
        ("GetZMinusFaceProperty", (0.95, 0.85, 0.55)),
    ):
        getattr(cube, getter)().SetColor(*rgb)
    return cube


def camera_names() -> Sequence[str]:
    return tuple(CAMERA_PRESETS)
