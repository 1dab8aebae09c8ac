"""Leak points of the cement front: cortical gaps, endplate gaps (disc), basivertebral region.

Flags only (DOMAIN.md §3.4 lists them as risk factors, not a probability model; §9 forbids a
leak probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.estimate.geometry import INFERIOR, POSTERIOR, RIM_MM, SHELL_MM, SUPERIOR, FineBody

BoolArray = NDArray[np.bool_]
#: Half-width (mm) of the basivertebral-foramen region around the midline of the posterior
#: wall, and its share of the body height [assumption: the foramen sits centrally in the
#: posterior wall; DOMAIN.md §3.4 names it as the source of type-B leaks].
FORAMEN_HALF_WIDTH_MM, FORAMEN_HEIGHT_FRAC = 5.0, 1.0 / 3.0


@dataclass(frozen=True, slots=True)
class LeakPoint:
    """Where the front reaches a path out of the body (a flag, not a probability)."""

    kind: str  # cortical_gap | disc | basivertebral_foramen
    location_lps: tuple[float, float, float]
    injected_ml_at_reach: float

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "location_lps": [round(v, 2) for v in self.location_lps],
            "injected_ml_at_reach": round(self.injected_ml_at_reach, 2),
        }


def leak_zones(fine: FineBody, nodes: BoolArray) -> list[tuple[str, BoolArray]]:
    """Leak zones: each cortical/endplate gap component, and the basivertebral region."""
    from scipy import ndimage

    zones: list[tuple[str, BoolArray]] = []
    lab, n = ndimage.label(fine.gap, structure=np.ones((3, 3, 3), bool))
    for c in range(1, n + 1):
        comp = lab == c
        kinds = fine.label[comp]
        endplate = np.isin(kinds, (SUPERIOR, INFERIOR)).mean() > 0.5
        zones.append(("disc" if endplate else "cortical_gap", comp & nodes))
    h = float(fine.grid.spacing_mm.min())
    cand = nodes & fine.rim & (fine.label == POSTERIOR) & (fine.depth_mm <= SHELL_MM + RIM_MM + h)
    idx = np.nonzero(cand)
    if idx[0].size:
        xyz = fine.frame.to_body(fine.grid.voxel_to_lps(np.stack(idx[::-1], 1).astype(float)))
        z0, z1 = fine.body_extent["superior"]
        zc, half = 0.5 * (z0 + z1), 0.5 * FORAMEN_HEIGHT_FRAC * (z1 - z0)
        keep = (np.abs(xyz[:, 0]) <= FORAMEN_HALF_WIDTH_MM) & (np.abs(xyz[:, 2] - zc) <= half)
        zone = np.zeros_like(nodes)
        zone[tuple(a[keep] for a in idx)] = True
        zones.append(("basivertebral_foramen", zone))
    return zones


def leak_points(
    fine: FineBody,
    nodes: BoolArray,
    node_id: NDArray[np.int64],
    rank: NDArray[np.int64],
    n_fill: int,
) -> list[LeakPoint]:
    out = []
    vox = fine.voxel_ml
    for kind, zone in leak_zones(fine, nodes):
        ids = node_id[zone]
        if ids.size == 0:
            continue
        r = rank[ids]
        first = int(np.argmin(r))
        if r[first] >= n_fill:
            continue
        kji = np.argwhere(zone)[first]
        lps = fine.grid.voxel_to_lps(kji[::-1].astype(float))
        out.append(
            LeakPoint(
                kind,
                tuple(float(v) for v in lps),  # type: ignore[arg-type]
                float(r[first] + 1) * vox,
            )
        )
    return sorted(out, key=lambda lp: lp.injected_ml_at_reach)
