"""Structure codes and result types of the posterior-element segmentation
(:mod:`planner.vertebra.pedicle`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy
from planner.grid import FloatArray

# structure codes of :attr:`PosteriorSegmentation.labels`
NONE, BODY, PEDICLE_LEFT, PEDICLE_RIGHT, CANAL = 0, 1, 2, 3, 4
ARCH, TRANSVERSE, RIB, NEIGHBOUR, OTHER = 5, 6, 7, 8, 9
#: What each code is called in findings.
STRUCTURE_NAMES = {
    BODY: "vertebral body",
    PEDICLE_LEFT: "left pedicle",
    PEDICLE_RIGHT: "right pedicle",
    CANAL: "spinal canal",
    ARCH: "lamina / facet",
    TRANSVERSE: "transverse process",
    RIB: "rib head / costovertebral joint",
    NEIGHBOUR: "neighbouring vertebra",
    OTHER: "other bone",
}
SIDES = {"left": 1.0, "right": -1.0}
LabelArray = NDArray[np.int8]


@dataclass(frozen=True, eq=False)
class PedicleSection:
    """One pedicle as found in the CT, body coordinates (left, posterior, superior; mm).

    ``axis_dir`` points anterior; ``isthmus_width_mm`` is the bone chord through the isthmus
    centre perpendicular to the axis, left-right (outer cortical edges at the CT's local
    half-maximum), ``isthmus_height_mm`` the craniocaudal one;
    ``p_start`` is the body's posterior wall beside the canal, ``p_end`` where the axis leaves
    the bone behind the pedicle (the transpedicular entry). ``inner_width_mm`` /
    ``inner_height_mm`` are the same chords between the inner cortical edges (the cancellous
    channel a needle can pass without touching cortex); NaN where the CT does not resolve the
    cortex.
    """

    side: str
    axis_point: FloatArray
    axis_dir: FloatArray
    isthmus_point: FloatArray
    isthmus_width_mm: float
    isthmus_height_mm: float
    p_start: float
    p_end: float
    inner_width_mm: float = float("nan")
    inner_height_mm: float = float("nan")


@dataclass(frozen=True, eq=False)
class PosteriorSegmentation:
    """Level anatomy on a crop wide enough for the posterior elements, and structure labels.

    ``anatomy`` keeps the body and frame of the analysis and replaces pedicles, canal and
    vertebra (body ∪ pedicles ∪ own arch) with the CT's; ``labels`` (same grid) holds the
    structure codes of this module (``STRUCTURE_NAMES``); ``pedicles`` per side (None if
    not found); ``notes`` say what could not be found.
    """

    anatomy: LevelAnatomy
    labels: LabelArray
    pedicles: dict[str, PedicleSection | None]
    edge_hu: float
    notes: tuple[str, ...]
    lattice_step_mm: float = 1.0

