"""One pedicle's facts for the trajectory checks: from the level's pedicle mask, refined on
the bone field, and replaced by the CT's cortical tube where it was found
(:mod:`planner.vertebra.pedicle`). Body coordinates (left, posterior, superior), mm."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.grid import FloatArray
from planner.trajectory.fields import DistanceField, FieldSampler
from planner.trajectory.geometry import first_crossing
from planner.vertebra.pedicle import PosteriorSegmentation

SIDE_SIGN = {"left": 1.0, "right": -1.0}


@dataclass(frozen=True, slots=True)
class PedicleInfo:
    """One pedicle in body coordinates (left, posterior, superior; mm).

    ``axis_point``/``axis_dir`` are a least-squares line through the centroids of its
    cross-sections (direction pointing anterior); ``isthmus_point`` is the centroid of the
    smallest cross-section. ``u_medial`` is the medial border as an AP projection shows it,
    as a distance from the midline towards this side. ``half_width_mm``/``half_height_mm``
    are half the left-right and craniocaudal extent of the isthmus cross-section.
    ``inner_width_mm``/``inner_height_mm``: the isthmus between the inner cortical edges (the
    cancellous channel), from the CT where it resolves the cortex; NaN otherwise.
    """

    side: str
    p_min: float
    p_max: float
    u_medial: float
    axis_point: FloatArray
    axis_dir: FloatArray
    isthmus_point: FloatArray
    voxels: int
    half_width_mm: float = float("nan")
    half_height_mm: float = float("nan")
    inner_width_mm: float = float("nan")
    inner_height_mm: float = float("nan")
    #: The axis was set by the surgeon (two clicks; :mod:`planner.trajectory.pedicle_axis`).
    user_axis: bool = False

    def axis_at(self, p_mm: FloatArray) -> FloatArray:
        """Body coordinates ``(..., 3)`` of the pedicle axis at AP coordinates ``p_mm``."""
        p = np.asarray(p_mm, dtype=np.float64)
        a, c = self.axis_dir, self.axis_point
        return np.asarray(c + ((p - c[1]) / a[1])[..., None] * a, dtype=np.float64)


def pedicle_info(anatomy: LevelAnatomy, side: str, half: float) -> PedicleInfo:
    """Pedicle facts from its mask, in body coordinates.

    The pedicle is cut into 1 mm AP slabs; slabs holding less than half the median slab's
    voxels (slivers where the mask is cut at the body's curved posterior wall) are ignored.
    The isthmus is the slab with the smallest transverse (left-right) extent; its centre is
    the middle of that extent at the slab's mean height, and the axis a line fitted through
    the slab centres within ±6 mm of the isthmus.
    """
    sign = SIDE_SIGN[side]
    kji = np.argwhere(anatomy.pedicle(side))
    if kji.shape[0] < 4:
        nan3 = np.full(3, np.nan)
        return PedicleInfo(side, np.nan, np.nan, np.nan, nan3, nan3, nan3, int(kji.shape[0]))
    b = anatomy.frame.to_body(anatomy.grid.voxel_to_lps(kji[:, ::-1].astype(np.float64)))
    p = b[:, 1]
    step = max(1.0, 2 * half)
    slabs = []
    for lo in np.arange(p.min(), p.max(), step):
        sel = (p >= lo) & (p < lo + step)
        if sel.sum() >= 3:
            bl = b[sel]
            slabs.append(
                (
                    int(sel.sum()),
                    float(np.ptp(bl[:, 0])),
                    np.array(
                        [0.5 * (bl[:, 0].min() + bl[:, 0].max()), bl[:, 1].mean(), bl[:, 2].mean()]
                    ),
                    float(np.ptp(bl[:, 2])),
                )
            )
    counts = np.array([sl[0] for sl in slabs])
    full = [sl for sl in slabs if sl[0] >= 0.5 * np.median(counts)]
    if len(full) > 4:
        full = full[1:-1]
    k = int(np.argmin([sl[1] for sl in full]))
    c = np.array([sl[2] for sl in full])
    near = np.abs(c[:, 1] - c[k, 1]) <= 6.0
    if near.sum() >= 2:
        coef_l = np.polyfit(c[near, 1], c[near, 0], 1)
        coef_s = np.polyfit(c[near, 1], c[near, 2], 1)
        d = np.array([-coef_l[0], -1.0, -coef_s[0]])  # towards anterior (−p)
        d /= np.linalg.norm(d)
    else:
        d = np.array([0.0, -1.0, 0.0])
    return PedicleInfo(
        side=side,
        p_min=float(p.min() - half),
        p_max=float(p.max() + half),
        u_medial=float((sign * b[:, 0]).min() - half),
        axis_point=c[k],
        axis_dir=d,
        isthmus_point=c[k],
        voxels=int(kji.shape[0]),
        half_width_mm=0.5 * full[k][1] + half,
        half_height_mm=0.5 * full[k][3] + half,
    )


def refine_isthmus(
    info: PedicleInfo, bone: DistanceField, sampler: FieldSampler, frame: BodyFrame
) -> PedicleInfo:
    """Isthmus from the bone: at 1 mm steps along the first-pass axis, the left-right chord of
    bone through the axis; the narrowest chord (canal medially, soft tissue laterally) is the
    isthmus, its midpoint the centre. Near the body or the lamina the chord runs into them
    and is long, so slivers where the mask is cut do not pass for the isthmus."""
    if info.voxels < 4:
        return info
    p_vals = np.arange(info.p_min + 1.0, info.p_max - 1.0, 1.0)
    if p_vals.size < 3:
        return info
    a = info.axis_dir
    centres = info.axis_point + np.outer((p_vals - info.axis_point[1]) / a[1], a)
    steps = np.arange(0.0, 15.0, 0.25)
    widths, mids = [], []
    for c in centres:
        ext = []
        for sgn in (1.0, -1.0):
            ray = frame.to_lps(c + np.outer(sgn * steps, [1.0, 0.0, 0.0]))
            ext.append(first_crossing(sampler.sample(bone.indicator, ray, cval=-0.5), 0.25))
        widths.append(ext[0] + ext[1])
        mids.append(c + np.array([0.5 * (ext[0] - ext[1]), 0.0, 0.0]))
    w = np.array(widths)
    if not np.isfinite(w).any():
        return info
    k = int(np.nanargmin(np.where(np.isfinite(w), w, np.nan)))
    if not np.isfinite(w[k]):
        return info
    iso = np.asarray(mids[k])
    return replace(info, isthmus_point=iso, axis_point=iso, half_width_mm=0.5 * float(w[k]))


#: The CT's pedicle (:mod:`planner.vertebra.pedicle_tube`) replaces the mask's axis and
#: isthmus when its isthmus is at least this wide and tall (mm; a T1 pedicle is ≥ 4 mm wide,
#: ≥ 7 mm tall, Panjabi et al., Spine 1991)...
CT_PEDICLE_MIN_MM = (3.5, 6.0)
#: ...and its isthmus centre lies within this distance (mm) of the mask's axis line: half a
#: lumbar pedicle's height (Zindrick et al., Spine 1987), so a section found elsewhere is not
#: taken for this pedicle. Measured off the axis, not from the mask's isthmus point: along
#: the axis the narrowest point of a mask zone is ill-defined (totalseg L4 right: 10.8 mm
#: behind the CT's isthmus, 2.4 mm off its axis; tool assumption)...
CT_PEDICLE_NEAR_MM = 8.0
#: ...and its AP position within the mask's AP extent widened by this (mm; tool assumption).
CT_PEDICLE_AP_MARGIN_MM = 3.0


def _near_mask_axis(info: PedicleInfo, point: FloatArray) -> bool:
    """``point`` (body mm) within :data:`CT_PEDICLE_NEAR_MM` of the mask pedicle's axis line
    and within its AP extent ± :data:`CT_PEDICLE_AP_MARGIN_MM`."""
    v = np.asarray(point, dtype=np.float64) - info.axis_point
    a = info.axis_dir
    off = float(np.linalg.norm(v - float(v @ a) * a))
    m = CT_PEDICLE_AP_MARGIN_MM
    return off <= CT_PEDICLE_NEAR_MM and info.p_min - m <= float(point[1]) <= info.p_max + m


def from_ct(info: PedicleInfo, posterior: PosteriorSegmentation) -> PedicleInfo:
    """The pedicle's axis, isthmus centre, width and height from the CT's cortical tube
    (:func:`planner.vertebra.pedicle.segment_posterior`), where it was found and is plausible;
    the mask's AP extent and medial border are kept (body frame, mm)."""
    ct = posterior.pedicles.get(info.side)
    if ct is None or ct.isthmus_width_mm < CT_PEDICLE_MIN_MM[0] or (
            ct.isthmus_height_mm < CT_PEDICLE_MIN_MM[1]):
        return info
    if info.voxels < 4 or not np.all(np.isfinite(info.isthmus_point)) or not np.all(
            np.isfinite(info.axis_dir)) or not _near_mask_axis(info, ct.isthmus_point):
        return info  # no pedicle in the segmentation, or the CT's section is another one
    iso = np.asarray(ct.isthmus_point, dtype=np.float64)
    return replace(info, axis_point=iso, axis_dir=np.asarray(ct.axis_dir, dtype=np.float64),
                   isthmus_point=iso, half_width_mm=0.5 * ct.isthmus_width_mm,
                   half_height_mm=0.5 * ct.isthmus_height_mm, inner_width_mm=ct.inner_width_mm,
                   inner_height_mm=ct.inner_height_mm)
