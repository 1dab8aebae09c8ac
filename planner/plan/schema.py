"""Typed validation of decoded plan-file JSON: one rule per field, messages naming the field.

Why hand-written and not a JSON-schema library: the rules depend on run-time data (coordinates
within ± 1 m of the open volume, catalog ids), every refusal must say in the project's words
which field is wrong and what to do, and each reader returns a typed Python value
(``tuple[float, float, float]``, ``str``, ``bool | None``) that ``mypy --strict`` checks, so the
model layer never sees an unchecked ``Any``. A JSON-schema pass would still need this second,
typed layer; the project has no other use for the dependency.

Every reader raises :class:`SchemaError` (a ``ValueError``) with the field's path, e.g.
``levels[1].trajectories[0].target_lps[2]``; :mod:`planner.plan.file` adds the file name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from planner.constants import PLAN_ABSOLUTE_LIMIT_MM

Point = tuple[float, float, float]


class SchemaError(ValueError):
    """A field of the plan file breaks its rule (message names the field)."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Accepted coordinate box, LPS mm (per axis lower and upper bounds)."""

    lo: Point = (-PLAN_ABSOLUTE_LIMIT_MM, -PLAN_ABSOLUTE_LIMIT_MM, -PLAN_ABSOLUTE_LIMIT_MM)
    hi: Point = (PLAN_ABSOLUTE_LIMIT_MM, PLAN_ABSOLUTE_LIMIT_MM, PLAN_ABSOLUTE_LIMIT_MM)


def obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def array(value: object, where: str, max_len: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(f"{where} must be a JSON list, got {type(value).__name__}")
    if max_len is not None and len(value) > max_len:
        raise SchemaError(f"{where} has {len(value)} entries; at most {max_len} are accepted")
    return value


def number(value: object, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    """A real JSON number (not a string or boolean), finite, within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{where} must be a number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:
        raise SchemaError(f"{where} is too large: {value!r}") from None
    if not math.isfinite(v):
        raise SchemaError(f"{where} must be finite, got {value!r}")
    if not lo <= v <= hi:
        raise SchemaError(f"{where} must be within {lo:g} to {hi:g}, got {v:g}")
    return v


def opt_number(
    value: object, where: str, lo: float = -math.inf, hi: float = math.inf
) -> float | None:
    return None if value is None else number(value, where, lo, hi)


def integer(value: object, where: str, lo: int = 0, hi: int = 2**31) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{where} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise SchemaError(f"{where} must be within {lo} to {hi}, got {value}")
    return value


def string(value: object, where: str, allowed: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{where} must be a string, got {value!r}")
    if allowed is not None and value not in allowed:
        raise SchemaError(f"{where} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(f"{where} must be true or false, got {value!r}")
    return value


def opt_boolean(value: object, where: str) -> bool | None:
    return None if value is None else boolean(value, where)


def point(value: object, where: str, bounds: Bounds) -> Point:
    """Three finite numbers (LPS mm) inside ``bounds``."""
    items = array(value, where)
    if len(items) != 3:
        raise SchemaError(f"{where} must be three numbers (LPS mm), got {len(items)}")
    out = tuple(number(v, f"{where}[{i}]", bounds.lo[i], bounds.hi[i]) for i, v in enumerate(items))
    return (out[0], out[1], out[2])


def json_depth(value: object, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping (and returning > limit) once beyond ``limit``."""
    stack: list[tuple[object, int]] = [(value, 1)]
    deepest = 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest
