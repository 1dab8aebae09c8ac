"""Domain logic of the vertebral augmentation planner.

No Qt and no VTK here (DESIGN.md §1): everything is usable from scripts, the command line
and the tests without a display. Geometry is in patient LPS millimetres; arrays are indexed
``[k, j, i]`` with one ``ijk_to_lps`` affine (see :mod:`planner.grid`).
"""

__version__ = "0.1.0"
