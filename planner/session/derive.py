"""Derived results of a case: findings, estimates, total cement, report content.

The one code path the ``plan``/``check``/``estimate`` commands, the report and the workstation
panels read. Every function is a function of values: the volume (keyed by series UID, geometry
fingerprint and a digest of its HU samples), the level's anatomy (keyed by a digest of its
masks and frame) and the frozen :class:`~planner.session.model.LevelPlan`. Results are cached
in small bounded LRU caches keyed on those content keys (never on ``id()``), so two equal
plans share one result and a changed plan never gets a stale one.

Points LPS mm, volumes mL.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from planner.anatomy import LevelAnatomy, Morphometry
from planner.estimate.balloon_catalog import BalloonCatalog
from planner.estimate.geometry import FineBody
from planner.estimate.report import (
    ClosedForm,
    PlanEstimates,
    closed_form_estimates,
    compute_estimates,
)
from planner.plan.model import Trajectory
from planner.session.model import Case, LevelData, LevelPlan
from planner.trajectory.context import TrajectoryContext
from planner.trajectory.evaluate import TrajectoryResult, evaluate
from planner.volume import CTVolume

T = TypeVar("T")
SEVERITY_ORDER = {"danger": 0, "warning": 1, "info": 2}


class _LRU:
    """A small thread-safe LRU cache of content-keyed results."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self.misses += 1
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


_CONTEXTS = _LRU(8)
_FINDINGS = _LRU(256)
_ESTIMATES = _LRU(32)
_RESULTS = _LRU(256)  # one needle's evaluation: a drag re-evaluates only the moved needle


def clear_caches() -> None:
    """Forget every cached derived result (tests, memory pressure)."""
    for c in (_CONTEXTS, _FINDINGS, _ESTIMATES, _RESULTS):
        c.clear()
    for m in (_VOLUME_KEYS, _ANATOMY_KEYS):
        m.clear()


def cache_stats() -> dict[str, tuple[int, int]]:
    """(hits, misses) per cache: contexts, findings, estimates."""
    return {
        n: (c.hits, c.misses)
        for n, c in (("contexts", _CONTEXTS), ("findings", _FINDINGS), ("estimates", _ESTIMATES))
    }


class _KeyMemo:
    """Remembers the content key computed for the last few objects (identity → key).

    Only saves recomputing a digest for an object already seen (a drag update must stay
    cheap); the caches themselves are keyed on the content key. Holds strong references, so
    an id is never reused while its entry lives; objects are immutable by project rule.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: list[tuple[object, object, str]] = []  # (obj, extra, key)
        self._lock = threading.Lock()

    def get(self, obj: object, extra: object, make: Callable[[], str]) -> str:
        with self._lock:
            for o, e, k in self._items:
                if o is obj and e is extra:
                    return k
        key = make()
        with self._lock:
            self._items.insert(0, (obj, extra, key))
            del self._items[self.size :]
        return key

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_VOLUME_KEYS = _KeyMemo()
_ANATOMY_KEYS = _KeyMemo()


def volume_key(volume: CTVolume) -> str:
    """Content key of a CT: series UID, geometry fingerprint, digest of a HU subsample."""
    return _VOLUME_KEYS.get(volume, None, lambda: _volume_digest(volume))


def _volume_digest(volume: CTVolume) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(volume.series_uid.encode())
    h.update(volume.geometry_fingerprint().encode())
    h.update(np.ascontiguousarray(volume.hu[::5, ::5, ::5]).tobytes())
    return h.hexdigest()


def anatomy_key(anatomy: LevelAnatomy, morphometry: Morphometry | None = None) -> str:
    """Content key of a level's segmentation (masks, crop, frame, pedicle axes) and morphometry.

    The morphometry carries the surgeon's corrections (corrected heights, grades), so a
    corrected level never shares a key with its automatic self. The masks' digest is
    remembered per anatomy object: a dragged point changes only the morphometry part.
    """
    masks = _masks_key(anatomy)
    axes = anatomy.pedicle_axes_lps
    if morphometry is None and not axes:
        return masks
    h = hashlib.blake2b(masks.encode(), digest_size=16)
    if axes:  # the surgeon's pedicle axes
        h.update(repr(sorted(axes.items())).encode())
    if morphometry is not None:
        h.update(repr(morphometry).encode())
    return h.hexdigest()


def _masks_key(anatomy: LevelAnatomy) -> str:
    return _ANATOMY_KEYS.get(anatomy, None, lambda: _anatomy_digest(anatomy))


def _anatomy_digest(anatomy: LevelAnatomy) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{anatomy.level}|{anatomy.offset_kji}|{anatomy.grid.fingerprint()}".encode())
    for m in (anatomy.body, anatomy.pedicle_left, anatomy.pedicle_right, anatomy.canal):
        h.update(np.packbits(np.ascontiguousarray(m, dtype=bool)).tobytes())
    h.update(repr(anatomy.frame).encode())
    return h.hexdigest()


def level_context(volume: CTVolume, data: LevelData) -> TrajectoryContext:
    """The level's trajectory context (distance fields), cached by content.

    Keyed on the volume and the level's masks and frame only: the context does not depend on
    the heights, so moving a morphometry point reuses it. Pedicle axes the surgeon set
    replace the fitted ones on the context of the same masks (no rebuild, a few ms).
    """
    anatomy = data.anatomy
    vkey, masks = volume_key(volume), _masks_key(anatomy)
    axes = anatomy.pedicle_axes_lps

    def build() -> TrajectoryContext:
        plain = replace(anatomy, pedicle_axes_lps={}) if axes else anatomy
        return TrajectoryContext.build(volume, plain, data.morphometry)

    base = _CONTEXTS.get((vkey, masks), build)
    if not axes:
        return base
    from planner.trajectory.pedicle_axis import with_pedicle_axes

    return _CONTEXTS.get((vkey, anatomy_key(anatomy)), lambda: with_pedicle_axes(base, anatomy))


@dataclass(frozen=True, slots=True)
class LevelFinding:
    """One finding of a level's plan, naming the needle's side."""

    side: str
    code: str
    severity: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "side": self.side,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class LevelCheck:
    """Metrics and findings of one level's needles (``evaluate`` per trajectory).

    ``unipedicular`` is the level's :attr:`~planner.session.LevelPlan.is_unipedicular`.
    ``findings`` are all needles' findings, most severe first.
    """

    level: str
    unipedicular: bool
    results: tuple[tuple[Trajectory, TrajectoryResult], ...]
    findings: tuple[LevelFinding, ...]

    @property
    def approach(self) -> str:
        return "unipedicular" if self.unipedicular else "bipedicular"


def check_level_plan(
    ctx: TrajectoryContext,
    lp: LevelPlan,
    evaluate_one: Callable[[Trajectory, bool], TrajectoryResult] | None = None,
) -> LevelCheck:
    """Evaluate every needle of ``lp`` in ``ctx`` with the session's unipedicular rule.

    ``evaluate_one(trajectory, unipedicular)`` replaces the plain evaluation (a cache).
    """
    uni = lp.is_unipedicular
    one = evaluate_one or (lambda t, u: evaluate(ctx, t, unipedicular=u))
    results = tuple((t, one(t, uni)) for t in lp.trajectories)
    found = [
        LevelFinding(t.side, f.code, f.severity, f.message) for t, r in results for f in r.findings
    ]
    found.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return LevelCheck(lp.level, uni, results, tuple(found))


def level_check(volume: CTVolume, case: Case, level: str) -> LevelCheck | None:
    """Findings of ``level`` (None when the level is not planned or not analysed)."""
    lp = case.plan.level(level)
    data = case.level_data(level)
    if lp is None or data is None:
        return None
    vkey, akey = volume_key(volume), anatomy_key(data.anatomy, data.morphometry)
    key = (vkey, akey, lp.level, lp.trajectories, lp.is_unipedicular)

    def make() -> LevelCheck:
        ctx = level_context(volume, data)

        def one(t: Trajectory, uni: bool) -> TrajectoryResult:
            return _RESULTS.get((vkey, akey, t, uni), lambda: evaluate(ctx, t, unipedicular=uni))

        return check_level_plan(ctx, lp, one)

    return _FINDINGS.get(key, make)


def case_checks(volume: CTVolume, case: Case) -> dict[str, LevelCheck | None]:
    """Findings of every planned level, in plan order (None: level not analysed)."""
    return {lp.level: level_check(volume, case, lp.level) for lp in case.plan.levels}


def level_estimates(
    volume: CTVolume,
    case: Case,
    level: str,
    balloon_catalog: BalloonCatalog | None = None,
) -> PlanEstimates | None:
    """Cement, balloons, spread, restoration and comparison of ``level`` (None: not analysed).

    Calls :func:`planner.estimate.compute_estimates` with the level's unipedicular decision.
    """
    lp = case.plan.level(level)
    data = case.level_data(level)
    if lp is None or data is None:
        return None

    def make() -> PlanEstimates:
        return compute_estimates(
            volume,
            data.anatomy,
            data.morphometry,
            lp.legacy(case.series),
            None,
            balloon_catalog,
            unipedicular=lp.is_unipedicular,
        )

    if balloon_catalog is not None:  # a caller's catalog: no content key, not cached
        return make()
    key = (volume_key(volume), anatomy_key(data.anatomy, data.morphometry), lp)
    return _ESTIMATES.get(key, make)


def level_closed_form(
    case: Case, level: str, fine: FineBody | None = None, cavity_ml: float | None = None
) -> ClosedForm | None:
    """The instant part of the estimates of ``level`` (cement, restoration, comparison).

    For live panels while :func:`level_estimates` runs in the background: ``fine`` is the
    body's fine model once known (None: gap flags pending), ``cavity_ml`` the inflated
    balloons' volume (None: the planned inflation volumes of a kyphoplasty level stand in).
    Uses the level's unipedicular decision, like :func:`level_estimates`.
    """
    lp = case.plan.level(level)
    data = case.level_data(level)
    if lp is None or data is None:
        return None
    if cavity_ml is None and lp.procedure == "kyphoplasty" and lp.balloons:
        cavity_ml = sum(b.inflation_ml for b in lp.balloons)
    return closed_form_estimates(
        lp.legacy(case.series), data.morphometry, fine, cavity_ml, lp.is_unipedicular
    )


@dataclass(frozen=True, slots=True)
class CementTotal:
    """Cement to prepare for the whole case (mL).

    ``recommended_ml`` is the sum of the levels' recommended volumes; ``range_ml`` sums the
    levels' lower bounds and upper bounds separately (the bands are treated as fully
    correlated, so the total band is the widest honest one: every level at its low end, or
    every level at its high end). Levels without estimates are listed in ``missing``.
    """

    recommended_ml: float
    range_ml: tuple[float, float]
    levels: tuple[str, ...]
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "recommended": round(self.recommended_ml, 2),
            "range": [round(v, 2) for v in self.range_ml],
            "levels": list(self.levels),
            "missing": list(self.missing),
            "band_rule": "sum of the per-level bands' lower and upper bounds",
        }


def total_cement(per_level: dict[str, PlanEstimates | None]) -> CementTotal:
    """Sum the recommended volumes and the band bounds of the levels (see :class:`CementTotal`)."""
    have = {k: v for k, v in per_level.items() if v is not None}
    rec = sum(e.cement.recommended_ml for e in have.values())
    lo = sum(e.cement.range_ml[0] for e in have.values())
    hi = sum(e.cement.range_ml[1] for e in have.values())
    missing = tuple(k for k, v in per_level.items() if v is None)
    return CementTotal(float(rec), (float(lo), float(hi)), tuple(have), missing)


def case_estimates(
    volume: CTVolume, case: Case, balloon_catalog: BalloonCatalog | None = None
) -> tuple[dict[str, PlanEstimates | None], CementTotal]:
    """Estimates of every planned level (in plan order) and the case's cement total."""
    per = {
        lp.level: level_estimates(volume, case, lp.level, balloon_catalog)
        for lp in case.plan.levels
    }
    return per, total_cement(per)
