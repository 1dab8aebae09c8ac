"""Pedicles and posterior elements of one level, segmented from the CT (ANATOMY.md §4 step).

Method (body frame of the level, :mod:`planner.anatomy`; all lengths mm):

1. The CT is resampled on an isotropic lattice aligned with the body frame (spacing
   :func:`lattice_step`) over the level's slab, wide enough for the transverse processes.
2. *Bone* is where the lightly smoothed CT exceeds the half-maximum between the cortex (a high
   percentile of the HU on the body's shell, the highest of the shells of the outline moved
   by -1, 0, +1 voxels: the body outline only places the search, a voxel off it must not
   move the edge) and soft tissue (:data:`SOFT_TISSUE_HU`): the
   usual CT edge criterion, so the level follows the patient's own cortex (30 HU porotic
   trabecular bone is enclosed by its shell, not thresholded). Shells closed by one voxel are
   filled in sagittal and coronal sections (the canal, running craniocaudally, is no hole
   there) and small holes in axial sections (< :data:`HOLE_MAX_MM2`) too (:func:`solid_bone`).
3. *Canal*: the large hole (≥ :data:`HOLE_MAX_MM2`) behind the body in the axial sections
   where the ring of body, pedicles and laminae is closed; its footprint (the columns that
   are canal in half of those sections, opened by a 2 mm disc: a hole leaking through a gap
   in a porotic cortex is no canal) is extruded over the slab. Without any closed ring the
   analysis' canal is kept.
4. *Pedicle* (:mod:`planner.vertebra.pedicle_tube`): the bone bridge joining body and canal.
   In each coronal section (constant AP position) from the body's posterior wall backwards,
   the largest bone component beside the canal, its cortical ring closed over small gaps and
   filled (a porotic core lies below the edge), is the bridge's section; sections are
   followed while their centroid moves smoothly (a jump is lamina or articular process). The
   isthmus is the section of smallest area; the axis a line through the centroids of the
   sections not merged with body or arch (area ≤ 1.3 × the isthmus'), the AP axis where that
   fit diverges laterally or is too steep. Width and height are the bone chords through the
   isthmus centre perpendicular to the axis (left-right, craniocaudal), each end at the CT's
   local half-maximum between the cortex peak and the tissue outside; the inner chords (the
   cancellous channel) end at the half-maximum between the peak and the cancellous core,
   reported only where the CT resolves the cortex. The tube is the elliptic section swept
   along the axis, clipped to the bone, up to 3 mm behind the last section (further back
   the unresolved facet joint joins the neighbour's articular process); ``p_end`` is where
   the axis leaves the bone behind (the transpedicular entry).
   See :func:`~planner.vertebra.pedicle_tube.find_pedicle`.
5. *Other bone* is named by where it lies: transverse process (beside the pedicle, behind the
   wall), lamina/facet (behind or above/below the pedicle), rib head / costovertebral joint
   (thoracic levels, beside the body), neighbouring vertebra (beyond the endplates in front
   of the canal).

Sources: half-maximum edges (cf. Treece et al., Med Image Anal 2010) and widths on sections
perpendicular to the pedicle axis follow the pedicle modelling literature (Knez & Vrtovec,
Image Anal Stereol: oblique-section widths); thresholds marked "tool assumption" are ours.
Accuracy (tests/planner/test_pedicle_ct.py): demo (0.7 mm) axis within 0.1 mm / 4° of the
analytic one, outer width and height within 0.4 mm, inner channel within 0.6 / 1.1 mm;
tptbox L3 (1.5 mm, porotic) widths within 0.2 mm of the expert label's chords, heights
1.1-1.2 mm larger; totalseg L1-L5 (3 mm) an 11G needle along the trajectory context's axis
stays inside the vertebra label over the isthmus ± 6 mm (≥ 99 % of its surface on every
pedicle). The trajectory context takes the axis, isthmus and widths from here
(:mod:`planner.trajectory.pedicles`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy
from planner.vertebra.pedicle_tube import find_pedicle
from planner.vertebra.posterior_bone import canal_from_bone, edge_hu, name_other_bone, solid_bone
from planner.vertebra.posterior_lattice import (
    Lattice,
    body_extent,
    lattice_step,
    sample_on_lattice,
    to_ct_crop,
)
from planner.vertebra.posterior_types import (
    ARCH,
    BODY,
    CANAL,
    NEIGHBOUR,
    NONE,
    OTHER,
    PEDICLE_LEFT,
    PEDICLE_RIGHT,
    RIB,
    SIDES,
    STRUCTURE_NAMES,
    TRANSVERSE,
    LabelArray,
    PedicleSection,
    PosteriorSegmentation,
)
from planner.volume import CTVolume

__all__ = [
    "ARCH", "BODY", "CANAL", "NEIGHBOUR", "NONE", "OTHER", "PEDICLE_LEFT", "PEDICLE_RIGHT", "RIB",
    "SIDES", "STRUCTURE_NAMES", "TRANSVERSE", "LabelArray", "PedicleSection",
    "PosteriorSegmentation", "segment_posterior",
]

#: Lateral / posterior / slab margins of the lattice around the body (mm; tool assumption).
LATTICE_MARGIN_MM = (22.0, 45.0, 10.0)


def segment_posterior(volume: CTVolume, anatomy: LevelAnatomy) -> PosteriorSegmentation:
    """Pedicles, canal and posterior elements of one level from the CT (module notes).

    Parameters
    ----------
    volume
        The CT (HU).
    anatomy
        The level's body and frame from the vertebra analysis (its pedicle and canal masks
        are only a fall-back for the canal).

    Returns
    -------
    PosteriorSegmentation
        Masks on a crop of the CT grid (LPS placement identical to the CT's).
    """
    from scipy import ndimage as ndi

    frame = anatomy.frame
    own = _body_without_corners(anatomy)
    ext_lo, ext_hi = body_extent(anatomy, own)
    step = lattice_step(volume)
    m_l, m_p, m_s = LATTICE_MARGIN_MM
    half_w = max(abs(ext_lo[0]), abs(ext_hi[0]))
    lo = np.array([-half_w - m_l, ext_lo[1] - 3.0, ext_lo[2] - m_s])
    hi = np.array([half_w + m_l, ext_hi[1] + m_p, ext_hi[2] + m_s])
    shape = tuple(int(np.ceil((hi[c] - lo[c]) / step)) + 1 for c in (2, 1, 0))
    lat = Lattice(lo, step, shape)  # type: ignore[arg-type]
    pts_b = lat.body_points()
    hu = sample_on_lattice(lat, frame, volume.grid, volume.hu, 1, -1000.0)
    body = sample_on_lattice(lat, frame, anatomy.grid, own, 1, 0.0) >= 0.5
    notes: list[str] = []
    edge = edge_hu(hu, body)
    sm = ndi.gaussian_filter(hu, 0.6 / step)
    bone, holes = solid_bone(sm >= edge, body, step)
    canal = canal_from_bone(bone, holes, body, pts_b, step)
    if canal is None:
        notes.append("no closed canal ring in the CT: the analysis' canal is used")
        given = sample_on_lattice(lat, frame, anatomy.grid, anatomy.canal, 1, 0.0)
        canal = (given >= 0.5) & ~bone
    labels = np.zeros(shape, dtype=np.int8)
    labels[bone] = OTHER
    labels[body] = BODY
    labels[canal] = CANAL
    peds: dict[str, PedicleSection | None] = {}
    for side, code in (("left", PEDICLE_LEFT), ("right", PEDICLE_RIGHT)):
        found = find_pedicle(lat, pts_b, bone, canal, body, hu, side)
        if found is None:
            notes.append(f"no {side} pedicle found in the CT")
            peds[side] = None
            continue
        peds[side], tube = found
        labels[tube & bone & ~body] = code
    name_other_bone(labels, pts_b, peds, anatomy.level, ext_lo, ext_hi)
    out_anat, out_labels = to_ct_crop(volume, anatomy, lat, labels)
    return PosteriorSegmentation(out_anat, out_labels, peds, edge, tuple(notes), step)


def _body_without_corners(anatomy: LevelAnatomy) -> NDArray[np.bool_]:
    """The level's body without the lumbar pedicle bases in front of the wall plane
    (``LevelAnatomy.body_corners``): the pedicle is segmented from the CT, the corners are
    its own base (module notes)."""
    from scipy import ndimage as ndi

    if anatomy.body_corners is None:
        return anatomy.body
    corners = anatomy.body_corners
    own = anatomy.body & ~corners
    # a rim of body a voxel thin left around the corners (an outline a voxel wider than the
    # one the corners were cut from) is the base's cortex, not body
    rim = own & ndi.binary_dilation(corners) & ~ndi.binary_opening(own)
    own &= ~rim
    return own if own.any() else anatomy.body
