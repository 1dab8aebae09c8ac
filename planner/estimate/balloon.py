"""Balloon (inflatable bone tamp) inflation inside the vertebral body.

Shape [assumption, DOMAIN.md §4.1 gives no inflated geometry]: a capsule — all points within
radius r of the segment between the balloon's two end markers (length = nominal length),
volume πr²L + 4/3·πr³. The radius grows until the balloon holds the planned volume inside
the cancellous bone; the cortical shell is a barrier, so a blocked balloon spreads sideways.
When it bears on both endplates it pushes them apart by its vertical overreach, never beyond
the pre-fracture height (DOMAIN.md §2.3 reference heights). Pressure is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy
from planner.estimate.balloon_catalog import BalloonDevice
from planner.estimate.balloon_shape import (
    allowed_at,
    allowed_lift_mm,
    capsule_radius_mm,
    free_column,
    make_box,
    segment_distance,
    vertical_reach,
)
from planner.estimate.geometry import (
    INFERIOR,
    POSTERIOR,
    SUPERIOR,
    WALL,
    FineBody,
    fine_body,
    fine_to_crop,
)
from planner.estimate.sources import cite
from planner.plan.model import BalloonPlacement, Trajectory

BoolArray = NDArray[np.bool_]
_MIN_CONTACT_VOXELS = 4


@dataclass(frozen=True, eq=False)
class BalloonResult:
    """An inflated balloon.

    Notes
    -----
    Volumes in mL, distances in mm, points in LPS mm. ``cavity`` is on the anatomy's crop
    grid and ``cavity_fine`` on ``fine.grid``; both lie inside the body. ``volume_ml`` =
    ``cavity_ml`` + ``lift_ml`` (space opened by pushing the endplates apart).
    """

    side: str
    device_id: str
    requested_ml: float
    volume_ml: float
    cavity_ml: float
    lift_ml: float
    unfitted_ml: float
    radius_mm: float
    axis_lps: tuple[tuple[float, float, float], tuple[float, float, float]]
    cavity: BoolArray
    cavity_fine: BoolArray
    contacts: dict[str, bool]
    cortex_breach_attempt: bool
    in_pedicle: bool
    posterior_wall_distance_mm: float
    lift_mm: dict[str, float]
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "side": self.side,
            "device_id": self.device_id,
            "requested_ml": round(self.requested_ml, 2),
            "volume_ml": round(self.volume_ml, 2),
            "cavity_ml": round(self.cavity_ml, 2),
            "lift_ml": round(self.lift_ml, 2),
            "unfitted_ml": round(self.unfitted_ml, 2),
            "radius_mm": round(self.radius_mm, 2),
            "axis_lps": [list(map(lambda v: round(v, 2), p)) for p in self.axis_lps],
            "contacts": dict(self.contacts),
            "cortex_breach_attempt": self.cortex_breach_attempt,
            "in_pedicle": self.in_pedicle,
            "posterior_wall_distance_mm": round(self.posterior_wall_distance_mm, 2),
            "lift_mm": {k: round(v, 2) for k, v in self.lift_mm.items()},
            "warnings": list(self.warnings),
            "sources": list(self.sources),
        }


@dataclass
class _Fit:
    radius: float
    frac: NDArray[np.float32]
    cavity_ml: float
    lift_ml: float
    d_sup: float
    d_inf: float
    lift_zone: BoolArray


class _Inflation:
    """The balloon's voxels near its axis and the fit of its radius to a volume."""

    def __init__(
        self,
        fine: FineBody,
        p0: NDArray[np.float64],
        p1: NDArray[np.float64],
        r_max: float,
        allowed: Mapping[str, float],
    ) -> None:
        self.fine, self.p0, self.p1 = fine, p0, p1
        sup = fine.frame.superior
        self.centre = 0.5 * (p0 + p1)
        self.lift_max = min(max(allowed.values()), 15.0)
        self.box = make_box(fine, p0, p1, r_max + 1.0)
        self.h = float(fine.grid.spacing_mm.min())
        s = segment_distance(self.box.lps, p0, p1)
        self.sel = s <= r_max + self.h
        self.s = s[self.sel]
        self.interior = self.box.interior[self.sel]
        self.body = self.box.body[self.sel]
        self.label = self.box.label[self.sel]
        self.other_bone = self.box.other_bone[self.sel]
        self.top, self.bot, self.inside = free_column(self.box, fine, self.centre, sup)
        axis = (p1 - p0) / np.linalg.norm(p1 - p0)
        self.stretch = 1.0 / math.sqrt(max(1.0 - float(axis @ sup) ** 2, 0.05))
        self.allowed_here = allowed_at(fine, self.centre, allowed)
        n = int(self.sel.sum())
        self.reach_up = self.reach_dn = np.full(n, np.inf, np.float32)
        if self.lift_max > 0 and self.allowed_here > 0:
            above = ((self.box.lps - self.centre) @ sup) > 0
            cand = self.sel & ~self.box.interior
            self.reach_up = vertical_reach(self.box, fine, cand & above, sup, self.lift_max, 1.0)[
                self.sel
            ]
            self.reach_dn = vertical_reach(self.box, fine, cand & ~above, sup, self.lift_max, -1.0)[
                self.sel
            ]

    def overreach(self, r: float) -> tuple[float, float]:
        half = r * self.stretch
        return half - self.top, half - self.bot

    def evaluate(self, r: float) -> _Fit:
        vox = self.fine.voxel_ml
        frac = np.clip((r - self.s) / self.h + 0.5, 0.0, 1.0).astype(np.float32)
        t_sup, t_inf = self.overreach(r)
        d_sup = d_inf = 0.0
        if t_sup > 0 and t_inf > 0 and self.allowed_here > 0:
            d = min(t_sup + t_inf, self.allowed_here)
            d_sup = d * t_sup / (t_sup + t_inf)
            d_inf = d - d_sup
        lift_zone = (self.reach_up <= d_sup) | (self.reach_dn <= d_inf)
        return _Fit(
            r,
            frac,
            float(frac[self.interior].sum()) * vox,
            float(frac[lift_zone].sum()) * vox,
            d_sup,
            d_inf,
            lift_zone,
        )

    def fit(self, volume_ml: float, r_max: float) -> _Fit:
        lo, hi = 0.0, r_max
        best = self.evaluate(r_max)
        if best.cavity_ml + best.lift_ml < volume_ml:
            return best
        for _ in range(36):
            mid = 0.5 * (lo + hi)
            f = self.evaluate(mid)
            if f.cavity_ml + f.lift_ml < volume_ml:
                lo = mid
            else:
                hi, best = mid, f
        return best


def _contacts(inf: _Inflation, fit: _Fit) -> tuple[dict[str, bool], bool, bool]:
    """Endplate / cortex contacts, cortex-breach attempt, and balloon reaching into a pedicle."""
    within = inf.s <= fit.radius
    blocked = within & ~inf.interior & ~fit.lift_zone
    lab = inf.label[blocked & ~inf.other_bone]  # the shell voxels the balloon presses on
    n_sup, n_inf = int((lab == SUPERIOR).sum()), int((lab == INFERIOR).sum())
    n_wall = int(np.isin(lab, (POSTERIOR, WALL)).sum())
    contacts = {
        "superior_endplate": n_sup >= _MIN_CONTACT_VOXELS or fit.d_sup > 0,
        "inferior_endplate": n_inf >= _MIN_CONTACT_VOXELS or fit.d_inf > 0,
        "cortex": n_wall >= _MIN_CONTACT_VOXELS,
    }
    outside = within & ~inf.body & ~fit.lift_zone
    breach = int((outside & ~inf.other_bone).sum()) >= _MIN_CONTACT_VOXELS
    pedicle = int((outside & inf.other_bone).sum()) >= _MIN_CONTACT_VOXELS
    return contacts, breach, pedicle


def _cavity_fine(inf: _Inflation, fit: _Fit) -> BoolArray:
    fine, box = inf.fine, inf.box
    local = np.zeros(box.shape, bool)
    local[inf.sel] = (inf.s <= fit.radius) & inf.interior
    out = np.zeros(fine.grid.shape_kji, bool)
    lo, hi = np.maximum(box.lo, 0), np.minimum(box.lo + np.array(box.shape), fine.grid.shape_kji)
    if np.all(hi > lo):
        out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = local[
            tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, box.lo, strict=True))
        ]
    return out


def _warnings(
    device: BalloonDevice,
    volume_ml: float,
    unfitted: float,
    inside: bool,
    breach: bool,
    limited: bool,
    have_ref: bool,
) -> list[str]:
    w: list[str] = []
    mv = device.max_volume
    if mv.value is not None and volume_ml > mv.value + 1e-9:
        w.append(f"{volume_ml:.2f} mL exceeds the device's maximum volume {mv.describe('mL')}.")
    if not inside:
        w.append("The balloon's centre is not in cancellous bone: check the trajectory and offset.")
    if unfitted > 0.01:
        w.append(
            f"{unfitted:.2f} mL did not fit inside the cancellous bone: in practice the pressure "
            "would rise; stop at the device's rated pressure "
            f"({device.max_pressure.describe('psi')}). Pressure is not modelled."
        )
    if breach:
        w.append(
            "The balloon shape reaches beyond the cortex (cortex breach risk): consider a smaller "
            "volume, a shorter balloon or another position."
        )
    if limited:
        w.append("Endplate lift limited to the estimated pre-fracture height.")
    if not have_ref:
        w.append("No reference (pre-fracture) heights: the endplates were held fixed.")
    return w


def inflate_balloon(
    anatomy: LevelAnatomy,
    trajectory: Trajectory,
    placement: BalloonPlacement,
    device: BalloonDevice,
    prefracture_height_mm: Mapping[str, float] | None = None,
    current_height_mm: Mapping[str, float] | None = None,
    *,
    fine: FineBody | None = None,
    hu_crop: NDArray[np.generic] | None = None,
) -> BalloonResult:
    """Inflate a balloon on its trajectory to ``placement.inflation_ml`` inside the body.

    Parameters
    ----------
    anatomy
        The level (body mask and frame).
    trajectory, placement
        The needle (tip = ``target_lps``) and the balloon on it (``tip_offset_mm`` back from the
        tip to the balloon's distal marker; ``inflation_ml``).
    device
        Catalog entry (nominal length = distance between the end markers).
    prefracture_height_mm, current_height_mm
        Per wall (anterior, middle, posterior) reference and measured heights (mm); the
        endplates move apart by at most their difference. None → endplates fixed.
    fine
        A prepared :class:`FineBody` (shared with the spread model); built if None.

    Returns
    -------
    BalloonResult

    Notes
    -----
    LPS mm, mL. A geometric model (capsule clipped to the cancellous bone), not mechanics;
    the reduction is largely lost after deflation (DOMAIN.md §5.2), so the lift is shown for
    planning the balloon, not as expected restoration.
    """
    fine = fine if fine is not None else fine_body(anatomy, hu_crop)
    p0, p1 = balloon_axis(trajectory, placement, device)
    volume = float(placement.inflation_ml)
    allowed = allowed_lift_mm(prefracture_height_mm, current_height_mm)
    r_max = min(capsule_radius_mm(max(3.0 * volume, 0.05), device.nominal_length_mm), 20.0)
    inf = _Inflation(fine, p0, p1, r_max, allowed)
    fit = inf.fit(volume, r_max) if volume > 0 else inf.evaluate(0.0)
    achieved = min(fit.cavity_ml + fit.lift_ml, volume)
    cavity_ml = min(fit.cavity_ml, achieved - fit.lift_ml)  # bisection overshoot ≤ 1e-6 mL
    contacts, breach, in_pedicle = _contacts(inf, fit)
    cav_fine = _cavity_fine(inf, fit)
    pw = fine.posterior_wall_distance_mm[cav_fine]
    t_sup, t_inf = inf.overreach(fit.radius)
    d = fit.d_sup + fit.d_inf
    have_ref = prefracture_height_mm is not None and current_height_mm is not None
    limited = have_ref and t_sup > 0 and t_inf > 0 and (t_sup + t_inf) > d + 1e-6
    warnings = _warnings(device, volume, volume - achieved, inf.inside, breach, limited, have_ref)
    if in_pedicle:
        warnings.append(
            "The balloon's proximal end lies in the pedicle / at the body's posterior "
            "margin: reduce the offset or advance the needle so it inflates inside "
            "the body."
        )
    srcs = ("balloon_shape", *device.sources, "k132620", "k223709", "pubmed16762891", "vbs2010")
    return BalloonResult(
        placement.side,
        device.id,
        volume,
        achieved,
        cavity_ml,
        fit.lift_ml,
        volume - achieved,
        fit.radius,
        (tuple(p0.tolist()), tuple(p1.tolist())),
        fine_to_crop(fine, cav_fine, anatomy),
        cav_fine,
        contacts,
        breach,
        in_pedicle,
        float(pw.min()) if pw.size else float("nan"),
        {w: min(d, a) for w, a in allowed.items()},
        tuple(warnings),
        cite(srcs),
    )


def balloon_axis(
    trajectory: Trajectory, placement: BalloonPlacement, device: BalloonDevice
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Proximal and distal end-marker positions (LPS mm) of a balloon on its needle.

    Notes
    -----
    The distal marker sits ``tip_offset_mm`` back from the needle tip along the needle; the
    proximal one a nominal length further back.
    """
    tip = np.asarray(trajectory.target_lps, float)
    u = tip - np.asarray(trajectory.skin_entry_lps, float)
    u /= np.linalg.norm(u)
    p1 = tip - placement.tip_offset_mm * u
    return p1 - device.nominal_length_mm * u, p1
