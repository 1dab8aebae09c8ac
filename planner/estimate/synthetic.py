"""Synthetic vertebral bodies with exact volumes, for tests and benchmarks.

An upright elliptic cylinder with a cortical shell, on an axis-aligned LPS grid centred at
the origin. Not anatomy: a controlled shape whose volume, heights and walls are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, Heights, LevelAnatomy, Morphometry
from planner.grid import ImageGrid


@dataclass(frozen=True)
class SyntheticBody:
    anatomy: LevelAnatomy
    hu: NDArray[np.int16]
    morphometry: Morphometry
    volume_ml: float  # analytic π·a·b·H


def elliptic_body(
    semi_lr_mm: float = 20.0,
    semi_ap_mm: float = 15.0,
    height_mm: float = 26.0,
    spacing_mm: tuple[float, float, float] = (0.5, 0.5, 0.5),
    cortex_mm: float = 1.6,
    cortex_hu: int = 700,
    cancellous_hu: int = 100,
    noise_hu: float = 15.0,
    gap_center_lps: tuple[float, float, float] | None = None,
    gap_radius_mm: float = 3.0,
    reference_heights_mm: tuple[float, float, float] | None = None,
    level: str = "L1",
    seed: int = 0,
) -> SyntheticBody:
    """Build an elliptic-cylinder body (axes along L, P, S) with an optional cortical hole.

    Notes
    -----
    LPS mm; the body's centre is the origin; +y posterior. ``gap_center_lps`` removes the
    cortical HU (not the mask) within ``gap_radius_mm`` of that point.
    """
    a, b, h = semi_lr_mm, semi_ap_mm, height_mm
    sp = np.asarray(spacing_mm, float)
    half = np.array([a + 4, b + 12, h / 2 + 4])  # room for the canal behind the body
    n = np.ceil(2 * half / sp).astype(int) + 1
    m = np.eye(4)
    m[:3, :3] = np.diag(sp)
    m[:3, 3] = -(n - 1) / 2 * sp
    grid = ImageGrid((int(n[2]), int(n[1]), int(n[0])), m)
    k, j, i = np.indices(grid.shape_kji)
    p = grid.voxel_to_lps(np.stack([i, j, k], -1).astype(float))
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    body = (r <= 1.0) & (np.abs(z) <= h / 2)
    inner = (np.sqrt((x / (a - cortex_mm)) ** 2 + (y / (b - cortex_mm)) ** 2) <= 1.0) & (
        np.abs(z) <= h / 2 - cortex_mm
    )
    rng = np.random.default_rng(seed)
    hu = np.where(np.abs(z) <= h / 2 + 4, 80.0, 40.0)  # disc above/below, soft tissue around
    hu = np.where(body, cortex_hu, hu)
    hu = np.where(inner, cancellous_hu + rng.normal(0, noise_hu, body.shape), hu)
    if gap_center_lps is not None:
        hole = (
            body
            & ~inner
            & (np.linalg.norm(p - np.asarray(gap_center_lps), axis=-1) <= gap_radius_mm)
        )
        hu = np.where(hole, cancellous_hu, hu)
    canal = (np.hypot(x / 8.0, (y - (b + 7)) / 6.0) <= 1.0) & (np.abs(z) <= h / 2 + 4)
    ped_r = (np.hypot((x - 9) / 4, (z) / 6) <= 1) & (y > b - 2) & (y < b + 10)
    ped_l = (np.hypot((x + 9) / 4, (z) / 6) <= 1) & (y > b - 2) & (y < b + 10)
    ped_left, ped_right = ped_r & ~body, ped_l & ~body  # +x is the patient's left
    anatomy = LevelAnatomy(
        level,
        grid,
        (0, 0, 0),
        body,
        ped_left,
        ped_right,
        canal,
        BodyFrame.axis_aligned((0.0, 0.0, 0.0)),
    )
    vol = math.pi * a * b * h / 1000.0
    heights = Heights(h, h, h)
    ref = Heights(*reference_heights_mm) if reference_heights_mm else None
    morph = Morphometry(
        level,
        (0.0, 0.0, 0.0),
        anatomy.body_volume_ml,
        heights,
        2 * b,
        2 * a,
        0.0,
        float(cancellous_hu),
        ref,
    )
    return SyntheticBody(anatomy, np.round(hu).astype(np.int16), morph, vol)
