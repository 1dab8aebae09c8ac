"""Soft tissue of the demo trunk: skin, fat, muscle, retroperitoneum, vessels, kidneys, noise.

Notes
-----
LPS mm, HU from :data:`planner.demo.params.TISSUE`. The trunk is a slim abdomen (about
250 mm wide, 190 mm deep) so the field of view stays small; the layers that do not depend on
the level are drawn once in an axial slice and copied along z, the rest (psoas, kidneys, aorta
and vena cava following the column) are painted in their own boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.demo.canvas import Canvas, occupancy
from planner.demo.params import NOISE_SIGMA_HU, TISSUE
from planner.demo.shapes import F, Placed, SuperEllipsoid, superellipse_sdf


@dataclass(frozen=True, slots=True)
class Trunk:
    """Outline of the trunk in the axial plane and the spine's average position in it."""

    centre_xy: tuple[float, float]
    semi_xy: tuple[float, float]
    spine_y: float  # y of the column's centre (vertebral bodies), mean over z
    fat_extra_mm: float = 0.0  # extra subcutaneous fat all around (training variants)


def _ring_sdf(x: F, y: F, cx: float, cy: float, a: float, b: float) -> F:
    return superellipse_sdf([x - cx, y - cy], [a, b], 2.2)


def background_slice(x: F, y: F, trunk: Trunk, rng: np.random.Generator) -> NDArray[np.float32]:
    """One axial slice ``[j, i]`` of the layers that are the same at every level."""
    t = TISSUE
    cx, cy = trunk.centre_xy
    a, b = trunk.semi_xy
    img = np.full(np.broadcast_shapes(x.shape, y.shape), t.air, dtype=np.float32)

    def paint(d: F, value: float | NDArray[np.float32]) -> None:
        nonlocal img
        occ = occupancy(d)
        img += occ * (value - img)

    e = trunk.fat_extra_mm
    paint(_ring_sdf(x, y, cx, cy, a + e, b + e), t.skin)
    paint(_ring_sdf(x, y, cx, cy, a - 2.0 + e, b - 2.0 + e), t.fat)  # subcutaneous fat
    paint(_ring_sdf(x, y, cx, cy - 3.0, a - 14.0, b - 15.0), t.muscle)  # abdominal wall
    # abdominal cavity: organs and bowel at ~35 HU, marbled with mesenteric fat
    marbling = _lowres_field(rng, img.shape, 9)
    fat_frac = np.clip((marbling - 0.5) / 0.12, 0.0, 1.0).astype(np.float32)
    viscera = t.viscera + fat_frac * np.float32(t.fat - t.viscera)
    paint(_ring_sdf(x, y, cx, cy - 6.0, a - 22.0, b - 24.0), viscera)
    sy = trunk.spine_y
    # retroperitoneal fat around the column (issue: ~-100 HU)
    paint(superellipse_sdf([x, y - (sy + 8.0)], [68.0, 48.0], 2.4), t.fat)
    # paraspinal muscles (erector spinae, multifidus) behind the transverse processes, with
    # some fatty infiltration as in an elderly patient
    fatty = np.where(_lowres_field(rng, img.shape, 6) > 0.8, -40.0, t.muscle).astype(np.float32)
    for sgn in (-1.0, 1.0):
        paint(superellipse_sdf([x - sgn * 27.0, y - (sy + 56.0)], [27.0, 31.0], 2.6), fatty)
        paint(superellipse_sdf([x - sgn * 60.0, y - (sy + 34.0)], [15.0, 10.0], 2.0), t.muscle)
    return img


def _lowres_field(rng: np.random.Generator, shape: tuple[int, ...], cell: int) -> F:
    """Smooth random field in [0, 1] (bilinear upsampling of a coarse uniform grid)."""
    from scipy.ndimage import zoom

    nj, ni = shape
    coarse = rng.random((nj // cell + 2, ni // cell + 2))
    fine = zoom(coarse, cell, order=1)
    return np.asarray(fine[:nj, :ni])


def background_slices(x: F, y: F, trunk: Trunk, rng: np.random.Generator,
                      n: int = 3) -> list[NDArray[np.float32]]:
    """``n`` variants of the axial background (different fat marbling) to blend along z."""
    return [background_slice(x, y, trunk, rng) for _ in range(n)]


def blend_along_z(hu: NDArray[np.float32], slices: list[NDArray[np.float32]],
                  period: int = 45) -> None:
    """Fill ``hu[k]`` with a smooth cyclic blend of the background variants."""
    n = len(slices)
    for k in range(hu.shape[0]):
        s = k / period
        i0 = int(s) % n
        a = np.float32(0.5 - 0.5 * math.cos(math.pi * (s - int(s))))
        np.multiply(slices[i0], 1.0 - a, out=hu[k])
        hu[k] += a * slices[(i0 + 1) % n]


def thorax_organs(spine_y: float, z_t11: float, z_t12: float) -> list[tuple[object, float]]:
    """Liver, spleen and the posterior lung recesses of the upper slices, as (shape, HU)."""
    out: list[tuple[object, float]] = []
    out.append((SuperEllipsoid(Placed(np.array([-55.0, spine_y - 28.0, z_t11 + 15.0]),
                                      np.eye(3)), (45.0, 50.0, 60.0), 2.2), 58.0))
    out.append((SuperEllipsoid(Placed(np.array([70.0, spine_y + 22.0, z_t11 + 5.0]), np.eye(3)),
                               (18.0, 30.0, 38.0), 2.0), 48.0))
    for sgn in (1.0, -1.0):
        out.append((LungRecess(sgn, spine_y, z_t12 - 4.0), TISSUE.lung))
    return out


@dataclass(frozen=True, eq=False)
class LungRecess:
    """Posterior costophrenic recess of one lung: above a diaphragm dome that dips to
    ``z_bottom`` posterolaterally."""

    side_sign: float
    spine_y: float
    z_bottom: float

    def _xy(self) -> tuple[float, float]:
        return self.side_sign * 80.0, self.spine_y + 44.0

    def sdf(self, x: F, y: F, z: F) -> F:
        cx, cy = self._xy()
        d_xy = superellipse_sdf([x - cx, y - cy], [17.0, 24.0], 2.0)
        rx, ry = x - self.side_sign * 86.0, y - (self.spine_y + 56.0)
        z_d = self.z_bottom + 0.012 * (rx * rx + ry * ry)
        return np.maximum(d_xy, (z_d - z) * 0.5)

    def box_lps(self) -> tuple[F, F]:
        cx, cy = self._xy()
        return (np.array([cx - 25.0, cy - 27.0, self.z_bottom - 2.0]),
                np.array([cx + 25.0, cy + 27.0, self.z_bottom + 200.0]))


def column_y_at(z: F, column_points: F) -> F:
    return np.interp(z, column_points[:, 2], column_points[:, 1]).astype(np.float32)


def paint_vessels(canvas: Canvas, column_points: F, body_front: float) -> None:
    """Aorta (left anterior of the spine) and inferior vena cava (right), following it."""
    t = TISSUE
    for xc, dy, ra, rb, val in ((19.0, -13.0, 10.5, 10.5, t.blood), (-23.0, -15.0, 12.0, 8.5,
                                                                     t.blood - 3.0)):
        zmin, zmax = canvas.origin[2], canvas.origin[2] + canvas.hu.shape[0] * canvas.spacing[2]
        yc_all = column_points[:, 1] + body_front + dy
        lo = np.array([xc - ra - 2, yc_all.min() - rb - 2, zmin])
        hi = np.array([xc + ra + 2, yc_all.max() + rb + 2, zmax])
        b = canvas.box(lo, hi)
        if b is None:
            continue
        sl, x, y, z = b
        yc = column_y_at(z, column_points) + body_front + dy
        d = superellipse_sdf([x - xc, y - yc], [ra, rb], 2.0)
        canvas.paint(sl, d, val)
        if val == t.blood:  # calcified plaque flecks on the aortic wall (elderly patient)
            ang = np.arctan2(y - yc, x - xc)
            fleck = (np.sin(3.0 * ang + 0.15 * z) > 0.93) & (np.abs(d) < 0.8)
            canvas.hu[sl] += np.where(fleck, np.float32(350.0), np.float32(0.0))


def paint_psoas(canvas: Canvas, column_points: F, z_start: float, body_half_width: float) -> None:
    """Psoas muscles: absent above L1, growing caudally beside the bodies."""
    t = TISSUE
    zmin = canvas.origin[2]
    for sgn in (-1.0, 1.0):
        lo = np.array([sgn * body_half_width - 45.0, column_points[:, 1].min() - 30, zmin])
        hi = np.array([sgn * body_half_width + 45.0, column_points[:, 1].max() + 30, z_start])
        b = canvas.box(lo, hi)
        if b is None:
            continue
        sl, x, y, z = b
        r = (np.clip((z_start - z) / 80.0, 0.0, 1.0) * 17.0 + 1e-3).astype(np.float32)
        yc = column_y_at(z, column_points) + 4.0
        xc = sgn * (body_half_width + 2.0 + r)
        d = superellipse_sdf([x - xc, y - yc], [r, 0.85 * r], 2.0)
        d = np.where(r < 1.0, 10.0, d)
        canvas.paint(sl, d, t.muscle)


def kidneys(spine_y: float, z_l1: float) -> list[tuple[SuperEllipsoid, float]]:
    """Kidneys with perirenal and sinus fat, as (shape, HU) in painting order."""
    t = TISSUE
    out = []
    for sgn, dz in ((1.0, 12.0), (-1.0, -6.0)):  # the left kidney sits higher
        tilt = math.radians(12.0)
        rot = np.array([[math.cos(tilt), 0.0, -sgn * math.sin(tilt)], [0.0, 1.0, 0.0],
                        [sgn * math.sin(tilt), 0.0, math.cos(tilt)]])
        centre = np.array([sgn * 72.0, spine_y + 22.0, z_l1 + dz])
        fr = Placed(centre, rot)
        out.append((SuperEllipsoid(fr, (30.0, 26.0, 62.0)), t.fat))
        out.append((SuperEllipsoid(fr, (24.0, 19.0, 55.0)), t.kidney))
        hilum = Placed(centre + np.array([-sgn * 10.0, -4.0, 0.0]), rot)
        out.append((SuperEllipsoid(hilum, (8.0, 7.0, 18.0)), -60.0))
    return out


def noisy_int16(hu: NDArray[np.float32], rng: np.random.Generator,
                sigma: float = NOISE_SIGMA_HU) -> NDArray[np.int16]:
    """Add correlated noise and round to int16 HU (clipped to [-1024, 3071]), slab by slab.

    The noise at a voxel is the sum of four uniform variates on the 2x2 in-plane voxels
    around it: zero mean after removing 2, standard deviation ``sigma`` after scaling by
    ``sqrt(3)``, nearly Gaussian (Irwin-Hall, n = 4) and correlated over neighbouring voxels
    like the output of a smooth reconstruction kernel. Uniform variates are ~4x cheaper to draw
    than normal ones, which keeps the whole demo under its 2 s budget.
    """
    nk, nj, ni = hu.shape
    out = np.empty(hu.shape, dtype=np.int16)
    scale = np.float32(sigma * np.sqrt(3.0))
    offset = np.float32(-2.0 * sigma * np.sqrt(3.0))
    chunk = 8
    for k0 in range(0, nk, chunk):
        k1 = min(nk, k0 + chunk)
        n = rng.random((k1 - k0, nj + 1, ni + 1), dtype=np.float32)
        s = n[:, :-1, :-1] + n[:, 1:, :-1]
        s += n[:, :-1, 1:]
        s += n[:, 1:, 1:]
        s *= scale
        s += hu[k0:k1]
        s += offset
        np.clip(s, -1024.0, 3071.0, out=s)
        np.rint(s, out=s)
        out[k0:k1] = s
    return out


def thorax_lungs(spine_y: float, z_bottom: float, z_top: float) -> list[tuple[object, float]]:
    """Both lungs beside and in front of the thoracic spine (training cases above T10):
    aerated lung from the posterior recesses up past the top of the scan (typical anatomy)."""
    zc, hz = (z_bottom + z_top) / 2.0 + 40.0, (z_top - z_bottom) / 2.0 + 40.0
    return [(SuperEllipsoid(Placed(np.array([sgn * 74.0, spine_y - 8.0, zc]), np.eye(3)),
                            (46.0, 60.0, hz), 2.2), TISSUE.lung) for sgn in (1.0, -1.0)]
