"""Vertebral level names a plan accepts, and renaming by counting.

Besides the usual C1–C7, T1–T12, L1–L5 and S1, a plan accepts the two numerical variants a
thoracolumbar CT can show: a thirteenth rib-bearing vertebra (T13) and a sixth lumbar one (L6).
One more or one fewer mobile vertebra was found in 7.7 % of 418 whole-spine MRIs (Tins &
Balain, 2016, Insights into Imaging), and VerSe labels them so (Sekuboyina et al., 2021, Medical
Image Analysis). A variant is only counted when it is named: counting down from T12 gives L1,
not T13.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: The usual cranio-caudal order, without numerical variants.
STANDARD_ORDER: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    "S1",
)

#: Numerical variants and the level each one follows.
VARIANTS: dict[str, str] = {"T13": "T12", "L6": "L5"}

#: Every name a plan accepts, cranio-caudal (variants in their place).
LEVEL_NAMES: tuple[str, ...] = (
    *STANDARD_ORDER[: STANDARD_ORDER.index("L1")],
    "T13",
    *STANDARD_ORDER[STANDARD_ORDER.index("L1") : STANDARD_ORDER.index("S1")],
    "L6",
    "S1",
)

#: Names that fit a thoracolumbar CT (what the level dialogs offer): T1–T13, L1–L6, S1.
THORACOLUMBAR_NAMES: tuple[str, ...] = tuple(n for n in LEVEL_NAMES if n[0] in "TLS")

#: The accepted names in words, for messages.
NAMES_TEXT = "C1–C7, T1–T13, L1–L6, S1"


def counting_order(variants: Iterable[str] = ()) -> tuple[str, ...]:
    """The standard order with the given variants (T13, L6) inserted after T12 / L5."""
    present = {v for v in variants if v in VARIANTS}
    return tuple(n for n in LEVEL_NAMES if n not in VARIANTS or n in present)


def renumbered(names: Sequence[str], index: int, new_name: str) -> dict[str, str] | None:
    """Old → new name of every level when level ``index`` becomes ``new_name`` and the
    others are named by counting from it; None when a level would pass C1 or S1.

    Each level keeps its step from the renamed one as counted in the current names (a gap
    stays a gap). The new count includes a variant when it is the new name or another
    level's current name; the renamed level's own old variant name is dropped.
    """
    if new_name not in LEVEL_NAMES:
        raise ValueError(f"{new_name!r} is not a level name; use one of {NAMES_TEXT}")
    old_name = names[index]
    if old_name not in LEVEL_NAMES:
        return {old_name: new_name}
    old_order = counting_order(names)
    others = [n for k, n in enumerate(names) if k != index]
    new_order = counting_order([new_name, *others])
    origin = new_order.index(new_name)
    mapping: dict[str, str] = {}
    for name in names:
        if name not in old_order:
            return None
        target = origin + old_order.index(name) - old_order.index(old_name)
        if not 0 <= target < len(new_order):
            return None
        mapping[name] = new_order[target]
    return mapping
