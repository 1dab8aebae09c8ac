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

from planner.anatomy import HEIGHT_POSITIONS_FRAC, LevelAnatomy
from planner.estimate.balloon_catalog import BalloonDevice
from planner.estimate.geometry import (INFERIOR, POSTERIOR, SUPERIOR, WALL, FineBody, fine_body,
                                       fine_to_crop)
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
    posterior_wall_distance_mm: float
    lift_mm: dict[str, float]
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "side": self.side, "device_id": self.device_id,
            "requested_ml": round(self.requested_ml, 2), "volume_ml": round(self.volume_ml, 2),
            "cavity_ml": round(self.cavity_ml, 2), "lift_ml": round(self.lift_ml, 2),
            "unfitted_ml": round(self.unfitted_ml, 2), "radius_mm": round(self.radius_mm, 2),
            "axis_lps": [list(map(lambda v: round(v, 2), p)) for p in self.axis_lps],
            "contacts": dict(self.contacts), "cortex_breach_attempt": self.cortex_breach_attempt,
            "posterior_wall_distance_mm": round(self.posterior_wall_distance_mm, 2),
            "lift_mm": {k: round(v, 2) for k, v in self.lift_mm.items()},
            "warnings": list(self.warnings), "sources": list(self.sources),
        }


def capsule_volume_ml(radius_mm: float, length_mm: float) -> float:
    """Analytic volume of the capsule shape (mL)."""
    r = radius_mm
    return (math.pi * r * r * length_mm + 4.0 / 3.0 * math.pi * r**3) / 1000.0


def capsule_radius_mm(volume_ml: float, length_mm: float) -> float:
    """Radius of the free (unconstrained) capsule holding ``volume_ml``."""
    lo, hi = 0.0, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if capsule_volume_ml(mid, length_mm) < volume_ml else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass
class _Box:
    """Voxels of the fine lattice around the balloon (may extend past the fine grid)."""

    lo: NDArray[np.intp]
    shape: tuple[int, int, int]
    lps: NDArray[np.float64]
    interior: BoolArray
    body: BoolArray
    label: NDArray[np.int8]


def _box(fine: FineBody, p0: NDArray[np.float64], p1: NDArray[np.float64], reach: float) -> _Box:
    pts = np.array([p0 + s * reach for s in np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T]
                   + [p1 + s * reach for s in np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T])
    ijk = fine.grid.lps_to_voxel(pts)
    lo = np.floor(ijk.min(0)).astype(np.intp)[::-1]
    hi = np.ceil(ijk.max(0)).astype(np.intp)[::-1] + 1
    shape = tuple(int(v) for v in hi - lo)
    k, j, i = np.indices(shape)
    lps = fine.grid.voxel_to_lps(np.stack([i + lo[2], j + lo[1], k + lo[0]], -1).astype(np.float64))
    interior, body = np.zeros(shape, bool), np.zeros(shape, bool)
    label = np.zeros(shape, np.int8)
    src_lo, src_hi = np.maximum(lo, 0), np.minimum(hi, fine.grid.shape_kji)
    if np.all(src_hi > src_lo):
        dst = tuple(slice(a - o, b - o) for a, b, o in zip(src_lo, src_hi, lo, strict=True))
        src = tuple(slice(a, b) for a, b in zip(src_lo, src_hi, strict=True))
        interior[dst] = fine.interior[src]
        body[dst] = fine.body[src]
        label[dst] = fine.label[src]
    return _Box(lo, shape, lps, interior, body, label)


def _segment_distance(lps: NDArray[np.float64], p0: NDArray[np.float64], p1: NDArray[np.float64]
                      ) -> NDArray[np.float32]:
    d = p1 - p0
    t = np.clip(((lps - p0) @ d) / float(d @ d), 0.0, 1.0)
    return np.linalg.norm(lps - (p0 + t[..., None] * d), axis=-1).astype(np.float32)


def _lookup(box: _Box, fine: FineBody, lps: NDArray[np.float64]) -> BoolArray:
    kji = np.rint(fine.grid.lps_to_voxel(lps)).astype(np.intp)[..., ::-1] - box.lo
    ok = np.all((kji >= 0) & (kji < np.array(box.shape)), axis=-1)
    out = np.zeros(lps.shape[:-1], bool)
    q = kji[ok]
    out[ok] = box.interior[q[:, 0], q[:, 1], q[:, 2]]
    return out


def _vertical_reach(box: _Box, fine: FineBody, cand: BoolArray, sup: NDArray[np.float64],
                    max_mm: float, sign: float) -> NDArray[np.float32]:
    """For candidate voxels: distance (mm) to interior found going ∓sup, ∞ if none ≤ max_mm."""
    out = np.full(box.shape, np.inf, np.float32)
    idx = np.nonzero(cand)
    pts = box.lps[idx]
    step = 0.5 * float(fine.grid.spacing_mm.min())
    for t in np.arange(step, max_mm + 1e-6, step):
        hit = _lookup(box, fine, pts - sign * t * sup) & ~np.isfinite(out[idx])
        out[tuple(a[hit] for a in idx)] = t
    return out


def _column(box: _Box, fine: FineBody, c: NDArray[np.float64], sup: NDArray[np.float64]
            ) -> tuple[float, float, bool]:
    """Free height above and below the balloon centre along the body's superior axis (mm)."""
    t = np.arange(0.0, 40.0, 0.25)
    up = _lookup(box, fine, c + t[:, None] * sup)
    down = _lookup(box, fine, c - t[:, None] * sup)
    inside = bool(up[0])
    top = float(t[np.argmin(up)]) if not up.all() else 40.0
    bot = float(t[np.argmin(down)]) if not down.all() else 40.0
    return top, bot, inside


def allowed_lift_mm(prefracture: Mapping[str, float] | None, current: Mapping[str, float] | None
                    ) -> dict[str, float]:
    """Per wall: how far the endplates may move apart (pre-fracture − current height, ≥ 0)."""
    if prefracture is None or current is None:
        return {w: 0.0 for w in HEIGHT_POSITIONS_FRAC}
    return {w: max(0.0, float(prefracture[w]) - float(current[w])) for w in HEIGHT_POSITIONS_FRAC}


def _allowed_at(fine: FineBody, c: NDArray[np.float64], allowed: Mapping[str, float]) -> float:
    y0, y1 = fine.body_extent["posterior"]
    frac = (float(fine.frame.to_body(c)[1]) - y0) / max(y1 - y0, 1e-6)
    xs = [HEIGHT_POSITIONS_FRAC[w] for w in ("anterior", "middle", "posterior")]
    return float(np.interp(frac, xs, [allowed[w] for w in ("anterior", "middle", "posterior")]))


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

    def __init__(self, fine: FineBody, p0: NDArray[np.float64], p1: NDArray[np.float64],
                 r_max: float, allowed: Mapping[str, float]) -> None:
        self.fine, self.p0, self.p1 = fine, p0, p1
        sup = fine.frame.superior
        self.centre = 0.5 * (p0 + p1)
        self.lift_max = min(max(allowed.values()), 15.0)
        self.box = _box(fine, p0, p1, r_max + self.lift_max + 1.0)
        self.h = float(fine.grid.spacing_mm.min())
        s = _segment_distance(self.box.lps, p0, p1)
        self.sel = s <= r_max + self.h
        self.s = s[self.sel]
        self.interior = self.box.interior[self.sel]
        self.body = self.box.body[self.sel]
        self.label = self.box.label[self.sel]
        self.top, self.bot, self.inside = _column(self.box, fine, self.centre, sup)
        axis = (p1 - p0) / np.linalg.norm(p1 - p0)
        self.stretch = 1.0 / math.sqrt(max(1.0 - float(axis @ sup) ** 2, 0.05))
        self.allowed_here = _allowed_at(fine, self.centre, allowed)
        n = int(self.sel.sum())
        self.reach_up = self.reach_dn = np.full(n, np.inf, np.float32)
        if self.lift_max > 0 and self.allowed_here > 0:
            above = ((self.box.lps - self.centre) @ sup) > 0
            cand = self.sel & ~self.box.interior
            self.reach_up = _vertical_reach(self.box, fine, cand & above, sup, self.lift_max, 1.0)[self.sel]
            self.reach_dn = _vertical_reach(self.box, fine, cand & ~above, sup, self.lift_max, -1.0)[self.sel]

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
        return _Fit(r, frac, float(frac[self.interior].sum()) * vox,
                    float(frac[lift_zone].sum()) * vox, d_sup, d_inf, lift_zone)

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


def _contacts(inf: _Inflation, fit: _Fit) -> tuple[dict[str, bool], bool]:
    within = inf.s <= fit.radius
    blocked = within & ~inf.interior & ~fit.lift_zone
    lab = inf.label[blocked]  # the shell voxels the balloon presses on
    n_sup, n_inf = int((lab == SUPERIOR).sum()), int((lab == INFERIOR).sum())
    n_wall = int(np.isin(lab, (POSTERIOR, WALL)).sum())
    contacts = {"superior_endplate": n_sup >= _MIN_CONTACT_VOXELS or fit.d_sup > 0,
                "inferior_endplate": n_inf >= _MIN_CONTACT_VOXELS or fit.d_inf > 0,
                "cortex": n_wall >= _MIN_CONTACT_VOXELS}
    outside = within & ~inf.body & ~fit.lift_zone
    return contacts, int(outside.sum()) >= _MIN_CONTACT_VOXELS


def _cavity_fine(inf: _Inflation, fit: _Fit) -> BoolArray:
    fine, box = inf.fine, inf.box
    local = np.zeros(box.shape, bool)
    local[inf.sel] = (inf.s <= fit.radius) & inf.interior
    out = np.zeros(fine.grid.shape_kji, bool)
    lo, hi = np.maximum(box.lo, 0), np.minimum(box.lo + np.array(box.shape), fine.grid.shape_kji)
    if np.all(hi > lo):
        out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = local[
            tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, box.lo, strict=True))]
    return out


def _warnings(device: BalloonDevice, volume_ml: float, unfitted: float, inside: bool,
              breach: bool, limited: bool, have_ref: bool) -> list[str]:
    w: list[str] = []
    mv = device.max_volume
    if mv.value is not None and volume_ml > mv.value + 1e-9:
        w.append(f"{volume_ml:.2f} mL exceeds the device's maximum volume {mv.describe('mL')}.")
    if not inside:
        w.append("The balloon's centre is not in cancellous bone: check the trajectory and offset.")
    if unfitted > 0.01:
        w.append(f"{unfitted:.2f} mL did not fit inside the cancellous bone: in practice the pressure "
                 "would rise; stop at the device's rated pressure "
                 f"({device.max_pressure.describe('psi')}). Pressure is not modelled.")
    if breach:
        w.append("The balloon shape reaches beyond the cortex (cortex breach risk): consider a smaller "
                 "volume, a shorter balloon or another position.")
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
    tip = np.asarray(trajectory.target_lps, float)
    u = tip - np.asarray(trajectory.skin_entry_lps, float)
    u /= np.linalg.norm(u)
    length = device.nominal_length_mm
    p1 = tip - placement.tip_offset_mm * u
    p0 = p1 - length * u
    volume = float(placement.inflation_ml)
    allowed = allowed_lift_mm(prefracture_height_mm, current_height_mm)
    r_max = min(capsule_radius_mm(max(4.0 * volume, 0.05), length), 20.0)
    inf = _Inflation(fine, p0, p1, r_max, allowed)
    fit = inf.fit(volume, r_max) if volume > 0 else inf.evaluate(0.0)
    achieved = min(fit.cavity_ml + fit.lift_ml, volume)
    contacts, breach = _contacts(inf, fit)
    cav_fine = _cavity_fine(inf, fit)
    pw = fine.posterior_wall_distance_mm[cav_fine]
    t_sup, t_inf = inf.overreach(fit.radius)
    d = fit.d_sup + fit.d_inf
    limited = t_sup > 0 and t_inf > 0 and (t_sup + t_inf) > d + 1e-6 and prefracture_height_mm is not None
    warnings = _warnings(device, volume, volume - achieved, inf.inside, breach, limited,
                         prefracture_height_mm is not None and current_height_mm is not None)
    return BalloonResult(
        placement.side, device.id, volume, achieved, fit.cavity_ml, fit.lift_ml, volume - achieved,
        fit.radius, (tuple(p0.tolist()), tuple(p1.tolist())),  # type: ignore[arg-type]
        fine_to_crop(fine, cav_fine, anatomy), cav_fine, contacts, breach,
        float(pw.min()) if pw.size else float("nan"),
        {w: min(d, a) for w, a in allowed.items()}, tuple(warnings),
        cite(("balloon_shape", *device.sources, "k132620", "k223709", "pubmed16762891", "vbs2010")))
