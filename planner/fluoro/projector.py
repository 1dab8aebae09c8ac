"""Cone-beam projection of a CT: line integrals of attenuation from a point source.

Method (a perspective "shear-warp"): the CT (cropped, block-averaged to about 1.2 mm) is cut
into slabs perpendicular to the array axis closest to the beam. A virtual plane parallel to
the slabs is placed through the isocentre; a ray from the source through a point of that plane
crosses every slab at a point whose in-slab coordinates are a scaling of the plane point about
the source, separately per axis. The line integral over the virtual plane is therefore one
gather along the first in-slab axis and one sparse (2 weights per row) product along the
second, summed over slabs, times the ray's path length per slab. The detector image is that
virtual image resampled through the exact central projection (detector pixel → its ray →
the virtual plane), bilinear. Rays are exact straight lines from the point source; the only
approximations are trilinear sampling of the averaged CT and the slab step.

Attenuation μ = μ_water · max(0, 1 + HU/1000) up to water and μ_water · (1 + g · HU/1000) above
(g = :data:`BONE_GAIN`: bone stands out more at a C-arm's beam energy than on CT),
μ_water = 0.02 /mm (as :mod:`planner.drr`); no scatter, no beam hardening (tool assumption).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import map_coordinates

from planner.drr import MU_WATER_PER_MM
from planner.fluoro.geometry import CArmPose, Detector
from planner.grid import FloatArray
from planner.volume import CTVolume

#: Extra attenuation of what is denser than water (bone) at a C-arm's lower beam energy than
#: the CT's: at ~45 keV cortical bone attenuates ~2.5× water per unit density, at CT's ~70 keV
#: ~1.1× (NIST XCOM mass attenuation coefficients); 1.8 is a tool assumption between them.
BONE_GAIN = 1.8
#: Target size of the averaged voxels, mm.
VOXEL_MM = 1.2
#: Half-height (mm, along the array axes) of the CT slab kept around the centre.
CROP_HALF_MM = 160.0

F32 = NDArray[np.float32]


def attenuation_per_mm(hu: F32, bone_gain: float | None = None) -> F32:
    """μ (1/mm) from HU: water-like below 0 HU, the part above water × ``bone_gain``."""
    g = np.float32(BONE_GAIN if bone_gain is None else bone_gain)
    x = hu * np.float32(1e-3)
    mu = np.where(x > 0, np.float32(1.0) + g * x, np.maximum(np.float32(0.0), x + np.float32(1.0)))
    return np.asarray(mu * np.float32(MU_WATER_PER_MM), dtype=np.float32)


def _block_mean(a: F32, steps: tuple[int, int, int]) -> F32:
    """Average over ``steps`` (k, j, i) blocks (the array is trimmed to whole blocks)."""
    sk, sj, si = steps
    nk, nj, ni = (a.shape[0] // sk) * sk, (a.shape[1] // sj) * sj, (a.shape[2] // si) * si
    b = a[:nk, :nj, :ni].reshape(nk // sk, sk, nj // sj, sj, ni // si, si)
    return np.asarray(b.mean(axis=(1, 3, 5), dtype=np.float32), dtype=np.float32)


class ConeBeamProjector:
    """Attenuation volume of one CT, ready for any number of cone-beam shots.

    Parameters
    ----------
    volume
        The CT.
    centre_lps
        Centre of the kept slab along the array axes (the level of interest), LPS mm. The
        whole cross-section is kept so that every ray crosses all the tissue on its way.
    voxel_mm
        Target averaged voxel size, mm.
    """

    def __init__(self, volume: CTVolume, centre_lps: ArrayLike, voxel_mm: float = VOXEL_MM,
                 half_mm: float = CROP_HALF_MM) -> None:
        grid = volume.grid
        c = np.asarray(centre_lps, dtype=np.float64).reshape(3)
        steps_ijk = np.maximum(1, np.round(voxel_mm / grid.spacing_mm)).astype(int)
        ck = grid.lps_to_voxel(c[None, :])[0]
        half_vox = half_mm / grid.spacing_mm
        shape_ijk = np.array(grid.shape_kji[::-1])
        lo = np.zeros(3, dtype=int)
        hi = shape_ijk.copy()
        lo[2] = max(0, int(ck[2] - half_vox[2]))  # crop along k only (the long axis)
        hi[2] = min(int(shape_ijk[2]), int(ck[2] + half_vox[2]) + 1)
        hu = volume.hu[lo[2]:hi[2]].astype(np.float32)
        mu = attenuation_per_mm(hu)
        steps = (int(steps_ijk[2]), int(steps_ijk[1]), int(steps_ijk[0]))
        self.mu: F32 = _block_mean(mu, steps)
        m = grid.ijk_to_lps.astype(np.float64).copy()
        m[:3, :3] = m[:3, :3] * steps_ijk
        # centre of block (0,0,0) in original voxel coordinates
        m[:3, 3] = grid.voxel_to_lps((lo + (steps_ijk - 1) / 2.0)[None, :])[0]
        self.crop_ijk_to_lps = m
        self._lps_to_ijk = np.linalg.inv(m)
        self._slabs: dict[int, F32] = {}

    def _slab_stack(self, axis_ijk: int) -> F32:
        """The volume as (slab, P, Q), slabs along ``axis_ijk``, zero-padded by one voxel."""
        if axis_ijk not in self._slabs:
            kji = 2 - axis_ijk
            others = [a for a in (0, 1, 2) if a != kji]
            v = np.transpose(self.mu, [kji, *others])
            pad = np.zeros((v.shape[0], v.shape[1] + 2, v.shape[2] + 2), dtype=np.float32)
            pad[:, 1:-1, 1:-1] = v
            self._slabs[axis_ijk] = pad
        return self._slabs[axis_ijk]

    def line_integrals(self, pose: CArmPose, size: int = 512) -> F32:
        """Line integral of μ (dimensionless) for every detector pixel, ``[row, col]``."""
        det = Detector(pose, size)
        src = self._to_ijk(pose.source_lps()[None, :])[0]
        f_ijk = self._lps_to_ijk[:3, :3] @ pose.beam_dir()
        a = int(np.argmax(np.abs(f_ijk) * np.linalg.norm(self.crop_ijk_to_lps[:3, :3], axis=0)))
        p_ax, q_ax = [(2 - kji) for kji in (0, 1, 2) if kji != 2 - a]  # ijk axes of P and Q
        vol = self._slab_stack(a)
        a_mid = self._to_ijk(np.asarray(pose.iso_lps, dtype=np.float64)[None, :])[0][a]
        # detector pixels → virtual-plane coordinates (exact central projection)
        c0 = (size - 1) / 2.0
        _, right, down = pose.basis()
        centre = self._to_ijk((pose.source_lps() + pose.sid_mm * pose.beam_dir())[None, :])[0]
        du = self._lps_to_ijk[:3, :3] @ right * det.pixel_mm
        dv = self._lps_to_ijk[:3, :3] @ down * det.pixel_mm
        u = np.arange(size, dtype=np.float64) - c0

        def coord(ax: int) -> FloatArray:
            return np.asarray(centre[ax] + u[None, :] * du[ax] + u[:, None] * dv[ax])

        t = (a_mid - src[a]) / (coord(a) - src[a])
        p_det = (src[p_ax] + t * (coord(p_ax) - src[p_ax])).ravel()
        q_det = (src[q_ax] + t * (coord(q_ax) - src[q_ax])).ravel()
        p0, p1 = math.floor(p_det.min()) - 1, math.ceil(p_det.max()) + 2
        q0, q1 = math.floor(q_det.min()) - 1, math.ceil(q_det.max()) + 2
        vp = np.arange(p0, p1, dtype=np.float64)
        vq = np.arange(q0, q1, dtype=np.float64)
        img = self._virtual(vol, src, a, p_ax, q_ax, a_mid, vp, vq)
        # path length (mm) per unit step along axis a, for each virtual pixel's ray
        m3 = self.crop_ijk_to_lps[:3, :3]
        ray = np.zeros((vp.size, vq.size, 3))
        ray[..., a] = a_mid - src[a]
        ray[..., p_ax] = vp[:, None] - src[p_ax]
        ray[..., q_ax] = vq[None, :] - src[q_ax]
        step_mm = np.linalg.norm(ray @ m3.T, axis=-1) / abs(a_mid - src[a])
        img *= step_mm.astype(np.float32)
        out = map_coordinates(img, np.stack([p_det - p0, q_det - q0]), order=1,
                              mode="constant", cval=0.0, prefilter=False)
        return np.asarray(out, dtype=np.float32).reshape(size, size)

    def _to_ijk(self, lps: FloatArray) -> FloatArray:
        return np.asarray(lps @ self._lps_to_ijk[:3, :3].T + self._lps_to_ijk[:3, 3])

    @staticmethod
    def _virtual(vol: F32, src: FloatArray, a: int, p_ax: int, q_ax: int, a_mid: float,
                 vp: FloatArray, vq: FloatArray) -> F32:
        """Σ over slabs of each slab sampled where the rays through (vp, vq) cross it."""
        n_c, n_p, n_q = vol.shape[0], vol.shape[1] - 2, vol.shape[2] - 2
        alpha = (np.arange(n_c) - src[a]) / (a_mid - src[a])  # (n_c,)
        # +1: the zero padding
        pos_p = src[p_ax] + (vp[None, :] - src[p_ax]) * alpha[:, None] + 1.0
        pos_q = src[q_ax] + (vq[None, :] - src[q_ax]) * alpha[:, None] + 1.0
        pos_p = np.clip(pos_p, 0.0, n_p + 1.0 - 1e-6)
        pos_q = np.clip(pos_q, 0.0, n_q + 1.0 - 1e-6)
        i0 = np.minimum(pos_p.astype(np.intp), n_p)
        w1 = (pos_p - i0).astype(np.float32)[:, :, None]
        # gather rows of every slab straight into (n_vp, n_c, n_q + 2) order
        flat_vol = vol.reshape(n_c * (n_p + 2), n_q + 2)
        rows = (i0 + (np.arange(n_c) * (n_p + 2))[:, None]).T  # (n_vp, n_c)
        tmp = np.take(flat_vol, rows + 1, axis=0)
        lo = np.take(flat_vol, rows, axis=0)
        tmp -= lo
        tmp *= w1.transpose(1, 0, 2)
        tmp += lo
        j0 = np.minimum(pos_q.astype(np.intp), n_q)
        wq = (pos_q - j0).ravel()
        n_vq = vq.size
        rows_idx = (np.arange(n_c)[:, None] * (n_q + 2) + j0).ravel()
        cols_idx = np.tile(np.arange(n_vq), n_c)
        w = sp.csr_matrix(
            (np.concatenate([1.0 - wq, wq]).astype(np.float32),
             (np.concatenate([rows_idx, rows_idx + 1]), np.concatenate([cols_idx, cols_idx]))),
            shape=(n_c * (n_q + 2), n_vq))
        flat = tmp.reshape(vp.size, -1)
        res = (w.T @ flat.T).T
        return np.asarray(res, dtype=np.float32)
