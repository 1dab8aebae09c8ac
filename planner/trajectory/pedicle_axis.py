"""A pedicle axis the surgeon set by two clicks, in place of the one fitted to the mask.

:meth:`planner.trajectory.TrajectoryContext.build` calls :func:`corrected_pedicle` for every
side in ``LevelAnatomy.pedicle_axes_lps`` (see
:mod:`planner.session.corrections_geometry`), so the checks (isthmus chord, breach direction,
pedicle miss) and auto-suggest work along the corrected axis. Body coordinates (left,
posterior, superior; mm); clicks in LPS mm.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from planner.anatomy import BodyFrame

if TYPE_CHECKING:
    from planner.anatomy import LevelAnatomy
    from planner.trajectory.context import TrajectoryContext
    from planner.trajectory.pedicles import PedicleInfo


def corrected_pedicle(
    info: PedicleInfo,
    frame: BodyFrame,
    entry_lps: tuple[float, float, float],
    exit_lps: tuple[float, float, float],
) -> PedicleInfo:
    """``info`` with its axis through the two clicks (direction towards anterior).

    The isthmus centre is the point of the new axis at the automatic isthmus' AP position
    when that lies between the clicks, else the clicks' midpoint. The pedicle zone
    (``p_min``–``p_max``) spans the automatic zone and the clicks.
    """
    a, b = frame.to_body(np.asarray([entry_lps, exit_lps], dtype=np.float64))
    d = b - a
    if d[1] > 0:  # towards anterior is −posterior
        a, b, d = b, a, -d
    n = float(np.linalg.norm(d))
    if n < 1e-6 or abs(d[1]) < 1e-6:
        return info
    d = d / n
    p_auto = float(info.isthmus_point[1]) if np.all(np.isfinite(info.isthmus_point)) else np.nan
    lo, hi = sorted((float(a[1]), float(b[1])))
    if np.isfinite(p_auto) and lo <= p_auto <= hi:
        iso = a + ((p_auto - a[1]) / d[1]) * d
    else:
        iso = 0.5 * (a + b)
    p_min = float(np.nanmin([info.p_min, lo])) if np.isfinite(info.p_min) else lo
    p_max = float(np.nanmax([info.p_max, hi])) if np.isfinite(info.p_max) else hi
    return replace(
        info,
        axis_point=np.asarray(iso, dtype=np.float64),
        axis_dir=np.asarray(d, dtype=np.float64),
        isthmus_point=np.asarray(iso, dtype=np.float64),
        p_min=p_min,
        p_max=p_max,
        user_axis=True,
    )


def with_pedicle_axes(ctx: TrajectoryContext, anatomy: LevelAnatomy) -> TrajectoryContext:
    """``ctx`` (built on the same masks and frame) for ``anatomy`` with the surgeon's axes.

    The distance fields do not depend on the axes, so nothing is rebuilt.
    """
    pedicles = dict(ctx.pedicles)
    for side, (entry, exit_) in anatomy.pedicle_axes_lps.items():
        pedicles[side] = corrected_pedicle(ctx.pedicles[side], ctx.frame, entry, exit_)
    return replace(ctx, anatomy=anatomy, pedicles=pedicles)
