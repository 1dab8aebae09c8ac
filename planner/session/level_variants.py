"""Naming a level T13 or L6 at a seed: the spine analysis counts in the usual order only.

:func:`planner.vertebra.analyze_spine` names a seeded body and counts its neighbours in the
usual order (C1–C7, T1–T12, L1–L5, S1). For a numerical variant (:mod:`planner.plan.levels`)
the body is analysed under the level it follows (T13 as T12, L6 as L5: the nearest size and
shape priors), then the levels are renamed by counting from the variant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from planner.plan.levels import VARIANTS, renumbered


def renamed_level(result: Any, name: str, confirmed: bool) -> Any:
    """A ``LevelResult`` under another name (candidate, anatomy and morphometry)."""
    return replace(
        result,
        candidate=result.candidate.renamed(name, confirmed),
        anatomy=replace(result.anatomy, level=name),
        morphometry=replace(result.morphometry, level=name),
    )


def analyze_spine_named(
    volume: Any,
    labels: Any = None,
    seed_lps: Any = None,
    level: str | None = None,
    progress: Any = None,
) -> Any:
    """:func:`planner.vertebra.analyze_spine`, accepting T13 / L6 as the seed's level name.

    Parameters
    ----------
    volume
        The CT (``planner.volume.CTVolume``).
    labels, seed_lps, level, progress
        As for ``analyze_spine``; ``seed_lps`` is LPS mm inside the body named ``level``.

    Returns
    -------
    SpineAnalysis
        Levels cranial first; with a variant seed the seeded level is named ``level``
        (confirmed) and its neighbours counted from it (proposals).
    """
    from planner.vertebra import analyze_spine

    variant = level is not None and seed_lps is not None and level.strip().upper() in VARIANTS
    if not variant:
        return analyze_spine(
            volume, labels=labels, seed_lps=seed_lps, level=level, progress=progress
        )
    assert level is not None
    name = level.strip().upper()
    stand_in = VARIANTS[name]
    result = analyze_spine(volume, seed_lps=seed_lps, level=stand_in, progress=progress)
    names = result.names()
    if stand_in not in names:
        return result  # the seeded body could not be segmented: the analysis says so
    mapping = renumbered(names, names.index(stand_in), name) or {stand_in: name}
    levels = tuple(
        renamed_level(r, mapping.get(r.level, r.level), r.level == stand_in)
        if mapping.get(r.level, r.level) != r.level or r.level == stand_in
        else r
        for r in result.levels
    )
    return replace(result, levels=levels)
