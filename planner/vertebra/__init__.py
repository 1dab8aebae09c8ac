"""Vertebra analysis: find, name and segment the vertebral bodies and measure fractures.

Classical image analysis (numpy/scipy, no learned model). Public API::

    propose_levels(volume)                      automatic levels, anchored on the sacrum
    neighbours_from_seed(volume, seed, "L1")    user click + name, neighbours counted
    levels_from_labels(volume, labelmap)        TotalSegmentator names or VerSe ids
    segment_level(volume, candidate)            -> LevelAnatomy (body, pedicles, canal, frame)
    measure_level(volume, anatomy, neighbours)  -> Morphometry (heights, grade, ...)
    analyze_spine(volume, labels, seed, level)  -> SpineAnalysis (the whole pipeline)
    analyze_levels(volume, candidates)          -> SpineAnalysis for edited/confirmed levels
    renumber(candidates, index, "L1")           user renames one body, others counted from it
    measure_from_mask(labelmap)                 -> SpineAnalysis from a vertebra mask alone

Methods and sources are in the module docstrings: :mod:`.column` and :mod:`.levels`
(detection and naming), :mod:`.body` (body), :mod:`.segment` (canal, pedicles),
:mod:`.frame`, :mod:`.morphometry`, :mod:`.grading`, :mod:`.labels`.
"""

from planner.vertebra.common import LEVEL_ORDER, level_index, shift_level
from planner.vertebra.labels import levels_from_labels, volume_from_mask
from planner.vertebra.levels import neighbours_from_seed, propose_levels
from planner.vertebra.pipeline import (
                                       analyze_spine,
                                       body_label_map,
                                       measure_from_mask,
                                       measure_level,
                                       segment_level,
)
from planner.vertebra.types import LevelCandidate, LevelResult, SpineAnalysis, renumber

__all__ = [
    "LEVEL_ORDER", "LevelCandidate", "LevelResult", "SpineAnalysis", "analyze_levels",
    "analyze_spine", "renumber",
    "body_label_map", "level_index", "levels_from_labels", "measure_from_mask",
    "measure_level", "neighbours_from_seed", "propose_levels", "segment_level",
    "shift_level", "volume_from_mask",
]
