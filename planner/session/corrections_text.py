"""One line per correction for tables and the report: what was corrected, automatic vs user.

Points LPS mm, lengths mm, volumes mL, angles degrees.
"""

from __future__ import annotations

from typing import Any

from planner.session.model import Correction


def _pt(v: Any) -> str:
    try:
        return "(" + ", ".join(f"{float(x):.1f}" for x in v) + ")"
    except (TypeError, ValueError):
        return "—"


def describe(c: Correction) -> tuple[str, str, str]:
    """(what, automatic value, the user's value) of correction ``c`` as short texts."""
    try:
        return _describe(c)
    except (TypeError, ValueError, KeyError, AttributeError):  # a hand-edited plan file
        return c.kind.replace("_", " "), str(c.automatic)[:80], str(c.value)[:80]


def _describe(c: Correction) -> tuple[str, str, str]:
    a, v = c.automatic, c.value
    a = a if isinstance(a, dict) or c.kind in ("morphometry_point", "level_name") else {}
    if c.kind == "morphometry_point":
        return f"{c.key.replace('_', ' ')} point", _pt(a), _pt(v)
    if c.kind == "midsagittal_plane" and isinstance(v, dict) and isinstance(a, dict):
        return (
            "mid-sagittal plane",
            f"through {_pt(a.get('origin_lps'))}, normal {_pt(a.get('left_lps'))}",
            f"moved {float(v.get('shift_mm', 0.0)):+.1f} mm, turned "
            f"{float(v.get('turn_deg', 0.0)):+.1f}°; heights re-measured in it",
        )
    if c.kind == "body_outline" and isinstance(v, dict) and isinstance(a, dict):
        return (
            "body outline",
            f"{float(a.get('volume_ml', float('nan'))):.1f} mL",
            f"{float(v.get('volume_ml', float('nan'))):.1f} mL (brush)",
        )
    if c.kind == "pedicle_axis" and isinstance(v, dict):
        auto = f"isthmus {_pt(a.get('isthmus_lps'))}" if isinstance(a, dict) and a else "—"
        return (
            f"{c.key} pedicle axis",
            auto,
            f"entry {_pt(v.get('entry_lps'))} → exit {_pt(v.get('exit_lps'))}",
        )
    return c.kind.replace("_", " "), str(a), str(v)
