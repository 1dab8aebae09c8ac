"""Applying the geometric corrections to one analysed level (plane, outline, pedicle axes).

:func:`planner.session.corrections.apply_corrections` calls :func:`corrected_level` for every
level with a ``"midsagittal_plane"``, ``"body_outline"`` or ``"pedicle_axis"`` correction
before it applies the moved morphometry points and grades every level again:

- the plane replaces the body frame and the heights (six points measured in the corrected
  plane, stored in the correction; six-point morphometry, Genant 1993, J Bone Miner Res),
  wedge angle, depth and width;
- the outline replaces the body mask (volume, depth fraction and cement fill follow through
  the level's anatomy) and the body volume;
- the pedicle axes ride on the anatomy for the trajectory context.

Each applied correction adds a note starting with
:data:`planner.session.corrections.EDITED_PREFIX` carrying the automatic value, so tables and
the report mark the level "edited". Points LPS mm, volumes mL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from planner.anatomy import WALLS, LevelAnatomy, Morphometry
from planner.session.corrections_geometry import (
    PEDICLE_KIND,
    PLANE_KIND,
    shift_and_turn,
    stored_axis,
    stored_plane,
    with_axes,
)
from planner.session.corrections_outline import KIND as OUTLINE_KIND
from planner.session.corrections_outline import with_outline
from planner.session.model import Correction

GEOMETRY_KINDS = (PLANE_KIND, OUTLINE_KIND, PEDICLE_KIND)
#: ``LevelResult.edited`` flag of each correction kind.
FLAGS = {
    "morphometry_point": "morphometry_points",
    PLANE_KIND: "mid_sagittal_plane",
    OUTLINE_KIND: "body_outline",
    PEDICLE_KIND: "pedicle_axis",
}


@dataclass(frozen=True)
class CorrectedLevel:
    """One level after its geometric corrections.

    ``remeasured``: its heights or volume changed (every level is graded again);
    ``flags``: the ``edited`` flags of the corrections applied.
    """

    anatomy: LevelAnatomy
    morphometry: Morphometry
    remeasured: bool
    flags: frozenset[str]


def _heights(m: Morphometry) -> str:
    return " / ".join(f"{m.heights_mm.get(w):.1f}" for w in WALLS)


def corrected_level(
    anatomy: LevelAnatomy, m: Morphometry, corrections: list[Correction], strict: bool
) -> CorrectedLevel:
    """Apply the level's plane, outline and pedicle-axis corrections (in that order).

    A correction that cannot be applied (an outline made on another analysis, a malformed
    value) raises ``ValueError`` when ``strict``; otherwise the automatic value is kept and a
    note says why.
    """
    from planner.session.corrections import EDITED_PREFIX, six_point_morphometry

    notes: list[str] = []
    flags: set[str] = set()
    remeasured = False
    auto_frame = anatomy.frame
    for c in corrections:
        what = c.kind.replace("_", " ")
        try:
            if c.kind == PLANE_KIND:
                frame, pts, depth, width = stored_plane(anatomy, c)
                heights, wedge, lines = six_point_morphometry(frame, pts)
                shift, turn = shift_and_turn(auto_frame, frame)
                notes.append(
                    f"{EDITED_PREFIX} mid-sagittal plane moved {shift:+.1f} mm and turned "
                    f"{turn:+.1f}° by the user; automatic heights A/M/P {_heights(m)} mm"
                )
                anatomy = replace(anatomy, frame=frame)
                m = replace(
                    m,
                    heights_mm=heights,
                    wedge_angle_deg=wedge,
                    height_lines_lps=lines,
                    depth_mm=depth if math.isfinite(depth) else m.depth_mm,
                    width_mm=width if math.isfinite(width) else m.width_mm,
                )
            elif c.kind == OUTLINE_KIND:
                before = m.body_volume_ml
                anatomy = with_outline(anatomy, c)
                m = replace(m, body_volume_ml=anatomy.body_volume_ml)
                notes.append(
                    f"{EDITED_PREFIX} body outline corrected by the user; volume "
                    f"{m.body_volume_ml:.1f} mL (automatic {before:.1f} mL)"
                )
            elif c.kind == PEDICLE_KIND:
                entry, exit_ = stored_axis(c)
                anatomy = with_axes(anatomy, [c])
                notes.append(
                    f"{EDITED_PREFIX} {c.key} pedicle axis set by the user (entry "
                    f"{_xyz(entry)}, exit {_xyz(exit_)} LPS mm)"
                )
            else:
                continue
        except (ValueError, TypeError, KeyError) as exc:  # a hand-edited plan file's values
            if strict:
                raise ValueError(f"{what}: {exc}") from exc
            notes.append(f"{EDITED_PREFIX} {what} correction not applied ({exc}); automatic kept")
            continue
        flags.add(FLAGS[c.kind])
        remeasured = remeasured or c.kind != PEDICLE_KIND
    m = replace(m, notes=(*m.notes, *notes))
    return CorrectedLevel(anatomy, m, remeasured, frozenset(flags))


def _xyz(p: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in p)
