"""DICOM reading: header scan, series grouping and choice, slice geometry, pixel decoding.

The public entry points live in :mod:`planner.loading` (``scan_path``, ``load_series``,
``load_path``); the modules here are its parts:

- :mod:`planner.dicom.headers`: one :class:`FrameHeader` per 2-D image (a file, or a frame of an
  Enhanced CT object), read with ``stop_before_pixels``.
- :mod:`planner.dicom.dicomdir`: files referenced by a DICOMDIR.
- :mod:`planner.dicom.series`: grouping into series/stacks, :class:`SeriesInfo`, default choice.
- :mod:`planner.dicom.geometry`: sorting along the slice normal, spacing, tilt, target grid.
- :mod:`planner.dicom.resample`: regular-grid resampling of tilted / unevenly spaced stacks.
- :mod:`planner.dicom.pixels`: decoding into a preallocated int16 HU array (parallel workers
  for compressed transfer syntaxes).
"""
