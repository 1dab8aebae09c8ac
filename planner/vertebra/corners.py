"""The posterolateral corners of a lumbar body: the pedicle bases in front of the wall plane.

Method
------
The star fit (:mod:`planner.vertebra.body`) stops its rays at the lateral wall, so the bone
where a lumbar pedicle widens into the body (its base, in front of the posterior-wall plane)
is left out. A body defined as the vertebra in front of the posterior-wall plane (the
TotalSegmentator body label, ../shared/data/totalseg_example) holds it: at L5 the label
reaches 35-40 mm to the sides, 10-12 mm beyond the lateral wall, and leaving it out cost
0.03 of Dice (0.909). Here, in the body frame, the vertebra's bone (the closed, hole-filled
bone mask, as for the pedicle zones in :mod:`planner.vertebra.segment`) is added when it

- lies :data:`WALL_MARGIN_MM` to :data:`CORNER_DEPTH_MM` in front of the posterior-wall
  plane (the corners, not the sides of the body),
- lies within the craniocaudal extent of the body's posterior part, 1 mm inside it (so the
  neighbours' endplates and the sacral alae below L5 stay out),
- is at most :data:`CORNER_REACH_MM` beyond the body sideways and connected to it.

Only lumbar levels get corners: at thoracic levels the bone beside the posterior body is a
rib head in its costovertebral joint, not body.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame
from planner.grid import ImageGrid
from planner.vertebra.common import voxel_centres_lps
from planner.vertebra.ray_edges import MIN_EDGE_HU

#: How far in front of the posterior-wall plane the corners reach (totalseg L5: 8-12 mm).
CORNER_DEPTH_MM = 12.0
#: How far beyond the body's widest point the corners may reach sideways (totalseg L5: the
#: label 35-40 mm from the midline, the lateral wall at 25-28 mm).
CORNER_REACH_MM = 14.0
#: The corners stop this far in front of the posterior-wall plane (the plane is the wall's
#: outer half-maximum edge; measured on totalseg L1-L5, minimum Dice 0.923 / 0.928 / 0.927
#: with 0 / 1.5 / 3 mm: L5's plane lies ~3 mm behind the label's at mid-height, L2-L4 lose
#: corner bone with more).
WALL_MARGIN_MM = 1.5
LUMBAR_LEVELS = frozenset({"L1", "L2", "L3", "L4", "L5", "L6"})


def with_corners(mask: NDArray[np.bool_], sm: NDArray[np.float32], grid: ImageGrid,
                 frame: BodyFrame, wall_mm: float) -> NDArray[np.bool_]:
    """``mask`` (the body on ``grid``) with its posterolateral corners added (see notes).

    ``sm`` is the smoothed HU crop on ``grid``; ``wall_mm`` the posterior-wall plane's
    coordinate along ``frame.posterior`` from ``frame.origin_lps``, mm.
    """
    from scipy import ndimage as ndi

    if mask.sum() < 50:
        return mask
    body = frame.to_body(voxel_centres_lps(grid))
    x, y, z = body[..., 0], body[..., 1], body[..., 2]
    back = mask & (y > wall_mm - CORNER_DEPTH_MM)
    if back.sum() < 10:
        return mask
    z_lo, z_hi = float(z[back].min()) + 1.0, float(z[back].max()) - 1.0
    half_w = float(np.abs(x[mask]).max())
    bone = ndi.binary_closing(sm >= MIN_EDGE_HU, iterations=1) | mask
    vertebra = ndi.binary_fill_holes(bone)
    zone = ((y <= wall_mm - WALL_MARGIN_MM) & (y > wall_mm - CORNER_DEPTH_MM)
            & (z >= z_lo) & (z <= z_hi) & (np.abs(x) <= half_w + CORNER_REACH_MM))
    grown = ndi.binary_propagation(mask, mask=(vertebra & zone) | mask)
    out: NDArray[np.bool_] = grown | mask
    return out
