"""The lower ribs (10th to 12th) of the demo, as chains of round tubes.

Notes
-----
Points are given in the body frame of the rib's own vertebra (u = left, v = posterior,
w = superior; mm, relative to the body's half width ``W/2`` and half depth ``D/2``): the head
lies against the posterolateral body (the 11th and 12th ribs articulate with their own body
only), the neck runs posterolaterally past the transverse process, the shaft turns at the
rib angle and sweeps laterally, anteriorly and caudally inside the body wall. The 12th rib is
short (floating), the 11th longer, the 10th leaves the field of view anteriorly. Typical
anatomy, not from DOMAIN.md; the ribs are context for the reader, not ground truth.
"""

from __future__ import annotations

import numpy as np

from planner.demo.shapes import Capsule, F

#: Polyline (u - W/2, v - D/2, w - H/2) per rib, head first.
_PATH = [
    (3.5, -5.0, -6.0), (13.0, 12.0, -8.0), (28.0, 26.0, -12.0), (48.0, 31.0, -18.0),
    (68.0, 22.0, -27.0), (80.0, 2.0, -37.0), (84.0, -25.0, -48.0), (80.0, -55.0, -58.0),
]
#: Number of path points each rib uses (the 12th is short, the 10th runs out of the field).
_N_POINTS = {"T10": 8, "T11": 7, "T12": 5, "T5": 8, "T6": 8, "T7": 8, "T8": 8, "T9": 8}
_RADIUS_MM = {"T10": 4.0, "T11": 3.8, "T12": 3.4, "T5": 4.4, "T6": 4.4, "T7": 4.3, "T8": 4.2,
              "T9": 4.1}


def rib_capsules(level: object) -> list[Capsule]:
    """Both ribs of a thoracic level as capsules in LPS (empty for lumbar levels)."""
    name = level.name  # type: ignore[attr-defined]
    if name not in _N_POINTS:
        return []
    body = level.body  # type: ignore[attr-defined]
    frame = level.frame  # type: ignore[attr-defined]
    pts = np.array(_PATH[: _N_POINTS[name]])
    h_half = body.h_centre / 2.0
    out: list[Capsule] = []
    for sgn in (1.0, -1.0):
        local = np.column_stack([sgn * (pts[:, 0] + body.width / 2.0),
                                 pts[:, 1] + body.depth / 2.0, pts[:, 2] + h_half])
        lps: F = frame.to_lps(local)
        r = _RADIUS_MM[name]
        out.extend(Capsule(lps[i], lps[i + 1], r) for i in range(len(lps) - 1))
    return out
