"""Simulated fluoroscopy: digitally reconstructed radiographs (DRR) with the needle projected.

Parallel-beam ray sums of linear attenuation, μ = μ_water · max(0, 1 + HU/1000) with
μ_water = 0.02 /mm (water at ~60–70 keV, the effective energy of a C-arm beam), over a crop of
the CT around the level, resampled at about 1 mm and zoomed to the output size. Cone-beam
magnification is not modelled: distances in the image are true mm at the isocentre plane.

Views and screen convention (the viewer looks along ``beam_dir_lps``; image right =
beam × up, image down = −up):

- ``"ap"``: beam +y (viewer in front of the patient), up = superior: patient's left on the
  image right, as a radiograph is read;
- ``"lateral"``: beam −x (viewer at the patient's left), up = superior: anterior on the left;
- ``"bullseye"``: beam along the needle (entry → tip) or a given axis, up = superior projected;
  the needle appears as a dot ("bull's-eye") when the C-arm is aligned with it.

C-arm angles (:class:`CArmAngles`) are those of the beam axis in the angiographic convention
(detector in the patient's anterior hemisphere): LAO + towards the patient's left, RAO −;
cranial +, caudal −. For a prone patient, with the detector over the back, the same axis is
reached with the detector on the opposite side (an "LAO 20°" axis is the detector 20° towards
the patient's right, over the back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner.grid import FloatArray
from planner.volume import CTVolume

MU_WATER_PER_MM = 0.02
#: Ray step (mm) for oblique views; internal image pixels are ``voxel_mm`` (default 1.25 mm).
DEPTH_STEP_MM = 2.0
VIEWS = ("ap", "lateral", "bullseye")
_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True, slots=True)
class CArmAngles:
    """Beam-axis orientation as C-arm angles (degrees; see module notes)."""

    lao_deg: float
    cranial_deg: float

    @property
    def label(self) -> str:
        lr = "LAO" if self.lao_deg >= 0 else "RAO"
        cc = "CRAN" if self.cranial_deg >= 0 else "CAUD"
        return f"{lr} {abs(self.lao_deg):.1f}° {cc} {abs(self.cranial_deg):.1f}°"

    def as_dict(self) -> dict[str, Any]:
        return {
            "lao_deg": round(self.lao_deg, 2),
            "cranial_deg": round(self.cranial_deg, 2),
            "label": self.label,
        }


def carm_angles(beam_dir_lps: ArrayLike) -> CArmAngles:
    """C-arm angles of a beam axis (either direction along the line)."""
    f = np.asarray(beam_dir_lps, dtype=np.float64)
    f = f / np.linalg.norm(f)
    # the line's representative in the anterior hemisphere (ties: towards the patient's left)
    if abs(f[1]) > 1e-9:
        a = f if f[1] < 0 else -f
    else:
        a = f if f[0] >= 0 else -f
    lao = math.degrees(math.atan2(a[0], -a[1]))
    cran = math.degrees(math.asin(max(-1.0, min(1.0, a[2]))))
    return CArmAngles(lao, cran)


@dataclass(frozen=True, eq=False)
class DRRImage:
    """A DRR and its placement.

    ``pixels[row, col]`` (float32) are ray sums of attenuation; pixel ``(col, row)`` centre
    lies at ``origin_lps + col·pixel_mm·col_dir_lps + row·pixel_mm·row_dir_lps`` on the
    plane through the centre point, perpendicular to ``beam_dir_lps``.
    ``needle_polyline_px`` holds (col, row) of skin entry, bone entry and tip, if given.
    """

    view: str
    pixels: NDArray[np.float32]
    origin_lps: FloatArray
    col_dir_lps: FloatArray
    row_dir_lps: FloatArray
    pixel_mm: float
    beam_dir_lps: FloatArray
    angles: CArmAngles
    needle_polyline_px: FloatArray | None = None

    def lps_to_pixel(self, lps: ArrayLike) -> FloatArray:
        """Project LPS points ``(n, 3)`` along the beam to (col, row) pixel coordinates."""
        rel = np.atleast_2d(np.asarray(lps, dtype=np.float64)) - self.origin_lps
        return np.stack([rel @ self.col_dir_lps, rel @ self.row_dir_lps], axis=-1) / self.pixel_mm

    def pixel_to_lps(self, col: float, row: float) -> FloatArray:
        """LPS point of a pixel on the image plane through the centre."""
        return self.origin_lps + self.pixel_mm * (col * self.col_dir_lps + row * self.row_dir_lps)

    def display_uint8(self) -> NDArray[np.uint8]:
        """Film-like rendering (bone bright): 255·(1 − exp(−ray sum)), contrast-stretched."""
        v = 1.0 - np.exp(-self.pixels.astype(np.float64))
        lo, hi = np.percentile(v, [1, 99.5])
        return np.asarray(np.clip((v - lo) / max(hi - lo, 1e-6), 0, 1) * 255, dtype=np.uint8)


def view_basis(
    view: str, direction_lps: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(beam, image-right, image-down) unit vectors in LPS for a view."""
    if view == "ap":
        f = np.array([0.0, 1.0, 0.0])
    elif view == "lateral":
        f = np.array([-1.0, 0.0, 0.0])
    elif view == "bullseye":
        if direction_lps is None:
            raise ValueError("the bull's-eye view needs the needle or pedicle axis direction")
        f = np.asarray(direction_lps, dtype=np.float64)
        f = f / np.linalg.norm(f)
    else:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    up = _UP - float(_UP @ f) * f
    if np.linalg.norm(up) < 1e-6:  # looking straight up/down the spine
        up = np.array([0.0, -1.0, 0.0]) - float(f[1]) * f
    up /= np.linalg.norm(up)
    right = np.cross(f, up)
    return f, right, -up


class DRRRenderer:
    """Attenuation crop of a CT around a point, reused for every view of one level.

    Parameters
    ----------
    volume
        The CT.
    center_lps
        Centre of the crop and of every image (e.g. the body centroid), LPS mm.
    radius_mm
        Half-size of the cubic crop; rays are summed over this box.
    voxel_mm
        Internal pixel size in mm (1.25 mm keeps an oblique view well under 0.5 s).
    """

    def __init__(
        self,
        volume: CTVolume,
        center_lps: ArrayLike,
        radius_mm: float = 100.0,
        voxel_mm: float = 1.25,
    ) -> None:
        self.center_lps = np.asarray(center_lps, dtype=np.float64).reshape(3)
        self.radius_mm = float(radius_mm)
        self.voxel_mm = float(voxel_mm)
        grid = volume.grid
        offs = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]) * radius_mm
        ijk = grid.lps_to_voxel(self.center_lps + offs)
        shape_ijk = np.array(grid.shape_kji[::-1])
        lo = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, shape_ijk - 1)
        hi = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 1, lo + 1, shape_ijk)
        step = np.maximum(1, np.floor(self.voxel_mm / grid.spacing_mm).astype(int))
        sl = tuple(slice(lo[a], hi[a], step[a]) for a in (2, 1, 0))
        hu = volume.hu[sl].astype(np.float32)
        self.mu = np.maximum(0.0, 1.0 + hu / 1000.0) * MU_WATER_PER_MM
        m = grid.ijk_to_lps.copy()
        m[:3, :3] = m[:3, :3] * step
        m[:3, 3] = grid.voxel_to_lps(lo)
        inv = np.linalg.inv(m)
        self._lps_to_kji = inv[[2, 1, 0], :3]
        self._off = inv[[2, 1, 0], 3]
        self._step_mm = np.linalg.norm(m[:3, :3], axis=0)[::-1]  # mm per crop voxel along k, j, i

    def _aligned_axis(self, beam_kji: FloatArray) -> int | None:
        """The array axis the beam runs along (to 0.1°), if any."""
        v = np.abs(beam_kji * self._step_mm)
        v = v / np.linalg.norm(v)
        k = int(np.argmax(v))
        return k if v[k] > math.cos(math.radians(0.1)) else None

    def render(
        self,
        view: str,
        size: int = 512,
        fov_mm: float = 160.0,
        direction_lps: ArrayLike | None = None,
        needle_lps: ArrayLike | None = None,
    ) -> DRRImage:
        """One view (see module notes); ``needle_lps`` = (skin entry, bone entry, tip)."""
        from scipy.ndimage import map_coordinates, zoom

        f, right, down = view_basis(view, direction_lps)
        n_px = max(8, int(round(fov_mm / self.voxel_mm)))
        px = fov_mm / n_px
        u = (np.arange(n_px) - (n_px - 1) / 2) * px
        kji0 = self.center_lps @ self._lps_to_kji.T + self._off
        dk = [v @ self._lps_to_kji.T for v in (right, down, f)]
        rows = u[:, None, None] * dk[1] + u[None, :, None] * dk[0] + kji0  # (row, col, 3)
        axis = self._aligned_axis(dk[2])
        if axis is not None:  # beam along an array axis: exact sums, then a 2-D resampling
            proj = self.mu.sum(axis=axis) * self._step_mm[axis]
            other = [a for a in range(3) if a != axis]
            pts = rows[:, :, other].reshape(-1, 2).T
            acc = map_coordinates(proj, pts, order=1, mode="constant", cval=0.0, prefilter=False)
            acc = acc.reshape(n_px, n_px).astype(np.float32)
        else:
            step = DEPTH_STEP_MM
            depth = np.arange(-self.radius_mm, self.radius_mm + 1e-6, step)
            acc = np.zeros((n_px, n_px), dtype=np.float32)
            for z in np.array_split(depth, max(1, len(depth) // 24)):
                pts = rows[:, :, None, :] + z[None, None, :, None] * dk[2]
                vals = map_coordinates(
                    self.mu,
                    pts.reshape(-1, 3).T,
                    order=1,
                    mode="constant",
                    cval=0.0,
                    prefilter=False,
                )
                acc += vals.reshape(n_px, n_px, len(z)).sum(axis=2)
            acc *= step
        out_px = fov_mm / size
        img = zoom(acc, size / n_px, order=1, grid_mode=True, mode="nearest").astype(np.float32)
        origin = self.center_lps - (size - 1) / 2 * out_px * (right + down)
        image = DRRImage(view, img, origin, right, down, out_px, f, carm_angles(f))
        if needle_lps is not None:
            poly = image.lps_to_pixel(np.asarray(needle_lps, dtype=np.float64).reshape(-1, 3))
            image = DRRImage(view, img, origin, right, down, out_px, f, image.angles, poly)
        return image


def render_drr(
    volume: CTVolume,
    view: str,
    size: int = 512,
    center_lps: ArrayLike | None = None,
    needle: Any = None,
    direction_lps: ArrayLike | None = None,
    fov_mm: float = 160.0,
) -> DRRImage:
    """One DRR of ``volume`` (see module notes).

    Parameters
    ----------
    view
        ``"ap"``, ``"lateral"`` or ``"bullseye"``.
    center_lps
        Image centre, LPS mm (default: the volume's centre).
    needle
        A :class:`~planner.plan.model.Trajectory` (projected; also gives the bull's-eye
        axis) or None.
    direction_lps
        Beam direction for the bull's-eye view when no needle is given (e.g. a pedicle axis).

    Notes
    -----
    For several views of one level build one :class:`DRRRenderer` and call ``render``.
    """
    pts = None
    if needle is not None:
        pts = np.array(
            [needle.skin_entry_lps, needle.bone_entry_lps, needle.target_lps], dtype=np.float64
        )
        if direction_lps is None:
            direction_lps = pts[2] - pts[0]
    if center_lps is None:
        lo, hi = volume.bounds_lps()
        center_lps = 0.5 * (lo + hi)
    r = DRRRenderer(volume, center_lps, radius_mm=max(100.0, fov_mm / 2))
    return r.render(view, size, fov_mm, direction_lps, pts)
