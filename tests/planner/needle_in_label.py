"""Shared check of the trajectory tests on real data: is a needle's surface inside a label?"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import map_coordinates


def surface_inside_label(grid: Any, label: np.ndarray, bone_entry_lps: Any, tip_lps: Any,
                         superior: Any, radius_mm: float, step_mm: float = 0.5,
                         n_around: int = 12) -> list[bool]:
    """For each point every ``step_mm`` from the bone entry to the tip: is the needle's whole
    circumference (radius ``radius_mm``) inside ``label`` (float mask on ``grid``; the
    surface at half partial volume, so a 3 mm voxel's corners do not count)?"""
    be, tip = np.asarray(bone_entry_lps, float), np.asarray(tip_lps, float)
    d = (tip - be) / np.linalg.norm(tip - be)
    u = np.cross(d, np.asarray(superior, float))
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    ang = np.linspace(0, 2 * np.pi, n_around, endpoint=False)
    ring = radius_mm * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
    ok = []
    for t in np.arange(0.0, np.linalg.norm(tip - be), step_mm):
        kji = grid.lps_to_voxel(be + t * d + ring)[:, ::-1].T
        ok.append(bool((map_coordinates(label, kji, order=1) >= 0.5).all()))
    return ok
