"""Auto-suggest: the transpedicular path with the largest cortical clearance (< 1 s).

Search (body coordinates; see :mod:`planner.anatomy`): a line is fixed by a *target* (tip) in
the anterior third of the body — at 75 % of the AP depth from the posterior wall, mid-height,
in the needle's half of the body for a bipedicular plan or on the midsagittal plane for a
unipedicular one (DOMAIN.md §6.3) — and a *pass point* in the plane of the pedicle's isthmus.
Every candidate line is scored by the smallest clearance between the needle surface and the
bone surface / spinal canal from behind the pedicle to the tip (distance fields make each
candidate a few hundred array look-ups); a coarse grid is refined once around the best.
The refined best and the next best distinct coarse lines (:data:`N_CANDIDATES`) are then
evaluated in that order with the full checks (:func:`~planner.trajectory.evaluate.evaluate`),
and the first without a danger finding (foreign bone crossed, fluoroscopic medial-wall rule,
...) is the transpedicular suggestion: the clearance score alone cannot see those checks.
Where the best transpedicular corridor leaves less than :data:`MIN_TRANSPEDICULAR_MM` per side
(total clearance 1 mm, the pedicle rule of Kaur 2016, DOMAIN.md §6.2), or every
transpedicular candidate has a danger finding, parapedicular candidates are searched
(:mod:`planner.trajectory.parapedicular`) and evaluated the same way. A suggestion never
carries a danger finding of these checks while a candidate without one exists; where none
exists it is marked unsafe (``Suggestion.safe``) and its reason says that no safe path was
found.
A pedicle axis the surgeon set (two clicks, ``PedicleInfo.user_axis``) fixes the target on
that axis at the same depth and keeps the pass point within 0.75 mm of its isthmus centre.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from planner.constants import AIR_HU, SUGGEST_BONE_HU
from planner.errors import AnalysisError
from planner.grid import FloatArray
from planner.plan.catalog import Needle, get_needle
from planner.plan.model import Trajectory
from planner.trajectory.context import SIDE_SIGN, TrajectoryContext
from planner.trajectory.evaluate import TrajectoryResult, evaluate
from planner.trajectory.geometry import first_crossing, unit
from planner.trajectory.parapedicular import parapedicular_lines

log = logging.getLogger(__name__)

TARGET_DEPTH_FRAC = 0.75
MIN_TRANSPEDICULAR_MM = 0.5
BONE_HU = SUGGEST_BONE_HU
STEP = 0.5
SEARCH_STEP = 1.0
#: Transpedicular candidates (best clearance first) fully evaluated before one is suggested:
#: the clearance score cannot see the checks of :func:`evaluate` (foreign bone, fluoroscopic
#: rule), so a candidate with a danger finding gives way to the next (tool assumption).
N_CANDIDATES = 12
#: Candidates differ by at least this much (mm, target shift + pass shift; tool assumption).
CANDIDATE_SPREAD_MM = 3.0
#: Mask indicator (0 = surface, 0.5 = a voxel inside) above which a line that reaches the crop's
#: border is taken to be still inside the vertebra there (tool assumption).
CROP_EDGE_INSIDE = 0.25


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested trajectory, its evaluation, and a parapedicular alternative if needed.

    ``trajectory`` is the recommended path (transpedicular when feasible, else the
    parapedicular alternative; never one with a danger finding when another candidate has
    none); ``transpedicular`` is always the best transpedicular path.
    """

    trajectory: Trajectory
    result: TrajectoryResult
    transpedicular: Trajectory
    transpedicular_result: TrajectoryResult
    alternative: Trajectory | None
    alternative_result: TrajectoryResult | None
    transpedicular_feasible: bool
    reason: str
    #: False when every candidate evaluated carries a danger finding of :func:`evaluate`: the
    #: trajectory shown is then the one with the fewest, and ``reason`` says so.
    safe: bool = True


def _targets(ctx: TrajectoryContext, side: str, unipedicular: bool, axis_l: float) -> FloatArray:
    ex, sg = ctx.body, SIDE_SIGN[side]
    p_t = ex.p_posterior - TARGET_DEPTH_FRAC * ex.depth_mm
    s_mid = 0.5 * (ex.s_min + ex.s_max)
    if unipedicular:
        ls = [0.0, -sg * 1.0]
    else:
        ls = sorted(
            {
                round(v, 2)
                for v in (sg * 0.1 * ex.width_mm, sg * 0.18 * ex.width_mm, sg * 0.26 * ex.width_mm)
            }
        )
        if sg * axis_l > 0:
            ls.append(axis_l)
    out = []
    for lt in ls:
        for ds in (-3.0, 0.0, 3.0):
            p_ant, p_post = ctx.ap_extent(lt, s_mid + ds)  # the outline at the tip's own line
            out.append([lt, p_post - TARGET_DEPTH_FRAC * (p_post - p_ant), s_mid + ds])
    del p_t
    return np.array(out)


def _score_lines(
    ctx: TrajectoryContext, targets: FloatArray, passes: FloatArray, p_back: float, r: float
) -> tuple[FloatArray, FloatArray]:
    """Smallest wall clearance (mm) of every target × pass line, from ``p_back`` to the target.

    A bone-surface point counts as a wall only if it lies more than 60° off the needle's
    axis as seen from the sample: the surface the needle enters through (behind) and the
    anterior cortex (ahead of the tip) are judged by the full evaluation, not here.
    """
    rot, o = ctx.frame.rotation, ctx.frame.origin_lps
    tt = np.repeat(targets, len(passes), axis=0)
    pp = np.tile(passes, (len(targets), 1))
    d = pp - tt
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    span = (p_back - tt[:, 1]) / np.maximum(d[:, 1], 1e-3)  # distance from target to p_back
    n = int(math.ceil(np.nanmax(span) / SEARCH_STEP)) + 1
    s = np.arange(n) * SEARCH_STEP
    valid = s[None, :] <= span[:, None]
    body_pts = tt[:, None, :] + s[None, :, None] * d[:, None, :]
    lps = (body_pts @ rot.T + o)[valid]
    dir_lps = np.broadcast_to((d @ rot.T)[:, None, :], body_pts.shape)[valid]
    bone, near = ctx.fields["bone"].signed_nearest(ctx.sampler, lps)
    v = lps - near
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.abs(np.einsum("ij,ij->i", v, dir_lps)) / np.linalg.norm(v, axis=1)
    bone = np.where((bone > 0) & (cos > 0.5), np.inf, bone)
    canal = -ctx.signed("canal", lps)
    per = np.full(valid.shape, np.inf)
    per[valid] = np.minimum(bone, canal) - r
    return per.min(axis=1), np.stack([tt, pp], axis=1)


def _transpedicular(
    ctx: TrajectoryContext, side: str, r: float, unipedicular: bool
) -> list[tuple[FloatArray, FloatArray]]:
    """Candidate (target, pass) lines in body mm, best clearance score first (distinct)."""
    ped = ctx.pedicles[side]
    sg = SIDE_SIGN[side]
    iso, a = ped.isthmus_point, ped.axis_dir
    axis_l = (
        iso[0]
        + a[0] * (ctx.body.p_posterior - TARGET_DEPTH_FRAC * ctx.body.depth_mm - iso[1]) / a[1]
    )
    targets = _targets(ctx, side, unipedicular, axis_l)
    l_pref = 0.0 if unipedicular else sg * 0.18 * ctx.body.width_mm
    s_mid = 0.5 * (ctx.body.s_min + ctx.body.s_max)
    p_back = ped.p_max
    best = None
    grids = ((3.0, 0.75), (0.75, 0.25))
    if ped.user_axis:  # the surgeon's axis: aim along it, through its isthmus centre
        p_t = ctx.body.p_posterior - TARGET_DEPTH_FRAC * ctx.body.depth_mm
        targets = (iso + ((p_t - iso[1]) / a[1]) * a)[None, :]
        l_pref, s_mid = float(targets[0, 0]), float(targets[0, 2])
        grids = ((0.75, 0.25), (0.25, 0.125))
    for half, step in grids:
        centre = iso if best is None else best[1]
        g = np.arange(-half, half + 1e-6, step)
        passes = np.array([centre + np.array([x, 0.0, y]) for x in g for y in g])
        score, lines = _score_lines(ctx, targets, passes, p_back, r)
        score = (
            score - 0.02 * np.abs(lines[:, 0, 0] - l_pref) - 0.02 * np.abs(lines[:, 0, 2] - s_mid)
        )
        k = int(np.argmax(score))
        best = (lines[k, 0], lines[k, 1], float(score[k]))
        if half == grids[0][0]:
            coarse = (score, lines)
        targets = targets[np.linalg.norm(targets - best[0], axis=1) < 4.0]
    assert best is not None
    out = [(best[0], best[1])]
    order = np.argsort(-coarse[0], kind="stable")
    for k in order:
        if not np.isfinite(coarse[0][k]) or len(out) >= N_CANDIDATES:
            break
        t, p = coarse[1][k]
        if all(np.linalg.norm(t - a) + np.linalg.norm(p - b) > CANDIDATE_SPREAD_MM
               for a, b in out):
            out.append((t, p))
    return out


def _entries(
    ctx: TrajectoryContext, side: str, approach: str, tip: FloatArray, through: FloatArray
) -> tuple[FloatArray, FloatArray, str]:
    """Bone entry and skin entry on the line from ``tip`` back through ``through`` (LPS).

    A parapedicular needle enters bone at the body wall. Otherwise, with a whole-vertebra
    mask the bone entry is where the line leaves it (where it leaves the crop already at the
    mask's surface, the last in-crop sample: the bone behind is not this vertebra's); without
    one it is
    the start of the first 2 mm of soft tissue (HU < :data:`BONE_HU`) behind the pedicle.
    The skin entry is the last tissue sample before 3 mm of air (HU < :data:`AIR_HU`) or the
    image border.
    """
    d = unit(tip - through)
    s = np.arange(0.0, 250.0, STEP)
    if approach == "parapedicular":
        t = first_crossing(ctx.indicator("body", tip[None] - s[:, None] * d), STEP)
        bone_entry = tip - (t if math.isfinite(t) else 0.0) * d
    else:
        if ctx.anatomy.vertebra is not None:
            ind = ctx.indicator("bone", through[None] - s[:, None] * d)
            k = int(np.argmax(~(ind >= 0)))  # first sample outside bone or outside the crop
            if np.isfinite(ind[k]):
                bone_entry = through - first_crossing(ind, STEP) * d
                return bone_entry, *_skin(ctx, bone_entry, d)
            start = through - s[max(k - 1, 0)] * d
            if k == 0 or ind[k - 1] < CROP_EDGE_INSIDE:
                # the line was already at the mask's surface where the crop ends: the bone the
                # HU walk would add behind it is not this vertebra's (e.g. the facet of the
                # level above, outside the label), so the entry is the last in-crop sample
                return start, *_skin(ctx, start, d)
            # the vertebra continues beyond the crop: find its surface by HU
        else:
            ped = ctx.pedicles[side]
            tb = ctx.frame.to_body(through)
            db = ctx.frame.to_body(ctx.frame.origin_lps + d)
            start = through - max(0.0, (ped.p_max - tb[1]) / max(-db[1], 1e-3)) * d
        back = start[None] - s[: int(40 / STEP), None] * d
        soft = np.nan_to_num(ctx.hu(back), nan=-1000.0) < BONE_HU
        run = np.convolve(soft, np.ones(4), "valid") == 4
        bone_entry = back[int(np.argmax(run))] if run.any() else start
    return bone_entry, *_skin(ctx, bone_entry, d)


def _skin(ctx: TrajectoryContext, bone_entry: FloatArray, d: FloatArray) -> tuple[FloatArray, str]:
    s = np.arange(0.0, 250.0, STEP)
    beyond = bone_entry[None] - s[:, None] * d
    k, note = _skin_index(ctx.hu(beyond))
    skin = beyond[k]
    if np.linalg.norm(skin - bone_entry) < 1.0:
        skin = bone_entry - 1.0 * d
    return skin, note


def _skin_index(hu: FloatArray) -> tuple[int, str]:
    """Index of the last tissue sample before the air outside the patient.

    Air counts as outside from its first sample when the next 20 mm are mostly air or leave
    the image: a gown, blanket or pad lying on the back with a 1-3 mm air gap under it is
    outside the patient (its air gap read as "path crosses air" on cptac T8-T12). Shorter
    pockets with tissue beyond (lung, bowel gas) are passed so that the checks report them.
    """
    air = np.isnan(hu) | (hu < AIR_HU)
    n20 = int(20.0 / STEP)
    for i in (int(k) for k in np.flatnonzero(air)):
        if np.isnan(hu[i]):
            return max(i - 1, 0), "skin lies outside the image; skin entry at the image border"
        if air[i : i + n20].mean() >= 0.8 or np.isnan(hu[i : i + n20]).any():
            return max(i - 1, 0), ""
    return len(hu) - 1, "no skin found within 250 mm"


def _make(
    ctx: TrajectoryContext, side: str, approach: str, tb: FloatArray, pb: FloatArray, needle: Needle
) -> Trajectory:
    tip, through = ctx.frame.to_lps(tb), ctx.frame.to_lps(pb)
    bone, skin, note = _entries(ctx, side, approach, tip, through)
    if note:
        log.info("%s %s: %s", side, approach, note)
    return Trajectory(side, approach, tuple(skin), tuple(bone), tuple(tip), needle.id)  # type: ignore[arg-type]


def _danger(res: TrajectoryResult) -> int:
    return sum(f.severity == "danger" for f in res.findings)


def _first_safe(
    ctx: TrajectoryContext, side: str, approach: str,
    lines: list[tuple[FloatArray, FloatArray]], n: Needle, unipedicular: bool,
) -> tuple[Trajectory, TrajectoryResult] | None:
    """The first of ``lines`` (best score first) whose evaluation has no danger finding; if
    every one has, the one with the fewest (ties: the better score); None without lines."""
    best: tuple[Trajectory, TrajectoryResult] | None = None
    for tb, pb in lines:
        tp = _make(ctx, side, approach, tb, pb, n)
        res = evaluate(ctx, tp, n, unipedicular=unipedicular)
        if _danger(res) == 0:
            return tp, res
        if best is None or _danger(res) < _danger(best[1]):
            best = (tp, res)
    return best


def _first_danger(res: TrajectoryResult) -> str:
    return next(f.message for f in res.findings if f.severity == "danger")


def suggest(
    ctx: TrajectoryContext, side: str, needle: Needle | str = "11G", unipedicular: bool = False
) -> Suggestion:
    """The safest transpedicular path for one side, and a parapedicular one if it is too tight.

    Notes
    -----
    Points LPS mm. The recommended trajectory is the transpedicular one when its smallest
    clearance is at least :data:`MIN_TRANSPEDICULAR_MM` and it has no breach; otherwise the
    parapedicular alternative (if one was found). See the module notes for the search.
    """
    if side not in SIDE_SIGN:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if not np.all(np.isfinite(ctx.pedicles[side].isthmus_point)):
        raise AnalysisError(
            f"{ctx.anatomy.level}: the segmentation has no {side} pedicle, so no path can be "
            "suggested on that side; check the segmentation or place the needle by hand"
        )
    n = get_needle(needle)
    r = n.radius_mm
    found = _first_safe(ctx, side, "transpedicular",
                        _transpedicular(ctx, side, r, unipedicular), n, unipedicular)
    assert found is not None
    tp, tp_res = found
    m = tp_res.metrics
    wide = m.breach_grade == 0 and m.min_cortical_clearance_mm >= MIN_TRANSPEDICULAR_MM
    if wide and _danger(tp_res) == 0:
        return Suggestion(
            tp, tp_res, tp, tp_res, None, None, True, "transpedicular corridor is wide enough"
        )
    if wide:
        reason = f"every transpedicular candidate has a danger finding ({_first_danger(tp_res)})"
    else:
        reason = (
            f"transpedicular corridor leaves {m.min_cortical_clearance_mm:.1f} mm clearance "
            f"for {n.id} (needs {MIN_TRANSPEDICULAR_MM} mm per side)"
        )
    lines = parapedicular_lines(
        ctx, side, r, _targets(ctx, side, unipedicular, ctx.pedicles[side].isthmus_point[0]),
        N_CANDIDATES, CANDIDATE_SPREAD_MM)
    para = _first_safe(ctx, side, "parapedicular", lines, n, unipedicular)
    if para is None:
        return _fallback(tp, tp_res, None, None, reason + "; no parapedicular path found")
    alt, alt_res = para
    if _danger(alt_res) == 0:
        return Suggestion(
            alt, alt_res, tp, tp_res, alt, alt_res, False, reason + "; parapedicular suggested"
        )
    return _fallback(tp, tp_res, alt, alt_res, reason + "; every parapedicular candidate has "
                     f"a danger finding ({_first_danger(alt_res)})")


def _fallback(tp: Trajectory, tp_res: TrajectoryResult, alt: Trajectory | None,
              alt_res: TrajectoryResult | None, reason: str) -> Suggestion:
    """No candidate is both feasible and free of danger findings: the transpedicular path
    when it has none (a tight corridor is shown with its reason), else the path with the
    fewest danger findings, marked unsafe: no safe path was found."""
    if _danger(tp_res) == 0:
        return Suggestion(tp, tp_res, tp, tp_res, alt, alt_res, False, reason)
    pick, pick_res = tp, tp_res
    if alt is not None and alt_res is not None and _danger(alt_res) < _danger(tp_res):
        pick, pick_res = alt, alt_res
    return Suggestion(pick, pick_res, tp, tp_res, alt, alt_res, False,
                      reason + "; no safe path was found: plan this side by hand", safe=False)
