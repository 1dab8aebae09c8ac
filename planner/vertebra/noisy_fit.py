"""The body fit a level is measured on when the CT is noisy (sharp reconstruction kernel).

Why
---
The bodies are found and named on casts over a crop smoothed with a 0.8 mm Gaussian
(:func:`planner.vertebra.segment.fit_body`). On a sharp kernel (B70f on
../shared/data/cptac_chest_ct, 3 mm slices) the trabecular texture of a low-density thoracic
body swings by 150-250 HU within 2 mm (measured on the anterior rays of T5 and T7: 247 → 22
HU, 5 mm inside the cortex), so half of a body's rays stop at such an internal edge: depths
came out at 16-24 mm where the cortex ring spans 28-35 mm, and the re-centring on the
centroid of these notched stars drifted 3-5 mm behind the centres read by eye.

Method
------
1. Noise: the robust spread (1.4826 MAD) of the in-plane high-pass (voxel minus the mean of
   its 3 x 3 in-plane neighbours) over soft tissue (-150..150 HU) on 8 slices of the fit's
   crop: 50-69 HU on cptac_chest_ct, 23-25 on the 3 mm totalseg_example, 13 on the demo, 61
   on the 1.5 mm tptbox_l3 (see :data:`MIN_GAIN`). Above :data:`NOISY_HU` the level is
   fitted again; below, the found fit is measured unchanged.
2. The refit starts at the found body's centre and axes, on a crop smoothed with
   :data:`NOISY_SIGMA_MM` (edges still located on the unsmoothed crop). A ray leaving through
   a faint stretch of cortex is capped at its mirror ray (across the mid-sagittal plane) +
   :data:`MIRROR_TOL_MM` at every iteration, so the centre does not follow the leak (a body is
   near-symmetric about its mid-sagittal plane).
3. The refit is cut at the found body's end planes (the discs found on the column profile,
   or the found star's caps), turned perpendicular to the refit's own cranial axis and
   moved :data:`END_MARGIN_MM` outwards: the discs are located on a 1 mm profile of a 7 mm
   core at 3 mm slices, to ±1-2 mm, and the endplate edges are then found on the CT by the
   morphometry (within ±1.5 mm of the mask's end).
4. The refit is kept when it encloses at least :data:`MIN_GAIN` times the found body's volume
   (the found rays stopped inside); its centre is then taken from its walls
   (:func:`wall_centre`), not the volume centroid.
"""

from __future__ import annotations

import numpy as np

from planner.errors import AnalysisError
from planner.grid import FloatArray
from planner.vertebra.body import StarShape, star_volume_mm3
from planner.vertebra.segment import BodyFit, clip_fit, fit_body
from planner.volume import CTVolume

#: In-plane noise above which a level is refitted, HU (**[engineering threshold]**: soft
#: kernels measured 13-25 on the demo and totalseg_example, the sharp B70f chest CT 50-69).
NOISY_HU = 40.0
#: Gaussian smoothing of the refit's edge detection, mm (twice the finding casts').
NOISY_SIGMA_MM = 1.6
#: A ray may exceed its mirror ray by this much, mm.
MIRROR_TOL_MM = 2.0
#: The refit is kept only when it encloses this much more than the found body (the found rays
#: stopped inside it): 1.17-2.1x on the 13 levels of cptac_chest_ct, 0.96-0.97x for clicks in
#: the 1.5 mm porotic L3 of ../shared/data/tptbox_l3 (also above NOISY_HU, its outline right).
MIN_GAIN = 1.1
#: Casts of the refit at most (it starts at the found centre; 6 casts changed no grade and
#: no centre by more than 1.4 mm on cptac_chest_ct, and took ~1 s longer).
REFIT_ITERATIONS = 3
#: The end planes are moved outwards by this much before the endplates are located, mm.
END_MARGIN_MM = 1.5


#: Slices of the crop the noise is measured on (evenly spaced; speed).
NOISE_SLICES = 8


def in_plane_noise_hu(volume: CTVolume, fit: BodyFit) -> float:
    """Robust CT noise of the fit's crop, HU (see the module notes, step 1), measured on
    :data:`NOISE_SLICES` of its slices."""
    from scipy import ndimage as ndi

    a, n = fit.start, fit.grid.shape_kji
    ks = np.unique(np.linspace(a[0], a[0] + n[0] - 1, NOISE_SLICES).round().astype(int))
    raw = volume.hu[ks, a[1]:a[1] + n[1], a[2]:a[2] + n[2]].astype(np.float32)
    hp = raw - ndi.uniform_filter(raw, (1, 3, 3))
    soft = ndi.binary_erosion((raw > -150) & (raw < 150), structure=np.ones((1, 3, 3), bool))
    if soft.sum() < 1000:
        return 0.0
    v = hp[soft]
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def _end_planes(fit: BodyFit) -> tuple[tuple[FloatArray, FloatArray], ...]:
    """(point, outward normal) of the found body's two ends, LPS mm."""
    if fit.clip_planes:
        return fit.clip_planes
    s = fit.star
    return ((s.centre_lps + fit.pole_mm(1) * s.superior, s.superior),
            (s.centre_lps - fit.pole_mm(-1) * s.superior, -s.superior))


def measurement_fit(volume: CTVolume, fit: BodyFit) -> BodyFit:
    """The fit the level is measured on: ``fit`` itself on a quiet image; on a noisy one, the
    refit of the module notes (``fit`` again if the refit fails). LPS mm."""
    if in_plane_noise_hu(volume, fit) <= NOISY_HU:
        return fit
    s = fit.star
    try:
        out = fit_body(volume, fit.centroid_lps, s.superior, s.posterior,
                       sigma_mm=NOISY_SIGMA_MM, mirror_tol_mm=MIRROR_TOL_MM,
                       iterations=REFIT_ITERATIONS)
    except AnalysisError:
        return fit
    sup = out.star.superior
    planes = tuple((p + END_MARGIN_MM * n, sup if float(n @ sup) > 0 else -sup)
                   for p, n in _end_planes(fit))
    clipped = clip_fit(out, planes)
    if clipped is None:
        return fit
    if star_volume_mm3(clipped.star) < MIN_GAIN * star_volume_mm3(fit.star):
        return fit  # the found body was not stopped short: keep it
    clipped.centre_from_walls = True
    return clipped


def wall_centre(star: StarShape, band_deg: float = 20.0, cone_deg: float = 30.0) -> FloatArray:
    """Centre of the body from its opposite walls, LPS mm (robust to a leak over a sector).

    Every pair of opposite rays within ``band_deg`` of the equator gives the mid-point of its
    two wall points. The left-right coordinate is the median of these mid-points over the
    pairs within ``cone_deg`` of the left-right axis, the anterior-posterior one over those
    within ``cone_deg`` of the AP axis: a sector where rays ran out through a faint cortex,
    over fewer than half of those pairs, does not move it, where the volume centroid moves
    with the leak (a wider leak moves it by half the leak; the mirror cap limits that). The
    craniocaudal coordinate is the mid-point of the two caps' median heights.
    """
    n_theta, n_phi = star.radius_mm.shape
    theta = (np.arange(n_theta) + 0.5) * np.pi / n_theta
    d = star.directions()
    pts = d * star.radius_mm[..., None]  # relative to the star centre
    half = n_phi // 2
    band = np.abs(theta - np.pi / 2) <= np.deg2rad(band_deg)
    mids = 0.5 * (pts[band, :half] + pts[band][::-1, half:])
    axes = np.stack([star.left, star.posterior, star.superior])
    mid_body = mids.reshape(-1, 3) @ axes.T
    dir_body = np.abs(d[band, :half].reshape(-1, 3) @ axes.T)
    m = np.zeros(3)
    for k in (0, 1):
        sel = dir_body[:, k] >= np.cos(np.deg2rad(cone_deg))
        m[k] = float(np.median(mid_body[sel, k])) if sel.any() else 0.0
    caps = np.abs(theta - np.pi / 2) >= np.deg2rad(70.0)
    h = pts[caps] @ star.superior
    up, down = h[theta[caps] < np.pi / 2], h[theta[caps] > np.pi / 2]
    m[2] = 0.5 * (float(np.median(up)) + float(np.median(down)))
    return np.asarray(star.centre_lps + m @ axes, dtype=np.float64)
