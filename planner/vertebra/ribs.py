"""Thoracic levels from the column profile, named by their ribs (ANATOMY.md §3).

Used when hopping from body to body finds no anchor (typically a chest CT with a sharp kernel,
where a body segmented by its shell spans a disc). Bodies come from the core profile along the
tracked column (:mod:`planner.vertebra.profile`); a body is rib-bearing when a rib is traced
from it on both sides: connected bone ≥ 38 mm long leaving its costovertebral region
(:mod:`planner.vertebra.rib_trace`), or on one side ≥ :data:`ONE_SIDED_RIB_MM`.

A chain of hopped bodies named from the ribs is checked against this profile's bodies
(:func:`planner.vertebra.levels._checked_by_profile`).

Naming, as a radiologist counts (Forseen et al.; Yun et al., KJR 2018):

- last rib-bearing vertebra: the lowest rib-bearing body whose next two bodies bear none → T12;
- first rib: the highest rib-bearing body with a rib-free body above it (C7) → T1;
- when both are seen, the rib-bearing run must hold 12 bodies; otherwise (11 or 13 rib pairs)
  the disagreement is reported and names follow the last rib, unconfirmed.

Without either anchor nothing is named (None is returned; the caller asks for a seed).

The profile is least reliable at the two ends of the tracked column, so the end bodies are
checked against the pitch of their neighbours (:func:`check_ends`): T1 on
../shared/data/cptac_chest_ct is found this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from planner.grid import FloatArray
from planner.vertebra.anchors import rib_below_note
from planner.vertebra.common import shift_level
from planner.vertebra.profile import ProfileBody
from planner.vertebra.rib_trace import RibTrace, trace_ribs
from planner.vertebra.types import LevelCandidate
from planner.volume import CTVolume

if TYPE_CHECKING:
    from planner.vertebra.column import TrackedColumn
    from planner.vertebra.segment import BodyFit

#: Body height (mm) below which the costovertebral region is taken this tall (a profile body
#: cut short by a thin disc still holds its rib head).
MIN_SEED_HEIGHT_MM = 16.0


#: A rib traced at least this long (mm) on one side marks the body rib-bearing even when the
#: other side's trace broke off: twice the shortest rib, far beyond the transverse process of
#: L1 (< 30 mm; Yun et al., Korean J Radiol 2018). On ../shared/data/cptac_chest_ct smoothed
#: like a soft kernel, T12 traced 5 / 83 mm and T3 120 / 25 mm (their other rib glued to the
#: neighbour's by partial volume); L1 stayed ≤ 33 mm on every variant.
ONE_SIDED_RIB_MM = 76.0


def bears_ribs(trace: RibTrace) -> bool:
    """A rib on both sides, or one side's rib traced :data:`ONE_SIDED_RIB_MM` or longer."""
    return trace.bears_ribs or any(
        trace.side_bears_rib(s) and trace.length_mm[s] >= ONE_SIDED_RIB_MM for s in (0, 1))


def _rib_flags(volume: CTVolume, bodies: list[ProfileBody]) -> list[bool]:
    """Whether each body bears ribs (:func:`bears_ribs`, traces of :mod:`rib_trace`)."""
    return [bears_ribs(t) for t in rib_traces_of(volume, bodies)]


def rib_traces_of(volume: CTVolume, bodies: list[ProfileBody]) -> list[RibTrace]:
    """The ribs traced from each profile body (cranial first)."""
    return trace_ribs(volume, np.array([b.centre_lps for b in bodies]),
                      np.array([b.superior for b in bodies]),
                      np.array([max(b.height_mm, MIN_SEED_HEIGHT_MM) for b in bodies]))


def rib_anchors(ribs: list[bool]) -> tuple[int | None, int | None]:
    """Indices (cranial first) of the first (T1) and last (T12) rib-bearing bodies, or None.

    The first rib needs a rib-free body above it (C7) that is not the top end of the profile:
    the end body is the least reliable (on ../shared/data/cptac_chest_ct it spans the C7/T1
    disc and shows no rib of its own).
    """
    last = next((n for n in range(len(ribs) - 1)
                 if ribs[n] and not any(ribs[n + 1:n + 3])), None)
    first = next((n for n in range(2, len(ribs)) if ribs[n] and not ribs[n - 1]
                  and all(ribs[n:n + 3])), None)
    return first, last


def name_by_ribs(ribs: list[bool]) -> tuple[list[str] | None, list[str]]:
    """Level names from the rib anchors (cranial first) and the naming notes."""
    first, last = rib_anchors(ribs)
    notes: list[str] = []
    if last is None and first is None:
        return None, notes
    if last is not None and first is not None and last - first + 1 != 12:
        pairs = last - first + 1
        notes.append(f"the first and the last rib-bearing vertebrae are {pairs} bodies apart "
                     f"(12 expected): {pairs} rib pairs, or a body missed or split — names "
                     "follow the last rib; confirm the level on a whole-spine view")
    anchor, name = (last, "T12") if last is not None else (first, "T1")
    assert anchor is not None
    names = [shift_level(name, n - anchor) for n in range(len(ribs))]
    if any(n is None for n in names):
        return None, notes
    seen = "first and last ribs" if first is not None and last is not None else (
        "last rib-bearing vertebra (T12)" if last is not None else "first rib (T1)")
    notes.append(f"level names anchored on the {seen}, counted along the column profile "
                 f"({sum(ribs)} rib-bearing bodies in view)")
    return [str(n) for n in names], notes


def clipped_fit(volume: CTVolume, body: ProfileBody) -> BodyFit | None:
    """The body ray-cast from the profile centre, cut at the planes between it and its discs
    (a shell fit on a sharp 3 mm scan runs through the disc into the next body). A fit whose
    centre moved out of the body, or within 1 mm of a disc plane, is cast once from the
    profile centre instead (the real chest CT interpolated to 1 mm slices: T2's fit moved
    6 mm down onto its lower plane, and T2 was lost, T1 with it)."""
    from planner.errors import AnalysisError
    from planner.vertebra.segment import clip_fit, fit_body

    post = np.array([0.0, 1.0, 0.0]) - body.superior[1] * body.superior
    post /= np.linalg.norm(post)
    planes = ((body.top_lps, body.superior), (body.bottom_lps, -body.superior))
    try:
        fit = fit_body(volume, body.centre_lps, body.superior, post)
        clipped = clip_fit(fit, planes) if body.contains(fit.star.centre_lps) else None
        if clipped is None:  # the fit's centre ran out of the body or onto a disc plane
            fit = fit_body(volume, body.centre_lps, body.superior, post, iterations=1)
            clipped = clip_fit(fit, planes)
    except AnalysisError:
        return None
    return clipped


#: A fitted body whose centre lies further than this from its profile point is not used to
#: re-centre the column (a fit that ran into a neighbour or an edge).
RECENTRE_MAX_MM = 20.0
#: Fitted bodies whose centres lie closer than this craniocaudally (mm) are pieces of one body
#: split on the profile (T1 is 14-16 mm high, the smallest; Panjabi et al., Spine 1991) and
#: are not used to re-centre the column (on ../shared/data/cptac_chest_ct smoothed like a soft
#: kernel, T12 was first split in two whose fits lay 14 mm apart left-right and 6 mm apart
#: craniocaudally; re-centred on both, the profile zigzagged there into a false extra body).
MIN_BODY_PITCH_MM = 10.0


def recentre(pts: FloatArray, bodies: list[ProfileBody],
             fits: list[BodyFit | None]) -> FloatArray:
    """The column points moved, across the column, onto the fitted body centres (the
    offsets of the fits interpolated along z; the craniocaudal position is kept)."""
    zs, offs = [], []
    for body, fit in zip(bodies, fits, strict=True):
        if fit is None:
            continue
        d = fit.centroid_lps - body.centre_lps
        d = d - (d @ body.superior) * body.superior
        if np.linalg.norm(d) <= RECENTRE_MAX_MM:
            zs.append(float(body.centre_lps[2]))
            offs.append(d)
    order = np.argsort(zs)
    z, o = np.asarray(zs)[order], np.asarray(offs)[order]
    gap = np.diff(z) >= MIN_BODY_PITCH_MM  # fits closer than this are one body split in two
    keep = np.concatenate([[True], gap]) & np.concatenate([gap, [True]])
    z, o = z[keep], o[keep]
    if len(z) < 2:
        return pts
    shift = np.column_stack([np.interp(pts[:, 2], z, o[:, c]) for c in range(3)])
    return np.asarray(pts + shift, float)


def column_bodies(volume: CTVolume, column: TrackedColumn | None = None,
                  ) -> list[ProfileBody] | None:
    """The bodies split at the discs on the core profile of the re-centred column (cranial
    first); None with fewer than three. ``column`` is tracked here when not given."""
    from planner.vertebra.column import track_column
    from planner.vertebra.profile import merge_split_bodies, profile_bodies

    column = column or track_column(volume)
    if column.ok.sum() < 10:
        return None
    pts = column.polyline_lps()
    bodies, _ = profile_bodies(volume, pts)
    fits = [clipped_fit(volume, b) for b in bodies]
    pts = recentre(pts, bodies, fits)  # the track runs 5-17 mm behind the body centres
    bodies, _ = profile_bodies(volume, pts)
    bodies = merge_split_bodies(bodies)
    return bodies if len(bodies) >= 3 else None


def propose_from_profile(volume: CTVolume, column: TrackedColumn | None = None,
                         ) -> tuple[tuple[LevelCandidate, ...], list[str]] | None:
    """Bodies from the core profile, named by their ribs; None without a rib anchor.

    ``column`` is the analysis's tracked column (tracked here when not given).
    """
    bodies = column_bodies(volume, column)
    if bodies is None:
        return None
    traces = rib_traces_of(volume, bodies)
    names, notes = name_by_ribs([bears_ribs(t) for t in traces])
    if names is None:
        return None
    below = rib_below_note(traces, names)
    return named_candidates(volume, bodies, names, notes if below is None else [*notes, below])


def named_candidates(volume: CTVolume, bodies: list[ProfileBody], names: Sequence[str | None],
                     notes: list[str], source: str = "auto", confirmed: str | None = None,
                     ) -> tuple[tuple[LevelCandidate, ...], list[str]]:
    """Candidates of the named profile bodies (unnamed ones skipped), their ends checked.

    ``confirmed`` names the level the user named (a seed), if any.
    """
    named: list[tuple[str, BodyFit | None]] = [
        (name, clipped_fit(volume, body)) for body, name in zip(bodies, names, strict=True)
        if name is not None]
    out = []
    for name, fit in check_ends(volume, named):
        if fit is None:
            notes.append(f"{name}: no body could be segmented between its discs on the "
                         "column profile; not measured")
            continue
        out.append(LevelCandidate(name, _xyz(fit.centroid_lps), source,
                                  name == confirmed, _xyz(fit.star.superior),
                                  _xyz(fit.star.posterior), fit_cache=fit))
    return tuple(out), notes


#: A body predicted one pitch beyond the end of the profile is kept when its fitted centre lies
#: within this share of the pitch of the prediction and its volume is at least
#: :data:`END_MIN_VOLUME_SHARE` of its neighbours' **[engineering limits]**.
END_CENTRE_TOL = 0.3
END_MIN_VOLUME_SHARE = 0.5
#: The predicted body's bounding planes lie this far inside half a pitch (half a thin disc).
END_PLANE_INSET_MM = 1.0


def check_ends(volume: CTVolume, named: list[tuple[str, BodyFit | None]],
               ) -> list[tuple[str, BodyFit | None]]:
    """The profile's end bodies checked against the pitch of their neighbours (cranial first).

    The profile is least reliable at the ends of the tracked column (at T1 on
    ../shared/data/cptac_chest_ct the track leaves the column and the last "body" spans the
    C7/T1 disc). An end body that could not be fitted, or whose fit reaches the edge of the
    scan, is replaced by the body fitted one pitch beyond its neighbour (the two neighbours'
    centres extrapolated); then one more body beyond each end is looked for the same way, and
    kept when it is complete in the scan and fits the prediction.
    """
    out = list(named)
    for end in (0, -1):
        step = -1 if end == 0 else 1  # name shift: the body beyond the top end is cranial
        if len(out) < 3:
            break
        inner = out[1:3] if end == 0 else out[-2:-4:-1]
        current = out[end][1]
        if current is None or not _clear_of_edges(volume, current):
            out[end] = (out[end][0], _extrapolated(volume, inner[0][1], inner[1][1]))
        name = shift_level(out[end][0], step)
        fit = _extrapolated(volume, out[end][1], inner[0][1])
        if name is not None and fit is not None and _clear_of_edges(volume, fit):
            out = [(name, fit), *out] if end == 0 else [*out, (name, fit)]
    return out


def _extrapolated(volume: CTVolume, near: BodyFit | None, far: BodyFit | None,
                  ) -> BodyFit | None:
    """The body one pitch beyond ``near`` (away from ``far``), or None if not found."""
    from planner.vertebra.profile import ProfileBody

    if near is None or far is None:
        return None
    a, b = near.centroid_lps, far.centroid_lps
    pitch = float(np.linalg.norm(a - b))
    axis = (a - b) / max(pitch, 1e-6)
    sup = axis if axis[2] >= 0 else -axis
    centre = a + (a - b)
    half = pitch / 2.0 - END_PLANE_INSET_MM
    body = ProfileBody(centre, sup, centre + half * sup, centre - half * sup)
    ends = volume.grid.lps_to_voxel(np.array([body.top_lps, body.bottom_lps]))
    if not np.all(volume.grid.contains_voxel(ends)):
        return None
    fit = clipped_fit(volume, body)
    if fit is None or np.linalg.norm(fit.centroid_lps - centre) > END_CENTRE_TOL * pitch:
        return None
    if fit.volume_ml < END_MIN_VOLUME_SHARE * min(near.volume_ml, far.volume_ml):
        return None
    return fit


def _clear_of_edges(volume: CTVolume, fit: BodyFit, margin: int = 2) -> bool:
    """Whether the fitted body stays ``margin`` voxels clear of every face of the scan."""
    idx = np.argwhere(fit.mask)
    if len(idx) == 0:
        return False
    lo = idx.min(axis=0) + np.asarray(fit.start)
    hi = idx.max(axis=0) + np.asarray(fit.start)
    return bool(np.all(lo >= margin) and np.all(hi <= np.asarray(volume.shape_kji) - 1 - margin))


def _xyz(v: FloatArray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])
