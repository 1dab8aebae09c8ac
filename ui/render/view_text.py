"""Text drawn on the 2D views: orientation letters at the edge middles and the corner text.

Shared by the slice views and the needle views. Letters are computed elsewhere (from the camera,
:mod:`ui.render.orientation`); this module places them and keeps the top and bottom letters
clear of the corner text when a view is narrow.
"""

from __future__ import annotations

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

LETTER_COLOUR = (0.95, 0.85, 0.55)
# normalized viewport position of each edge letter
LETTER_PLACES = {
    "left": (0.012, 0.5),
    "right": (0.988, 0.5),
    "top": (0.5, 0.985),
    "bottom": (0.5, 0.015),
}
TEXT_COLOUR = (0.85, 0.88, 0.92)
#: The dark box behind a view's title (needle views: small views over bright bone).
TITLE_BOX_COLOUR = (0.04, 0.05, 0.07)
TITLE_BOX_OPACITY = 0.75


def letter_actor(edge: str, font_size: int = 17) -> vtkTextActor:
    """An orientation letter pinned to the middle of one view edge ('left', 'top', ...)."""
    actor = vtkTextActor()
    tp = actor.GetTextProperty()
    tp.SetFontSize(font_size)
    tp.BoldOn()
    tp.SetColor(*LETTER_COLOUR)
    tp.SetFontFamilyToArial()
    tp.ShadowOn()
    tp.SetJustification({"left": 0, "right": 2}.get(edge, 1))
    tp.SetVerticalJustification({"top": 2, "bottom": 0}.get(edge, 1))
    coord = actor.GetPositionCoordinate()
    coord.SetCoordinateSystemToNormalizedViewport()
    coord.SetValue(*LETTER_PLACES[edge])
    return actor


def text_size_px(actor: vtkTextActor, renderer: vtkRenderer) -> tuple[float, float]:
    """Width and height of a text actor's rendered text in display pixels (0 when empty)."""
    if not actor.GetInput() or renderer.GetRenderWindow() is None:
        return 0.0, 0.0
    size = [0.0, 0.0]
    actor.GetSize(renderer, size)
    return float(size[0]), float(size[1])


def fit_edge_letters(
    renderer: vtkRenderer, letters: dict[str, vtkTextActor], corners: CornerText
) -> None:
    """Keep the top/bottom letters at mid-edge, or just inside the corner text they would
    otherwise overlap when the view is narrow (1×3 layout, small docks)."""
    w, h = renderer.GetSize()
    if w <= 0 or h <= 0:
        return
    for edge, pair, y in (
        ("top", (2, 3), LETTER_PLACES["top"][1]),
        ("bottom", (0, 1), LETTER_PLACES["bottom"][1]),
    ):
        letter = letters[edge]
        free_px = w / 2.0 - text_size_px(letter, renderer)[0] / 2.0 - 6.0
        sizes = [text_size_px(corners.actors[c], renderer) for c in pair]
        clash_px = max((th for tw, th in sizes if tw > free_px), default=0.0)
        shift = (clash_px + 2.0) / h if clash_px else 0.0
        letter.GetPositionCoordinate().SetValue(0.5, y - shift if edge == "top" else y + shift)


class CornerText:
    """Text in the four corners of a view, with vtkCornerAnnotation's SetText/GetText API.

    Plain text actors at a fixed font size: vtkCornerAnnotation searches a font size on every
    text change, which cost ~20 ms per view per scroll step on llvmpipe.
    """

    # corner: (x, y, horizontal justification, vertical justification); 0 = lower left
    PLACES = {
        0: (0.008, 0.012, 0, 0),
        1: (0.992, 0.012, 2, 0),
        2: (0.008, 0.988, 0, 2),
        3: (0.992, 0.988, 2, 2),
    }

    def __init__(self, renderer: vtkRenderer, font_size: int = 14) -> None:
        self.actors: dict[int, vtkTextActor] = {}
        for corner, (x, y, hj, vj) in self.PLACES.items():
            actor = vtkTextActor()
            tp = actor.GetTextProperty()
            tp.SetFontSize(font_size)
            tp.SetColor(*TEXT_COLOUR)
            tp.SetFontFamilyToArial()
            tp.ShadowOn()
            tp.SetJustification(hj)
            tp.SetVerticalJustification(vj)
            coord = actor.GetPositionCoordinate()
            coord.SetCoordinateSystemToNormalizedViewport()
            coord.SetValue(x, y)
            actor.PickableOff()
            renderer.AddViewProp(actor)
            self.actors[corner] = actor

    def SetText(self, corner: int, text: str) -> None:  # noqa: N802 - VTK-style API
        actor = self.actors[corner]
        if actor.GetInput() != text:
            actor.SetInput(text)

    def GetText(self, corner: int) -> str:  # noqa: N802
        return self.actors[corner].GetInput() or ""

    def set_box(self, corner: int, opacity: float = TITLE_BOX_OPACITY) -> None:
        """Draw ``corner``'s text on a dark box (readable over bright bone)."""
        tp = self.actors[corner].GetTextProperty()
        tp.SetBackgroundColor(*TITLE_BOX_COLOUR)
        tp.SetBackgroundOpacity(opacity)

    def ClearAllTexts(self) -> None:  # noqa: N802
        for corner in self.actors:
            self.SetText(corner, "")

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802
        for actor in self.actors.values():
            actor.SetVisibility(visible)


#: scale bar lengths offered (mm); the longest that fits in SCALE_BAR_MAX_FRAC of the width
SCALE_BAR_MM = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
SCALE_BAR_MAX_FRAC = 0.2
SCALE_BAR_MARGIN_PX = 10.0
SCALE_BAR_TICK_PX = 4.0


def scale_bar_length_mm(mm_per_px: float, width_px: float) -> float:
    """The longest offered length that spans at most SCALE_BAR_MAX_FRAC of the view (0: none)."""
    if mm_per_px <= 0 or width_px <= 0:
        return 0.0
    fitting = [L for L in SCALE_BAR_MM if L / mm_per_px <= SCALE_BAR_MAX_FRAC * width_px]
    return fitting[-1] if fitting else 0.0


class ScaleBar:
    """A bar of a round length in mm in the lower-right corner, with its length written beside
    it, so the user can check the magnification at a glance (display pixels, redrawn on zoom
    and resize)."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.poly = vtkPolyData()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*TEXT_COLOUR)
        self.actor.GetProperty().SetLineWidth(1.5)
        self.label = vtkTextActor()
        tp = self.label.GetTextProperty()
        tp.SetFontSize(13)
        tp.SetColor(*TEXT_COLOUR)
        tp.SetFontFamilyToArial()
        tp.ShadowOn()
        tp.SetJustificationToRight()
        tp.SetVerticalJustificationToCentered()
        self.length_mm = 0.0
        renderer.AddViewProp(self.actor)
        renderer.AddViewProp(self.label)

    def update(self, mm_per_px: float, width_px: float) -> None:
        self.length_mm = scale_bar_length_mm(mm_per_px, width_px)
        visible = self.length_mm > 0
        self.actor.SetVisibility(visible)
        self.label.SetVisibility(visible)
        if not visible:
            return
        right = width_px - SCALE_BAR_MARGIN_PX
        left = right - self.length_mm / mm_per_px
        y, t = SCALE_BAR_MARGIN_PX, SCALE_BAR_TICK_PX
        pts = vtkPoints()
        lines = vtkCellArray()
        for a, b in (
            ((left, y), (right, y)),
            ((left, y), (left, y + t)),
            ((right, y), (right, y + t)),
        ):
            lines.InsertNextCell(2)
            lines.InsertCellPoint(pts.InsertNextPoint(a[0], a[1], 0.0))
            lines.InsertCellPoint(pts.InsertNextPoint(b[0], b[1], 0.0))
        self.poly.SetPoints(pts)
        self.poly.SetLines(lines)
        self.poly.Modified()
        self.label.SetInput(f"{self.length_mm:g} mm")
        self.label.SetPosition(left - 6.0, y + t / 2.0)

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - VTK-style, like CornerText
        self.actor.SetVisibility(visible and self.length_mm > 0)
        self.label.SetVisibility(visible and self.length_mm > 0)
