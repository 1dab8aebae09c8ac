"""Where the cement goes first: a minimum-resistance front from the needle tips.

Qualitative only (DOMAIN.md §7.4 [derived]): Darcy-like flow whose local resistance falls
with porosity (Kozeny–Carman form k ∝ n³/(1−n)², n = 1 − bone volume fraction, the fraction
from HU by an uncalibrated linear proxy); the front is a Dijkstra shortest path on an 18-
connected ≤ 0.5 mm voxel graph of the cancellous bone; intact cortex and endplates are
barriers, cortical gaps are not; a kyphoplasty cavity fills first. Voxels fill in arrival
order until the planned volume is placed. Leak points are where the front reaches a cortical
gap, an endplate gap (disc) or the basivertebral-foramen region of the posterior wall. It
never gives a leak probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy
from planner.constants import SPREAD_POSTERIOR_CAUTION_FRAC
from planner.errors import AnalysisError
from planner.estimate.geometry import (
    INFERIOR,
    RIM_MM,
    SHELL_MM,
    SUPERIOR,
    FineBody,
    fine_body,
)
from planner.estimate.leaks import LeakPoint, leak_points
from planner.estimate.sources import cite
from planner.grid import ImageGrid

BoolArray = NDArray[np.bool_]
#: HU of fatty marrow and of fully mineralised bone for the bone-fraction proxy
#: [assumption: uncalibrated; HU→BMD is scanner-specific, DOMAIN.md §7.2].
HU_MARROW, HU_BONE = -50.0, 1200.0
#: Exponent on the resistance by cement viscosity [assumption: qualitative — a more viscous
#: cement than marrow gives a more stable, compact front (Trivedi 2023, DOMAIN.md §7.4)].
VISCOSITY_EXPONENT = {"high": 0.6, "standard": 1.0, "low": 1.6}
_OFFSETS = [
    (0, 0, 1),
    (0, 1, 0),
    (1, 0, 0),
    (0, 1, 1),
    (0, 1, -1),
    (1, 0, 1),
    (1, 0, -1),
    (1, 1, 0),
    (1, -1, 0),
]


@dataclass(frozen=True, eq=False)
class SpreadResult:
    """The planned cement cloud.

    Notes
    -----
    ``fill_ml[k, j, i]`` on ``grid`` (≤ 0.5 mm, LPS) is the injected volume (mL) at which the
    voxel fills (∞ outside the cloud): ``cloud_at(v)`` animates the injection.
    """

    grid: ImageGrid
    fill_ml: NDArray[np.float64]
    volume_ml: float
    requested_ml: float
    touches_both_endplates: bool
    crosses_midline: bool
    posterior_wall_distance_mm: float
    leak_points: tuple[LeakPoint, ...]
    step_ml: float = 0.1
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())

    @property
    def cloud(self) -> BoolArray:
        return np.isfinite(self.fill_ml)

    def cloud_at(self, injected_ml: float) -> BoolArray:
        return self.fill_ml <= injected_ml + 1e-9

    def frames_ml(self) -> NDArray[np.float64]:
        """Injected volumes at which to show the animation (every ``step_ml``, then the end)."""
        v = np.arange(self.step_ml, self.volume_ml - 0.5 * self.step_ml, self.step_ml)
        return np.append(v, self.volume_ml)

    def to_json(self) -> dict[str, object]:
        return {
            "volume_ml": round(self.volume_ml, 3),
            "requested_ml": round(self.requested_ml, 3),
            "touches_both_endplates": self.touches_both_endplates,
            "crosses_midline": self.crosses_midline,
            "posterior_wall_distance_mm": round(self.posterior_wall_distance_mm, 2),
            "leak_points": [lp.to_json() for lp in self.leak_points],
            "warnings": list(self.warnings),
            "sources": list(self.sources),
        }


def _crop_hu(volume_hu: object, anatomy: LevelAnatomy) -> NDArray[np.generic]:
    hu = np.asarray(getattr(volume_hu, "hu", volume_hu))
    if hu.shape == tuple(anatomy.grid.shape_kji):
        return hu
    k, j, i = anatomy.offset_kji
    nk, nj, ni = anatomy.grid.shape_kji
    out = hu[k : k + nk, j : j + nj, i : i + ni]
    if out.shape != (nk, nj, ni):
        raise ValueError(
            f"HU array {hu.shape} does not contain the {anatomy.level} crop "
            f"{anatomy.grid.shape_kji} at {anatomy.offset_kji}"
        )
    return out


def resistance(hu: NDArray[np.floating], viscosity: str = "standard") -> NDArray[np.float32]:
    """Relative flow resistance of cancellous voxels from HU (dimensionless, qualitative)."""
    bvtv = np.clip((hu - HU_MARROW) / (HU_BONE - HU_MARROW), 0.02, 0.9)
    n = 1.0 - bvtv
    res = bvtv**2 / n**3
    res = res / float(np.median(res)) if res.size else res
    return np.asarray(res ** VISCOSITY_EXPONENT[viscosity], dtype=np.float32)


def _graph(
    node_id: NDArray[np.int64], res: NDArray[np.float32], spacing_kji: NDArray[np.float64]
) -> tuple[list[NDArray[np.int64]], list[NDArray[np.int64]], list[NDArray[np.float32]]]:
    rows, cols, wts = [], [], []
    shape = node_id.shape
    for off in _OFFSETS:
        length = float(np.linalg.norm(np.asarray(off) * spacing_kji))
        src = tuple(slice(max(0, -o), s - max(0, o)) for o, s in zip(off, shape, strict=True))
        dst = tuple(slice(max(0, o), s - max(0, -o)) for o, s in zip(off, shape, strict=True))
        a, b = node_id[src], node_id[dst]
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        rows.append(a)
        cols.append(b)
        wts.append((0.5 * length * (res[a] + res[b])).astype(np.float32))
    return rows, cols, wts


def _tip_nodes(
    fine: FineBody, node_id: NDArray[np.int64], tips: Sequence[Sequence[float]]
) -> tuple[list[int], list[str]]:
    out, warn = [], []
    sp = fine.grid.spacing_mm
    for tip in tips:
        c = np.rint(fine.grid.lps_to_voxel(np.asarray(tip, float))).astype(int)[::-1]
        r = np.ceil(3.0 / sp[::-1]).astype(int)
        lo, hi = np.maximum(c - r, 0), np.minimum(c + r + 1, node_id.shape)
        if np.any(hi <= lo):
            warn.append(
                f"needle tip {tuple(round(v, 1) for v in tip)} is outside the body: ignored"
            )
            continue
        win = node_id[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        idx = np.argwhere(win >= 0)
        if idx.size == 0:
            warn.append(
                f"needle tip {tuple(round(v, 1) for v in tip)} is not within 3 mm of "
                "cancellous bone: ignored"
            )
            continue
        d = np.linalg.norm((idx + lo - c) * sp[::-1], axis=1)
        best = idx[int(np.argmin(d))] + lo
        out.append(int(node_id[tuple(best)]))
    return out, warn


def _fine_mask(mask: BoolArray | None, fine: FineBody, anatomy: LevelAnatomy) -> BoolArray | None:
    if mask is None:
        return None
    m = np.asarray(mask, bool)
    if m.shape == tuple(fine.grid.shape_kji):
        return m
    if m.shape != tuple(anatomy.grid.shape_kji):
        raise ValueError(f"cavity shape {m.shape} matches neither the crop nor the fine grid")
    from planner.estimate.geometry import _resample

    return _resample(m, fine.crop_to_fine, fine.grid.shape_kji, 0.0) >= 0.5


def _arrival(
    fine: FineBody, nodes: BoolArray, cavity: BoolArray | None, tips: list[int], viscosity: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Dijkstra from a virtual source joined to the tips and (nearly free) to the cavity."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    assert fine.hu is not None
    flat = np.flatnonzero(nodes)
    node_id = np.full(nodes.shape, -1, np.int64)
    node_id.ravel()[flat] = np.arange(flat.size)
    res = resistance(fine.hu.ravel()[flat], viscosity)
    cav_nodes = np.empty(0, np.int64)
    if cavity is not None:
        cav_nodes = node_id[cavity & nodes]
        res[cav_nodes] = 1e-4
    rows, cols, wts = _graph(node_id, res, fine.grid.spacing_mm[::-1])
    n = flat.size
    src_rows = [np.full(len(tips) + cav_nodes.size, n, np.int64)]
    tip_xyz = np.array([np.unravel_index(flat[t], nodes.shape) for t in tips], float)
    cav_xyz = np.stack(np.unravel_index(flat[cav_nodes], nodes.shape), 1).astype(float)
    cav_d = (
        np.min(
            np.linalg.norm((cav_xyz[:, None] - tip_xyz[None]) * fine.grid.spacing_mm[::-1], axis=2),
            axis=1,
        )
        if cav_nodes.size
        else np.empty(0)
    )
    src_cols = [np.asarray(tips, np.int64), cav_nodes]
    src_w = [np.full(len(tips), 1e-9, np.float32), (1e-6 * (1.0 + cav_d)).astype(np.float32)]
    g = coo_matrix(
        (
            np.concatenate(wts + src_w),
            (np.concatenate(rows + src_rows), np.concatenate(cols + src_cols)),
        ),
        shape=(n + 1, n + 1),
    ).tocsr()
    dist = dijkstra(g, directed=False, indices=n)[:n]
    return flat, dist, node_id


def _cloud_metrics(fine: FineBody, cloud: BoolArray) -> tuple[bool, bool, float]:
    touching = cloud & (fine.depth_mm <= SHELL_MM + RIM_MM + 1e-3)  # within 1 mm of the shell
    labels = fine.label[touching]
    both = bool((labels == SUPERIOR).sum() >= 4 and (labels == INFERIOR).sum() >= 4)
    idx = np.argwhere(cloud)
    x = fine.frame.to_body(fine.grid.voxel_to_lps(idx[:, ::-1].astype(float)))[:, 0]
    crosses = bool(x.size and x.min() <= -1.0 and x.max() >= 1.0)
    pw = fine.posterior_wall_distance_mm[cloud]
    return both, crosses, float(pw.min()) if pw.size else float("nan")


def _posterior_caution(fine: FineBody, posterior_wall_mm: float) -> list[str]:
    """A caution when the planned cloud reaches the posterior quarter of the body's depth."""
    front, back = fine.body_extent["posterior"]
    limit_mm = SPREAD_POSTERIOR_CAUTION_FRAC * (back - front)
    if not np.isfinite(posterior_wall_mm) or posterior_wall_mm >= limit_mm:
        return []
    return [
        f"the cement front reaches the posterior quarter of the body ({posterior_wall_mm:.1f} mm "
        f"from the posterior wall, body depth {back - front:.0f} mm) within the planned volume: "
        "watch the lateral view and stop before cement reaches the posterior quarter"
    ]


def simulate_spread(
    volume_hu: object,
    anatomy: LevelAnatomy,
    tips: Sequence[Sequence[float]],
    volume_ml: float,
    cavity: BoolArray | None = None,
    viscosity: str = "standard",
    step_ml: float = 0.1,
    *,
    fine: FineBody | None = None,
) -> SpreadResult:
    """Fill the cancellous bone from the needle tips in order of flow resistance.

    Parameters
    ----------
    volume_hu
        CT HU: a :class:`~planner.volume.CTVolume`, the full ``[k, j, i]`` array or the crop.
    anatomy
        The level (body mask, frame).
    tips
        Needle tips, LPS mm.
    volume_ml
        Cement volume to place (mL).
    cavity
        Kyphoplasty cavity (crop or fine grid); fills first.
    viscosity
        ``"high"``, ``"standard"`` or ``"low"`` (qualitative effect on the front's shape).
    step_ml
        Animation step (mL).
    fine
        A prepared :class:`FineBody` with HU (shared with the balloon model).

    Returns
    -------
    SpreadResult

    Notes
    -----
    LPS mm, mL. Where cement goes first — qualitative (DOMAIN.md §7.4); not a leak probability.
    """
    if viscosity not in VISCOSITY_EXPONENT:
        raise ValueError(f"viscosity must be high, standard or low, got {viscosity!r}")
    if not (0.0 < volume_ml <= 20.0):
        raise ValueError(f"volume_ml must be within (0, 20] mL, got {volume_ml}")
    if fine is None or fine.hu is None:
        fine = fine_body(anatomy, _crop_hu(volume_hu, anatomy))
    nodes = (fine.interior | fine.gap) & fine.body
    cav = _fine_mask(cavity, fine, anatomy)
    if cav is not None:
        nodes |= cav & fine.body
    node_id0 = np.full(nodes.shape, -1, np.int64)
    node_id0[nodes] = np.arange(int(nodes.sum()))
    tip_ids, warnings = _tip_nodes(fine, node_id0, tips)
    if not tip_ids:
        raise AnalysisError(
            f"{anatomy.level}: no needle tip lies in the cancellous bone of the "
            "body; place the tips inside the body before simulating cement"
        )
    flat, dist, node_id = _arrival(fine, nodes, cav, tip_ids, viscosity)
    fill, rank, n_fill = _fill_in_order(flat, dist, nodes.shape, volume_ml, fine.voxel_ml, warnings)
    both, crosses, pw = _cloud_metrics(fine, np.isfinite(fill))
    leaks = leak_points(fine, nodes, node_id, rank, n_fill)
    warnings.extend(_posterior_caution(fine, pw))
    warnings.extend(fine.notes)
    srcs = (
        "flow74",
        "hu_porosity",
        "foramen_zone",
        "zderic2016",
        "jors2021leak",
        "bmcmsk2020",
        "pmc7427078",
        "posterior_quarter",
    )
    return SpreadResult(
        fine.grid,
        fill,
        n_fill * fine.voxel_ml,
        float(volume_ml),
        both,
        crosses,
        pw,
        tuple(leaks),
        step_ml,
        tuple(warnings),
        cite(srcs),
    )


def _fill_in_order(
    flat: NDArray[np.int64],
    dist: NDArray[np.float64],
    shape: tuple[int, ...],
    volume_ml: float,
    vox: float,
    warnings: list[str],
) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
    """Fill nodes by arrival until ``volume_ml`` is placed: fill volume per voxel, ranks, count."""
    reach = np.isfinite(dist)
    order = np.argsort(np.where(reach, dist, np.inf), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    n_fill = min(int(round(volume_ml / vox)), int(reach.sum()))
    if n_fill * vox < 0.98 * volume_ml:
        warnings.append(
            f"only {n_fill * vox:.2f} mL of cancellous bone is reachable from the tips; "
            f"{volume_ml:.2f} mL cannot be placed inside the body"
        )
    fill = np.full(shape, np.inf, np.float64)
    fill.ravel()[flat[order[:n_fill]]] = (np.arange(n_fill, dtype=np.float64) + 1) * vox
    return fill, rank, n_fill
