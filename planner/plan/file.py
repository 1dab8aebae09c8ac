"""Plan files: JSON in patient LPS millimetres, bound to the series they were made on.

Format (version 3, current)::

    {"format": "vertebral-augmentation-plan", "format_version": 2,
     "coordinate_system": "LPS", "units": "mm",
     "series": {"series_uid": "...", "geometry_fingerprint": "..."},
     "level": "L1", "procedure": "vertebroplasty",
     "trajectories": [{"side", "approach", "needle_id",
                       "skin_entry_lps", "bone_entry_lps", "target_lps"}],
     "balloons": [{"side", "device_id", "tip_offset_mm", "inflation_ml"}],
     "clinical": {...}, "notes": "",
     "measurements": [{"kind": "distance" | "angle", "points_lps": [[x, y, z], ...], "view"}],
     "saved_by": "planner 0.1.0"}

Version 2 had no measurements (the user's distances and angles); :func:`migrate` gives it an
empty list.

Version 1 (the first prototype's files) kept the series UID and fingerprint at the top level,
called the trajectories ``needles`` with ``entry_lps`` (the skin entry), ``target_lps`` and
``gauge``, and had no bone entry, balloons or clinical inputs. :func:`migrate` upgrades it: the
bone entry, unknown in v1, is placed on the line at the skin entry and the ``check`` command
re-derives the real bone entry from the image.

Saving is atomic (temporary file in the same folder, then ``os.replace``) so a crash never
leaves half a plan. Loading onto another series raises :class:`~planner.errors.PlanMismatchError`
naming the series the plan belongs to (DESIGN.md §2).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from planner.constants import (
    PLAN_MAX_BYTES,
    PLAN_MAX_DEPTH,
    PLAN_MAX_MEASUREMENTS,
    PLAN_VOLUME_MARGIN_MM,
)
from planner.errors import InputError, NotFoundError, PlanFormatError, PlanMismatchError
from planner.plan import schema as S
from planner.plan.catalog import load_catalog
from planner.plan.model import (
    ACUITIES,
    APPROACHES,
    LEVEL_NAMES,
    MEASUREMENT_POINTS,
    PROCEDURES,
    SIDES,
    VISCOSITIES,
    BalloonPlacement,
    ClinicalInputs,
    Plan,
    PlanMeasurement,
    SeriesBinding,
    Trajectory,
)
from planner.plan.schema import Bounds
from planner.session.model import (
    CORRECTION_KINDS,
    AnalysisLike,
    Attempt,
    Case,
    CasePlan,
    Correction,
    LevelPlan,
)
from planner.volume import CTVolume

log = logging.getLogger(__name__)

FORMAT_NAME = "vertebral-augmentation-plan"
FORMAT_VERSION = 4


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


def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v for k, v in data.items() if k not in ("series_uid", "geometry_fingerprint", "needles")
    }
    out["format"] = FORMAT_NAME
    out["format_version"] = 2
    out["series"] = {
        "series_uid": data.get("series_uid"),
        "geometry_fingerprint": data.get("geometry_fingerprint"),
    }
    trajs = []
    for n in data.get("needles", []):
        if not isinstance(n, dict):
            raise PlanFormatError(f"version-1 needle entry must be an object, got {n!r}")
        trajs.append(
            {
                "side": n.get("side"),
                "approach": n.get("approach", "transpedicular"),
                "needle_id": str(n.get("gauge", "11G")),
                "skin_entry_lps": n.get("entry_lps"),
                "bone_entry_lps": n.get("entry_lps"),
                "target_lps": n.get("target_lps"),
            }
        )
    out["trajectories"] = trajs
    out.setdefault("balloons", [])
    out.setdefault("clinical", {})
    out.setdefault("notes", "")
    return out


def _migrate_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "format_version": 3, "measurements": []}


_MIGRATIONS = {1: _migrate_v1, 2: _migrate_v2}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a decoded plan file to the current format version, one step at a time."""
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise PlanFormatError(f"'format_version' must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise PlanFormatError(
            f"format_version {version} is newer than this planner understands "
            f"({FORMAT_VERSION}); update the planner"
        )
    while version < FORMAT_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise PlanFormatError(f"format_version {version} is not supported")
        log.info("migrating plan file from format version %d", version)
        data = step(data)
        version = data["format_version"]
    return data


def _migrate_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 (one level at the top level) → version 4 (a list of levels)."""
    level = {
        "level": data.get("level", "L1"),
        "confirmed": False,
        "procedure": data.get("procedure", "vertebroplasty"),
        "unipedicular": None,
        "trajectories": data.get("trajectories", []),
        "balloons": data.get("balloons", []),
        "clinical": data.get("clinical") or {},
        "notes": data.get("notes", ""),
    }
    drop = ("level", "procedure", "trajectories", "balloons", "clinical", "notes")
    out = {k: v for k, v in data.items() if k not in drop}
    out.update(
        format_version=4,
        levels=[level],
        active_level=level["level"],
        corrections=[],
        indication={},
        attempt=None,
        notes="",
    )
    return out


_MIGRATIONS[3] = _migrate_v3


def _trajectory(d: object, where: str, b: Bounds) -> Trajectory:
    t = S.obj(d, where)
    needle = S.string(t.get("needle_id", "11G"), f"{where}.needle_id")
    try:
        load_catalog().needle(needle)
    except InputError as exc:
        raise S.SchemaError(f"{where}.needle_id: {exc}") from None
    return Trajectory(
        S.string(t.get("side"), f"{where}.side", SIDES),  # type: ignore[arg-type]
        S.string(t.get("approach", "transpedicular"), f"{where}.approach", APPROACHES),
        S.point(t.get("skin_entry_lps"), f"{where}.skin_entry_lps", b),
        S.point(t.get("bone_entry_lps"), f"{where}.bone_entry_lps", b),
        S.point(t.get("target_lps"), f"{where}.target_lps", b),
        needle,
    )


def _balloon(d: object, where: str) -> BalloonPlacement:
    o = S.obj(d, where)
    device = S.string(o.get("device_id"), f"{where}.device_id")
    from planner.estimate.balloon_catalog import load_balloon_catalog

    try:
        load_balloon_catalog().get(device)
    except InputError as exc:
        raise S.SchemaError(f"{where}.device_id: {exc}") from None
    return BalloonPlacement(
        S.string(o.get("side"), f"{where}.side", SIDES),  # type: ignore[arg-type]
        device,
        S.number(o.get("tip_offset_mm", 0.0), f"{where}.tip_offset_mm", 0.0, 40.0),
        S.number(o.get("inflation_ml", 2.0), f"{where}.inflation_ml", 0.0, 10.0),
    )


def _clinical(d: object, where: str) -> ClinicalInputs:
    c = S.obj({} if d is None else d, where)
    sup = c.get("supine_heights_mm")
    heights = None
    if sup is not None:
        items = S.array(sup, f"{where}.supine_heights_mm")
        if len(items) != 3:
            raise S.SchemaError(f"{where}.supine_heights_mm must be three heights (mm)")
        h = [S.number(v, f"{where}.supine_heights_mm[{i}]", 0, 100) for i, v in enumerate(items)]
        heights = (h[0], h[1], h[2])
    return ClinicalInputs(
        S.opt_number(c.get("fracture_age_weeks"), f"{where}.fracture_age_weeks", 0, 520),
        S.string(c.get("acuity", "unknown"), f"{where}.acuity", ACUITIES),
        S.string(c.get("cement_viscosity", "standard"), f"{where}.cement_viscosity", VISCOSITIES),
        S.boolean(c.get("intravertebral_cleft", False), f"{where}.intravertebral_cleft"),
        heights,
        S.number(c.get("extra_interdigitation_ml", 0.0), f"{where}.extra_interdigitation_ml", 0, 5),
    )


def _level(d: object, where: str, b: Bounds) -> LevelPlan:
    o = S.obj(d, where)
    name = S.string(o.get("level"), f"{where}.level", LEVEL_NAMES)
    procedure = S.string(o.get("procedure", "vertebroplasty"), f"{where}.procedure", PROCEDURES)
    balloons_raw = S.array(o.get("balloons", []), f"{where}.balloons", 2)
    if balloons_raw and procedure != "kyphoplasty":
        raise S.SchemaError(
            f"{where}: level {name} is a vertebroplasty but lists {len(balloons_raw)} "
            "balloon(s); balloons need a kyphoplasty plan — set the procedure to kyphoplasty "
            "or remove the balloons"
        )
    trajs = S.array(o.get("trajectories", []), f"{where}.trajectories", 2)
    return LevelPlan(
        name,
        S.boolean(o.get("confirmed", False), f"{where}.confirmed"),
        procedure,
        tuple(_trajectory(t, f"{where}.trajectories[{i}]", b) for i, t in enumerate(trajs)),
        tuple(_balloon(x, f"{where}.balloons[{i}]") for i, x in enumerate(balloons_raw)),
        _clinical(o.get("clinical"), f"{where}.clinical"),
        S.opt_boolean(o.get("unipedicular"), f"{where}.unipedicular"),
        S.string(o.get("notes", ""), f"{where}.notes"),
    )


def _measurement(d: object, where: str, b: Bounds) -> PlanMeasurement:
    o = S.obj(d, where)
    kind = S.string(o.get("kind"), f"{where}.kind", tuple(MEASUREMENT_POINTS))
    pts = S.array(o.get("points_lps"), f"{where}.points_lps", 3)
    return PlanMeasurement(
        kind,
        tuple(S.point(p, f"{where}.points_lps[{i}]", b) for i, p in enumerate(pts)),
        S.string(o.get("view", "axial"), f"{where}.view"),
    )


def _correction(d: object, where: str) -> Correction:
    o = S.obj(d, where)
    return Correction.make(
        S.string(o.get("level"), f"{where}.level", LEVEL_NAMES),
        S.string(o.get("kind"), f"{where}.kind", CORRECTION_KINDS),
        S.string(o.get("key", ""), f"{where}.key"),
        o.get("automatic"),
        o.get("value"),
    )


def _attempt(d: object) -> Attempt | None:
    if d is None:
        return None
    o = S.obj(d, "attempt")
    return Attempt(
        S.integer(o.get("shots", 0), "attempt.shots"),
        S.integer(o.get("redirections", 0), "attempt.redirections"),
        S.number(o.get("time_s", 0.0), "attempt.time_s", 0.0, 1e7),
    )


def case_plan_from_dict(data: Any, bounds: Bounds | None = None) -> tuple[SeriesBinding, CasePlan]:
    """Validate a decoded plan file (any supported version): its series and its plan.

    ``bounds`` limits the coordinates (LPS mm; default ± 10 m, see :func:`volume_bounds`).
    Raises :class:`~planner.errors.PlanFormatError` naming the field and the rule.
    """
    b = bounds or Bounds()
    try:
        d = S.obj(data, "the plan file")
        if d.get("format", FORMAT_NAME) != FORMAT_NAME:
            raise S.SchemaError(
                f"'format' is {d.get('format')!r}, not {FORMAT_NAME!r}: this is not a plan file"
            )
        d = migrate(d)
        if d.get("format") != FORMAT_NAME:
            raise S.SchemaError(f"'format' must be {FORMAT_NAME!r}, got {d.get('format')!r}")
        if d.get("coordinate_system") != "LPS" or d.get("units") != "mm":
            raise S.SchemaError(
                f"coordinate_system/units must be 'LPS'/'mm', got "
                f"{d.get('coordinate_system')!r}/{d.get('units')!r}"
            )
        series = S.obj(d.get("series") or {}, "series")
        uid, fp = series.get("series_uid"), series.get("geometry_fingerprint")
        if not isinstance(uid, str) or not uid or not isinstance(fp, str) or not fp:
            raise S.SchemaError(
                "the plan does not say which series it was made on "
                "(series_uid, geometry_fingerprint)"
            )
        levels = S.array(d.get("levels", []), "levels", len(LEVEL_NAMES))
        ms = S.array(d.get("measurements") or [], "measurements", PLAN_MAX_MEASUREMENTS)
        corr = S.array(d.get("corrections") or [], "corrections", PLAN_MAX_MEASUREMENTS)
        ind = S.obj(d.get("indication") or {}, "indication")
        active = d.get("active_level")
        plan = CasePlan(
            tuple(_level(x, f"levels[{i}]", b) for i, x in enumerate(levels)),
            None if active is None else S.string(active, "active_level", LEVEL_NAMES),
            tuple(_measurement(m, f"measurements[{i}]", b) for i, m in enumerate(ms)),
            tuple(_correction(c, f"corrections[{i}]") for i, c in enumerate(corr)),
            tuple((str(k), S.string(v, f"indication.{k}")) for k, v in ind.items()),
            _attempt(d.get("attempt")),
            S.string(d.get("notes", ""), "notes"),
        )
        return SeriesBinding(uid, fp), plan
    except PlanFormatError:
        raise
    except (TypeError, ValueError) as exc:
        raise PlanFormatError(f"invalid plan content: {exc}") from exc


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


def volume_bounds(volume: CTVolume) -> Bounds:
    """The volume's bounding box (LPS mm) widened by ``PLAN_VOLUME_MARGIN_MM`` on each side."""
    import numpy as np

    nk, nj, ni = volume.hu.shape
    corners = np.array(
        [[i, j, k] for i in (0, ni - 1) for j in (0, nj - 1) for k in (0, nk - 1)], dtype=float
    )
    lps = volume.grid.voxel_to_lps(corners)
    lo = lps.min(axis=0) - PLAN_VOLUME_MARGIN_MM
    hi = lps.max(axis=0) + PLAN_VOLUME_MARGIN_MM
    return Bounds(
        (float(lo[0]), float(lo[1]), float(lo[2])), (float(hi[0]), float(hi[1]), float(hi[2]))
    )


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
