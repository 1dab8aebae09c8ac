"""Screen convention of the 2D views and orientation letters computed from the camera.

Screen convention (decided here once, tested in tests/ui/test_orientation.py)
-----------------------------------------------------------------------------
VTK world coordinates are patient LPS millimetres (+x Left, +y Posterior, +z Superior).
Views look at the patient as radiologists do:

- axial: from the feet (camera inferior, looking superior), anterior up, so the patient's
  left is on the screen's right (radiological convention);
- coronal: from the front (looking posterior), superior up, patient's left on the right;
- sagittal: from the patient's left (looking right), superior up, anterior on the left.

Letters on each edge are never hard-coded: :func:`edge_letters` derives them from the camera's
view-up and direction of projection, so whatever the volume's orientation (head-first,
feet-first, prone, oblique), the letters say where the patient is.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# (direction of projection, view up) in LPS for each standard view.
VIEW_AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "axial": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),
    "coronal": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "sagittal": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}

_POSITIVE = ("L", "P", "S")
_NEGATIVE = ("R", "A", "I")


def direction_letters(v: ArrayLike, min_component: float = 0.3) -> str:
    """Letters naming an LPS direction, strongest component first (e.g. 'L', 'LA').

    Components weaker than ``min_component`` (of the unit vector) are left out, so a view
    tilted a few degrees still reads 'L' and an oblique one reads 'LA'.
    """
    u = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(u))
    if n == 0.0:
        return ""
    u = u / n
    order = np.argsort(-np.abs(u))
    out = []
    for a in order:
        if abs(u[a]) >= min_component or not out:
            out.append(_POSITIVE[a] if u[a] > 0 else _NEGATIVE[a])
    return "".join(out)


def screen_axes(
    direction_of_projection: ArrayLike, view_up: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """World (LPS) unit vectors pointing to the screen's right and top."""
    d = np.asarray(direction_of_projection, dtype=np.float64)
    up = np.asarray(view_up, dtype=np.float64)
    d = d / np.linalg.norm(d)
    up = up - d * float(up @ d)
    up = up / np.linalg.norm(up)
    right = np.cross(d, up)
    return right / np.linalg.norm(right), up


def edge_letters(direction_of_projection: ArrayLike, view_up: ArrayLike) -> dict[str, str]:
    """Letters for the left, right, top and bottom edges of a view with this camera."""
    right, up = screen_axes(direction_of_projection, view_up)
    return {
        "right": direction_letters(right),
        "left": direction_letters(-right),
        "top": direction_letters(up),
        "bottom": direction_letters(-up),
    }
