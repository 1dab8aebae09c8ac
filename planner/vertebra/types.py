"""Value types of the vertebra analysis: level candidates, per-level results, the whole spine.

Notes
-----
Positions are patient LPS millimetres; ``source`` says where a level name came from:
``"auto"`` (automatic proposal), ``"seed"`` (the user clicked a body and named it, neighbours
counted from there), ``"labels"`` (an imported label map). A proposal stays ``confirmed=False``
until the user confirms it (issue 4: the report says which levels were confirmed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy, Morphometry
from planner.grid import ImageGrid

SOURCES = ("auto", "seed", "labels")
#: Parts of a level's analysis a surgeon can correct; each is flagged in ``edited``.
EDITABLE = ("morphometry_points", "mid_sagittal_plane", "body_outline")


def morphometry_points(m: Morphometry) -> dict[str, list[float]]:
    """The six morphometry points (anterior/middle/posterior × superior/inferior), LPS mm.

    They are the ends of the three height lines (six-point method, Genant 1993).
    """
    out: dict[str, list[float]] = {}
    for wall, (inf, sup) in m.height_lines_lps.items():
        out[f"{wall}_superior"] = [round(float(v), 2) for v in sup]
        out[f"{wall}_inferior"] = [round(float(v), 2) for v in inf]
    return out


@dataclass(frozen=True, eq=False)
class LevelCandidate:
    """A vertebral body found (or named) but not yet segmented.

    Parameters
    ----------
    level
        Proposed name (``"L1"``).
    centroid_lps
        Approximate body centre, LPS mm.
    source
        ``"auto"``, ``"seed"`` or ``"labels"``.
    confirmed
        True once the user confirmed the name (or for the clicked seed level itself).
    superior_lps
        Approximate cranial direction of the column at this body (unit vector, LPS).
    posterior_lps
        Approximate direction from the body towards the canal (unit vector, LPS).
    label_grid, label_mask
        For ``source="labels"``: the whole-vertebra mask on a crop of the CT grid.
    """

    level: str
    centroid_lps: tuple[float, float, float]
    source: str = "auto"
    confirmed: bool = False
    superior_lps: tuple[float, float, float] = (0.0, 0.0, 1.0)
    posterior_lps: tuple[float, float, float] = (0.0, 1.0, 0.0)
    label_grid: ImageGrid | None = None
    label_mask: NDArray[np.bool_] | None = None
    #: Why an imported label cannot be measured (fragment, split, overlapping), or None.
    problem: str | None = None
    #: The detection's body fit, reused by segment_level (internal; not part of the value).
    fit_cache: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        for name in ("centroid_lps", "superior_lps", "posterior_lps"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))

    def renamed(self, level: str, confirmed: bool = True) -> LevelCandidate:
        """The same body under another name (a user edit)."""
        return replace(self, level=level, confirmed=confirmed)

    def confirm(self) -> LevelCandidate:
        return replace(self, confirmed=True)


@dataclass(frozen=True, eq=False)
class LevelResult:
    """One analysed level: its candidate, segmentation and measurements."""

    candidate: LevelCandidate
    anatomy: LevelAnatomy
    morphometry: Morphometry
    #: Estimated pre-fracture body (fractured levels only), a
    #: :class:`planner.vertebra.prefracture.PrefractureShape`.
    prefracture: Any = None
    #: Which automatic results the surgeon corrected (all False until a correction applies).
    edited: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(EDITABLE, False))

    @property
    def level(self) -> str:
        return self.candidate.level

    def to_json(self) -> dict[str, Any]:
        """One entry of the ``measure`` command's ``levels`` list (issue 4 keys)."""
        m = self.morphometry
        ref = m.reference_heights_mm
        return {
            "level": self.candidate.level,
            "source": self.candidate.source,
            "confirmed": self.candidate.confirmed,
            "centroid_lps": [round(float(v), 2) for v in m.centroid_lps],
            "body_volume_ml": round(m.body_volume_ml, 2),
            "heights_mm": {k: round(v, 2) for k, v in m.heights_mm.as_dict().items()},
            "reference_heights_mm": (
                None if ref is None else {k: round(v, 2) for k, v in ref.as_dict().items()}),
            "height_loss_pct": {k: round(v, 1) for k, v in m.height_loss_pct.items()},
            "genant_grade": m.genant_grade,
            "morphology": m.morphology,
            "wedge_angle_deg": round(m.wedge_angle_deg, 2),
            "trabecular_hu": round(m.trabecular_hu, 1),
            "posterior_wall": m.posterior_wall,
            "depth_mm": round(m.depth_mm, 2),
            "width_mm": round(m.width_mm, 2),
            "prefracture_volume_ml": (
                None if m.prefracture_volume_ml is None else round(m.prefracture_volume_ml, 2)),
            "notes": list(m.notes),
            "morphometry_points_lps": morphometry_points(m),
            "edited": dict(self.edited),
        }


@dataclass(frozen=True, eq=False)
class SpineAnalysis:
    """Result of :func:`planner.vertebra.analyze_spine`: levels cranial → caudal, warnings."""

    levels: tuple[LevelResult, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def level(self, name: str) -> LevelResult:
        for r in self.levels:
            if r.level == name:
                return r
        raise KeyError(name)

    def names(self) -> list[str]:
        return [r.level for r in self.levels]

    def to_json(self) -> dict[str, Any]:
        """The ``measure`` command's JSON (issue 4 contract)."""
        return {"levels": [r.to_json() for r in self.levels], "warnings": list(self.warnings)}


def renumber(candidates: tuple[LevelCandidate, ...] | list[LevelCandidate], index: int,
             level: str) -> tuple[LevelCandidate, ...]:
    """The user names body ``index`` ``level`` (confirmed); the others are counted from it.

    Candidates are ordered cranial first. A neighbour keeps its confirmation only if its
    name did not change; names beyond C1 or S1 are dropped with their bodies.
    """
    from planner.vertebra.common import shift_level

    out = []
    for n, c in enumerate(candidates):
        name = shift_level(level, n - index)
        if name is None:
            continue
        confirmed = True if n == index else (c.confirmed and name == c.level)
        out.append(replace(c, level=name, confirmed=confirmed))
    return tuple(out)
