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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from planner.errors import NotFoundError, PlanFormatError, PlanMismatchError
from planner.plan.model import (
    BalloonPlacement,
    ClinicalInputs,
    Plan,
    PlanMeasurement,
    SeriesBinding,
    Trajectory,
)

log = logging.getLogger(__name__)

FORMAT_NAME = "vertebral-augmentation-plan"
FORMAT_VERSION = 3


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The current-format JSON object for a plan."""
    from planner import __version__

    clinical = asdict(plan.clinical)
    if clinical["supine_heights_mm"] is not None:
        clinical["supine_heights_mm"] = list(clinical["supine_heights_mm"])
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "coordinate_system": "LPS",
        "units": "mm",
        "series": {
            "series_uid": plan.series.series_uid,
            "geometry_fingerprint": plan.series.geometry_fingerprint,
        },
        "level": plan.level,
        "procedure": plan.procedure,
        "trajectories": [
            {
                "side": t.side,
                "approach": t.approach,
                "needle_id": t.needle_id,
                "skin_entry_lps": list(t.skin_entry_lps),
                "bone_entry_lps": list(t.bone_entry_lps),
                "target_lps": list(t.target_lps),
            }
            for t in plan.trajectories
        ],
        "balloons": [asdict(b) for b in plan.balloons],
        "clinical": clinical,
        "notes": plan.notes,
        "measurements": [
            {"kind": m.kind, "points_lps": [list(p) for p in m.points_lps], "view": m.view}
            for m in plan.measurements
        ],
        "saved_by": f"planner {__version__}",
    }


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


def plan_from_dict(data: Any) -> Plan:
    """Validate a decoded plan file (any supported version) and build a :class:`Plan`."""
    if not isinstance(data, dict):
        raise PlanFormatError("a plan file must hold a JSON object")
    data = migrate(data)
    if data.get("coordinate_system") != "LPS" or data.get("units") != "mm":
        raise PlanFormatError(
            f"coordinate_system/units must be 'LPS'/'mm', got "
            f"{data.get('coordinate_system')!r}/{data.get('units')!r}"
        )
    series = data.get("series") or {}
    uid, fp = series.get("series_uid"), series.get("geometry_fingerprint")
    if not isinstance(uid, str) or not uid or not isinstance(fp, str) or not fp:
        raise PlanFormatError(
            "the plan does not say which series it was made on (series_uid, geometry_fingerprint)"
        )
    try:
        trajs = tuple(Trajectory(**t) for t in data.get("trajectories", []))
        balloons = tuple(BalloonPlacement(**b) for b in data.get("balloons", []))
        clinical_raw = dict(data.get("clinical") or {})
        if clinical_raw.get("supine_heights_mm") is not None:
            clinical_raw["supine_heights_mm"] = tuple(clinical_raw["supine_heights_mm"])
        clinical = ClinicalInputs(**clinical_raw)
        measurements = tuple(PlanMeasurement(**m) for m in data.get("measurements") or [])
        return Plan(
            series=SeriesBinding(uid, fp),
            level=data.get("level", "L1"),
            procedure=data.get("procedure", "vertebroplasty"),
            trajectories=trajs,
            balloons=balloons,
            clinical=clinical,
            notes=str(data.get("notes", "")),
            measurements=measurements,
        )
    except (TypeError, ValueError) as exc:
        raise PlanFormatError(f"invalid plan content: {exc}") from exc


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


def load_plan(
    path: str | Path, series_uid: str | None = None, geometry_fingerprint: str | None = None
) -> Plan:
    """Read a plan file; when a series is given, refuse a plan made on another one.

    Notes
    -----
    Points are patient LPS mm. Older format versions are migrated in memory; the file is not
    rewritten until saved.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(path=p)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFormatError(f"cannot read the plan file ({exc})", path=p) from exc
    try:
        plan = plan_from_dict(data)
    except PlanFormatError as exc:
        raise PlanFormatError(str(exc), path=p) from exc
    if series_uid is not None:
        check_binding(plan, series_uid, geometry_fingerprint or plan.series.geometry_fingerprint, p)
    return plan


def save_plan(plan: Plan, path: str | Path, source_path: str | None = None) -> Path:
    """Write the plan atomically (temporary file + ``os.replace``); returns the path.

    ``source_path`` (optional) records where the study was opened from, so the workstation
    can reopen it with the plan (``python main.py PLAN.json``); loading ignores it.
    """
    p = Path(path)
    data = plan_to_dict(plan)
    if source_path:
        data["source_path"] = str(source_path)
    text = json.dumps(data, indent=2) + "\n"
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
    return p
