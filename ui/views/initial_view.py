"""Where the views start on a new study: on the spine, not in the middle of the abdomen.

A display default only (the levels panel moves the cursor to a chosen vertebra): the midline is
the median left-right position of bone voxels, the spine's antero-posterior position is where
bone (trabecular included) is most frequent in a ±15 mm midline strip, and the height is
the middle of the volume.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.constants import DISPLAY_BONE_HU
from planner.volume import CTVolume

BONE_HU = DISPLAY_BONE_HU
TRABECULAR_HU = 120
STRIP_MM = 15.0
BIN_MM = 5.0


def spine_guess_lps(volume: CTVolume) -> NDArray[np.float64]:
    """LPS point near the spine's centre line at mid-height; the volume centre as fallback."""
    lo, hi = volume.bounds_lps()
    centre = (lo + hi) / 2.0
    step = np.maximum(1, np.round(np.array([4.0, 2.0, 2.0]) / volume.spacing_mm[::-1])).astype(int)
    sub = volume.hu[:: step[0], :: step[1], :: step[2]]
    k, j, i = np.nonzero(sub > BONE_HU)
    if k.size < 50:
        return centre
    pts = volume.voxel_to_lps(
        np.stack([i * step[2], j * step[1], k * step[0]], axis=1).astype(float)
    )
    x_mid = float(np.median(pts[:, 0]))
    # trabecular bone counts too inside the strip, so the vertebral bodies dominate
    k, j, i = np.nonzero(sub > TRABECULAR_HU)
    pts = volume.voxel_to_lps(
        np.stack([i * step[2], j * step[1], k * step[0]], axis=1).astype(float)
    )
    strip = pts[np.abs(pts[:, 0] - x_mid) < STRIP_MM]
    if strip.shape[0] < 20:
        return np.array([x_mid, centre[1], centre[2]])
    bins = np.arange(lo[1], hi[1] + BIN_MM, BIN_MM)
    counts, edges = np.histogram(strip[:, 1], bins=bins)
    b = int(np.argmax(counts))
    return np.array([x_mid, (edges[b] + edges[b + 1]) / 2.0, centre[2]])
