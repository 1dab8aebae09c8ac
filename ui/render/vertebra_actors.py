"""Vertebral bodies in the views: outlines in 2D, translucent bodies in 3D, the height lines.

- :func:`mask_surface` turns a mask on a (crop) grid into a smooth LPS surface once; 2D views cut
  it with the slice plane (``vtkCutter``), so outlines follow any slice orientation.
- :class:`BodyOutlineAdapter` draws every analysed level (value: ``SpineAnalysis``): the target
  level bright orange, the others pale blue; each labelled with its name ("L2?" while the name
  is a proposal) in the 2D views where the slice crosses it.
- :class:`HeightLinesAdapter` (value: ``LevelResult``) draws the anterior, middle and posterior
  heights as a radiologist does on the mid-sagittal image: a line between the endplates at
  10 / 50 / 90 % of the depth with its end points marked and its length written beside it.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkCutter, vtkFlyingEdges3D, vtkPolyDataNormals, vtkStripper
from vtkmodules.vtkImagingGeneral import vtkImageGaussianSmooth
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkTextActor

from planner.anatomy import HEIGHT_POSITIONS_FRAC, WALLS
from planner.grid import ImageGrid
from ui.render.adapters import OverlayAdapter, ViewContext, polyline_actor, set_polyline

TARGET_COLOUR = (1.0, 0.62, 0.2)
OTHER_COLOUR = (0.55, 0.75, 1.0)
HEIGHT_COLOUR = (1.0, 0.9, 0.3)
WALL_ABBR = {"anterior": "Ha", "middle": "Hm", "posterior": "Hp"}


#: body mask identity -> (weak reference, content digest): a digest is computed once per array
_MASK_DIGESTS: dict[int, tuple[weakref.ref[Any], str]] = {}
#: content digest -> surface, most recent last (a few levels and their edited versions)
_BODY_SURFACES: dict[str, vtkPolyData] = {}
SURFACE_CACHE_SIZE = 32
#: content digest -> the surface with normals (3D: the target body and its edited versions)
_SHADED_SURFACES: dict[str, vtkPolyData] = {}
SHADED_CACHE_SIZE = 8


def body_key(anatomy: Any) -> str:
    """Content key of a level's body mask on its grid (not its name, frame or heights).

    Corrections rebuild the body mask array on each push (an outline edit is decoded again
    when a point of another level moves): equal masks get the same key, so their outline and
    surface are kept.
    """
    body = anatomy.body
    hit = _MASK_DIGESTS.get(id(body))
    if hit is not None and hit[0]() is body:
        return hit[1]
    for k in [k for k, (ref, _d) in _MASK_DIGESTS.items() if ref() is None]:
        del _MASK_DIGESTS[k]
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{body.shape}|{anatomy.grid.fingerprint()}".encode())
    h.update(np.packbits(np.ascontiguousarray(body, dtype=bool)).tobytes())
    key = h.hexdigest()
    _MASK_DIGESTS[id(body)] = (weakref.ref(body), key)
    return key


def body_surface(anatomy: Any, shaded: bool = False) -> vtkPolyData:
    """The body surface of a level, computed once per body mask content and shared by every
    view (renaming a level or correcting its heights keeps its surface).

    ``shaded``: with consistently oriented point normals (the 3D view's translucent body);
    the 2D views only cut the surface and take it without (an outline brush stroke redraws
    the 2D outlines on each push; normals cost half the surface's time).
    """
    key = body_key(anatomy)
    surface = _BODY_SURFACES.pop(key, None)
    if surface is None:
        surface = mask_surface(anatomy.body, anatomy.grid, normals=False)
    _BODY_SURFACES[key] = surface
    while len(_BODY_SURFACES) > SURFACE_CACHE_SIZE:
        del _BODY_SURFACES[next(iter(_BODY_SURFACES))]
    if not shaded:
        return surface
    out = _SHADED_SURFACES.pop(key, None)
    if out is None:
        out = surface_normals(surface)
    _SHADED_SURFACES[key] = out
    while len(_SHADED_SURFACES) > SHADED_CACHE_SIZE:
        del _SHADED_SURFACES[next(iter(_SHADED_SURFACES))]
    return out


def clear_surface_cache() -> None:
    _BODY_SURFACES.clear()
    _SHADED_SURFACES.clear()
    _MASK_DIGESTS.clear()


def surface_normals(surface: vtkPolyData) -> vtkPolyData:
    """A copy of ``surface`` with consistent, outward point normals (for shading)."""
    normals = vtkPolyDataNormals()
    normals.SetInputData(surface)
    normals.SplittingOff()
    normals.ConsistencyOn()
    normals.AutoOrientNormalsOn()
    normals.Update()
    out = vtkPolyData()
    out.DeepCopy(normals.GetOutput())
    return out


def mask_surface(
    mask: NDArray[np.bool_], grid: ImageGrid, sigma_vox: float = 0.7, normals: bool = True
) -> vtkPolyData:
    """Smoothed iso-surface (0.5) of a ``[k, j, i]`` mask, points in LPS mm (with point
    normals unless ``normals`` is False).

    Only the mask's bounding box (with a margin wider than the smoothing kernel) is contoured:
    the same surface, a fraction of the voxels (an outline edit redraws it on each push).
    """
    lo = np.zeros(3, dtype=int)
    if mask.any():
        margin = int(np.ceil(2.0 * sigma_vox)) + 2
        axes = [
            np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != d))) for d in range(3)
        ]
        lo = np.array([max(0, int(x[0]) - margin) for x in axes])
        hi = [min(mask.shape[d], int(x[-1]) + 1 + margin) for d, x in enumerate(axes)]
        mask = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    m = np.pad(np.ascontiguousarray(mask, dtype=np.float32), 1)
    img = vtkImageData()
    img.SetDimensions(m.shape[2], m.shape[1], m.shape[0])
    img.SetOrigin(lo[2] - 1.0, lo[1] - 1.0, lo[0] - 1.0)  # (i, j, k) of the padded corner
    img.GetPointData().SetScalars(numpy_to_vtk(m.ravel(), deep=1))
    smooth = vtkImageGaussianSmooth()
    smooth.SetInputData(img)
    smooth.SetStandardDeviations(sigma_vox, sigma_vox, sigma_vox)
    smooth.SetRadiusFactors(2.0, 2.0, 2.0)
    fe = vtkFlyingEdges3D()
    fe.SetInputConnection(smooth.GetOutputPort())
    fe.SetValue(0, 0.5)
    fe.ComputeNormalsOff()
    fe.Update()
    surf = vtkPolyData()
    surf.ShallowCopy(fe.GetOutput())
    if surf.GetNumberOfPoints():
        ijk = vtk_to_numpy(surf.GetPoints().GetData()).astype(np.float64)
        lps = ijk @ grid.ijk_to_lps[:3, :3].T + grid.ijk_to_lps[:3, 3]
        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(lps), deep=1))
        surf.SetPoints(pts)
    if normals:
        return surface_normals(surf)
    out = vtkPolyData()
    out.DeepCopy(surf)
    return out


def top_layer_context(context: ViewContext) -> ViewContext:
    """A context drawing on a renderer layered above ``context``'s (same camera, own depth).

    In 3D the bone volume rendering would hide what lies inside the body (balloons, cement):
    drawn on the top layer they show through the bone, like on fluoroscopy.
    """
    rw = context.renderer.GetRenderWindow()
    ren = getattr(context.renderer, "_planning_top", None)
    if ren is None:
        if rw is not None and rw.GetNumberOfLayers() < 2:
            rw.SetNumberOfLayers(2)
        ren = vtkRenderer()
        ren.SetLayer(1)
        ren.InteractiveOff()
        ren.SetActiveCamera(context.renderer.GetActiveCamera())
        if rw is not None:
            rw.AddRenderer(ren)
        context.renderer._planning_top = ren  # type: ignore[attr-defined]
    return ViewContext(context.kind, ren, context.request_render)


def remove_top_layer(context: ViewContext) -> None:
    ren = getattr(context.renderer, "_planning_top", None)
    if ren is not None:
        rw = context.renderer.GetRenderWindow()
        if rw is not None:
            rw.RemoveRenderer(ren)
        del context.renderer._planning_top  # type: ignore[attr-defined]


class SurfaceLayer:
    """One surface shown as a cut outline (2D) or a translucent body (3D)."""

    def __init__(
        self,
        adapter: OverlayAdapter,
        surface: vtkPolyData,
        plane: vtkPlane | None,
        colour: tuple[float, float, float],
        width: float = 2.0,
        opacity: float = 0.25,
    ) -> None:
        self.surface = surface
        #: what the owner drew this layer for (its reuse key)
        self.key: Any = None
        mapper = vtkPolyDataMapper()
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.PickableOff()
        self._strip: vtkStripper | None = None
        if plane is not None:
            cutter = vtkCutter()
            cutter.SetInputData(surface)
            cutter.SetCutFunction(plane)
            strip = vtkStripper()
            strip.SetInputConnection(cutter.GetOutputPort())
            mapper.SetInputConnection(strip.GetOutputPort())
            self._strip = strip
            self.actor.GetProperty().SetLineWidth(width)
            self.actor.GetProperty().LightingOff()
        else:
            mapper.SetInputData(surface)
            self.actor.GetProperty().SetOpacity(opacity)
            self.actor.GetProperty().SetSpecular(0.2)
        mapper.ScalarVisibilityOff()
        self.set_colour(colour)
        adapter.add_prop(self.actor)

    def set_colour(self, colour: tuple[float, float, float]) -> None:
        self.actor.GetProperty().SetColor(*colour)

    def bounds(self) -> NDArray[np.float64]:
        return np.asarray(self.surface.GetBounds(), float).reshape(3, 2)

    def drawn_cut(self) -> NDArray[np.float64]:
        """The outline this 2D layer draws on the slice now (LPS points to 1e-4 mm, sorted;
        none when hidden): two layers drawing the same cut give the same picture."""
        if self._strip is None or not self.actor.GetVisibility():
            return np.zeros((0, 3))
        self._strip.Update()  # what the next render would run anyway
        out = self._strip.GetOutput()
        if out.GetNumberOfPoints() == 0:
            return np.zeros((0, 3))
        q = np.round(vtk_to_numpy(out.GetPoints().GetData()).astype(np.float64), 4)
        return np.asarray(q[np.lexsort(q.T[::-1])])


def plane_crosses(
    bounds: NDArray[np.float64], origin: NDArray[np.float64], normal: NDArray[np.float64]
) -> bool:
    corners = np.array(np.meshgrid(*bounds, indexing="ij")).reshape(3, -1).T
    d = (corners - origin) @ normal
    return bool(d.min() <= 0.0 <= d.max())


def text_actor(colour: tuple[float, float, float], size: int = 14) -> vtkTextActor:
    t = vtkTextActor()
    tp = t.GetTextProperty()
    tp.SetFontSize(size)
    tp.SetColor(*colour)
    tp.BoldOn()
    tp.ShadowOn()
    t.GetPositionCoordinate().SetCoordinateSystemToWorld()
    t.PickableOff()
    return t


def _same_cuts(before: list[Any], after: list[Any]) -> bool:
    """Whether two lists of (level result, layer, label) draw the same 2D picture: the same
    levels in the same colours, and every rebuilt layer cutting the same outline."""
    old = {r.level: layer for r, layer, _ in before}
    new = {r.level: layer for r, layer, _ in after}
    if list(old) != list(new):
        return False
    for level, layer in new.items():
        prev = old[level]
        if layer is prev:
            continue
        if prev.key is None or layer.key is None or prev.key[1:] != layer.key[1:]:
            return False
        a, b = prev.drawn_cut(), layer.drawn_cut()
        if a.shape != b.shape or not np.array_equal(a, b):
            return False
    return True


class BodyOutlineAdapter(OverlayAdapter):
    """All analysed bodies (value: ``SpineAnalysis`` or None); see the module notes.

    A level's outline is rebuilt only when its body mask, name, confirmation or target colour
    changed: a morphometry point or plane correction (same mask) keeps every outline. After each
    :meth:`draw`, ``changed`` says whether anything on screen moved (the view needs a render).
    """

    def __init__(self) -> None:
        super().__init__()
        self.target: str | None = None
        self.changed = False
        self._layers: list[tuple[Any, SurfaceLayer, vtkTextActor | None]] = []
        self._label_state: tuple[Any, ...] = ()

    def build(self) -> None:
        self.plane = vtkPlane() if self.context is not None and self.context.is_2d else None

    def set_target(self, level: str | None) -> None:
        if level != self.target:
            self.target = level
            if self.context is not None and self.value is not None:
                self.draw(self.value)

    def _layer_key(self, r: Any) -> tuple[str, str, bool, bool]:
        return (body_key(r.anatomy), r.level, bool(r.candidate.confirmed), r.level == self.target)

    def draw(self, value: Any) -> None:
        assert self.context is not None
        # keyed as drawn (the target may have changed since)
        old = {layer.key: (layer, label) for _r, layer, label in self._layers}
        new_layers: list[tuple[Any, SurfaceLayer, vtkTextActor | None]] = []
        for r in () if value is None else value.levels:
            is_target = r.level == self.target
            if self.plane is None and not is_target:
                continue  # 3D: only the target body (the bone rendering shows the others)
            key = self._layer_key(r)
            kept = old.pop(key, None)
            if kept is not None:  # same mask, name and colour: keep the cut pipeline
                new_layers.append((r, kept[0], kept[1]))
                continue
            colour = TARGET_COLOUR if is_target else OTHER_COLOUR
            layer = SurfaceLayer(
                self,
                body_surface(r.anatomy, shaded=self.plane is None),
                self.plane,
                colour,
                2.5 if is_target else 1.5,
                0.35 if is_target else 0.12,
            )
            layer.key = key
            label = None
            if self.plane is not None:
                label = text_actor(colour, 15 if is_target else 13)
                label.SetInput(r.level + ("" if r.candidate.confirmed else "?"))
                self.add_prop(label)
            new_layers.append((r, layer, label))
        for layer, label in old.values():
            self.context.renderer.RemoveViewProp(layer.actor)
            self._props.remove(layer.actor)
            if label is not None:
                self.context.renderer.RemoveViewProp(label)
                self._props.remove(label)
        rebuilt = bool(old) or [id(x[1]) for x in new_layers] != [id(x[1]) for x in self._layers]
        before, self._layers = self._layers, new_layers
        labels_before = self._label_state
        self.slice_changed()
        if rebuilt and self.plane is not None and _same_cuts(before, new_layers):
            rebuilt = False  # e.g. a brush stroke on another slice: this view draws the same
        self.changed = rebuilt or self._label_state != labels_before

    def slice_changed(self) -> None:
        if self.context is None or self.plane is None:
            return
        plane = self.context.slice_plane()
        if plane is None:
            return
        origin, normal, _half = plane
        self.plane.SetOrigin(*origin)
        self.plane.SetNormal(*normal)
        state: list[Any] = []
        for r, layer, label in self._layers:
            crosses = plane_crosses(layer.bounds(), origin, normal)
            layer.actor.SetVisibility(crosses)
            if label is None:
                continue
            label.SetVisibility(crosses)
            fr = r.anatomy.frame
            # beside the body, in front of its anterior wall (away from the canal)
            p = np.asarray(r.morphometry.centroid_lps) - fr.posterior * (
                0.5 * r.morphometry.depth_mm + 4.0
            )
            if abs(float(normal @ fr.posterior)) > 0.9:  # coronal: put it to the patient's right
                p = np.asarray(r.morphometry.centroid_lps) - fr.left * (
                    0.5 * r.morphometry.width_mm + 12.0
                )
            p = p - ((p - origin) @ normal) * normal
            label.GetPositionCoordinate().SetValue(*p)
            state.append((crosses, tuple(np.round(p, 3))))
        self._label_state = tuple(state)


#: (body mask and frame key, per wall (depth position mm, centre height mm) in the body
#: frame), newest first: a dragged point changes the heights, not the body, so the mask is not
#: scanned again (also when an outline correction rebuilds an equal mask on each push)
_LINE_BASES: list[tuple[tuple[str, bytes], dict[str, tuple[float, float]]]] = []
LINE_BASES_SIZE = 8


def _line_bases(anatomy: Any) -> dict[str, tuple[float, float]]:
    fr = anatomy.frame
    axes = (fr.origin_lps, fr.left, fr.posterior, fr.superior)
    key = (body_key(anatomy), np.concatenate([np.asarray(v, float) for v in axes]).tobytes())
    for known, bases in _LINE_BASES:
        if known == key:
            return bases
    k, j, i = np.nonzero(anatomy.body)
    body = fr.to_body(anatomy.grid.voxel_to_lps(np.stack([i, j, k], axis=1).astype(float)))
    mid = body[np.abs(body[:, 0]) <= max(2.0, float(anatomy.grid.spacing_mm.max()))]
    if mid.shape[0] < 10:
        mid = body
    y0, y1 = float(mid[:, 1].min()), float(mid[:, 1].max())
    bases = {}
    for w in WALLS:
        y = y0 + HEIGHT_POSITIONS_FRAC[w] * (y1 - y0)
        col = mid[np.abs(mid[:, 1] - y) <= 1.0]
        bases[w] = (y, float(0.5 * (col[:, 2].min() + col[:, 2].max())) if col.size else 0.0)
    _LINE_BASES.insert(0, (key, bases))
    del _LINE_BASES[LINE_BASES_SIZE:]
    return bases


def height_line_points(
    anatomy: Any, morph: Any
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per wall: (inferior, superior) end points of the height line, LPS mm.

    The line sits in the body's mid-sagittal plane at HEIGHT_POSITIONS_FRAC of the depth, centred
    on the body mask there, with the measured length (so the drawing shows the measured number).
    """
    fr = anatomy.frame
    out = {}
    for w, (y, zc) in _line_bases(anatomy).items():
        h = morph.heights_mm.get(w)
        out[w] = (fr.to_lps([0.0, y, zc - h / 2]), fr.to_lps([0.0, y, zc + h / 2]))
    return out


class HeightLinesAdapter(OverlayAdapter):
    """Ha, Hm, Hp of one level on the sagittal view (value: ``LevelResult`` or None)."""

    def build(self) -> None:
        self.lines: dict[str, tuple[vtkActor, vtkPolyData]] = {}
        for w in WALLS:
            actor, poly = polyline_actor(HEIGHT_COLOUR, 2.0)
            actor.GetProperty().SetPointSize(7.0)
            self.add_prop(actor)
            self.lines[w] = (actor, poly)
        # one label block in front of the body (the lines stay readable on a small view)
        self.label = text_actor(HEIGHT_COLOUR, 13)
        self.label.GetTextProperty().SetJustificationToRight()
        self.label.GetTextProperty().SetVerticalJustificationToCentered()
        self.add_prop(self.label)
        self._points: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}

    def draw(self, value: Any) -> None:
        self._points = {} if value is None else height_line_points(value.anatomy, value.morphometry)
        self.slice_changed()

    def slice_changed(self) -> None:
        if self.context is None:
            return
        plane = self.context.slice_plane()
        r = self.value
        show = r is not None and bool(self._points) and plane is not None
        if show:
            origin, normal, _ = plane
            fr = r.anatomy.frame
            facing = abs(float(normal @ fr.left)) > 0.8
            near = (
                abs(float((np.asarray(fr.origin_lps) - origin) @ normal))
                <= 0.3 * r.morphometry.width_mm
            )
            show = facing and near
        self.label.SetVisibility(show)
        for w, (actor, poly) in self.lines.items():
            actor.SetVisibility(show)
            if show:
                a, b = (p - ((p - origin) @ normal) * normal for p in self._points[w])
                set_polyline(poly, [a, b])
        if not show:
            return
        m = r.morphometry
        ref = m.reference_heights_mm
        rows = []
        for w in WALLS:
            t = f"{WALL_ABBR[w]} {m.heights_mm.get(w):.1f}"
            if ref is not None:
                t += f" / ref {ref.get(w):.1f}"
            rows.append(t)
        self.label.SetInput("\n".join(rows) + " mm")
        a = self._points["anterior"]
        p = 0.5 * (a[0] + a[1]) - fr.posterior * 4.0
        self.label.GetPositionCoordinate().SetValue(*(p - ((p - origin) @ normal) * normal))
