"""Screen convention and orientation letters, on the VTK pipeline alone (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.conftest import synthetic_volume
from ui.render.orientation import direction_letters, edge_letters


def test_direction_letters_name_lps_axes_and_obliques() -> None:
    assert direction_letters((1, 0, 0)) == "L"
    assert direction_letters((-1, 0, 0)) == "R"
    assert direction_letters((0, -1, 0)) == "A"
    assert direction_letters((0, 0, -1)) == "I"
    assert direction_letters((0.8, -0.6, 0)) == "LA"
    assert direction_letters((0.99, 0.1, 0.05)) == "L"


@pytest.mark.parametrize(
    ("dop", "up", "expected"),
    [
        ((0, 0, 1), (0, -1, 0), {"right": "L", "left": "R", "top": "A", "bottom": "P"}),
        ((0, 1, 0), (0, 0, 1), {"right": "L", "left": "R", "top": "S", "bottom": "I"}),
        ((-1, 0, 0), (0, 0, 1), {"right": "P", "left": "A", "top": "S", "bottom": "I"}),
        # looking from the head (neurological axial): the patient's left is on the screen's left
        ((0, 0, -1), (0, -1, 0), {"right": "R", "left": "L", "top": "A", "bottom": "P"}),
    ],
)
def test_edge_letters_follow_the_camera(dop, up, expected) -> None:  # type: ignore[no-untyped-def]
    assert edge_letters(dop, up) == expected


def _offscreen(size=(320, 240)):  # type: ignore[no-untyped-def]
    import vtkmodules.vtkRenderingFreeType  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    rw = vtkRenderWindow()
    rw.SetOffScreenRendering(True)
    rw.SetSize(*size)
    rw.SetNumberOfLayers(2)
    return rw


@pytest.mark.parametrize("feet_first", [False, True])
def test_axial_pipeline_puts_patient_left_on_screen_right(feet_first: bool) -> None:
    from ui.render.image import image_from_array
    from ui.render.slice_pipeline import SliceViewPipeline, make_image_property
    from ui.shell.screenshot import vtk_pixels

    vol = synthetic_volume(feet_first=feet_first)
    rw = _offscreen()
    try:
        p = SliceViewPipeline("axial", make_image_property())
        rw.AddRenderer(p.renderer)
        rw.AddRenderer(p.overlay)
        p.set_volume(image_from_array(vol.hu, vol.spacing_mm), vol.grid)
        p.set_crosshair_visible(False)
        p.reset_camera(320 / 240)
        rgb = vtk_pixels(rw).astype(float)
        # bright grey image pixels (the orientation letters are yellow, not grey)
        bright = (rgb[..., 0] > 240) & (np.abs(rgb[..., 0] - rgb[..., 2]) < 10)
        grey = np.abs(rgb[..., 0] - rgb[..., 2]) < 10
        anterior = grey & (rgb[..., 0] > 190) & (rgb[..., 0] < 235)  # the 1000 HU marker
        rows = np.nonzero(anterior.any(axis=1))[0]
        cols = np.nonzero(bright.any(axis=0))[0]
        # the left-side marker (tall in j) is right of centre; the anterior marker is at the top
        left_marker_cols = np.nonzero((bright[100:140]).any(axis=0))[0]
        assert left_marker_cols.min() > 160, left_marker_cols
        assert rows.min() < 60
        assert cols.size > 0
        assert p.edge_letters() == {"right": "L", "left": "R", "top": "A", "bottom": "P"}
        # display ↔ LPS round trip and slice stepping along the patient's superior axis
        q = p.display_to_lps(*p.lps_to_display([10.0, -5.0, p.cursor_lps[2]]))
        assert np.allclose(q, [10.0, -5.0, p.cursor_lps[2]], atol=1e-6)
        p.set_cursor(vol.voxel_to_lps([32, 32, 10]))
        up = p.stepped_point(1)
        assert up[2] == pytest.approx(p.cursor_lps[2] + 2.0, abs=1e-6)  # 2 mm slices, superior
        assert p.slice_info().index == 10
    finally:
        rw.Finalize()


def test_volume_pipeline_crops_to_roi_and_builds_bounded_surface() -> None:
    from ui.render.image import image_from_array
    from ui.render.volume_pipeline import MAX_SURFACE_TRIANGLES, iso_surface, roi_bounds_kji

    vol = synthetic_volume(shape_kji=(40, 100, 100))
    start, stop = roi_bounds_kji(vol, (0.0, 0.0, 0.0), 30.0)
    extent = np.subtract(stop, start)
    assert np.all(extent <= np.ceil(30.0 / vol.spacing_mm[::-1]) + 2)
    assert roi_bounds_kji(vol, None, None) == ((0, 0, 0), vol.shape_kji)
    surf = iso_surface(image_from_array(vol.hu, vol.spacing_mm), max_triangles=500)
    assert 0 < surf.GetNumberOfPolys() <= 500
    assert MAX_SURFACE_TRIANGLES == 250_000


class _FakeWindow:
    def __init__(self, caps: str) -> None:
        self.caps = caps

    def ReportCapabilities(self) -> str:  # noqa: N802 - VTK's name
        return self.caps


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ("OpenGL vendor string:  Mesa\nOpenGL renderer string:  llvmpipe (LLVM 15.0.6)\n", False),
        (
            "OpenGL vendor string:  NVIDIA Corporation\n"
            "OpenGL renderer string:  NVIDIA RTX A2000/PCIe\n",
            True,
        ),
        ("EGL version string: 1.5\n", False),  # renderer unknown: stay on the CPU mapper
        ("", False),
    ],
)
def test_gpu_ray_casting_only_on_an_identified_hardware_renderer(caps, expected) -> None:  # type: ignore[no-untyped-def]
    from ui.render.volume_pipeline import has_real_gpu

    assert has_real_gpu(_FakeWindow(caps)) is expected


def test_initial_cursor_lands_on_the_spine_not_the_volume_centre() -> None:
    from planner.volume import CTVolume
    from ui.views.initial_view import spine_guess_lps

    hu = np.full((40, 120, 120), -1000, np.int16)
    hu[:, 10:110, 10:110] = 30  # body
    hu[:, 80:100, 50:70] = 300  # a vertebral column, posterior and near the midline
    aff = np.diag([1.0, 1.0, 2.0, 1.0])
    aff[:3, 3] = (-60.0, -60.0, 0.0)
    vol = CTVolume.from_array(hu, aff, "spine.guess")
    x, y, z = spine_guess_lps(vol)
    assert abs(x - 0.0) < 3.0  # column centre i = 59.5 → x = -0.5
    assert 20.0 <= y <= 40.0  # column spans j 80..99 → y 20..39
    assert z == pytest.approx(39.0)


@pytest.mark.parametrize("width_px", [160, 640])
def test_top_letter_steps_below_corner_text_only_in_a_narrow_view(width_px: int) -> None:
    from ui.render.slice_pipeline import SliceViewPipeline, make_image_property
    from ui.render.view_text import text_size_px

    rw = _offscreen((width_px, 240))
    try:
        p = SliceViewPipeline("axial", make_image_property())
        rw.AddRenderer(p.renderer)
        rw.AddRenderer(p.overlay)
        p.set_corner_text(2, "Axial 197/392\nz -119.5 mm")
        rw.Render()
        p.before_render()
        top = p._letters["top"]
        y = top.GetPositionCoordinate().GetValue()[1]
        text_h = text_size_px(p.corners.actors[2], p.renderer)[1]
        assert text_h > 20  # two lines of 14 px text
        if width_px == 160:  # text ~100 px wide: it reaches the middle, the letter goes below
            assert y == pytest.approx(0.985 - (text_h + 2.0) / 240, abs=1e-9)
        else:
            assert y == pytest.approx(0.985)
    finally:
        rw.Finalize()


def test_slice_views_resample_at_screen_pixels_only_for_volumes_oblique_to_lps() -> None:
    from ui.render.slice_pipeline import axis_aligned

    assert axis_aligned(np.eye(3)) and axis_aligned(np.diag([1.0, -1.0, -1.0])[[1, 0, 2]])
    c, s = np.cos(np.radians(10.0)), np.sin(np.radians(10.0))
    assert not axis_aligned(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]))


def test_scale_bar_length_is_round_and_drawn_at_true_mm() -> None:
    from tests.ui.conftest import synthetic_volume
    from ui.render.image import image_from_array
    from ui.render.slice_pipeline import SliceViewPipeline, make_image_property
    from ui.render.view_text import scale_bar_length_mm
    from ui.shell.screenshot import vtk_pixels

    assert scale_bar_length_mm(0.5, 500) == 50.0  # 100 px allowed -> 50 mm = 100 px
    assert scale_bar_length_mm(0.26, 500) == 20.0  # 50 mm would take 192 px
    assert scale_bar_length_mm(0.5, 5) == 0.0  # 1 px allowed, 1 mm takes 2: no bar
    vol = synthetic_volume()
    rw = _offscreen((320, 240))
    try:
        p = SliceViewPipeline("axial", make_image_property())
        rw.AddRenderer(p.renderer)
        rw.AddRenderer(p.overlay)
        p.set_volume(image_from_array(vol.hu, vol.spacing_mm), vol.grid)
        p.set_crosshair_visible(False)
        rw.Render()
        p.refresh_overlays()
        length_px = p.scale_bar.length_mm / p.mm_per_pixel()
        assert p.scale_bar.length_mm in (5.0, 10.0, 20.0) and 0.1 * 320 < length_px <= 64.0
        p.image_slice.VisibilityOff()  # read the bar alone
        rgb = vtk_pixels(rw).astype(float)
        row = rgb[240 - 1 - 10]  # the bar is 10 px above the bottom edge (VTK y up)
        lit = np.flatnonzero(row[:, 0] > 150)
        assert lit.size and lit.max() == pytest.approx(320 - 10, abs=2)
        # the bar: the unbroken run of lit pixels ending at the right margin (the label and
        # the bottom letter lie further left, separated by gaps)
        gaps = np.flatnonzero(np.diff(lit) > 1)
        start = lit[gaps[-1] + 1] if gaps.size else lit[0]
        assert lit.max() - start == pytest.approx(length_px, abs=3)
        p.clear_volume()
        assert not p.scale_bar.actor.GetVisibility()
    finally:
        rw.Finalize()
