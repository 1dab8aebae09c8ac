"""Synthetic MRI counterpart of the demo CT: sagittal STIR and T1, with a known rigid offset.

The same synthetic patient as :func:`planner.demo.generate_demo`, scanned a second time on an
MRI table: the CT's tissue map (its noise-smoothed HU, which separates air, fat, soft tissue
and bone) and the demo's analytic shapes (vertebral bodies, discs, dural sac, cord) are turned
into MR signal per tissue, then sampled on a sagittal MRI grid in the MRI's own frame.

Notes
-----
- Frames: ``transform`` maps CT LPS mm to MRI LPS mm (``p_mri = R p_ct + t``), a rotation
  of :data:`ROTATION_DEG` about the L1 centroid and a shift of :data:`SHIFT_MM`.
- Grid: sagittal, (0020,0037) rows along +y (posterior), columns along -z (inferior), slices
  along -x; :data:`SPACING_MM` = 0.9 x 0.9 mm in plane, 3.5 mm slices; each slice averages 3
  sub-slices across its thickness (slice profile, partial volume).
- Marrow states: L1 acute (bone-marrow oedema: bright on STIR, dark on T1, strongest under the
  collapsed superior endplate); T12 a healed fracture (a thin sclerotic band under its
  superior endplate, dark on both contrasts, no oedema); the others normal fatty marrow.
- Signal values are relative (fat on T1 = 1) times 1000, stored as integers; Rician noise
  (magnitude of complex Gaussian noise, sigma :data:`NOISE_SIGMA`) and a gentle receive-coil
  shading (brighter posteriorly) are added. Tissue values are tool assumptions chosen to give
  the textbook appearance (fat bright on T1 and suppressed on STIR, CSF bright on STIR and
  dark on T1, oedema bright on STIR and dark on T1), not measurements.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.demo import params as P
from planner.demo.case import DemoCase, demo_uid
from planner.demo.spine import LevelGeometry
from planner.demo.spine_soft import Canal, DiscShape, build_disc
from planner.grid import ImageGrid
from planner.mri.rigid import RigidTransform, rotation_from_euler_deg
from planner.volume import CTVolume

log = logging.getLogger(__name__)

F = NDArray[np.float64]

#: True offset of the MRI from the CT: rotation (deg about LPS x, y, z) about L1's centroid,
#: then a shift (mm). About what a patient repositioned on another table does.
ROTATION_DEG = (4.0, -2.5, 3.0)
SHIFT_MM = (7.0, -11.0, 16.0)
SPACING_MM = (0.9, 0.9, 3.5)
N_SLICES = 21
FOV_MM = (185.0, 0.0)  # AP field of view; the craniocaudal one follows the CT's extent
NOISE_SIGMA = 0.018
#: Level -> marrow state on the MRI.
LEVEL_STATE = {"L1": "acute", "T12": "healed"}

#: CT HU anchors of the tissue map and the relative MR signal at them, per contrast.
HU_ANCHORS = (-1000.0, -850.0, -120.0, -80.0, -40.0, 15.0, 40.0, 70.0, 260.0, 700.0, 3000.0)


@dataclass(frozen=True, slots=True)
class Contrast:
    """Relative signal of each tissue on one sequence (fat on T1 = 1; tool assumption)."""

    name: str
    description: str
    by_hu: tuple[float, ...]
    marrow: float
    oedema: float
    sclerosis: float
    disc_nucleus: float
    disc_annulus: float
    csf: float
    cord: float
    dicom: tuple[tuple[str, Any], ...]


STIR = Contrast(
    "stir", "Demo spine MRI sag STIR (synthetic)",
    (0.0, 0.02, 0.05, 0.06, 0.12, 0.45, 0.33, 0.16, 0.13, 0.03, 0.02),
    marrow=0.14, oedema=0.72, sclerosis=0.07, disc_nucleus=0.55, disc_annulus=0.2, csf=0.95,
    cord=0.4,
    dicom=(("ScanningSequence", ["SE", "IR"]), ("SequenceVariant", ["SK", "SP"]),
           ("ScanOptions", ["IR"]), ("RepetitionTime", "4000"), ("EchoTime", "60"),
           ("InversionTime", "160"), ("EchoTrainLength", "15"), ("SequenceName", "*tir2d1_15")),
)
T1 = Contrast(
    "t1", "Demo spine MRI sag T1 TSE (synthetic)",
    (0.0, 0.02, 1.0, 0.95, 0.7, 0.4, 0.42, 0.38, 0.7, 0.04, 0.02),
    marrow=0.78, oedema=0.28, sclerosis=0.25, disc_nucleus=0.33, disc_annulus=0.28, csf=0.12,
    cord=0.42,
    dicom=(("ScanningSequence", ["SE"]), ("SequenceVariant", ["SK", "SP"]),
           ("ScanOptions", ""), ("RepetitionTime", "550"), ("EchoTime", "10"),
           ("EchoTrainLength", "3"), ("SequenceName", "*tse2d1_3")),
)
CONTRASTS = {"stir": STIR, "t1": T1}


@dataclass(frozen=True, eq=False)
class DemoMRI:
    """The synthetic MRI: STIR and T1 on one sagittal grid in the MRI frame.

    Parameters
    ----------
    stir, t1
        Volumes (modality ``"MR"``, relative signal x 1000) on the same grid.
    transform
        True CT -> MRI transform.
    states
        Level -> ``"acute"`` / ``"healed"`` / ``"normal"`` marrow on the MRI.
    centroids_mri_lps
        Body centroids of the complete levels in the MRI frame.
    """

    stir: CTVolume
    t1: CTVolume
    transform: RigidTransform
    states: dict[str, str]
    centroids_mri_lps: dict[str, tuple[float, float, float]]

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": "MRI patient LPS (own frame of reference)",
            "transform_ct_to_mri": self.transform.to_json(),
            "rotation_deg_xyz_about_l1": list(ROTATION_DEG),
            "shift_mm": list(SHIFT_MM),
            "spacing_mm": list(SPACING_MM),
            "levels": [
                {"name": n, "marrow": self.states.get(n, "normal"),
                 "oedema": self.states.get(n) == "acute",
                 "centroid_mri_lps": [round(v, 4) for v in c]}
                for n, c in self.centroids_mri_lps.items()
            ],
        }


def true_transform(case: DemoCase) -> RigidTransform:
    """The CT -> MRI transform of the demo: :data:`ROTATION_DEG` about L1, then :data:`SHIFT_MM`."""
    centre = np.asarray(case.truth.level(P.FRACTURED_LEVEL).centroid_lps)
    return RigidTransform.about_centre(rotation_from_euler_deg(*ROTATION_DEG), centre, SHIFT_MM)


def mri_grid(case: DemoCase, transform: RigidTransform) -> ImageGrid:
    """The sagittal MRI grid, centred (in the MRI frame) on the mapped spine."""
    lo, hi = case.volume.bounds_lps()
    cents = np.array([lv.centroid_lps for lv in case.truth.levels])
    centre_ct = np.array([0.0, float(cents[:, 1].mean()) + 22.0, float((lo[2] + hi[2]) / 2.0)])
    centre = transform.apply(centre_ct)
    n_i = int(FOV_MM[0] / SPACING_MM[0])
    n_j = int((float(hi[2] - lo[2]) - 22.0) / SPACING_MM[1])
    cols = np.array([[0.0, SPACING_MM[0], 0.0], [0.0, 0.0, -SPACING_MM[1]],
                     [-SPACING_MM[2], 0.0, 0.0]]).T
    m = np.eye(4)
    m[:3, :3] = cols
    m[:3, 3] = centre - cols @ (np.array([n_i, n_j, N_SLICES], dtype=float) - 1.0) / 2.0
    return ImageGrid((N_SLICES, n_j, n_i), m)


def _occ(d: F, width: float = 1.0) -> F:
    return np.clip(0.5 - d / width, 0.0, 1.0)


def _marrow(lv: LevelGeometry, x: F, y: F, z: F, c: Contrast, state: str) -> F:
    """Marrow signal of one body at CT-frame points (state: normal / acute / healed)."""
    base = c.marrow * (1.0 + 0.03 * np.sin(3.0 * P.VERSE_IDS[lv.name]))
    if state == "normal":
        return np.full(np.shape(x), base)
    body = lv.body
    u, v, w = body.frame.local(x, y, z)
    below = body.top(u, v) - w
    if state == "acute":
        e = np.clip(1.0 - 0.35 * below / max(body.h_centre, 1.0), 0.55, 1.0)
        return np.asarray(base + e * (c.oedema - base), dtype=np.float64)
    prof = np.clip(1.0 - np.abs(below - 4.0) / 2.0, 0.0, 1.0)
    return np.asarray(base + prof * (c.sclerosis - base), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class _Anatomy:
    levels: tuple[LevelGeometry, ...]
    discs: tuple[DiscShape, ...]
    canal: Canal


def _anatomy(case: DemoCase) -> _Anatomy:
    from planner.demo.spine import build_spine

    column, levels = build_spine()  # deterministic: the same shapes as the CT's
    discs = tuple(build_disc(levels[i], levels[i + 1], column) for i in range(len(levels) - 1))
    return _Anatomy(tuple(case.truth.geometry[lv.name] for lv in levels), discs,
                    case.truth.canal)


def _in_box(box: tuple[F, F], x: F, y: F, z: F) -> NDArray[np.bool_]:
    lo, hi = box
    inside = ((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2])
              & (z <= hi[2]))
    return np.asarray(inside, dtype=bool)


def _signal(hu: F, x: F, y: F, z: F, anat: _Anatomy) -> dict[str, F]:
    """Noise-free relative signal of both contrasts at CT-frame points."""
    out = {n: np.interp(hu, HU_ANCHORS, c.by_hu) for n, c in CONTRASTS.items()}
    for disc in anat.discs:
        sel = _in_box(disc.box_lps(), x, y, z)
        if not sel.any():
            continue
        xs, ys, zs = x[sel], y[sel], z[sel]
        w = _occ(disc.sdf(xs, ys, zs))
        r = np.clip(disc.radial(xs, ys, zs), 0.0, 1.0) ** 2
        for n, c in CONTRASTS.items():
            val = c.disc_nucleus + (c.disc_annulus - c.disc_nucleus) * r
            out[n][sel] += w * (val - out[n][sel])
    near = (np.abs(x) < 25.0)
    if near.any():
        d = anat.canal.sdfs(x[near], y[near], z[near])
        w_sac, w_cord = _occ(d["sac"]), _occ(d["cord"])
        for n, c in CONTRASTS.items():
            s = out[n][near]
            s += w_sac * (c.csf - s)
            s += w_cord * (c.cord - s)
            out[n][near] = s
    for lv in anat.levels:
        sel = _in_box(lv.body.box_lps(), x, y, z)
        if not sel.any():
            continue
        xs, ys, zs = x[sel], y[sel], z[sel]
        w = _occ(lv.body.sdf(xs, ys, zs) + P.CORTEX_BODY_MM)
        state = LEVEL_STATE.get(lv.name, "normal")
        for n, c in CONTRASTS.items():
            out[n][sel] += w * (_marrow(lv, xs, ys, zs, c, state) - out[n][sel])
    return out


def _smoothed_ct(case: DemoCase, x_half_mm: float) -> tuple[NDArray[np.float32], ImageGrid]:
    """The CT's central slab (|x| < x_half_mm), smoothed to remove the CT noise."""
    from scipy.ndimage import gaussian_filter

    vol = case.volume
    ijk = vol.lps_to_voxel(np.array([[-x_half_mm, 0, 0], [x_half_mm, 0, 0]]))
    i0 = max(0, int(np.floor(ijk[:, 0].min())))
    i1 = min(vol.shape_kji[2], int(np.ceil(ijk[:, 0].max())) + 1)
    crop = vol.hu[:, :, i0:i1].astype(np.float32)
    smooth = gaussian_filter(crop, sigma=(0.8, 1.1, 1.1), truncate=2.5)
    return smooth, vol.grid.crop((0, 0, i0), (vol.shape_kji[0], vol.shape_kji[1], i1))


def generate_demo_mri(case: DemoCase) -> DemoMRI:
    """Scan the demo patient on the synthetic MRI: sagittal STIR and T1 (see module notes).

    Parameters
    ----------
    case
        The demo CT case (its seed drives the MRI noise too).

    Returns
    -------
    DemoMRI

    Notes
    -----
    LPS mm. Deterministic for a given case seed. About 2-3 s on one core.
    """
    from scipy.ndimage import map_coordinates

    t0 = time.perf_counter()
    transform = true_transform(case)
    grid = mri_grid(case, transform)
    inv = transform.inverse()
    anat = _anatomy(case)
    hu, ct_grid = _smoothed_ct(case, 60.0)
    nk, nj, ni = grid.shape_kji
    jj, ii = np.meshgrid(np.arange(nj, dtype=float), np.arange(ni, dtype=float), indexing="ij")
    acc = {n: np.zeros((nk, nj, ni)) for n in CONTRASTS}
    for k in range(nk):
        for dk in (-1.0 / 3.0, 0.0, 1.0 / 3.0):
            ijk = np.stack([ii.ravel(), jj.ravel(), np.full(ii.size, k + dk)], axis=1)
            p_ct = inv.apply(grid.voxel_to_lps(ijk))
            vox = ct_grid.lps_to_voxel(p_ct)
            h = map_coordinates(hu, vox[:, ::-1].T, order=1, mode="constant", cval=-1000.0)
            sig = _signal(h.astype(np.float64), p_ct[:, 0], p_ct[:, 1], p_ct[:, 2], anat)
            for n in CONTRASTS:
                acc[n][k] += sig[n].reshape(nj, ni) / 3.0
    rng = np.random.default_rng([case.seed, 31])
    shading = 0.9 + 0.2 * (ii / max(ni - 1, 1))  # receive coil behind the patient
    vols = {}
    for n, c in CONTRASTS.items():
        s = acc[n] * shading[None]
        noisy = np.hypot(s + rng.normal(0.0, NOISE_SIGMA, s.shape),
                         rng.normal(0.0, NOISE_SIGMA, s.shape))
        vols[n] = CTVolume.from_array(
            np.rint(noisy * 1000.0), grid.ijk_to_lps,
            demo_uid(case.seed, case.variant, f"mri/{n}"), modality="MR",
            description=c.description, patient=case.volume.patient)
    cents = {lv.name: tuple(float(v) for v in transform.apply(lv.centroid_lps))
             for lv in case.truth.levels}
    states = {lv.name: LEVEL_STATE.get(lv.name, "normal") for lv in case.truth.levels}
    log.info("demo MRI generated in %.2f s", time.perf_counter() - t0)
    return DemoMRI(vols["stir"], vols["t1"], transform, states, cents)  # type: ignore[arg-type]
