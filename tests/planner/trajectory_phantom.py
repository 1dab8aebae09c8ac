"""A synthetic vertebra with analytic shapes, for trajectory tests (no segmentation involved).

Body: elliptic cylinder (half-width ``body_a``, half-depth ``body_b``, height ``2*body_h``)
centred on the body-frame origin. Pedicles: circular cylinders of radius ``ped_r`` whose axes
converge at ``ped_angle_deg`` (medial angle, body frame), passing through
(±``ped_l``, ``ped_p``, 0), cut at p in [``ped_p0``, ``ped_p1``]. Canal: circular cylinder of
radius ``canal_r`` along the superior axis at (0, ``canal_p``). Lamina: a slab behind the canal
joining the pedicles (in the CT only, or in the vertebra mask when ``with_vertebra``).
The CT has soft tissue (40 HU) up to the skin at p = ``skin_p``, air beyond, bone 400 HU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.grid import ImageGrid
from planner.volume import CTVolume


@dataclass(frozen=True)
class Phantom:
    body_a: float = 22.0
    body_b: float = 16.0
    body_h: float = 12.0
    ped_r: float = 4.0
    ped_l: float = 15.0
    ped_p: float = 24.0
    ped_p0: float = 8.0
    ped_p1: float = 34.0
    ped_angle_deg: float = 10.0
    canal_r: float = 7.0
    canal_p: float = 27.0
    skin_p: float = 75.0
    spacing: float = 1.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    origin: tuple[float, float, float] = (5.0, -20.0, 300.0)
    with_vertebra: bool = False
    lung_gap: bool = False
    box_lo: tuple[float, float, float] = (-60.3, -40.17, -35.41)  # body coords of voxel 0
    box_mm: tuple[float, float, float] = (120.0, 130.0, 70.0)

    def frame(self) -> BodyFrame:
        y, p = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
        r = rz @ rx
        return BodyFrame(np.array(self.origin), r[:, 0], r[:, 1], r[:, 2])

    def pedicle_axis(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(point, unit direction towards anterior) of a pedicle axis in body coordinates."""
        sg = 1.0 if side == "left" else -1.0
        a = math.radians(self.ped_angle_deg)
        return np.array([sg * self.ped_l, self.ped_p, 0.0]), np.array(
            [-sg * math.sin(a), -math.cos(a), 0.0]
        )

    def masks(self, b: np.ndarray) -> dict[str, np.ndarray]:
        """Masks from body coordinates ``b[..., 3]``."""
        lr, p, s = b[..., 0], b[..., 1], b[..., 2]
        out = {
            "body": ((lr / self.body_a) ** 2 + (p / self.body_b) ** 2 <= 1)
            & (np.abs(s) <= self.body_h)
        }
        for side in ("left", "right"):
            c, d = self.pedicle_axis(side)
            rel = b - c
            along = rel @ d
            dist = np.linalg.norm(rel - along[..., None] * d, axis=-1)
            out[f"pedicle_{side}"] = (
                (dist <= self.ped_r) & (p >= self.ped_p0) & (p <= self.ped_p1) & ~out["body"]
            )
        out["canal"] = (lr**2 + (p - self.canal_p) ** 2 <= self.canal_r**2) & (
            np.abs(s) <= self.body_h + 8
        )
        lam = (
            (np.abs(lr) <= self.ped_l + 6)
            & (p >= self.ped_p1 - 2)
            & (p <= self.ped_p1 + 6)
            & (np.abs(s) <= 10)
        )
        out["lamina"] = lam & ~out["canal"]
        return out

    def build(self) -> tuple[CTVolume, LevelAnatomy]:
        sp = self.spacing
        n = tuple(int(round(v / sp)) for v in self.box_mm)  # i (l), j (p), k (s)
        frame = self.frame()
        aff = np.eye(4)
        aff[:3, :3] = frame.rotation * sp
        start_body = np.array(self.box_lo)  # non-integer: no voxel centre exactly on a surface
        aff[:3, 3] = frame.to_lps(start_body)
        grid = ImageGrid((n[2], n[1], n[0]), aff)
        k, j, i = np.meshgrid(*(np.arange(s) for s in grid.shape_kji), indexing="ij")
        ijk = np.stack([i, j, k], axis=-1).astype(np.float64)
        b = frame.to_body(grid.voxel_to_lps(ijk))
        m = self.masks(b)
        hu = np.full(grid.shape_kji, 40, dtype=np.int16)
        hu[b[..., 1] > self.skin_p] = -1000
        if self.lung_gap:  # an air pocket lateral to the left pedicle
            lung = (
                (b[..., 0] > self.ped_l + 8)
                & (b[..., 0] < self.ped_l + 30)
                & (b[..., 1] > 20)
                & (b[..., 1] < 45)
            )
            hu[lung] = -850
        bone = m["body"] | m["pedicle_left"] | m["pedicle_right"] | m["lamina"]
        hu[bone] = 400
        vol = CTVolume.from_array(hu, aff, "1.2.3.phantom")
        # anatomy on a crop of the CT grid
        j_stop = min(grid.shape_kji[1], int((self.ped_p1 + 16 - self.box_lo[1]) / sp))
        start, stop = (2, 2, 2), (grid.shape_kji[0] - 2, j_stop, grid.shape_kji[2] - 2)
        sl = tuple(slice(a, z) for a, z in zip(start, stop, strict=True))
        vert = (bone[sl]) if self.with_vertebra else None
        anat = LevelAnatomy(
            "L2",
            grid.crop(start, stop),
            start,
            m["body"][sl],
            m["pedicle_left"][sl],
            m["pedicle_right"][sl],
            m["canal"][sl],
            frame,
            vert,
        )
        return vol, anat

    def axis_trajectory_points(
        self, side: str, depth_frac: float = 0.75
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(skin, bone entry, tip) in body coordinates along a pedicle axis, tip at ``depth_frac``
        of the body's AP depth from its posterior wall."""
        c, d = self.pedicle_axis(side)
        p_tip = self.body_b - depth_frac * 2 * self.body_b
        tip = c + d * ((c[1] - p_tip) / -d[1])
        entry = c + d * ((c[1] - self.ped_p1) / -d[1])
        skin = c + d * ((c[1] - self.skin_p) / -d[1])
        return skin, entry, tip

    def lps(self, body_xyz: np.ndarray) -> np.ndarray:
        return self.frame().to_lps(np.asarray(body_xyz, dtype=np.float64))
