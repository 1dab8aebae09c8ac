"""Reading plan files: version migration and typed validation of every field.

:func:`migrate` upgrades versions 1-3 to 4 one step at a time; :func:`case_plan_from_dict`
validates a decoded file with :mod:`planner.plan.schema` (real finite numbers within bounds,
catalog ids, no balloons on a vertebroplasty level) and builds the session values. Writing,
loading and the file-level checks (size, nesting, series binding) are in
:mod:`planner.plan.file`.
"""

from __future__ import annotations

import logging
from typing import Any

from planner.constants import PLAN_MAX_MEASUREMENTS, PLAN_VOLUME_MARGIN_MM
from planner.errors import InputError, PlanFormatError
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
    PlanMeasurement,
    SeriesBinding,
    Trajectory,
)
from planner.plan.schema import Bounds
from planner.session.model import (
    CORRECTION_KINDS,
    Attempt,
    CasePlan,
    Correction,
    LevelPlan,
)
from planner.volume import CTVolume

log = logging.getLogger(__name__)

FORMAT_NAME = "vertebral-augmentation-plan"
FORMAT_VERSION = 4


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
