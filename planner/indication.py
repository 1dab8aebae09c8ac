"""The indication check: which criteria for vertebral augmentation are met, which
contraindications are present, what is unknown. It never decides.

Answers are a tuple of ``(item id, answer)`` string pairs (the plan's ``indication`` field);
findings the image analysis gives (posterior wall, height loss, MRI oedema, number of levels)
fill the items the user left unanswered, marked as coming from the analysis.

Sources (original publications; what each is cited for):

- CIRSE guidelines: Tsoumakidou G, Too CW, Koch G, et al. CIRSE Guidelines on Percutaneous
  Vertebral Augmentation. Cardiovasc Intervent Radiol 2017;40:331-342 — indications (painful
  fracture refractory to conservative treatment), contraindications (active infection,
  uncorrectable coagulopathy, allergy to the cement, a patient improving on conservative
  treatment) and cautions (posterior wall involvement, retropulsion, neurological signs).
- VERTOS II: Klazen CA, Lohle PN, de Vries J, et al. Lancet 2010;376:1085-1092 — inclusion:
  back pain of 6 weeks or less and bone oedema of the fracture on MRI.
- FREE: Wardlaw D, Cummings SR, Van Meirhaeghe J, et al. Lancet 2009;373:1016-1024 — balloon
  kyphoplasty vs non-surgical care in 1-3 acute vertebral fractures.
- VAPOUR: Clark W, Bird P, Gonski P, et al. Lancet 2016;388:1408-1416 — vertebroplasty vs
  placebo for fractures with pain of less than 6 weeks.
- Oedema as the marker of an unhealed fracture: Tanigawa N et al. Radiology 2006;239:195-200.
- Pregnancy (ionising radiation of fluoroscopy) and the 3-level limit per session: tool
  assumptions, stated as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CIRSE = "Tsoumakidou et al., CIRSE guidelines, Cardiovasc Intervent Radiol 2017"
VERTOS2 = "Klazen et al., VERTOS II, Lancet 2010"
FREE = "Wardlaw et al., FREE, Lancet 2009"
VAPOUR = "Clark et al., VAPOUR, Lancet 2016"
TANIGAWA = "Tanigawa et al., Radiology 2006"
TOOL = "tool assumption"

YES_NO = ("yes", "no", "unknown")
KINDS = ("indication", "contraindication", "caution", "context")

STATEMENT = ("This indication check does not decide whether to treat. It lists which "
             "criteria of the cited guidelines and trials are met, which contraindications are "
             "present and what is still unknown; the decision rests with the treating team.")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One question of the check.

    Parameters
    ----------
    item_id
        Key used in the plan's answers.
    kind
        ``indication`` (supports treating when ``trigger`` is answered), ``contraindication``
        (present when answered ``trigger``), ``caution`` (raises risk), ``context``.
    choices
        Allowed answers (``"unknown"`` always allowed); numeric items take a number as text.
    trigger
        Answers that meet the indication / mean the contraindication or caution is present.
    """

    item_id: str
    question: str
    kind: str
    choices: tuple[str, ...]
    trigger: tuple[str, ...]
    source: str
    numeric: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")


ITEMS: tuple[ChecklistItem, ...] = (
    ChecklistItem("pain_at_level", "Back pain attributable to the fractured level?",
                  "indication", YES_NO, ("yes",), CIRSE),
    ChecklistItem("pain_weeks", "Duration of the pain (weeks)?", "indication", (), (),
                  f"{VERTOS2}; {VAPOUR}: pain of 6 weeks or less", numeric=True),
    ChecklistItem("failed_conservative", "Pain persisting despite conservative treatment "
                  "(analgesia, rest, bracing)?", "indication", YES_NO, ("yes",), CIRSE),
    ChecklistItem("improving", "Pain improving under conservative treatment?",
                  "contraindication", YES_NO, ("yes",), CIRSE),
    ChecklistItem("height_loss", "Progressive deformity or height loss?", "indication",
                  YES_NO, ("yes",), f"{CIRSE}; weight: {TOOL}"),
    ChecklistItem("oedema", "Bone-marrow oedema at the level on MRI (STIR-bright, T1-dark)?",
                  "indication", YES_NO, ("yes",), f"{VERTOS2} (inclusion); {TANIGAWA}"),
    ChecklistItem("fracture_weeks", "Age of the fracture (weeks)?", "context", (), (),
                  f"{VERTOS2}; {VAPOUR}: 6 weeks or less", numeric=True),
    ChecklistItem("neuro_symptoms", "New neurological symptoms (radiculopathy, myelopathy)?",
                  "caution", YES_NO, ("yes",), CIRSE),
    ChecklistItem("cause", "Cause of the fracture?", "context",
                  ("osteoporotic", "traumatic", "malignant", "unknown"), ("malignant",),
                  f"{CIRSE}: malignant fractures carry a higher leakage risk"),
    ChecklistItem("posterior_wall", "Posterior wall involved (bulging) on CT?", "caution",
                  YES_NO, ("yes",), CIRSE),
    ChecklistItem("retropulsion", "Retropulsed fragment on CT?", "caution", YES_NO, ("yes",),
                  CIRSE),
    ChecklistItem("infection", "Active infection (local or systemic: osteomyelitis, "
                  "discitis, sepsis)?", "contraindication", YES_NO, ("yes",), CIRSE),
    ChecklistItem("coagulopathy", "Uncorrectable coagulopathy?", "contraindication", YES_NO,
                  ("yes",), CIRSE),
    ChecklistItem("cement_allergy", "Allergy to a component of the bone cement (e.g. PMMA)?",
                  "contraindication", YES_NO, ("yes",), CIRSE),
    ChecklistItem("pregnancy", "Pregnancy (fluoroscopy)?", "contraindication", YES_NO,
                  ("yes",), f"{TOOL}: ionising radiation"),
    ChecklistItem("n_levels", "Number of levels to treat in this session?", "context", (), (),
                  f"{FREE}: 1-3 fractures; more than 3: {TOOL}", numeric=True),
)
_BY_ID = {it.item_id: it for it in ITEMS}


def item(item_id: str) -> ChecklistItem:
    if item_id not in _BY_ID:
        raise KeyError(f"unknown checklist item {item_id!r}; items: {', '.join(_BY_ID)}")
    return _BY_ID[item_id]


def validate_answers(answers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Check ``(item id, answer)`` pairs; raises ValueError naming the item and allowed values."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for pair in answers:
        if len(pair) != 2:
            raise ValueError(f"an answer is an (item id, answer) pair; got {pair!r}")
        key, value = str(pair[0]), str(pair[1]).strip().lower()
        it = item(key)
        if key in seen:
            raise ValueError(f"item {key!r} is answered twice")
        seen.add(key)
        if it.numeric and value != "unknown":
            try:
                num = float(value)
            except ValueError:
                raise ValueError(f"{key} takes a number or 'unknown'; got {value!r}") from None
            if not 0.0 <= num <= 1000.0:
                raise ValueError(f"{key} must be within 0-1000; got {num}")
        elif not it.numeric and value not in it.choices:
            raise ValueError(f"{key} must be one of {', '.join(it.choices)}; got {value!r}")
        out.append((key, value))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One evaluated item: its answer, where it came from, and what it means."""

    item_id: str
    question: str
    kind: str
    answer: str
    origin: str  # "user" | "analysis" | "none"
    status: str  # met | not met | present | absent | caution | info | unknown
    note: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {"item": self.item_id, "question": self.question, "kind": self.kind,
                "answer": self.answer, "origin": self.origin, "status": self.status,
                "note": self.note, "source": self.source}


@dataclass(frozen=True, slots=True)
class IndicationCheck:
    """The evaluated checklist; lists of item ids by outcome, and per-level red flags."""

    items: tuple[ItemResult, ...]
    level_flags: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    statement: str = STATEMENT

    def _ids(self, *status: str) -> list[str]:
        return [r.item_id for r in self.items if r.status in status]

    @property
    def indications_met(self) -> list[str]:
        return self._ids("met")

    @property
    def contraindications_present(self) -> list[str]:
        return self._ids("present")

    @property
    def cautions(self) -> list[str]:
        return self._ids("caution")

    @property
    def unknowns(self) -> list[str]:
        return self._ids("unknown")

    def flagged_levels(self) -> dict[str, list[str]]:
        """Level -> reasons to show it in red (no oedema, contraindication)."""
        out: dict[str, list[str]] = {}
        for level, why in self.level_flags:
            out.setdefault(level, []).append(why)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement,
                "indications_met": self.indications_met,
                "contraindications_present": self.contraindications_present,
                "cautions": self.cautions, "unknowns": self.unknowns,
                "items": [r.to_json() for r in self.items],
                "flagged_levels": self.flagged_levels()}


@dataclass(frozen=True, slots=True)
class Findings:
    """What the image analysis says about the planned levels (None = not known).

    ``oedema`` maps level -> ``"oedema"`` / ``"no oedema"`` / ``"indeterminate"``;
    ``posterior_wall`` maps level -> ``"intact"`` / ``"bulging"`` / ``"retropulsion"``;
    ``genant_grade`` maps level -> 0-3; ``grade_text`` level -> the grade as the tables show
    it ("0 · possible 1", "not graded"; :func:`planner.vertebra.grading.grade_text`) and
    ``intact`` level -> whether the level is known intact (grade 0, no higher grade possible,
    not withheld). Without them a grade 0 counts as intact.
    """

    levels: tuple[str, ...] = ()
    oedema: Mapping[str, str] = field(default_factory=dict)
    posterior_wall: Mapping[str, str] = field(default_factory=dict)
    genant_grade: Mapping[str, int] = field(default_factory=dict)
    grade_text: Mapping[str, str] = field(default_factory=dict)
    intact: Mapping[str, bool] = field(default_factory=dict)


def _auto(findings: Findings) -> dict[str, tuple[str, str]]:
    """Answers (and notes) the analysis gives for the planned levels."""
    lv = findings.levels
    out: dict[str, tuple[str, str]] = {}
    if lv:
        out["n_levels"] = (str(len(lv)), "levels in the plan: " + ", ".join(lv))
    oed = [findings.oedema[n] for n in lv if n in findings.oedema]
    if oed and len(oed) == len(lv):
        det = [o for o in oed if o != "indeterminate"]
        if len(det) == len(oed):
            ans = "yes" if all(o == "oedema" for o in oed) else "no"
            out["oedema"] = (ans, "MRI: " + ", ".join(f"{n} {findings.oedema[n]}" for n in lv))
    walls = [findings.posterior_wall[n] for n in lv if n in findings.posterior_wall]
    if walls and "unknown" not in walls:
        detail = ", ".join(f"{n} {findings.posterior_wall[n]}" for n in lv
                           if n in findings.posterior_wall)
        out["posterior_wall"] = ("yes" if any(w != "intact" for w in walls) else "no",
                                 "CT: " + detail)
        out["retropulsion"] = ("yes" if "retropulsion" in walls else "no", "CT: " + detail)
    graded = [n for n in lv if n in findings.genant_grade]
    if any(not findings.intact.get(n, findings.genant_grade[n] == 0) for n in graded):
        out["height_loss"] = ("unknown", "CT: Genant grade " + ", ".join(
            f"{n} {findings.grade_text.get(n, str(findings.genant_grade[n]))}" for n in graded)
            + " (progression needs serial imaging)")
    return out


def _status(it: ChecklistItem, answer: str) -> tuple[str, str]:
    if answer == "unknown":
        return "unknown", ""
    if it.item_id == "pain_weeks":
        w = float(answer)
        return ("met", "6 weeks or less") if w <= 6 else ("not met", "longer than 6 weeks: "
                                                          "outside the VERTOS II/VAPOUR window")
    if it.item_id == "fracture_weeks":
        return "info", "acute (6 weeks or less)" if float(answer) <= 6 else "older than 6 weeks"
    if it.item_id == "n_levels":
        n = float(answer)
        return ("caution", "more than 3 levels in one session") if n > 3 else ("info", "")
    if it.item_id == "cause":
        return ("caution", "malignant: posterior wall and leakage risk") if answer in (
            it.trigger) else ("info", "")
    hit = answer in it.trigger
    return {"indication": ("met" if hit else "not met", ""),
            "contraindication": ("present" if hit else "absent", ""),
            "caution": ("caution" if hit else "info", "")}.get(it.kind, ("info", ""))


def evaluate(answers: Sequence[tuple[str, str]] = (), findings: Findings | None = None
             ) -> IndicationCheck:
    """Evaluate the checklist from the user's answers and the analysis findings.

    Notes
    -----
    A user's answer wins over the analysis; an item nobody answered is ``unknown``. Levels
    are flagged red when the MRI shows no oedema there or when any contraindication is
    present. Nothing here decides for or against treatment (see :data:`STATEMENT`).
    """
    given = dict(validate_answers(answers))
    f = findings or Findings()
    auto = _auto(f)
    results = []
    for it in ITEMS:
        if it.item_id in given and given[it.item_id] != "unknown":
            answer, origin, note = given[it.item_id], "user", ""
        elif it.item_id in auto:
            answer, note = auto[it.item_id]
            origin = "analysis"
        else:
            answer, origin, note = "unknown", "none", ""
        status, why = _status(it, answer)
        text = "; ".join(t for t in (note, why) if t)
        results.append(ItemResult(it.item_id, it.question, it.kind, answer, origin, status,
                                  text, it.source))
    flags: list[tuple[str, str]] = []
    present = [r.item_id for r in results if r.status == "present"]
    for n in f.levels:
        if f.oedema.get(n) == "no oedema":
            flags.append((n, "no bone-marrow oedema on MRI"))
        for c in present:
            flags.append((n, f"contraindication: {c}"))
    return IndicationCheck(tuple(results), tuple(flags))


def findings_from(levels: Sequence[str], analysis: Any = None, mri: Any = None) -> Findings:
    """:class:`Findings` for the planned ``levels`` from a SpineAnalysis and an MRIResult."""
    walls: dict[str, str] = {}
    oedema: dict[str, str] = {}
    morphometry = {} if analysis is None else {r.level: r.morphometry for r in analysis.levels}
    for level, m in morphometry.items():
        walls[level] = str(m.posterior_wall)
    if mri is not None:
        for lv in mri.levels:
            oedema[lv.level] = lv.classification
    return Findings(tuple(levels), oedema, walls, *grade_findings(morphometry))


def grade_findings(morphometry: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, str],
                                                            dict[str, bool]]:
    """Genant grade, grade text and known-intact flag per level, from Morphometry records."""
    from planner.vertebra.grading import grade_text, known_intact

    return ({n: int(m.genant_grade) for n, m in morphometry.items()},
            {n: grade_text(m) for n, m in morphometry.items()},
            {n: known_intact(m) for n, m in morphometry.items()})
