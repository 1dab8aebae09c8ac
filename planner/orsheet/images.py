"""Offscreen images of one needle for the OR sheet (numpy + Pillow, no Qt, no VTK).

Four views per needle, each ``SIZE_PX`` square (printed about 44 mm wide: ≈ 350 dpi):

- *axial*: the oblique axial plane that contains the needle (spanned by the needle and the
  horizontal direction perpendicular to it in the body frame): skin entry, pedicle and body in
  one image; displayed radiologically (patient's left on the image right, anterior up);
- *sagittal*: the oblique sagittal plane that contains the needle and the body's superior
  axis; anterior on the left, superior up; the body outline is drawn;
- *AP* and *lateral* simulated fluoroscopy (:mod:`planner.drr`, bone-weighted: only
  attenuation above ``BONE_HU`` is summed, see :func:`bone_renderer`) of the level with the beam
  along the body's own AP and left-right axes (a "true AP" and a "true lateral": endplates as
  lines), the needle projected and the skin and bone entries marked. The C-arm angles that
  give these views are printed under them by the layout.

Every image carries orientation letters at its four edges (from the LPS direction of each
edge), a scale bar in whole mm, and its title.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from planner.anatomy import LevelAnatomy
from planner.drr import MU_WATER_PER_MM, CArmAngles, DRRRenderer
from planner.grid import FloatArray
from planner.plan.model import Trajectory
from planner.volume import CTVolume

SIZE_PX = 600
DRR_FOV_MM = 110.0
BONE_HU = 150.0  # the DRRs sum attenuation above this (soft tissue subtracted)
WINDOW_HU = (-250.0, 1250.0)  # bone window: pedicle cortex and needle path both readable
NEEDLE_RGB = (255, 210, 0)
ENTRY_RGB = (0, 200, 255)
TIP_RGB = (255, 60, 60)
OUTLINE_RGB = (80, 255, 120)
PEDICLE_RGB = (255, 140, 255)
CANAL_RGB = (120, 170, 255)
_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True, eq=False)
class SheetImage:
    """One rendered view: RGB pixels, its title and the mm per pixel."""

    title: str
    kind: str  # "axial" | "sagittal" | "ap" | "lateral"
    rgb: NDArray[np.uint8]
    pixel_mm: float
    angles: CArmAngles | None = None

    def pil(self) -> Image.Image:
        return Image.fromarray(self.rgb, "RGB")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for p in _FONT_PATHS:
        if Path(p).is_file():
            return ImageFont.truetype(p, size)
    return ImageFont.load_default(size=size)


def orientation_letter(direction_lps: FloatArray) -> str:
    """Letter(s) of an LPS direction: dominant axis first, a second one if ≥ 0.5 of it."""
    names = (("R", "L"), ("A", "P"), ("I", "S"))
    v = np.asarray(direction_lps, dtype=np.float64)
    order = np.argsort(-np.abs(v))
    out = names[order[0]][int(v[order[0]] > 0)]
    if abs(v[order[1]]) >= 0.5 * abs(v[order[0]]):
        out += names[order[1]][int(v[order[1]] > 0)]
    return out


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def _sample_plane(
    volume: CTVolume, centre: FloatArray, right: FloatArray, down: FloatArray, px_mm: float
) -> tuple[NDArray[np.float32], FloatArray]:
    """HU on a SIZE_PX² plane (rows along ``down``); returns (HU, LPS of every pixel)."""
    from scipy.ndimage import map_coordinates

    u = (np.arange(SIZE_PX) - (SIZE_PX - 1) / 2) * px_mm
    lps = centre + u[:, None, None] * down + u[None, :, None] * right
    ijk = volume.grid.lps_to_voxel(lps.reshape(-1, 3))
    hu = map_coordinates(volume.hu, ijk[:, ::-1].T, order=1, mode="constant", cval=-1000.0)
    return hu.reshape(SIZE_PX, SIZE_PX).astype(np.float32), lps


def _mask_on_plane(
    anatomy: LevelAnatomy, mask: NDArray[np.bool_], lps: FloatArray
) -> NDArray[np.bool_]:
    ijk = np.rint(anatomy.grid.lps_to_voxel(lps.reshape(-1, 3))).astype(int)
    kji = ijk[:, ::-1]
    ok = np.all((kji >= 0) & (kji < np.array(mask.shape)), axis=1)
    out = np.zeros(len(kji), dtype=bool)
    out[ok] = mask[kji[ok, 0], kji[ok, 1], kji[ok, 2]]
    return out.reshape(lps.shape[:2])


def _outline(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    from scipy.ndimage import binary_dilation, binary_erosion

    out = binary_dilation(mask, iterations=1) & ~binary_erosion(mask, iterations=1)
    return np.asarray(out, dtype=np.bool_)


def _grey(hu: NDArray[np.float32]) -> NDArray[np.uint8]:
    lo, hi = WINDOW_HU
    g = (np.clip((hu - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def _film(ray_sums: NDArray[np.float32]) -> NDArray[np.uint8]:
    """Film-like grey (bone bright) stretched on the central half of the image, so that air
    or missing data at the edges of a short scan does not wash the vertebra out."""
    v = 1.0 - np.exp(-ray_sums.astype(np.float64))
    n = v.shape[0]
    lo, hi = np.percentile(v[n // 4 : 3 * n // 4, n // 4 : 3 * n // 4], [2, 99.5])
    out: NDArray[np.uint8] = (np.clip((v - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Painter:
    """Draws needle, marks, letters, scale bar and title on one image."""

    def __init__(self, rgb: NDArray[np.uint8], px_mm: float) -> None:
        self.img = Image.fromarray(rgb, "RGB")
        self.draw = ImageDraw.Draw(self.img)
        self.px_mm = px_mm
        self._boxes: list[tuple[float, float, float, float]] = []

    def needle(self, pts_px: FloatArray, od_mm: float) -> None:
        w = max(3, int(round(od_mm / self.px_mm * 0.6)))
        self.draw.line([tuple(p) for p in pts_px[[0, -1]]], fill=NEEDLE_RGB, width=w)
        self.mark(pts_px[0], ENTRY_RGB, "skin")
        self.mark(pts_px[1], ENTRY_RGB, "bone", square=True)
        self.mark(pts_px[-1], TIP_RGB, "tip")

    def mark(
        self, p: FloatArray, rgb: tuple[int, int, int], label: str, square: bool = False
    ) -> None:
        r = 9
        box = (p[0] - r, p[1] - r, p[0] + r, p[1] + r)
        if square:
            self.draw.rectangle(box, outline=rgb, width=3)
        else:
            self.draw.ellipse(box, outline=rgb, width=3)
        x, y = p[0] + r + 3, p[1] - r - 14
        w = self.draw.textbbox((0, 0), label, font=_font(22))[2] if label else 0
        box = (x, y, x + w, y + 24)
        free = all(not _overlap(box, q) for q in self._boxes)
        if label and free and 0 <= p[0] < SIZE_PX and 0 <= p[1] < SIZE_PX:
            self._boxes.append(box)
            self.text((x, y), label, rgb, 22)

    def structure_label(
        self, name: str, mask: NDArray[np.bool_], rgb: tuple[int, int, int]
    ) -> None:
        """Name a structure beside its outline, at the first free place of left, right,
        below, above (skipped when the structure is tiny or no place is free)."""
        rows, cols = np.nonzero(mask)
        if rows.size < 40:
            return
        w = self.draw.textbbox((0, 0), name, font=_font(20))[2]
        ym, xm = float(np.median(rows)), float(np.median(cols))
        candidates = (
            (float(cols.min()) - 8 - w, ym - 10),
            (float(cols.max()) + 8, ym - 10),
            (xm - w / 2, float(rows.max()) + 4),
            (xm - w / 2, float(rows.min()) - 26),
        )
        for x, y in candidates:
            box = (x, y, x + w, y + 22)
            inside = 0 <= box[0] and box[2] < SIZE_PX and 30 <= box[1] and box[3] < SIZE_PX - 40
            if inside and all(not _overlap(box, q) for q in self._boxes):
                self._boxes.append(box)
                self.text((x, y), name, rgb, 20)
                return

    def text(self, xy: tuple[float, float], s: str, rgb: tuple[int, int, int], size: int) -> None:
        self.draw.text(xy, s, fill=rgb, font=_font(size), stroke_width=2, stroke_fill=(0, 0, 0))

    def letters(self, right: FloatArray, down: FloatArray) -> None:
        f = _font(30)
        n = SIZE_PX
        for d, (x, y) in (
            (right, (n - 8, n / 2)),
            (-right, (8, n / 2)),
            (-down, (n / 2, 8)),
            (down, (n / 2, n - 8)),
        ):
            s = orientation_letter(d)
            bw, bh = self.draw.textbbox((0, 0), s, font=f)[2:]
            ax = min(max(x - bw / 2, 4), n - bw - 4)
            ay = min(max(y - bh / 2, 4), n - bh - 4)
            self.draw.text(
                (ax, ay), s, fill=(255, 255, 255), font=f, stroke_width=3, stroke_fill=(0, 0, 0)
            )

    def scale_bar(self) -> None:
        n = SIZE_PX
        mm = next(m for m in (50, 20, 10, 5, 2, 1) if m / self.px_mm <= 0.3 * n)
        length = mm / self.px_mm
        x0, y0 = 20, n - 30
        self.draw.rectangle((x0, y0, x0 + length, y0 + 7), fill=(255, 255, 255), outline=(0, 0, 0))
        self.text((x0, y0 - 30), f"{mm} mm", (255, 255, 255), 24)

    def title(self, s: str) -> None:
        f = _font(24)
        w = self.draw.textbbox((0, 0), s, font=f)[2]
        self.text((SIZE_PX - w - 10, SIZE_PX - 34), s, (255, 255, 255), 24)

    def done(self) -> NDArray[np.uint8]:
        return np.asarray(self.img, dtype=np.uint8).copy()


def _plane_image(
    volume: CTVolume,
    anatomy: LevelAnatomy,
    traj: Trajectory,
    od_mm: float,
    kind: str,
    title: str,
) -> SheetImage:
    skin, bone, tip = (
        np.asarray(p, dtype=np.float64)
        for p in (traj.skin_entry_lps, traj.bone_entry_lps, traj.target_lps)
    )
    fr = anatomy.frame
    d = _unit(tip - skin)
    if kind == "axial":
        h = _unit(np.cross(d, fr.superior))
        # in-plane: image right = towards the patient's left, image up = anterior
        right = _unit(h * float(h @ fr.left) + d * float(d @ fr.left))
        up = -fr.posterior
        up = _unit(h * float(h @ up) + d * float(d @ up))
        up = _unit(up - float(up @ right) * right)
    else:
        v = _unit(fr.superior - float(fr.superior @ d) * d)
        up = v
        right = _unit(d * float(d @ fr.posterior))  # anterior on the left, posterior right
        right = _unit(right - float(right @ up) * up)
    down = -up
    anterior_pt = fr.origin_lps - fr.posterior * 25.0
    pts = np.array([skin, tip, anterior_pt, fr.origin_lps])
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    extent = max(float(np.ptp(pts @ right)), float(np.ptp(pts @ down)))
    fov = float(np.clip(extent * 1.25 + 20.0, 90.0, 220.0))
    px = fov / SIZE_PX
    hu, lps = _sample_plane(volume, centre, right, down, px)
    rgb = _grey(hu)
    masks = {
        "body": (_mask_on_plane(anatomy, anatomy.body, lps), OUTLINE_RGB),
        "pedicle": (_mask_on_plane(anatomy, anatomy.pedicle(traj.side), lps), PEDICLE_RGB),
        "canal": (_mask_on_plane(anatomy, anatomy.canal, lps), CANAL_RGB),
    }
    for mask, colour in masks.values():
        rgb[_outline(mask)] = colour
    p = _Painter(rgb, px)
    rel = np.array([skin, bone, tip]) - centre
    pts_px = np.stack([rel @ right, rel @ down], axis=1) / px + (SIZE_PX - 1) / 2
    p.needle(pts_px, od_mm)
    for name, (mask, colour) in masks.items():
        p.structure_label(name, mask, colour)
    p.letters(right, down)
    p.scale_bar()
    p.title(title)
    return SheetImage(title, kind, p.done(), px)


def bone_renderer(volume: CTVolume, centre_lps: FloatArray) -> DRRRenderer:
    """A DRR renderer that sums only attenuation above ``BONE_HU`` (soft tissue subtracted),
    so pedicles and endplates stand out as on a good fluoroscopic image even through the
    mediastinum or the liver; the needle and marks are drawn on top."""
    r = DRRRenderer(volume, centre_lps, radius_mm=90.0)
    hu = (r.mu / MU_WATER_PER_MM - 1.0) * 1000.0
    r.mu = (np.clip(hu - BONE_HU, 0.0, None) / 1000.0 * MU_WATER_PER_MM * 3.0).astype(np.float32)
    return r


def render_needle_images(
    volume: CTVolume,
    anatomy: LevelAnatomy,
    traj: Trajectory,
    od_mm: float,
    pedicle_centre_lps: tuple[float, float, float] | None = None,
    renderer: DRRRenderer | None = None,
) -> tuple[SheetImage, SheetImage, SheetImage, SheetImage]:
    """Axial, sagittal, AP and lateral images of one needle (see module notes)."""
    side = "L" if traj.side == "left" else "R"
    lv = anatomy.level
    ax = _plane_image(volume, anatomy, traj, od_mm, "axial", f"{lv} {side} axial")
    sg = _plane_image(volume, anatomy, traj, od_mm, "sagittal", f"{lv} {side} sagittal")
    fr = anatomy.frame
    r = renderer or bone_renderer(volume, fr.origin_lps)
    needle = np.array([traj.skin_entry_lps, traj.bone_entry_lps, traj.target_lps])
    out = []
    for kind, beam in (("ap", fr.posterior), ("lateral", -fr.left)):
        img = r.render("bullseye", SIZE_PX, DRR_FOV_MM, beam, needle)
        rgb = np.repeat(_film(img.pixels)[:, :, None], 3, axis=2)
        p = _Painter(rgb, img.pixel_mm)
        assert img.needle_polyline_px is not None
        p.needle(img.needle_polyline_px, od_mm)
        if kind == "ap" and pedicle_centre_lps is not None:
            c = img.lps_to_pixel(pedicle_centre_lps)[0]
            p.draw.line((c[0] - 12, c[1], c[0] + 12, c[1]), fill=PEDICLE_RGB, width=3)
            p.draw.line((c[0], c[1] - 12, c[0], c[1] + 12), fill=PEDICLE_RGB, width=3)
        p.letters(img.col_dir_lps, img.row_dir_lps)
        p.scale_bar()
        title = f"{lv} {side} {'AP' if kind == 'ap' else 'lateral'} (DRR)"
        p.title(title)
        out.append(SheetImage(title, kind, p.done(), img.pixel_mm, img.angles))
    return ax, sg, out[0], out[1]
