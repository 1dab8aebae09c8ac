"""Cement-volume recommendation (DOMAIN.md §9a).

VP: target 0.24·V_VB within the band [0.16, 0.30]·V_VB. BKP: clamp(Σ cavity + extra,
0.16·V_VB, 0.30·V_VB). Risk flags move the recommendation into the lower half of the band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.estimate.sources import cite

#: Fill fractions of the body volume (DOMAIN.md §9a): strength floor (Molloy 2003 16.2 %,
#: Belkoff 2001), default target (Neurospine 2023 practice fills 0.22-0.29; thesis cut-off
#: ≈ 25 %), stiffness stop (Molloy 2003 29.8 %; FE J Korean Neurosurg Soc 2012: 30 %).
FILL_LOW, FILL_TARGET, FILL_HIGH = 0.16, 0.24, 0.30
#: Needle-side fill above which paravertebral-vein leaks were more frequent (13.68 %,
#: BMC MSK 2022;23:184), used for unipedicular plans whose tip stays short of the midline.
HEMI_BODY_FILL = 0.14
#: Extra volume per leak in the leak group (WMD +0.59 mL, World Neurosurg 2017).
LEAK_WMD_ML = 0.59

#: Risk flags understood by :func:`cement_recommendation`: (message, source ids).
RISK_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cortical_disruption": (
        "cortical disruption: leak odds ratio 5.56 (1.84-16.81)",
        ("worldneurosurg2017",),
    ),
    "endplate_disruption": (
        "endplate disruption: disc leaks are associated with upper-endplate disruption",
        ("bmcmsk2020",),
    ),
    "posterior_wall_involvement": (
        "posterior-wall involvement: associated with segmental-vein (type-S) leaks",
        ("jors2021leak",),
    ),
    "intravertebral_cleft": (
        "intravertebral cleft: leak odds ratio 1.40 (1.09-1.78); shifts leaks to cortex/disc",
        ("worldneurosurg2017",),
    ),
    "low_viscosity_cement": (
        "low-viscosity cement: leak odds ratio 3.32 (1.36-8.07); high-viscosity RR 0.38",
        ("worldneurosurg2017", "pmc5895344"),
    ),
    "basivertebral_foramen": (
        "cement path reaches the basivertebral foramen region: type-B leaks",
        ("jors2021leak",),
    ),
}

HONESTY_NOTE = (
    "Fill fraction explains only about 21-27 % of the variance in restored strength and "
    "stiffness (r² 0.21 / 0.27, Molloy 2003): the band expresses uncertainty, not precision."
)


@dataclass(frozen=True, slots=True)
class CementRecommendation:
    """Recommended cement volume for one level.

    Notes
    -----
    Volumes in mL. ``range_ml`` is the biomechanical band [0.16, 0.30]·V_VB;
    ``preferred_range_ml`` its lower half when risk flags are set, else the whole band.
    ``flags`` maps flag name → message (with odds ratios and sources).
    """

    procedure: str
    recommended_ml: float
    range_ml: tuple[float, float]
    preferred_range_ml: tuple[float, float]
    method: str
    body_volume_ml: float
    flags: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    hemi_body_limit_ml: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "procedure": self.procedure,
            "recommended_ml": round(self.recommended_ml, 2),
            "range_ml": [round(v, 2) for v in self.range_ml],
            "preferred_range_ml": [round(v, 2) for v in self.preferred_range_ml],
            "method": self.method,
            "body_volume_ml": round(self.body_volume_ml, 2),
            "flags": dict(self.flags),
            "hemi_body_limit_ml": None
            if self.hemi_body_limit_ml is None
            else round(self.hemi_body_limit_ml, 2),
            "notes": list(self.notes),
            "sources": list(self.sources),
        }


def _check_inputs(
    body_volume_ml: float,
    procedure: str,
    cavity_ml: float | None,
    flags: tuple[str, ...],
    extra_ml: float,
) -> None:
    if not (body_volume_ml > 0.0) or body_volume_ml > 200.0:
        raise ValueError(f"body_volume_ml must be within (0, 200] mL, got {body_volume_ml}")
    if procedure not in ("vertebroplasty", "kyphoplasty"):
        raise ValueError(f"procedure must be vertebroplasty or kyphoplasty, got {procedure!r}")
    if cavity_ml is not None and cavity_ml < 0:
        raise ValueError(f"cavity_ml must be >= 0, got {cavity_ml}")
    if extra_ml < 0:
        raise ValueError(f"extra_interdigitation_ml must be >= 0, got {extra_ml}")
    unknown = [f for f in flags if f not in RISK_FLAGS]
    if unknown:
        raise ValueError(f"unknown risk flag(s) {unknown}; known: {', '.join(RISK_FLAGS)}")


def cement_recommendation(
    body_volume_ml: float,
    procedure: str,
    cavity_ml: float | None = None,
    unipedicular_tip_short_of_midline: bool = False,
    flags: tuple[str, ...] | list[str] = (),
    extra_interdigitation_ml: float = 0.0,
) -> CementRecommendation:
    """Cement volume to prepare, with band, formula, flags and sources (DOMAIN.md §9a).

    Parameters
    ----------
    body_volume_ml
        V_VB, the treated body's volume from the CT segmentation (mL).
    procedure
        ``"vertebroplasty"`` or ``"kyphoplasty"``.
    cavity_ml
        Kyphoplasty: Σ of the final balloon volumes (mL). None → not planned yet.
    unipedicular_tip_short_of_midline
        True for a one-needle plan whose tip stays on its own side: adds the hemi-body check.
    flags
        Risk flags, keys of :data:`RISK_FLAGS`.
    extra_interdigitation_ml
        Kyphoplasty: user-chosen volume beyond the cavity (no published ratio; default 0).

    Returns
    -------
    CementRecommendation

    Notes
    -----
    Volumes in mL. Never a prediction of strength, pain relief or leakage.
    """
    flags = tuple(flags)
    _check_inputs(body_volume_ml, procedure, cavity_ml, flags, extra_interdigitation_ml)
    v = float(body_volume_ml)
    notes: list[str] = []
    srcs = [
        "rule9a",
        "molloy2003",
        "belkoff2001vol",
        "fe_jkns2012",
        "neurospine2023",
        "globethesis",
    ]
    base, method = _base_target(v, procedure, cavity_ml, extra_interdigitation_ml, notes, srcs)
    bkp_cavity = cavity_ml if procedure == "kyphoplasty" else None
    recommended, preferred = _apply_flags(v, base, bkp_cavity, flags, notes, srcs)
    flag_msgs = {f: RISK_FLAGS[f][0] for f in flags}
    hemi = None
    if unipedicular_tip_short_of_midline:
        hemi = HEMI_BODY_FILL * v
        srcs.append("bmcmsk2022")
        if recommended > hemi:
            flag_msgs["unipedicular_hemibody"] = (
                f"unipedicular plan, tip short of the midline: {recommended:.1f} mL exceeds "
                f"~0.14 × V_VB = {hemi:.1f} mL on the needle side (paravertebral-vein leaks above "
                "13.68 %, BMC MSK 2022)"
            )
    notes.append(HONESTY_NOTE)
    _cross_checks(procedure, recommended, notes, srcs)
    return CementRecommendation(
        procedure,
        recommended,
        (FILL_LOW * v, FILL_HIGH * v),
        preferred,
        method,
        v,
        flag_msgs,
        tuple(notes),
        cite(srcs),
        hemi,
    )


def _base_target(
    v: float,
    procedure: str,
    cavity_ml: float | None,
    extra_ml: float,
    notes: list[str],
    srcs: list[str],
) -> tuple[float, str]:
    """§9a target before risk flags, and the formula as text."""
    low, target, high = FILL_LOW * v, FILL_TARGET * v, FILL_HIGH * v
    if procedure == "vertebroplasty":
        return (
            target,
            f"VP: 0.24 × V_VB = 0.24 × {v:.1f} mL = {target:.1f} mL; band [0.16, 0.30] × V_VB",
        )
    if cavity_ml is None:
        notes.append(
            "No balloon cavity planned yet: the kyphoplasty target will follow the cavity."
        )
        return target, (
            f"BKP without a planned cavity: 0.24 × V_VB = {target:.1f} mL shown until "
            "the balloons are planned; band [0.16, 0.30] × V_VB"
        )
    want = float(cavity_ml) + extra_ml
    base = min(max(want, low), high)
    srcs.append("no_ratio")
    if want > high:
        notes.append(
            f"The cavity ({want:.1f} mL) exceeds 0.30 × V_VB: fill stops at {high:.1f} mL."
        )
    return base, (
        f"BKP: clamp(Σ cavity {cavity_ml:.1f} + extra {extra_ml:.1f} mL, "
        f"0.16 × V_VB = {low:.1f}, 0.30 × V_VB = {high:.1f}) = {base:.1f} mL"
    )


def _apply_flags(
    v: float,
    base: float,
    bkp_cavity_ml: float | None,
    flags: tuple[str, ...],
    notes: list[str],
    srcs: list[str],
) -> tuple[float, tuple[float, float]]:
    """Risk flags: recommendation to the middle of the band's lower half, never below a BKP
    cavity that fits in the band (§9a "highlight the lower half of the band")."""
    low, high = FILL_LOW * v, FILL_HIGH * v
    if not flags:
        return base, (low, high)
    for f in flags:
        srcs.extend(RISK_FLAGS[f][1])
    lower_half_top = 0.5 * (low + high)
    cavity_floor = 0.0 if bkp_cavity_ml is None else min(bkp_cavity_ml, high)
    recommended = min(base, max(0.5 * (low + lower_half_top), cavity_floor))
    notes.append(
        "Risk flags set: prefer the lower half of the band "
        f"({low:.1f}-{lower_half_top:.1f} mL); each extra ~{LEAK_WMD_ML} mL was associated "
        "with leakage (weighted mean difference, World Neurosurg 2017)."
    )
    srcs.append("worldneurosurg2017")
    if cavity_floor > lower_half_top:
        notes.append(
            "The planned cavity is larger than the lower half of the band: fill the "
            "cavity but no more, or plan smaller inflations."
        )
    return recommended, (low, lower_half_top)


def _cross_checks(procedure: str, recommended: float, notes: list[str], srcs: list[str]) -> None:
    """Clinical cross-checks shown as messages, not constraints (§9a)."""
    if procedure == "kyphoplasty":
        srcs.append("roder2013")
        if recommended <= 4.5:
            notes.append(
                "BKP volumes <= 4.5 mL had lower odds of large pain relief in SWISSspine "
                "(Röder 2013); a cross-check, not a target."
            )
    else:
        srcs.append("kaufmann2006")
        notes.append(
            "VP cement volume did not predict pain relief in two cohorts (Kaufmann 2006; Al-Ali)."
        )
