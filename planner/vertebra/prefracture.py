"""Estimated pre-fracture shape of a fractured body, from its intact neighbours.

Method (DOMAIN.md §2.3 recommends neighbour-based reference heights; the shape version is an
**[engineering choice]**): each intact neighbour's body mask is carried into the fractured
body's frame — scaled per axis to the expected width and AP depth (which a compression
fracture should not change; the neighbours' mean, so a burst that spread the fractured body
does not inflate the estimate) and to its reference height, and anchored at its inferior endplate
and AP centre (a typical osteoporotic fracture collapses the superior endplate; Genant 1993) —
and the neighbours' occupancies are averaged. The shape is where the average is ≥ 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import WALLS, LevelAnatomy, Morphometry
from planner.grid import ImageGrid
from planner.vertebra.common import crop_box, voxel_centres_lps
from planner.volume import CTVolume

HALF_BOX_MM = 36.0


@dataclass(frozen=True, eq=False)
class PrefractureShape:
    """Pre-fracture body mask on a crop of the CT grid (``offset_kji`` = crop start)."""

    level: str
    grid: ImageGrid
    offset_kji: tuple[int, int, int]
    mask: NDArray[np.bool_]

    @property
    def volume_ml(self) -> float:
        return float(self.mask.sum()) * self.grid.voxel_volume_mm3 / 1000.0


def _anchor(anatomy: LevelAnatomy, m: Morphometry) -> tuple[float, float]:
    """(AP centre, inferior endplate) in body coordinates, from the measuring lines."""
    lines = m.height_lines_lps
    lo = [anatomy.frame.to_body(np.asarray(lines[w][0]))[2] for w in WALLS if w in lines]
    xs = [anatomy.frame.to_body(np.asarray(lines[w][0]))[1] for w in WALLS if w in lines]
    y = float(np.mean(xs)) if xs else 0.0
    return y, float(np.mean(lo)) if lo else -0.5 * m.heights_mm.posterior


def _occupancy(pts_body: NDArray[np.float64], target: tuple[LevelAnatomy, Morphometry],
               size: tuple[float, float, float], n_anat: LevelAnatomy,
               n_m: Morphometry) -> NDArray[np.float64]:
    from scipy import ndimage as ndi

    t_anat, t_m = target
    ty, tz = _anchor(t_anat, t_m)
    ny, nz = _anchor(n_anat, n_m)
    n_h = float(np.mean([n_m.heights_mm.get(w) for w in WALLS]))
    scale = np.array([n_m.width_mm / size[0], n_m.depth_mm / size[1], n_h / size[2]])
    b = (pts_body - np.array([0.0, ty, tz])) * scale + np.array([0.0, ny, nz])
    ijk = n_anat.grid.lps_to_voxel(n_anat.frame.to_lps(b))
    occ = ndi.map_coordinates(n_anat.body.astype(np.float32), ijk[..., ::-1].reshape(-1, 3).T,
                              order=1, mode="constant", cval=0.0)
    return np.asarray(occ.reshape(pts_body.shape[:-1]), dtype=np.float64)


def prefracture_shape(volume: CTVolume, target: tuple[LevelAnatomy, Morphometry],
                      neighbours: list[tuple[LevelAnatomy, Morphometry]],
                      ) -> PrefractureShape | None:
    """Average of the intact neighbours carried into the fractured body's frame (see notes).

    Notes
    -----
    ``target`` and ``neighbours`` are (anatomy, morphometry) pairs; the target's
    ``reference_heights_mm`` must be set (graded). Returns None without neighbours.
    """
    anat, m = target
    if not neighbours or m.reference_heights_mm is None:
        return None
    ref_h = float(np.mean([m.reference_heights_mm.get(w) for w in WALLS]))
    size = (float(np.mean([n.width_mm for _, n in neighbours])),
            float(np.mean([n.depth_mm for _, n in neighbours])), ref_h)
    start, stop = crop_box(volume.grid, anat.frame.origin_lps, HALF_BOX_MM)
    grid = volume.grid.crop(start, stop)
    pts = anat.frame.to_body(voxel_centres_lps(grid))
    acc = np.zeros(pts.shape[:-1])
    for n_anat, n_m in neighbours:
        acc += _occupancy(pts, target, size, n_anat, n_m)
    return PrefractureShape(anat.level, grid, start, acc / len(neighbours) >= 0.5)
