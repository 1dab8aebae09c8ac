"""The inflatable-bone-tamp catalog (resources/balloons.json), loaded and validated.

Every numeric field is ``{"value": number | null, "verified": bool, "note": str}`` so values
the sources could not confirm (DOMAIN.md §4.1) are shown as such wherever they are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.estimate.sources import SOURCES

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "balloons.json"
FORMAT = "vertebral-augmentation-planner/balloon-catalog"


@dataclass(frozen=True, slots=True)
class Spec:
    """A catalog number with its verification status."""

    value: float | None
    verified: bool
    note: str = ""

    def describe(self, unit: str) -> str:
        if self.value is None:
            return f"unknown ({self.note})" if self.note else "unknown"
        return f"{self.value:g} {unit}" + ("" if self.verified else " (unverified)")


@dataclass(frozen=True, slots=True)
class BalloonDevice:
    """One balloon size.

    Notes
    -----
    Length in mm (working length between the radiopaque end markers, FDA K981251), volume in
    mL, pressure in psi.
    """

    id: str
    name: str
    nominal_length: Spec
    max_volume: Spec
    max_pressure: Spec
    sources: tuple[str, ...] = ()
    family: str = ""

    @property
    def nominal_length_mm(self) -> float:
        assert self.nominal_length.value is not None
        return float(self.nominal_length.value)

    def to_json(self) -> dict[str, Any]:
        def spec(s: Spec) -> dict[str, Any]:
            return {"value": s.value, "verified": s.verified, "note": s.note}

        return {
            "id": self.id,
            "name": self.name,
            "nominal_length_mm": spec(self.nominal_length),
            "max_volume_ml": spec(self.max_volume),
            "max_pressure_psi": spec(self.max_pressure),
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class BalloonCatalog:
    devices: dict[str, BalloonDevice]
    notes: tuple[str, ...] = ()
    path: str = ""

    def get(self, device_id: str) -> BalloonDevice:
        try:
            return self.devices[device_id]
        except KeyError:
            raise InputError(
                f"balloon {device_id!r} is not in the catalog {self.path}; known: "
                f"{', '.join(sorted(self.devices))}"
            ) from None


def _spec(raw: Any, where: str, positive: bool) -> Spec:
    if not isinstance(raw, dict) or "value" not in raw or "verified" not in raw:
        raise ValueError(f"{where} must be an object with 'value' and 'verified'")
    v = raw["value"]
    if v is not None and (
        not isinstance(v, int | float) or isinstance(v, bool) or (positive and v <= 0)
    ):
        raise ValueError(f"{where}.value must be a positive number or null, got {v!r}")
    if not isinstance(raw["verified"], bool):
        raise ValueError(f"{where}.verified must be true or false")
    if raw["verified"] and v is None:
        raise ValueError(f"{where}: a missing value cannot be verified")
    return Spec(None if v is None else float(v), raw["verified"], str(raw.get("note", "")))


def _device(raw: Any, n: int) -> BalloonDevice:
    if not isinstance(raw, dict):
        raise ValueError(f"balloons[{n}] must be an object")
    for key in ("id", "name", "nominal_length_mm", "max_volume_ml", "max_pressure_psi"):
        if key not in raw:
            raise ValueError(f"balloons[{n}] lacks {key!r}")
    where = f"balloons[{n}] ({raw['id']})"
    length = _spec(raw["nominal_length_mm"], f"{where}.nominal_length_mm", True)
    if length.value is None or not (5.0 <= length.value <= 30.0):
        raise ValueError(f"{where}.nominal_length_mm must be 5-30 mm (needed for the shape)")
    vol = _spec(raw["max_volume_ml"], f"{where}.max_volume_ml", True)
    if vol.value is not None and vol.value > 10:
        raise ValueError(f"{where}.max_volume_ml must be <= 10 mL, got {vol.value}")
    srcs = tuple(raw.get("sources", ()))
    unknown = [s for s in srcs if s not in SOURCES]
    if unknown:
        raise ValueError(f"{where}: unknown source ids {unknown}")
    return BalloonDevice(
        str(raw["id"]),
        str(raw["name"]),
        length,
        vol,
        _spec(raw["max_pressure_psi"], f"{where}.max_pressure_psi", True),
        srcs,
        str(raw.get("family", "")),
    )


def load_balloon_catalog(path: str | Path | None = None) -> BalloonCatalog:
    """Load and validate the balloon catalog.

    Raises
    ------
    InputError
        With the file name and the offending entry when the catalog is not usable.
    """
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "balloon catalog not found; reinstall the application resources", path=p
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"balloon catalog is not valid JSON (line {exc.lineno}): {exc.msg}", path=p
        ) from None
    try:
        if data.get("format") != FORMAT or data.get("version") != 1:
            raise ValueError(f"expected format {FORMAT!r} version 1")
        devices = [_device(d, n) for n, d in enumerate(data.get("balloons", []))]
        if not devices:
            raise ValueError("the catalog lists no balloons")
        ids = [d.id for d in devices]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate balloon ids")
    except ValueError as exc:
        raise InputError(f"balloon catalog invalid: {exc}", path=p) from None
    return BalloonCatalog({d.id: d for d in devices}, tuple(data.get("notes", ())), str(p))
