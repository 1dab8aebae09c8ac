"""Plan files: JSON in patient LPS millimetres, bound to the series they were made on.

Format (version 4, current)::

    {"format": "vertebral-augmentation-plan", "format_version": 4,
     "coordinate_system": "LPS", "units": "mm",
     "series": {"series_uid": "...", "geometry_fingerprint": "..."},
     "active_level": "L1" | null,
     "levels": [{"level", "confirmed", "procedure", "unipedicular": true | false | null,
                 "trajectories": [{"side", "approach", "needle_id",
                                   "skin_entry_lps", "bone_entry_lps", "target_lps"}],
                 "balloons": [{"side", "device_id", "tip_offset_mm", "inflation_ml"}],
                 "clinical": {...}, "notes": ""}],
     "measurements": [{"kind": "distance" | "angle", "points_lps": [[x, y, z], ...], "view"}],
     "corrections": [{"level", "kind", "key", "automatic", "value"}],
     "indication": {"item id": "answer"}, "attempt": {"shots", "redirections", "time_s"} | null,
     "notes": "", "source_path": "../CT" (relative to the plan file), "saved_by": "planner …"}

Version 3 held one level at the top level (``level``, ``procedure``, ``trajectories``,
``balloons``, ``clinical``, ``notes``); it migrates to one active, unconfirmed level. Version 2
had no measurements. Version 1 (the first prototype's files) kept the series UID and
fingerprint at the top level and called the trajectories ``needles`` with ``entry_lps``, a
``target_lps`` and ``gauge``; its bone entry, unknown, is placed at the skin entry and the
``check`` command re-derives the real bone entry from the image (:mod:`planner.plan.read`).

Loading is strict (:mod:`planner.plan.schema`, :mod:`planner.plan.read`): files above 20 MB,
nested deeper than 32 levels, with more than 10 000 measurements, numbers that are strings,
booleans, non-finite or out of bounds, unknown needle or balloon ids, or balloons on a
vertebroplasty level are refused with a :class:`~planner.errors.PlanFormatError` naming the
file and the field. Saving is atomic (temporary file in the same folder, then
``os.replace``). Loading onto another series raises
:class:`~planner.errors.PlanMismatchError` naming the series the plan belongs to.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from planner.constants import PLAN_MAX_BYTES, PLAN_MAX_DEPTH
from planner.errors import NotFoundError, PlanFormatError, PlanMismatchError
from planner.plan import schema as S
from planner.plan.model import Plan, SeriesBinding
from planner.plan.read import (
    FORMAT_NAME,
    FORMAT_VERSION,
    case_plan_from_dict,
    migrate,
    volume_bounds,
)
from planner.session.model import AnalysisLike, Case, CasePlan, LevelPlan
from planner.volume import CTVolume

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LoadedPlan",
    "case_plan_from_dict",
    "case_plan_to_dict",
    "check_binding",
    "load_case_plan",
    "load_plan",
    "migrate",
    "plan_from_dict",
    "plan_to_dict",
    "resolve_source_path",
    "save_case_plan",
    "save_plan",
    "stored_source_path",
    "volume_bounds",
]

log = logging.getLogger(__name__)


def _level_to_dict(lp: LevelPlan) -> dict[str, Any]:
    clinical = asdict(lp.clinical)
    if clinical["supine_heights_mm"] is not None:
        clinical["supine_heights_mm"] = list(clinical["supine_heights_mm"])
    return {
        "level": lp.level,
        "confirmed": lp.confirmed,
        "procedure": lp.procedure,
        "unipedicular": lp.unipedicular,
        "trajectories": [
            {
                "side": t.side,
                "approach": t.approach,
                "needle_id": t.needle_id,
                "skin_entry_lps": list(t.skin_entry_lps),
                "bone_entry_lps": list(t.bone_entry_lps),
                "target_lps": list(t.target_lps),
            }
            for t in lp.trajectories
        ],
        "balloons": [asdict(b) for b in lp.balloons],
        "clinical": clinical,
        "notes": lp.notes,
    }


def case_plan_to_dict(series: SeriesBinding, plan: CasePlan) -> dict[str, Any]:
    """The current-format (version 4) JSON object for a multi-level plan."""
    from planner import __version__

    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "coordinate_system": "LPS",
        "units": "mm",
        "series": {
            "series_uid": series.series_uid,
            "geometry_fingerprint": series.geometry_fingerprint,
        },
        "active_level": plan.active_level,
        "levels": [_level_to_dict(lp) for lp in plan.levels],
        "measurements": [
            {"kind": m.kind, "points_lps": [list(p) for p in m.points_lps], "view": m.view}
            for m in plan.measurements
        ],
        "corrections": [
            {
                "level": c.level,
                "kind": c.kind,
                "key": c.key,
                "automatic": c.automatic,
                "value": c.value,
            }
            for c in plan.corrections
        ],
        "indication": dict(plan.indication),
        "attempt": None if plan.attempt is None else asdict(plan.attempt),
        "notes": plan.notes,
        "saved_by": f"planner {__version__}",
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The current-format JSON object for a single-level plan (one level, active, unconfirmed)."""
    case = Case.from_legacy(plan)
    return case_plan_to_dict(case.series, case.plan)


def plan_from_dict(data: Any, level: str | None = None) -> Plan:
    """A single-level :class:`Plan` (compatibility): ``level``, else the active or only level.

    A plan file without levels gives an empty L1 plan carrying the measurements.
    """
    series, plan = case_plan_from_dict(data)
    return _legacy(series, plan, level)


def _legacy(series: SeriesBinding, plan: CasePlan, level: str | None) -> Plan:
    lp = plan.level(level) if level else plan.active
    if lp is None and level is None and plan.levels:
        lp = plan.levels[0]
    if lp is None:
        if level:
            raise PlanFormatError(
                f"the plan has no level {level} ({', '.join(plan.level_names())})"
            )
        return Plan(series, measurements=plan.measurements)
    return lp.legacy(series, plan.measurements)


def check_binding(
    plan: Plan, series_uid: str, geometry_fingerprint: str, path: str | Path = ""
) -> None:
    """Refuse a plan made on another series (or on a differently resampled copy of it).

    Raises
    ------
    PlanMismatchError
        Naming the series and geometry the plan belongs to and the ones it was opened on.
    """
    b = plan.series
    where = f"{path}: " if path else ""
    if b.series_uid != series_uid:
        raise PlanMismatchError(
            f"{where}this plan belongs to series {b.series_uid} "
            f"(geometry {b.geometry_fingerprint}), "
            f"not to the open series {series_uid}; open series {b.series_uid} to use it"
        )
    if b.geometry_fingerprint != geometry_fingerprint:
        raise PlanMismatchError(
            f"{where}this plan belongs to series {b.series_uid} with geometry "
            f"{b.geometry_fingerprint}, but the open copy has geometry {geometry_fingerprint} "
            "(resampled or cropped differently); open the original reconstruction"
        )


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    """A validated plan file: its series, its plan and the study it was made from.

    ``source_path`` is the recorded study location resolved against the plan file's folder
    (or a marker such as ``"demo:"``), "" when none was recorded.
    """

    series: SeriesBinding
    plan: CasePlan
    source_path: str = ""

    def case(self, analysis: AnalysisLike | None = None) -> Case:
        return Case(self.series, self.plan, analysis)


def _read_json(p: Path) -> Any:
    if not p.is_file():
        raise NotFoundError(path=p)
    try:
        size = p.stat().st_size
        if size > PLAN_MAX_BYTES:
            raise PlanFormatError(
                f"the plan file is {size / 1e6:.1f} MB; plan files above "
                f"{PLAN_MAX_BYTES / 1e6:.0f} MB are refused — this is not a plan saved by "
                "the planner",
                path=p,
            )
        data = json.loads(p.read_text(encoding="utf-8"))
    except RecursionError:
        raise PlanFormatError(
            "the plan file is nested too deeply to be a plan; it was refused", path=p
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFormatError(f"cannot read the plan file ({exc})", path=p) from exc
    if S.json_depth(data, PLAN_MAX_DEPTH) > PLAN_MAX_DEPTH:
        raise PlanFormatError(
            f"the plan file is nested more than {PLAN_MAX_DEPTH} levels deep; it was refused",
            path=p,
        )
    return data


def load_case_plan(
    path: str | Path,
    series_uid: str | None = None,
    geometry_fingerprint: str | None = None,
    volume: CTVolume | None = None,
) -> LoadedPlan:
    """Read and validate a plan file (any version) with all its levels.

    Parameters
    ----------
    path
        The plan file.
    series_uid, geometry_fingerprint
        When given, a plan made on another series is refused (:class:`PlanMismatchError`).
    volume
        When given, coordinates must lie within ± 1 m of its bounding box (LPS mm), and its
        series is checked like ``series_uid``/``geometry_fingerprint``.

    Raises
    ------
    PlanFormatError
        Naming the file, the field and what to do.
    """
    p = Path(path)
    data = _read_json(p)
    bounds = volume_bounds(volume) if volume is not None else None
    try:
        series, plan = case_plan_from_dict(data, bounds)
    except PlanFormatError as exc:
        raise PlanFormatError(f"{p}: {exc}; fix or re-save the plan", path=p) from exc
    if volume is not None and series_uid is None:
        series_uid, geometry_fingerprint = volume.series_uid, volume.geometry_fingerprint()
    if series_uid is not None:
        legacy = Plan(series)
        check_binding(legacy, series_uid, geometry_fingerprint or series.geometry_fingerprint, p)
    src = data.get("source_path") if isinstance(data, dict) else None
    return LoadedPlan(series, plan, resolve_source_path(p, src) if isinstance(src, str) else "")


def load_plan(
    path: str | Path,
    series_uid: str | None = None,
    geometry_fingerprint: str | None = None,
    level: str | None = None,
) -> Plan:
    """Read a plan file as a single-level :class:`Plan` (compatibility; see
    :func:`load_case_plan` for every level).

    Notes
    -----
    Points are patient LPS mm. Older format versions are migrated in memory; the file is not
    rewritten until saved. The level is ``level``, else the active level, else the first.
    """
    loaded = load_case_plan(path, series_uid, geometry_fingerprint)
    try:
        return _legacy(loaded.series, loaded.plan, level)
    except PlanFormatError as exc:
        raise PlanFormatError(str(exc), path=Path(path)) from exc


def stored_source_path(plan_path: Path, source_path: str, absolute: bool = False) -> str:
    """How the study location is written: relative to the plan file's folder when possible.

    A relative path keeps the folder names above the plan (which often carry the patient's
    name) out of the file. Markers such as ``"demo:"`` are kept as they are; ``absolute``
    stores the absolute path (only when the user asks).
    """
    if ":" in source_path and not Path(source_path).exists():
        return source_path  # a marker ("demo:"), not a path
    src = Path(source_path).resolve()
    if absolute:
        return str(src)
    try:
        return os.path.relpath(src, plan_path.resolve().parent)
    except ValueError:  # another drive (Windows): nothing relative exists
        return str(src)


def resolve_source_path(plan_path: str | Path, stored: str) -> str:
    """The study location recorded in a plan file, resolved against the plan file's folder."""
    if not stored or (
        ":" in stored
        and not Path(stored).is_absolute()
        and len(stored) > 2
        and stored.endswith(":")
    ):
        return stored
    p = Path(stored)
    if p.is_absolute():
        return str(p)
    return str((Path(plan_path).resolve().parent / p).resolve())


def save_case_plan(
    series: SeriesBinding,
    plan: CasePlan,
    path: str | Path,
    source_path: str | None = None,
    absolute_source: bool = False,
) -> Path:
    """Write a multi-level plan (format 4) atomically; returns the path.

    ``source_path`` (optional) records where the study was opened from, relative to the plan
    file unless ``absolute_source`` (see :func:`stored_source_path`).
    """
    p = Path(path)
    data = case_plan_to_dict(series, plan)
    if source_path:
        data["source_path"] = stored_source_path(p, str(source_path), absolute_source)
    _write_atomic(p, json.dumps(data, indent=2) + "\n")
    return p


def save_plan(
    plan: Plan, path: str | Path, source_path: str | None = None, absolute_source: bool = False
) -> Path:
    """Write a single-level plan atomically (format 4, one active level); returns the path."""
    case = Case.from_legacy(plan)
    return save_case_plan(case.series, case.plan, path, source_path, absolute_source)


def _write_atomic(p: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    remove_stale_temporaries(p)


STALE_TEMPORARY_S = 60.0  # a save takes milliseconds: an older temporary is from a killed save


def remove_stale_temporaries(p: Path, now: float | None = None) -> list[Path]:
    """Remove ``.<name>.*.tmp`` files beside ``p`` left by a save that was killed.

    Only files older than :data:`STALE_TEMPORARY_S` are removed, so a save running in another
    process at the same moment keeps its file. Returns the removed paths.
    """
    import time

    limit = (time.time() if now is None else now) - STALE_TEMPORARY_S
    removed = []
    for tmp in p.parent.glob(f".{p.name}.*.tmp"):
        try:
            if tmp.stat().st_mtime < limit:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # gone meanwhile or not ours to remove: leave it
            continue
    return removed
