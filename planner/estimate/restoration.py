"""Expected height restoration per wall (tool model fitted to Crandall 2004, Lieberman 2001,
Beall 2018).

ΔH_immediate = ρ·L and ΔH_6-12 months = R·ρ·L, with ρ ~ Beta for the procedure/acuity and
R ~ Beta(2.51, 2.51), clamped to [0, L]. Quantiles are closed form (``scipy.stats.beta``)
for ρ and by numeric quadrature of the product's CDF for ρ·R: deterministic, no sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from planner.estimate.sources import cite

#: Beta(α, β) of the restored fraction ρ and the retention R (DOMAIN.md §9b, fitted there to
#: Crandall 2004, Lieberman 2001, Belkoff 2001, Palmowski 2020, Xie & Jin 2017,
#: Papanastassiou 2012; retention to PMC2996621, SAKOS 2019, Yavuz 2023).
BETA_PARAMS: dict[str, tuple[float, float]] = {
    "kyphoplasty/acute": (1.84, 2.25),
    "kyphoplasty/chronic": (1.58, 4.28),
    "vertebroplasty": (0.68, 4.98),
    "retention": (2.51, 2.51),
}
#: Mean local kyphosis / wedge correction immediately after the procedure, degrees
#: (DOMAIN.md §9b Angles: Palmowski 2020 3.8-4.3° acute, 1.7° chronic; Papanastassiou 2012
#: VP 1.7°).
ANGLE_MEAN_DEG = {"kyphoplasty/acute": 4.0, "kyphoplasty/chronic": 1.7, "vertebroplasty": 1.7}
QUANTILES = (0.10, 0.50, 0.90)
WALLS_ESTIMATED = ("anterior", "middle")

_SOURCES_BASE = (
    "rule9b",
    "crandall2004",
    "lieberman2001",
    "belkoff2001h",
    "xie2017",
    "papanastassiou2012",
    "palmowski2020",
    "pmc2996621",
    "sakos2019",
    "yavuz2023",
    "vbs2010",
)


@dataclass(frozen=True, slots=True)
class Band:
    """A median with its 10th and 90th percentiles (same unit as the quantity)."""

    median: float
    p10: float
    p90: float

    def to_json(self, digits: int = 2) -> dict[str, float]:
        return {
            "median": round(self.median, digits),
            "p10": round(self.p10, digits),
            "p90": round(self.p90, digits),
        }

    def scaled(self, factor: float) -> Band:
        return Band(self.median * factor, self.p10 * factor, self.p90 * factor)


@dataclass(frozen=True, slots=True)
class Restoration:
    """Expected height gain per wall and wedge-angle change.

    Notes
    -----
    Heights in mm (gain over the fractured height, never more than the lost height L);
    angles in degrees (+ = less wedging). ``follow_up_mm`` is at 6-12 months.
    ``alternatives`` holds the acute and chronic bands when the acuity is unknown.
    """

    procedure: str
    acuity: str
    immediate_mm: dict[str, Band]
    follow_up_mm: dict[str, Band]
    wedge_angle_change_deg: Band
    wedge_angle_follow_up_deg: Band
    model: str
    inputs: dict[str, object]
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    alternatives: dict[str, dict[str, dict[str, Band]]] = field(default_factory=dict)

    def expected_heights_mm(
        self, measured_mm: Mapping[str, float], follow_up: bool = False
    ) -> dict[str, Band]:
        """Measured height + expected gain per estimated wall (for the ghost outline), mm."""
        gains = self.follow_up_mm if follow_up else self.immediate_mm
        return {
            w: Band(measured_mm[w] + b.median, measured_mm[w] + b.p10, measured_mm[w] + b.p90)
            for w, b in gains.items()
        }

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "procedure": self.procedure,
            "acuity": self.acuity,
            "immediate_mm": {w: b.to_json() for w, b in self.immediate_mm.items()},
            "follow_up_mm": {w: b.to_json() for w, b in self.follow_up_mm.items()},
            "wedge_angle_change_deg": {
                **self.wedge_angle_change_deg.to_json(1),
                "follow_up": self.wedge_angle_follow_up_deg.to_json(1),
            },
            "model": self.model,
            "inputs": self.inputs,
            "notes": list(self.notes),
            "sources": list(self.sources),
        }
        if self.alternatives:
            out["alternatives"] = {
                k: {p: {w: b.to_json() for w, b in d.items()} for p, d in v.items()}
                for k, v in self.alternatives.items()
            }
        return out


@lru_cache(maxsize=32)
def fraction_quantiles(case: str, with_retention: bool) -> tuple[float, float, float]:
    """10/50/90th percentiles of ρ (or of ρ·R) for a case key of :data:`BETA_PARAMS`.

    Notes
    -----
    ρ: the Beta quantile function (``scipy.special.betaincinv``, closed form). ρ·R:
    P(ρR ≤ t) = ∫ F_ρ(t/r) f_R(r) dr on a 4,001-point grid (trapezoid), inverted by Brent's
    method; agrees with a seeded 1-million-sample Monte Carlo within 0.01 of L.
    """
    from scipy import optimize, special

    a, b = BETA_PARAMS[case]
    if not with_retention:
        return tuple(float(special.betaincinv(a, b, q)) for q in QUANTILES)  # type: ignore[return-value]
    ra, rb = BETA_PARAMS["retention"]
    r = np.linspace(0.0, 1.0, 4001)[1:-1]
    w = np.exp((ra - 1) * np.log(r) + (rb - 1) * np.log1p(-r) - special.betaln(ra, rb))
    w /= np.trapezoid(w, r)

    def cdf(t: float) -> float:
        return float(np.trapezoid(special.betainc(a, b, np.minimum(t / r, 1.0)) * w, r))

    out = [optimize.brentq(lambda t, q=q: cdf(t) - q, 1e-9, 1.0, xtol=1e-7) for q in QUANTILES]
    return (float(out[0]), float(out[1]), float(out[2]))


def _band(q: tuple[float, float, float], lost_mm: float) -> Band:
    return Band(q[1] * lost_mm, q[0] * lost_mm, q[2] * lost_mm)


def _case_bands(case: str, lost: Mapping[str, float]) -> dict[str, dict[str, Band]]:
    imm, fol = fraction_quantiles(case, False), fraction_quantiles(case, True)
    return {
        "immediate": {w: _band(imm, lost[w]) for w in lost},
        "follow_up": {w: _band(fol, lost[w]) for w in lost},
    }


def _envelope(a: Band, b: Band) -> Band:
    return Band(0.5 * (a.median + b.median), min(a.p10, b.p10), max(a.p90, b.p90))


def _angle_bands(case: str) -> tuple[Band, Band]:
    """Angle bands: published mean × the spread of ρ (and ρ·R) relative to its median."""
    mean = ANGLE_MEAN_DEG[case]
    out = []
    for with_r in (False, True):
        q = fraction_quantiles(case, with_r)
        q_imm = fraction_quantiles(case, False)
        out.append(Band(mean * q[1] / q_imm[1], mean * q[0] / q_imm[1], mean * q[2] / q_imm[1]))
    return out[0], out[1]


def _positional(
    lost: Mapping[str, float],
    supine: Mapping[str, float],
    measured: Mapping[str, float],
    pop: dict[str, dict[str, Band]],
) -> tuple[dict[str, Band], dict[str, Band]]:
    """Mobile fracture: gain measured on positional heights, band widened to the population's."""
    r_q = _retention_quantiles()
    imm, fol = {}, {}
    for w, L in lost.items():
        gain = min(max(supine[w] - measured[w], 0.0), L)
        p_i, p_f = pop["immediate"][w], pop["follow_up"][w]
        imm[w] = Band(gain, min(gain, p_i.p10), max(gain, p_i.p90))
        fol[w] = Band(gain * r_q[1], min(gain * r_q[0], p_f.p10), max(gain * r_q[2], p_f.p90))
    return imm, fol


def _retention_quantiles() -> tuple[float, float, float]:
    return fraction_quantiles("retention", False)


def _check(lost: Mapping[str, float], procedure: str, acuity: str) -> dict[str, float]:
    if procedure not in ("vertebroplasty", "kyphoplasty"):
        raise ValueError(f"procedure must be vertebroplasty or kyphoplasty, got {procedure!r}")
    if acuity not in ("acute", "chronic", "unknown"):
        raise ValueError(f"acuity must be acute, chronic or unknown, got {acuity!r}")
    out = {}
    for w in WALLS_ESTIMATED:
        if w not in lost:
            raise ValueError(f"lost_height_mm needs the {w} wall (mm); got {sorted(lost)}")
        v = float(lost[w])
        if not np.isfinite(v) or v > 40:
            raise ValueError(f"lost height at the {w} wall must be finite and <= 40 mm, got {v}")
        out[w] = max(v, 0.0)
    return out


def restoration_estimate(
    lost_height_mm: Mapping[str, float],
    procedure: str,
    acuity: str = "unknown",
    supine_heights_mm: Mapping[str, float] | None = None,
    measured_heights_mm: Mapping[str, float] | None = None,
    intact: bool = False,
) -> Restoration:
    """Expected height gain per wall, immediately and at 6-12 months, with 10-90 % bands.

    Parameters
    ----------
    lost_height_mm
        L_w = H_ref,w − H_fx,w per wall (``"anterior"``, ``"middle"``; mm). Negative → 0.
    procedure
        ``"vertebroplasty"`` or ``"kyphoplasty"``.
    acuity
        ``"acute"`` (≲ 6 weeks or oedema), ``"chronic"`` or ``"unknown"``.
    supine_heights_mm, measured_heights_mm
        Optional positional (supine-stress / prone) heights and the fractured heights per wall:
        when both are given the fracture is treated as mobile and ρ is measured.
    intact
        True for a level graded Genant 0 (no fracture).

    Returns
    -------
    Restoration

    Notes
    -----
    mm and degrees. A band tied to procedure, acuity and mobility — not a guaranteed height
    (DOMAIN.md §9b "What the tool should not claim"). Where no height is lost (every L ≤ 0)
    or the level is intact, nothing can be restored: all bands are 0, with a note saying why
    (the published restoration and wedge-correction figures come from fractured levels).
    """
    lost = _check(lost_height_mm, procedure, acuity)
    if intact or all(v <= 0.0 for v in lost.values()):
        return _no_height_lost(procedure, acuity, lost, intact)
    notes: list[str] = []
    srcs = list(_SOURCES_BASE)
    case, bands, (a_imm, a_fol), alternatives = _select(procedure, acuity, lost, notes)
    imm, fol = bands["immediate"], bands["follow_up"]
    if case in BETA_PARAMS:
        model = f"ΔH = ρ·L immediately, R·ρ·L at 6-12 months; ρ ~ Beta{BETA_PARAMS[case]}"
    else:
        model = (
            "ΔH = ρ·L immediately, R·ρ·L at 6-12 months; ρ from the acute Beta(1.84, 2.25) "
            "and chronic Beta(1.58, 4.28) bands (envelope)"
        )
    model += (
        "; R ~ Beta(2.51, 2.51); clamped to [0, L]; 10th/50th/90th percentiles (tool assumption)"
    )
    positional = supine_heights_mm is not None and measured_heights_mm is not None
    if supine_heights_mm is not None and measured_heights_mm is not None:
        imm, fol = _positional(lost, supine_heights_mm, measured_heights_mm, bands)
        srcs.append("jorthopsurg2018")
        model += (
            "; mobile fracture: median from the positional heights, ρ = (H_supine − H_fx)/L, "
            "band widened to contain the population band"
        )
    notes.append(
        "Wedge-angle bands: published mean correction (Palmowski 2020, Papanastassiou "
        "2012) spread like ρ [derived]; the band is wide and population-level only."
    )
    notes.append(
        "Balloon reduction is largely lost after deflation (Eur Spine J 2010): the "
        "balloon lift shown in the plan is not this estimate."
    )
    inputs = {
        "lost_height_mm": {w: round(v, 2) for w, v in lost.items()},
        "procedure": procedure,
        "acuity": acuity,
        "positional_heights": positional,
    }
    return Restoration(
        procedure,
        acuity,
        imm,
        fol,
        a_imm,
        a_fol,
        model,
        inputs,
        tuple(notes),
        cite(srcs),
        alternatives,
    )


_Bands = dict[str, dict[str, Band]]
ZERO = Band(0.0, 0.0, 0.0)


def _no_height_lost(
    procedure: str, acuity: str, lost: dict[str, float], intact: bool
) -> Restoration:
    """Zero restoration and wedge change for a level that has lost no height."""
    why = (
        "The level is graded intact (Genant 0)"
        if intact
        else "No height is lost at the estimated walls (L ≤ 0)"
    )
    note = (
        f"{why}: no height restoration or wedge-angle change is expected; the published "
        "bands (Crandall 2004, Lieberman 2001, Beall 2018) apply to fractured levels only."
    )
    zero = {w: ZERO for w in lost}
    inputs: dict[str, object] = {
        "lost_height_mm": {w: round(v, 2) for w, v in lost.items()},
        "procedure": procedure,
        "acuity": acuity,
        "positional_heights": False,
        "intact": intact,
    }
    return Restoration(
        procedure, acuity, zero, dict(zero), ZERO, ZERO,
        "no height lost: ΔH = 0, Δwedge = 0", inputs, (note,), cite(list(_SOURCES_BASE)),
    )


def _select(
    procedure: str, acuity: str, lost: dict[str, float], notes: list[str]
) -> tuple[str, _Bands, tuple[Band, Band], dict[str, _Bands]]:
    """Case key, height bands, angle bands and (unknown acuity) the alternatives."""
    if procedure == "vertebroplasty":
        if acuity == "unknown":
            notes.append("Fracture acuity unknown: the vertebroplasty band does not depend on it.")
        return (
            "vertebroplasty",
            _case_bands("vertebroplasty", lost),
            _angle_bands("vertebroplasty"),
            {},
        )
    if acuity in ("acute", "chronic"):
        case = f"kyphoplasty/{acuity}"
        return case, _case_bands(case, lost), _angle_bands(case), {}
    ac, ch = _case_bands("kyphoplasty/acute", lost), _case_bands("kyphoplasty/chronic", lost)
    bands = {p: {w: _envelope(ac[p][w], ch[p][w]) for w in lost} for p in ac}
    (ai, af), (ci, cf) = _angle_bands("kyphoplasty/acute"), _angle_bands("kyphoplasty/chronic")
    notes.append(
        "Fracture acuity unknown (no MRI oedema, no age): the band spans the acute "
        "and the chronic kyphoplasty bands (both shown under alternatives)."
    )
    return (
        "kyphoplasty/unknown",
        bands,
        (_envelope(ai, ci), _envelope(af, cf)),
        {"acute": ac, "chronic": ch},
    )
