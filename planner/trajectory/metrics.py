"""Metrics of one needle trajectory against one level's anatomy (live, < 10 ms).

Definitions (all mm / degrees; points LPS; body coordinates per :mod:`planner.anatomy`):

- *judged part*: the needle axis from where its whole cross-section is first inside bone
  (at most 3 mm past the bone entry; from the pedicle's posterior end when there is no
  whole-vertebra mask; for a parapedicular needle from where it is inside the body) to the
  tip, and inside the level's segmented crop. Before that the needle is still entering
  through the surface, which is not a breach.
- *pedicle zone*: the judged part whose body-frame AP coordinate lies within the AP extent
  of the pedicle on the needle's side; *body part*: the judged part in front of it.
- *clearance*: distance from the needle surface (axis ± OD/2) to the bone surface, measured
  along 12 rays perpendicular to the needle every 1 mm (0° medial, 90° superior, 180° lateral,
  270° inferior); negative values are penetration depths. ``bone_margin_mm`` is its minimum
  in the pedicle zone, ``body_wall_clearance_mm`` in the body part,
  ``min_cortical_clearance_mm`` the smaller of both and of ``canal_clearance_mm`` (needle
  surface to the canal along the whole path).
- *isthmus width*: the narrowest medial + lateral chord of bone through the needle axis within
  5 mm of the pedicle's narrowest cross-section: chord ends moved to the CT's cortical edge
  (half maximum) within 1 mm of the mask's surface, chords averaged over ±1 mm along the
  needle, the smallest mean (:mod:`planner.trajectory.isthmus`).
- *breach* (Gertzbein–Robbins, DOMAIN.md §6.1): the deepest penetration of the needle surface
  beyond the outer bone surface within the pedicle zone; grade 0 none, 1 < 2 mm, 2 2–4 mm,
  3 > 4 mm; its direction (medial, lateral, superior, inferior, relative to the pedicle of
  the needle's side, in the plane perpendicular to the needle) is the ray that leaves bone
  soonest, or with the axis outside bone the axis's offset from that pedicle's axis. A needle
  whose surface enters the spinal canal within the pedicle zone is a *medial* breach at least
  as deep as its canal penetration (:mod:`planner.trajectory.breach`).
- *tip depth*: fraction of the body's AP depth on the AP line through the tip (body frame)
  from the posterior wall (0) to the anterior cortex (1); the target is the anterior third
  (≥ 2/3; DOMAIN.md §6.3). The anterior cortex is where the outline is left for the last
  time (a notch in the mask does not count), so the depth follows the body's own outline.
  ``tip_to_anterior_cortex_mm`` is measured along the needle the same way, the exit refined to
  the CT's half-maximum cortical edge.
- *fluoroscopic rule*: in body coordinates, the AP view shows the pedicle's medial border as
  its most medial extent and the lateral view the posterior wall as the body's most posterior
  point; ``fluoro_rule_margin_mm`` is the distance along the needle from passing the wall to
  crossing the border (+ = wall first, as it must be).
- *foreign bone*: bone other than the target's body and own pedicle crossed by the needle
  (transverse process, lamina/facet, rib, neighbouring vertebra), and ``pedicle_path_mm``, the
  length of the axis inside its own pedicle (:mod:`planner.trajectory.crossing`).
- *C-arm bull's-eye*: ``bullseye_lao_deg``/``bullseye_cranial_deg`` are the C-arm angles
  that look down the needle (see :func:`planner.drr.carm_angles`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from planner.constants import AIR_HU, DENSE_TISSUE_HU, MIDLINE_TOL_MM
from planner.drr import carm_angles
from planner.grid import FloatArray
from planner.plan.catalog import Needle
from planner.plan.model import Trajectory
from planner.trajectory.clearance import RAY_STEP_MM, clearances
from planner.trajectory.context import SIDE_SIGN, TrajectoryContext
from planner.trajectory.crossing import (
    PEDICLE_MIN_MM,
    Crossing,
    bone_crossings,
    pedicle_miss,
    pedicle_passage_mm,
)
from planner.trajectory.geometry import (
    first_crossing,
    last_crossing,
    max_run_mm,
    needle_angles_deg,
    unit,
)

STEP_MM = 0.5
#: air/lung, dense tissue window and midline tolerance: see :mod:`planner.constants`
DENSE_HU = DENSE_TISSUE_HU
GR_BINS_MM = (2.0, 4.0)  # Gertzbein & Robbins 1990 (DOMAIN.md §6.1)


def gr_grade(breach_mm: float) -> int:
    """Gertzbein–Robbins grade of a breach depth in mm (DOMAIN.md §6.1)."""
    if not breach_mm > 0:
        return 0
    if breach_mm < GR_BINS_MM[0]:
        return 1
    return 2 if breach_mm <= GR_BINS_MM[1] else 3


@dataclass(frozen=True, slots=True)
class TrajectoryMetrics:
    """Numbers shown live while a needle is placed (see module notes for definitions)."""

    length_skin_to_tip_mm: float
    length_bone_to_tip_mm: float
    tip_depth_frac: float  # 0 = posterior wall, 1 = anterior cortex (body AP depth)
    tip_to_anterior_cortex_mm: float  # along the needle; negative = tip beyond the cortex
    medial_angle_deg: float
    craniocaudal_angle_deg: float
    medial_angle_table_deg: float
    craniocaudal_angle_table_deg: float
    isthmus_width_mm: float
    bone_margin_mm: float
    body_wall_clearance_mm: float
    canal_clearance_mm: float
    clearance_medial_mm: float
    clearance_lateral_mm: float
    clearance_superior_mm: float
    clearance_inferior_mm: float
    min_cortical_clearance_mm: float
    breach_mm: float
    breach_grade: int
    breach_direction: str
    tip_midline_offset_mm: float  # + = tip still on the entry side of the midsagittal plane
    tip_reaches_midline: bool
    air_path_mm: float
    dense_path_mm: float
    extraosseous_max_hu: float
    fluoro_rule_ok: bool
    fluoro_rule_margin_mm: float
    needle_od_mm: float
    bullseye_lao_deg: float
    bullseye_cranial_deg: float
    foreign_bone_mm: float = 0.0  # longest run of bone other than the body and own pedicle
    pedicle_path_mm: float = math.nan  # axis length inside the needle's own pedicle

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, 3) if math.isfinite(v) else None
        return out


@dataclass(frozen=True, slots=True)
class PathSamples:
    """The sampled needle axis and values findings need (locations of extremes)."""

    points: FloatArray  # (n, 3) LPS from skin entry to tip
    t_mm: FloatArray  # distance from the skin entry
    direction: FloatArray
    breach_point: FloatArray | None
    canal_point: FloatArray
    air_point: FloatArray | None
    dense_point: FloatArray | None
    fluoro_point: FloatArray | None
    tip_exit_dir: str  # where the tip left the body: "anterior", "other", "" (inside)
    crossings: tuple[Crossing, ...] = ()
    #: (distance from the pedicle axis mm, direction) of a transpedicular needle that misses
    #: its pedicle; None when it passes through it.
    pedicle_miss: tuple[float, str] | None = None


def _sample_path(skin: FloatArray, tip: FloatArray) -> tuple[FloatArray, FloatArray]:
    length = float(np.linalg.norm(tip - skin))
    n = max(2, int(math.ceil(length / STEP_MM)) + 1)
    t = np.linspace(0.0, length, n)
    d = (tip - skin) / length
    return skin + t[:, None] * d, t


def compute_metrics(
    ctx: TrajectoryContext, traj: Trajectory, needle: Needle
) -> tuple[TrajectoryMetrics, PathSamples]:
    """All metrics of ``traj`` with ``needle`` (see module notes)."""
    sign = SIDE_SIGN[traj.side]
    r = needle.radius_mm
    skin, bone_entry, tip = (
        np.asarray(p, dtype=np.float64)
        for p in (traj.skin_entry_lps, traj.bone_entry_lps, traj.target_lps)
    )
    d = unit(tip - skin)
    pts, t = _sample_path(skin, tip)
    body_c = ctx.frame.to_body(pts)
    bone = ctx.signed("bone", pts)
    canal = ctx.signed("canal", pts)
    t_bone = float((bone_entry - skin) @ d)
    ped = ctx.pedicles[traj.side]
    parapedicular = traj.approach == "parapedicular"
    # the needle counts as "in" once its whole cross-section has been inside bone (or 3 mm
    # past the bone entry): before that it is still entering through the surface
    fully = np.flatnonzero((bone >= r) & (t >= t_bone - 1.0))
    t_in = min(float(t[fully[0]]) if fully.size else math.inf, t_bone + 3.0)
    if parapedicular:  # enters bone at the body wall: judge the part inside the body
        body = ctx.signed("body", pts)
        inb = np.flatnonzero(body >= r)
        into = np.flatnonzero(body >= 0)
        t_wall = float(t[into[0]]) + 3.0 if into.size else math.inf
        t_in = min(float(t[inb[0]]) if inb.size else math.inf, t_wall)
    if ctx.anatomy.vertebra is None and not parapedicular:
        # without a whole-vertebra mask nothing behind the pedicle is known: judge from its end
        behind = np.flatnonzero(body_c[:, 1] <= ped.p_max - 1.0)
        t_in = max(t_in, float(t[behind[0]]) if behind.size else t_in)
    intra = (t >= t_in) & ctx.in_crop(pts)  # nothing outside the segmented crop is judged
    zone = intra & (body_c[:, 1] >= ped.p_min) & (body_c[:, 1] <= ped.p_max) & (not parapedicular)
    front = intra & (body_c[:, 1] < (ped.p_min if not parapedicular else np.inf))
    c = clearances(ctx, traj.side, pts, bone, canal, zone, intra, front, d, r, STEP_MM)

    ic = int(np.argmax(canal))
    canal_clear = float(-canal[ic]) - r
    min_cort = float(np.nanmin([c.margin_mm, c.body_margin_mm, canal_clear]))

    tip_b = ctx.frame.to_body(tip)
    p_ant, p_post = ctx.ap_extent(float(tip_b[0]), float(tip_b[2]))
    depth_frac = (p_post - tip_b[1]) / max(p_post - p_ant, 1e-6)
    tip_to_cortex, exit_dir = _tip_to_cortex(ctx, tip, d)
    mid_off = sign * tip_b[0]

    air_mm, dense_mm, max_hu, air_pt, dense_pt = _extraosseous(ctx, pts, t, t_bone, bone)
    ok, margin, fpt = _fluoro_rule(ctx, body_c, pts, t, sign, ped.u_medial)
    in_ped = ctx.in_pedicle(traj.side, pts)
    crossed = bone_crossings(ctx, traj.side, not parapedicular, pts, in_ped, STEP_MM)
    ped_mm = pedicle_passage_mm(in_ped, STEP_MM)
    miss = None
    if not parapedicular and ped_mm < PEDICLE_MIN_MM and np.isfinite(ped.p_min):
        miss = pedicle_miss(ctx, traj.side, pts)
    med_b, cc_b = needle_angles_deg(d, ctx.frame.rotation, sign)
    med_t, cc_t = needle_angles_deg(d, np.eye(3), sign)
    bull = carm_angles(d)
    metrics = TrajectoryMetrics(
        length_skin_to_tip_mm=float(np.linalg.norm(tip - skin)),
        length_bone_to_tip_mm=float(np.linalg.norm(tip - bone_entry)),
        tip_depth_frac=float(depth_frac),
        tip_to_anterior_cortex_mm=tip_to_cortex,
        medial_angle_deg=med_b,
        craniocaudal_angle_deg=cc_b,
        medial_angle_table_deg=med_t,
        craniocaudal_angle_table_deg=cc_t,
        isthmus_width_mm=c.width_mm,
        bone_margin_mm=c.margin_mm,
        body_wall_clearance_mm=c.body_margin_mm,
        canal_clearance_mm=canal_clear,
        clearance_medial_mm=c.directional["medial"],
        clearance_lateral_mm=c.directional["lateral"],
        clearance_superior_mm=c.directional["superior"],
        clearance_inferior_mm=c.directional["inferior"],
        min_cortical_clearance_mm=min_cort,
        breach_mm=c.breach_mm,
        breach_grade=gr_grade(c.breach_mm),
        breach_direction=c.breach_dir,
        tip_midline_offset_mm=float(mid_off),
        tip_reaches_midline=bool(mid_off <= MIDLINE_TOL_MM),
        air_path_mm=air_mm,
        dense_path_mm=dense_mm,
        extraosseous_max_hu=max_hu,
        fluoro_rule_ok=ok,
        fluoro_rule_margin_mm=margin,
        needle_od_mm=needle.od_mm,
        bullseye_lao_deg=bull.lao_deg,
        bullseye_cranial_deg=bull.cranial_deg,
        foreign_bone_mm=max((c.length_mm for c in crossed), default=0.0),
        pedicle_path_mm=ped_mm,
    )
    samples = PathSamples(
        pts, t, d, c.breach_point, pts[ic], air_pt, dense_pt, fpt, exit_dir, crossed, miss
    )
    return metrics, samples


def _tip_to_cortex(ctx: TrajectoryContext, tip: FloatArray, d: FloatArray) -> tuple[float, str]:
    """Distance along the needle from the tip to the anterior cortex (− if outside the body).

    The ray is cast through the body's outline to where it leaves it for the last time (a
    notch in the mask is crossed, not taken for the cortex), then on through the CT to the
    cortex if the mask stops short of it (:meth:`TrajectoryContext.cortex_beyond`), else the
    exit is moved to the CT's half-maximum cortical edge within 1 mm
    (:func:`~planner.trajectory.isthmus.refine_to_ct_edge`).
    """
    from planner.trajectory.isthmus import refine_to_ct_edge

    ahead = np.arange(0.0, 80.0, RAY_STEP_MM)
    vals = ctx.indicator("body", tip + ahead[:, None] * d)
    if vals[0] >= 0:
        dist = last_crossing(vals, RAY_STEP_MM)
        if math.isfinite(dist) and dist > 0:
            beyond = ctx.cortex_beyond(tip + dist * d, d)
            if beyond > 0:
                dist += beyond
            else:
                dist = float(refine_to_ct_edge(ctx, tip[None], d[None], np.array([dist]))[0])
        return dist, ""
    back = ctx.indicator("body", tip - ahead[:, None] * d)
    dist = first_crossing(-back, RAY_STEP_MM)
    if not math.isfinite(dist):
        return math.nan, "other"
    exit_pt = tip - dist * d
    outward = ctx.frame.to_body(ctx.frame.origin_lps + ctx.outward("body", exit_pt - 0.5 * d))
    anterior = -outward[1] > 0.5 * np.linalg.norm(outward)
    return -dist, "anterior" if anterior else "other"


def _extraosseous(
    ctx: TrajectoryContext, pts: FloatArray, t: FloatArray, t_bone: float, bone: FloatArray
) -> tuple[float, float, float, FloatArray | None, FloatArray | None]:
    """Air and dense tissue along the path outside bone, after the needle has entered the skin."""
    hu = ctx.hu(pts)
    outside = (t <= t_bone) | (bone < -1.0)
    in_body = np.flatnonzero(np.nan_to_num(hu, nan=-1000.0) > -200.0)
    if in_body.size == 0:
        return 0.0, 0.0, math.nan, None, None
    after_skin = np.arange(len(t)) >= in_body[0]
    sel = outside & after_skin & np.isfinite(hu)
    air = sel & (hu < AIR_HU)
    dense = sel & (bone < -3.0) & (hu >= DENSE_HU[0]) & (hu <= DENSE_HU[1])
    max_hu = float(hu[sel].max()) if sel.any() else math.nan
    air_pt = pts[np.flatnonzero(air)[0]] if air.any() else None
    dense_pt = pts[np.flatnonzero(dense)[0]] if dense.any() else None
    return max_run_mm(air, STEP_MM), max_run_mm(dense, STEP_MM), max_hu, air_pt, dense_pt


def _fluoro_rule(
    ctx: TrajectoryContext,
    body_c: FloatArray,
    pts: FloatArray,
    t: FloatArray,
    sign: float,
    u_med: float,
) -> tuple[bool, float, FloatArray | None]:
    """AP/lateral rule: the tip may cross the medial pedicle border (AP view) only after it
    has passed the posterior wall of the body (lateral view).

    Returns (ok, margin, location): the margin is the distance along the needle from passing
    the posterior wall to crossing the medial border (+ = wall first; inf if never crossed).
    """
    if not math.isfinite(u_med):
        return True, math.nan, None
    u = sign * body_c[:, 0]
    p_wall = ctx.body.p_posterior_max
    crossed = np.flatnonzero(u < u_med)
    passed = np.flatnonzero(body_c[:, 1] < p_wall)
    if crossed.size == 0:
        return True, math.inf, None
    t_cross = float(t[crossed[0]])
    t_wall = float(t[passed[0]]) if passed.size else math.inf
    margin = t_cross - t_wall
    return bool(margin >= 0), margin, pts[crossed[0]]
