"""Stand-in demo volume used only while ``planner.demo.generate_demo`` is unavailable."""

from __future__ import annotations

import numpy as np

from planner.volume import CTVolume


def fallback_demo_volume() -> CTVolume:
    nk, nj, ni = 120, 160, 160
    k, j, i = np.mgrid[0:nk, 0:nj, 0:ni].astype(np.float32)
    hu = np.full((nk, nj, ni), -1000.0, np.float32)
    body = ((i - 80) / 70) ** 2 + ((j - 80) / 55) ** 2 < 1
    hu[body] = 40.0
    cyl = ((i - 80) / 18) ** 2 + ((j - 95) / 15) ** 2 < 1
    for c in range(10, nk, 25):
        sl = slice(c, c + 20)
        hu[sl][cyl[sl]] = 250.0
        shell = cyl[sl] & ~((((i[sl] - 80) / 16) ** 2 + ((j[sl] - 95) / 13) ** 2) < 1)
        hu[sl][shell] = 900.0
    aff = np.diag([1.0, 1.0, 1.5, 1.0])
    aff[:3, 3] = (-80.0, -80.0, -90.0)
    return CTVolume.from_array(hu, aff, "demo.fallback", description="Demo (stand-in)")
