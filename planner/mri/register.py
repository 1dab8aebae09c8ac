"""Rigid CT -> MRI registration of the spine, per segment, by mutual information (SimpleITK).

Method
------
1. Fixed image: the CT cropped to the analysed levels (body centroids +/- a margin that keeps
   the posterior elements and the canal); moving image: the MRI (T1 preferred: cortex, fat
   and marrow give the most structure). Both in their own LPS frames; the transform maps CT
   points to MRI points (:class:`~planner.mri.rigid.RigidTransform`).
2. Initialisation from the spine: identity rotation (both scans supine, head first) and the
   translation that puts the levels' centre at the MRI field of view's centre in x and y
   (the operator centres a spine MRI on the column); along the column the shift is searched
   in 4 mm steps (+/- 60 mm) for the best mutual information at the coarsest resolution, so a
   field of view off-centre by up to two vertebrae is found. A transform from matched points
   (:mod:`planner.mri.points`) replaces this when given.
3. Global rigid (Euler) registration: Mattes mutual information (Mattes et al. 2003, IEEE
   TMI 22:120-128; 32 bins, 15 % random samples, fixed seed), regular-step gradient
   descent, three resolutions (shrink 4/2/1, smoothing 2/1/0 mm).
4. Per segment: windows of three consecutive levels (stride 2) are refined from the global
   result at the two finer resolutions; each level takes the transform of the segment whose
   centre is nearest, so a column that bent between the scans is followed segment by segment.

All thresholds and parameters are tool assumptions tuned on the synthetic demo MRI; the
registration result carries the final metric so a failure can be seen.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.errors import AnalysisError
from planner.mri.rigid import RigidTransform
from planner.volume import CTVolume

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
#: Margins of the CT crop around the level centroids (mm): lateral, anterior, posterior, z.
CROP_MARGIN_MM = (38.0, 30.0, 60.0, 22.0)
SEGMENT_LEVELS = 3
SAMPLING_FRACTION = 0.10
Z_SEARCH_MM = 36.0
Z_STEP_MM = 4.0


@dataclass(frozen=True, eq=False)
class Registration:
    """CT -> MRI registration of the spine.

    Parameters
    ----------
    global_transform
        Transform of the whole analysed segment.
    level_transforms
        Level name -> transform used for that level (its segment's).
    method
        ``"mutual_information"`` or ``"points"``.
    metric
        Final Mattes mutual information of the global fit (negative; lower is better).
    centroids_mri_lps
        Level name -> body centroid carried into the MRI frame (LPS mm).
    """

    global_transform: RigidTransform
    level_transforms: dict[str, RigidTransform]
    method: str
    metric: float | None
    centroids_mri_lps: dict[str, tuple[float, float, float]]
    time_s: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def for_level(self, name: str) -> RigidTransform:
        return self.level_transforms.get(name, self.global_transform)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "global_transform": self.global_transform.to_json(),
            "levels": {n: {"transform": t.to_json(),
                           "centroid_mri_lps": [round(v, 2) for v in self.centroids_mri_lps[n]]}
                       for n, t in self.level_transforms.items()},
            "metric_mattes_mi": None if self.metric is None else round(self.metric, 5),
            "time_s": round(self.time_s, 2),
            "notes": list(self.notes),
        }


def _sitk() -> Any:
    """SimpleITK, imported where used (heavy) and typed as Any (it ships no type hints)."""
    import importlib

    return importlib.import_module("SimpleITK")


def to_sitk(volume: CTVolume, clip: tuple[float, float] | None = None) -> Any:
    """The volume as a float32 SimpleITK image in LPS (ITK's own patient frame)."""
    sitk = _sitk()
    a = volume.hu.astype(np.float32)
    if clip is not None:
        a = np.clip(a, clip[0], clip[1])
    img = sitk.GetImageFromArray(a)
    img.SetOrigin(tuple(float(v) for v in volume.grid.origin_lps))
    img.SetSpacing(tuple(float(v) for v in volume.spacing_mm))
    img.SetDirection(tuple(float(v) for v in volume.grid.direction.ravel()))
    return img


def _crop_ct(ct: CTVolume, centroids: FloatArray) -> Any:
    """CT crop (SimpleITK image) around the given centroids, HU clipped to [-300, 1200]."""
    lat, ant, post, dz = CROP_MARGIN_MM
    lo = centroids.min(axis=0) - np.array([lat, ant, dz])
    hi = centroids.max(axis=0) + np.array([lat, post, dz])
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                        for c in (lo[2], hi[2])])
    ijk = ct.lps_to_voxel(corners)
    n = np.array(ct.shape_kji[::-1])
    a = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, n)
    b = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 1, 0, n)
    if np.any(b - a < 4):
        raise AnalysisError("the analysed levels lie outside the CT; cannot register")
    grid = ct.grid.crop((int(a[2]), int(a[1]), int(a[0])), (int(b[2]), int(b[1]), int(b[0])))
    sub = ct.hu[a[2]:b[2], a[1]:b[1], a[0]:b[0]]
    return to_sitk(CTVolume(sub, grid, ct.identity), (-300.0, 1200.0))


def _euler(t: RigidTransform, centre: FloatArray) -> Any:
    sitk = _sitk()
    e = sitk.Euler3DTransform()
    e.SetCenter(tuple(float(v) for v in centre))
    e.SetMatrix(tuple(float(v) for v in t.rotation.ravel()))
    e.SetTranslation(tuple(float(v) for v in (t.apply(centre) - centre)))
    return e


def _from_euler(e: Any) -> RigidTransform:
    r = np.asarray(e.GetMatrix(), dtype=np.float64).reshape(3, 3)
    c = np.asarray(e.GetCenter(), dtype=np.float64)
    t = np.asarray(e.GetTranslation(), dtype=np.float64)
    return RigidTransform(r, c + t - r @ c)


def _method(iterations: int) -> Any:
    sitk = _sitk()
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(SAMPLING_FRACTION, 20260101)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0, minStep=1e-3, numberOfIterations=iterations,
        relaxationFactor=0.6, gradientMagnitudeTolerance=1e-6)
    reg.SetOptimizerScalesFromPhysicalShift()
    return reg


def _run(fixed: Any, moving: Any, init: RigidTransform, centre: FloatArray,
         iterations: int = 100) -> tuple[RigidTransform, float]:
    """One rigid MI registration on one (pre-shrunk) resolution."""
    sitk = _sitk()
    reg = _method(iterations)
    reg.SetInitialTransform(_euler(init, centre), inPlace=False)
    out = reg.Execute(fixed, moving)
    euler = out.GetNthTransform(0) if hasattr(out, "GetNthTransform") else out
    return _from_euler(sitk.Euler3DTransform(euler)), float(reg.GetMetricValue())


def _mutual_information(a: FloatArray, b: FloatArray, bins: int = 32) -> float:
    """Mutual information (nats) of two samples from their joint histogram."""
    h, _, _ = np.histogram2d(a, b, bins=bins)
    pxy = h / max(float(h.sum()), 1.0)
    px, py = pxy.sum(axis=1, keepdims=True), pxy.sum(axis=0, keepdims=True)
    nz = pxy > 0
    return float(np.sum(pxy[nz] * np.log(pxy[nz] / (px @ py)[nz])))


def initial_from_spine(fixed: Any, moving: Any, centroids: FloatArray,
                       mri: CTVolume) -> RigidTransform:
    """Identity rotation; levels' centre at the MRI field-of-view centre, best z by search.

    ``fixed`` and ``moving`` are the coarsest pyramid images.
    """
    sitk = _sitk()
    lo, hi = mri.bounds_lps()
    fov_centre = (np.asarray(lo) + np.asarray(hi)) / 2.0
    c = centroids.mean(axis=0)
    f = sitk.GetArrayViewFromImage(fixed).ravel()
    best: tuple[float, RigidTransform] | None = None
    for dz in np.arange(-Z_SEARCH_MM, Z_SEARCH_MM + 1e-6, Z_STEP_MM):
        shift = np.array([fov_centre[0] - c[0], fov_centre[1] - c[1] - 20.0,
                          fov_centre[2] - c[2] + dz])
        t = RigidTransform(np.eye(3), shift)
        warped = sitk.Resample(moving, fixed, _euler(t, c), sitk.sitkLinear, -1.0)
        w = sitk.GetArrayViewFromImage(warped).ravel()
        inside = w >= 0.0
        if inside.mean() < 0.3:
            continue
        mi = _mutual_information(f[inside], w[inside])
        if best is None or mi > best[0]:
            best = (mi, t)
    if best is None:
        raise AnalysisError("the MRI does not overlap the CT's spine at any tried position; "
                            "give matched points (vertebra centres) instead")
    return best[1]


def _segments(n: int) -> list[tuple[int, int]]:
    if n <= SEGMENT_LEVELS:
        return [(0, n)]
    starts = list(range(0, n - SEGMENT_LEVELS + 1, SEGMENT_LEVELS - 1))
    if starts[-1] + SEGMENT_LEVELS < n:
        starts.append(n - SEGMENT_LEVELS)
    return [(s, s + SEGMENT_LEVELS) for s in starts]


def _pyramid(ct: CTVolume, cents: FloatArray, moving: Any) -> dict[str, Any]:
    sitk = _sitk()
    fixed = _crop_ct(ct, cents)
    f_sp = np.asarray(fixed.GetSpacing())
    m_sp = np.asarray(moving.GetSpacing())

    def bins(sp: FloatArray, target: float) -> list[int]:
        return [max(1, int(round(target / s))) for s in sp]

    return {"f4": sitk.BinShrink(fixed, bins(f_sp, 3.0)),
            "f2": sitk.BinShrink(fixed, bins(f_sp, 1.5)),
            "m4": sitk.BinShrink(moving, bins(m_sp, 3.0)),
            "m2": sitk.BinShrink(moving, bins(m_sp, 1.5))}


def register_spine(ct: CTVolume, mri: CTVolume, levels: dict[str, tuple[float, float, float]],
                   init: RigidTransform | None = None, *, per_segment: bool = True,
                   threads: int = 2) -> Registration:
    """Register the MRI to the CT around the given levels (see module notes).

    Parameters
    ----------
    ct, mri
        CT (HU) and MRI (signal) volumes, each in its own LPS frame.
    levels
        Level name -> body centroid in the CT (LPS mm), cranial first (the CT analysis).
    init
        Starting CT -> MRI transform (e.g. from matched points); default: from the spine.
    per_segment
        Refine per segment of three levels after the global fit.

    Returns
    -------
    Registration
        Level names carried into the MRI frame with their centroids.
    """
    sitk = _sitk()
    if not levels:
        raise AnalysisError("registration needs at least one analysed level of the CT")
    t0 = time.perf_counter()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(max(1, threads))
    names = list(levels)
    cents = np.array([levels[n] for n in names], dtype=np.float64)
    moving = to_sitk(mri)
    pyr = _pyramid(ct, cents, moving)
    start = init if init is not None else initial_from_spine(pyr["f4"], pyr["m4"], cents, mri)
    centre = cents.mean(axis=0)
    glob, metric = _run(pyr["f4"], pyr["m4"], start, centre)
    segments = _segments(len(names)) if per_segment else [(0, len(names))]
    notes: list[str] = []
    per_level: dict[str, RigidTransform] = {}
    best_dist: dict[str, float] = {}
    for a, b in segments:
        seg = cents[a:b]
        sub = pyr if (a, b) == (0, len(names)) else _pyramid(ct, seg, moving)
        t_seg, m_seg = _run(sub["f2"], sub["m2"], glob, seg.mean(axis=0))
        jump = float(np.linalg.norm(t_seg.apply(seg) - glob.apply(seg), axis=1).max())
        if jump > 3.0:
            notes.append(f"segment {names[a]}-{names[b - 1]}: the fine fit moved {jump:.1f} mm "
                         "from the coarse global fit and was not used")
            t_seg = glob
        if (a, b) == (0, len(names)):
            glob, metric = t_seg, m_seg
        for i in range(a, b):
            d = abs(i - (a + b - 1) / 2.0)
            if d < best_dist.get(names[i], np.inf):
                per_level[names[i]], best_dist[names[i]] = t_seg, d
    mapped = {n: tuple(float(v) for v in per_level[n].apply(levels[n])) for n in names}
    dt = time.perf_counter() - t0
    log.info("MRI registered in %.2f s (MI %.4f)", dt, metric)
    return Registration(glob, per_level, "mutual_information", metric, mapped, dt,  # type: ignore[arg-type]
                        tuple(notes))


def registration_from_points(levels: dict[str, tuple[float, float, float]],
                             transform: RigidTransform, notes: tuple[str, ...] = ()
                             ) -> Registration:
    """A :class:`Registration` from a point-based transform (no image metric)."""
    mapped = {n: tuple(float(v) for v in transform.apply(c)) for n, c in levels.items()}
    return Registration(transform, {n: transform for n in levels}, "points", None, mapped,  # type: ignore[arg-type]
                        0.0, notes)
