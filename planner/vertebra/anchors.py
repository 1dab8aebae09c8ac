"""Anchors that name the levels: the sacrum (its alae) and the last rib-bearing vertebra.

Method
------
Sacrum: at S1 the bone continues laterally into the alae (> 40 mm each side at the level of
the body), while a lumbar body ends ~25 mm from its centre (its transverse processes lie
further back); the lowest free body above it is L5. Last rib-bearing vertebra, T12: the lowest
body with a rib traced from it on both sides (≥ 38 mm along the bone from its costovertebral
region, :mod:`planner.vertebra.rib_trace`) whose next two bodies have none. When both anchors
are seen and disagree (transitional anatomy, 13 rib pairs, lumbarised S1) a warning says so
(Forseen et al.; Yun et al., KJR 2018).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.errors import AnalysisError
from planner.vertebra.common import shift_level
from planner.vertebra.rib_trace import RibTrace, trace_ribs
from planner.vertebra.segment import BodyFit
from planner.volume import CTVolume

#: Share of bone (> 150 HU) beside the body, 30-50 mm from its centre, that marks the sacral
#: alae. Measured on ../shared/data/totalseg_example: S1 0.14-0.25 both sides (depending on
#: the fitted frame), L5 ≤ 0.10 (psoas lies there; the transverse processes are further
#: back), L1-L4 0.
ALA_BONE_FRACTION = 0.12


def ala_bone_fractions(volume: CTVolume, fit: BodyFit) -> tuple[float, float]:
    """Bone share left and right of the body, 30-50 mm out, ±10/+15 mm AP, ±6 mm high.

    Measured in the body's frame and in the patient's (LPS) axes; the larger share per side
    counts (the sacrum is tilted 30-50°, and its fitted frame may be off).
    """
    star = fit.star
    frames = [(np.cross(star.posterior, star.superior), star.posterior, star.superior),
              (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))]
    a, p, z = np.arange(30.0, 51.0, 2.0), np.arange(-10.0, 16.0, 2.0), np.arange(-6.0, 7.0, 2.0)
    best = [0.0, 0.0]
    for left, post, sup in frames:
        for n, side in enumerate((1.0, -1.0)):
            aa, pp, zz = np.meshgrid(side * a, p, z, indexing="ij")
            pts = (fit.centroid_lps + aa[..., None] * left + pp[..., None] * post
                   + zz[..., None] * sup)
            share = float((volume.sample_lps(pts.reshape(-1, 3), fill=-1000.0) > 150).mean())
            best[n] = max(best[n], share)
    return best[0], best[1]


def is_sacrum(volume: CTVolume, fit: BodyFit) -> bool:
    """The sacral alae: bone continues beside the body on both sides (a lumbar body ends
    ~25 mm from its centre, with soft tissue beside it)."""
    return min(ala_bone_fractions(volume, fit)) >= ALA_BONE_FRACTION


def has_rib(trace: RibTrace) -> bool:
    """A rib traced on either side: such a body is thoracic, never the sacrum, whatever bone
    lies beside it (on ../shared/data/cptac_chest_ct re-sampled to 3.75 mm slices, a hop
    fitted the posterior elements of T10 with rib necks 30-50 mm out on both sides, and the
    chain was named L2-L5 from that "sacrum"; the real S1 of ../shared/data/totalseg_example
    traces 12 / 12 mm)."""
    return trace.side_bears_rib(0) or trace.side_bears_rib(1)


def rib_traces(volume: CTVolume, fits: list[BodyFit]) -> list[RibTrace]:
    """The ribs traced from each fitted body (cranial first; :mod:`rib_trace`)."""
    return trace_ribs(volume, np.array([f.centroid_lps for f in fits]),
                      np.array([f.star.superior for f in fits]),
                      np.array([f.pole_mm(1) + f.pole_mm(-1) for f in fits]),
                      np.array([_half_width_mm(f) for f in fits]))


def _half_width_mm(fit: BodyFit) -> float:
    """The fitted body's largest extent left or right of its centre (mm)."""
    star = fit.star
    left = np.cross(star.posterior, star.superior)
    return float(np.abs((star.surface_lps() - star.centre_lps).reshape(-1, 3) @ left).max())


def last_rib_index(volume: CTVolume, fits: list[BodyFit]) -> int | None:
    """Index (cranial first) of the last rib-bearing body (T12), or None."""
    return _last_rib(rib_traces(volume, fits))


def _last_rib(traces: list[RibTrace]) -> int | None:
    ribs = [t.bears_ribs for t in traces]
    for n in range(len(ribs) - 1):
        below = ribs[n + 1:n + 3]
        if ribs[n] and not any(below):
            return n
    return None


#: Levels below the last rib-bearing vertebra where a rib traced on one side is reported.
BELOW_LAST_RIB = ("L1", "L2")


def rib_below_note(traces: Sequence[RibTrace], names: Sequence[str | None]) -> str | None:
    """A warning when a body named L1 or L2 bears a rib on one side, or None.

    Such bone is a 12th rib whose other side was missed (every name then one level too low)
    or a lumbar rib; the count alone cannot tell (Yun et al., Korean J Radiol 2018). Measured
    on ../shared/data/cptac_chest_ct interpolated to 1.5 mm slices at 0.98 mm pixels: T12
    traced 14 / 73 mm, the left 12th rib went to L1 (75 mm) and T11 was named T12 with
    nothing said; on the original L1 traces 2 / 23 mm.
    """
    hits = [f"{name} {('left', 'right')[s]} {trace.length_mm[s]:.0f} mm"
            for trace, name in zip(traces, names, strict=True) if name in BELOW_LAST_RIB
            for s in (0, 1) if trace.side_bears_rib(s)]
    if not hits:
        return None
    return (f"a rib traced on one side below the last rib-bearing vertebra ({', '.join(hits)}): "
            "a 12th rib missed on the other side, or a lumbar rib. If it is the 12th rib, every "
            "name here is one level too low — confirm the level on a whole-spine view")


def rib_evidence(traces: list[RibTrace], last: int) -> str:
    """The traced rib lengths at the last rib-bearing body and the body below, for a note."""
    own = traces[last].length_mm
    text = f"ribs traced {own[0]:.0f} / {own[1]:.0f} mm left / right"
    if last + 1 < len(traces):
        text += f", none from the body below (≤ {max(traces[last + 1].length_mm):.0f} mm)"
    return text


def name_fits(volume: CTVolume, fits: list[BodyFit]) -> tuple[list[str], list[str]]:
    """Level names of ``fits`` (cranial first) and warnings; raises without an anchor."""
    warnings: list[str] = []
    by_sacrum = by_ribs = None
    traces = rib_traces(volume, fits)
    if is_sacrum(volume, fits[-1]) and not has_rib(traces[-1]):
        by_sacrum = [shift_level("S1", n - len(fits) + 1) for n in range(len(fits))]
    t12 = _last_rib(traces)
    if t12 is not None:
        by_ribs = [shift_level("T12", n - t12) for n in range(len(fits))]
    if by_sacrum and by_ribs and by_sacrum != by_ribs and t12 is not None:
        free = len(fits) - 2 - t12  # rib-free mobile bodies between the last rib and S1
        kind = ("11 rib pairs or a lumbarised S1" if free > 5 else
                "13 rib pairs or a sacralised L5")
        warnings.append(
            f"the sacrum and the last rib-bearing vertebra disagree ({free} rib-free bodies "
            f"between them, 5 expected: {kind}; the body above the sacrum would be "
            f"{by_sacrum[-2]}, counting from the ribs it is {by_ribs[-2]}): transitional "
            "anatomy is likely; names follow the sacrum — confirm the level on a whole-spine "
            "view")
    names = by_sacrum or by_ribs
    if names is None or any(n is None for n in names):
        centres = ", ".join(f"{np.round(f.centroid_lps, 0).tolist()}" for f in fits)
        raise AnalysisError(
            f"found {len(fits)} vertebral bodies (LPS centres {centres}) but neither the "
            "sacrum nor the last rib-bearing vertebra to anchor their names; click inside a "
            "body and name its level (--seed X,Y,Z --level L1) or import a label map")
    warnings.append("level names anchored on the " + (
        "sacrum" if by_sacrum else
        f"last rib-bearing vertebra (T12; {rib_evidence(traces, t12 if t12 is not None else 0)})"))
    below = rib_below_note(traces, names)
    if below is not None:
        warnings.append(below)
    return [str(n) for n in names], warnings
