"""Vertebroplasty and kyphoplasty side by side for one level (data for the panel and report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from planner.estimate.cement import RISK_FLAGS, CementRecommendation, cement_recommendation
from planner.estimate.restoration import Restoration, restoration_estimate
from planner.estimate.sources import cite

#: Published procedure-level leak rates: context for the surgeon, not this patient's risk
#: (DOMAIN.md §3.3; §9 forbids presenting them as a probability for this patient).
PUBLISHED_LEAK_RATES = {
    "vertebroplasty": "reported cement leakage: 41 % of treated vertebrae in a 69-study review "
    "(Hulme 2006); 82 % of levels on CT in KAVIAR (Dohm 2014)",
    "kyphoplasty": "reported cement leakage: 9 % of treated vertebrae in a 69-study review "
    "(Hulme 2006); 73 % of levels on CT in KAVIAR (Dohm 2014)",
}
LEAK_RATE_CAVEAT = (
    "Study-level rates with different detection methods; they are not a "
    "probability of leakage for this patient."
)


@dataclass(frozen=True, slots=True)
class ProcedureColumn:
    procedure: str
    cement: CementRecommendation
    restoration: Restoration | None
    leak_flags: dict[str, str]
    published_leak_rates: str

    def to_json(self) -> dict[str, object]:
        return {
            "procedure": self.procedure,
            "cement": self.cement.to_json(),
            "restoration": None if self.restoration is None else self.restoration.to_json(),
            "leak_flags": dict(self.leak_flags),
            "published_leak_rates": self.published_leak_rates,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both procedures for the same level, same inputs.

    Notes
    -----
    Volumes in mL, heights in mm, angles in degrees.
    """

    vertebroplasty: ProcedureColumn
    kyphoplasty: ProcedureColumn
    notes: tuple[str, ...]
    sources: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "vertebroplasty": self.vertebroplasty.to_json(),
            "kyphoplasty": self.kyphoplasty.to_json(),
            "notes": list(self.notes),
            "sources": list(self.sources),
        }


def compare_procedures(
    body_volume_ml: float,
    lost_height_mm: Mapping[str, float] | None,
    acuity: str = "unknown",
    flags: tuple[str, ...] | list[str] = (),
    cavity_ml: float | None = None,
    unipedicular_tip_short_of_midline: bool = False,
    supine_heights_mm: Mapping[str, float] | None = None,
    measured_heights_mm: Mapping[str, float] | None = None,
    extra_interdigitation_ml: float = 0.0,
    intact: bool = False,
) -> Comparison:
    """Cement band, expected restoration and leak-risk flags for VP and BKP.

    Parameters
    ----------
    body_volume_ml
        V_VB (mL).
    lost_height_mm
        Lost height per wall (anterior, middle; mm); None → no restoration estimate.
    acuity, flags, cavity_ml, unipedicular_tip_short_of_midline, supine_heights_mm,
    measured_heights_mm, extra_interdigitation_ml
        As in :func:`cement_recommendation` and :func:`restoration_estimate`; ``cavity_ml``
        applies to kyphoplasty only.
    intact
        True for a level graded Genant 0: no restoration is expected.

    Returns
    -------
    Comparison

    Notes
    -----
    mL, mm, degrees. Same patient flags for both columns.
    """
    cols = {}
    for proc in ("vertebroplasty", "kyphoplasty"):
        cem = cement_recommendation(
            body_volume_ml,
            proc,
            cavity_ml if proc == "kyphoplasty" else None,
            unipedicular_tip_short_of_midline,
            flags,
            extra_interdigitation_ml if proc == "kyphoplasty" else 0.0,
        )
        rest = (
            None
            if lost_height_mm is None
            else restoration_estimate(
                lost_height_mm, proc, acuity, supine_heights_mm, measured_heights_mm, intact
            )
        )
        leak = {f: RISK_FLAGS[f][0] for f in flags}
        cols[proc] = ProcedureColumn(
            proc, cem, rest, leak, f"{PUBLISHED_LEAK_RATES[proc]}. {LEAK_RATE_CAVEAT}"
        )
    notes = [
        "Kyphosis reduction reported: BKP 4.8° vs VP 1.7° (Papanastassiou 2012); no "
        "significant BKP-VP difference in anterior or posterior height change in a 25-study "
        "review (Beall et al. 2018, IJSS 12:295): the bands overlap."
    ]
    if lost_height_mm is None:
        notes.append("No reference heights: expected restoration not estimated.")
    srcs = [
        *cols["vertebroplasty"].cement.sources,
        *cols["kyphoplasty"].cement.sources,
        "hulme2006",
        "kaviar2014",
        "papanastassiou2012",
        "beall2018",
    ]
    for c in cols.values():
        if c.restoration is not None:
            srcs.extend(c.restoration.sources)
    return Comparison(cols["vertebroplasty"], cols["kyphoplasty"], tuple(notes), cite(srcs))
