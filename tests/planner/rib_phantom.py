"""A synthetic column with ribs on chosen levels, for rib-tracing tests (no segmentation).

LPS mm, the column along z at x = y = 0, bodies 25 mm apart (cranial first). Each body: a
cylinder (radius 15 mm, height 18 mm) with a 2 mm cortex (800 HU) over 250 HU cancellous
bone. Each level has a straight transverse process (radius 4 mm, 600 HU, 16-38 mm from the mid-line,
behind the body: 23 mm long, the lumbar kind). A rib-bearing level also has a rib on each side:
a tube (radius 4.5 mm, 600 HU: cortex and marrow averaged, as a 3 mm scan shows a rib) from its
head beside the body, past the transverse process, round the angle and forwards, falling 30 mm
over ~150 mm. Soft tissue 40 HU. 1.2 mm pixels, 3 mm slices, sampled at voxel centres.
"""

from __future__ import annotations

import numpy as np

from planner.vertebra.profile import ProfileBody
from planner.volume import CTVolume

PITCH_MM = 25.0
BODY_RADIUS_MM = 15.0
BODY_HALF_HEIGHT_MM = 9.0
SPACING_MM = (1.2, 1.2, 3.0)
#: Rib polyline per side (lateral, posterior, superior; mm from the body centre), head first.
RIB_PATH = ((16.0, 8.0, 5.0), (30.0, 22.0, 3.0), (55.0, 30.0, -5.0), (80.0, 15.0, -15.0),
            (95.0, -20.0, -25.0))
TP_PATH = ((16.0, 20.0, 2.0), (38.0, 26.0, 2.0))


def rib_column(ribs: list[bool]) -> tuple[CTVolume, list[ProfileBody]]:
    """The CT and its bodies (cranial first); ``ribs[n]``: body n bears a rib on each side."""
    n = len(ribs)
    z_top = (n - 1) * PITCH_MM / 2.0 + 20.0
    nx, ny = int(240 / SPACING_MM[0]), int(160 / SPACING_MM[1])
    nz = int((2 * z_top + 50.0) / SPACING_MM[2])
    origin = np.array([-120.0, -70.0, -z_top - 40.0])
    x = origin[0] + np.arange(nx) * SPACING_MM[0]
    y = origin[1] + np.arange(ny) * SPACING_MM[1]
    z = origin[2] + np.arange(nz) * SPACING_MM[2]
    hu = np.full((nz, ny, nx), 40.0, np.float32)
    bodies = []
    for k, rib in enumerate(ribs):
        zc = z_top - 20.0 - k * PITCH_MM
        _paint_body(hu, x, y, z, zc)
        for side in (1.0, -1.0):
            _paint_tube(hu, x, y, z, [(side * a, p, zc + s) for a, p, s in TP_PATH], 4.0)
            if rib:
                _paint_tube(hu, x, y, z, [(side * a, p, zc + s) for a, p, s in RIB_PATH], 4.5)
        c = np.array([0.0, 0.0, zc])
        up = np.array([0.0, 0.0, 1.0])
        bodies.append(ProfileBody(c, up, c + BODY_HALF_HEIGHT_MM * up,
                                  c - BODY_HALF_HEIGHT_MM * up))
    affine = np.diag([*SPACING_MM, 1.0])
    affine[:3, 3] = origin
    vol = CTVolume.from_array(np.round(hu).astype(np.int16), affine, "2.25.4242", modality="CT")
    return vol, bodies


def _paint_body(hu: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray,
                zc: float) -> None:
    ks = np.nonzero(np.abs(z - zc) <= BODY_HALF_HEIGHT_MM)[0]
    r = np.hypot(x[None, :], y[:, None])
    dz = np.abs(z[ks] - zc)[:, None, None]
    inside = (r[None] <= BODY_RADIUS_MM) & (dz <= BODY_HALF_HEIGHT_MM)
    shell = inside & ((r[None] >= BODY_RADIUS_MM - 2.0) | (dz >= BODY_HALF_HEIGHT_MM - 2.0))
    block = hu[ks]
    block[inside] = 250.0
    block[shell] = 800.0
    hu[ks] = block


def _paint_tube(hu: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray,
                path: list[tuple[float, float, float]], radius: float) -> None:
    """A solid tube (600 HU) along the polyline."""
    pts = np.asarray(path)
    lo, hi = pts.min(axis=0) - radius - 1.0, pts.max(axis=0) + radius + 1.0
    ix = np.nonzero((x >= lo[0]) & (x <= hi[0]))[0]
    iy = np.nonzero((y >= lo[1]) & (y <= hi[1]))[0]
    iz = np.nonzero((z >= lo[2]) & (z <= hi[2]))[0]
    if not (len(ix) and len(iy) and len(iz)):
        return
    g = np.stack(np.meshgrid(z[iz], y[iy], x[ix], indexing="ij")[::-1], axis=-1)
    d = np.full(g.shape[:3], np.inf)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        ab = b - a
        t = np.clip(((g - a) @ ab) / float(ab @ ab), 0.0, 1.0)
        d = np.minimum(d, np.linalg.norm(g - (a + t[..., None] * ab), axis=-1))
    block = hu[np.ix_(iz, iy, ix)]
    block[d <= radius] = 600.0
    hu[np.ix_(iz, iy, ix)] = block
