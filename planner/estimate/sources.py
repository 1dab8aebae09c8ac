"""Registry of the sources behind every clinical number the estimates use.

Each :class:`Source` has a short id that results carry in their ``sources`` field, the
original citation (author, year, journal) or "tool assumption", the section of the project's
research notes where it is recorded (internal, never shown), and what the number is used for.
Model choices that have no clinical source are registered too, as ``kind="assumption"``,
so the user can see which numbers are ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """One cited source (or one declared model assumption).

    Parameters
    ----------
    id
        Stable short id, e.g. ``"molloy2003"``.
    citation
        Original citation (author, year, journal), or "Tool assumption: …".
    section
        Section of the internal research notes where the fact is recorded (not shown).
    used_for
        Which number or rule of the estimate it supports.
    kind
        ``"clinical"`` (published evidence), ``"derived"`` (computed from cited numbers,
        DOMAIN.md's **[derived]**) or ``"assumption"`` (a modelling choice of this tool).
    """

    id: str
    citation: str
    section: str
    used_for: str
    kind: str = "clinical"

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "citation": self.citation,
            "section": self.section,
            "used_for": self.used_for,
            "kind": self.kind,
        }


_ALL = (
    # --- cement volume (DOMAIN.md §3, §9a) ---------------------------------------------------
    Source(
        "molloy2003",
        "Molloy, Mathis, Belkoff 2003, Spine 28:1549 (PubMed 12865843)",
        "§3.1",
        "fill 16.2 % of body volume restored strength, 29.8 % stiffness; r² 0.21 / 0.27",
    ),
    Source(
        "belkoff2001vol",
        "Belkoff, Mathis, Jasper, Deramond 2001, Spine 26:1537",
        "§3.1",
        "2 mL restored strength; 4-8 mL by region restored stiffness",
    ),
    Source(
        "fe_jkns2012",
        "FE study, J Korean Neurosurg Soc 2012;52:435 (PubMed 23323162)",
        "§3.1",
        "30 % fill restored normal stiffness; more over-stiffens",
    ),
    Source(
        "neurospine2023",
        "Neurospine 2023;20:1287 (10.14245/ns.2346536.268)",
        "§3.2",
        "practice fills 0.22 (unipedicular) - 0.29 (bipedicular) of body volume",
    ),
    Source(
        "globethesis",
        "globethesis.com 2404330575954421 (thesis, low evidence weight)",
        "§3.2",
        "outcome / leak cut-offs near 25 % fill",
    ),
    Source(
        "bmcmsk2022",
        "BMC Musculoskelet Disord 2022;23:184",
        "§3.2",
        "needle-side fill above 13.68 % associated with paravertebral-vein leakage",
    ),
    Source(
        "worldneurosurg2017",
        "World Neurosurg 2017;101:633 (PubMed 28192270)",
        "§3.3-3.4",
        "leak risk factors: cortical disruption OR 5.56, low viscosity OR 3.32, cleft OR 1.40; "
        "injected volume WMD +0.59 mL in the leak group",
    ),
    Source(
        "jors2021leak",
        "JOSR 2021 (s13018-021-02337-1), 344 VBs",
        "§3.3-3.4",
        "basivertebral (type-B) and segmental-vein leaks; posterior-wall intrusion",
    ),
    Source(
        "bmcmsk2020",
        "BMC MSK 2020 (s12891-020-03810-4)",
        "§3.4",
        "disc leaks with upper-endplate disruption",
    ),
    Source(
        "pmc5895344",
        "High-viscosity cement meta-analysis (PMC5895344)",
        "§3.4",
        "high-viscosity cement RR 0.38 for leakage",
    ),
    Source(
        "roder2013",
        "Röder et al. 2013, Eur Spine J (PMC3804705), SWISSspine",
        "§3.2",
        "BKP volume <= 4.5 mL had lower odds of large pain relief",
    ),
    Source(
        "kaufmann2006",
        "Kaufmann, Trout, Kallmes 2006, AJNR 27:1933; Al-Ali et al., AJNR",
        "§3.2",
        "VP volume did not predict pain relief",
    ),
    Source(
        "posterior_quarter",
        "Tool assumption: caution when the simulated front reaches the posterior quarter of "
        "the body's depth (after the technique of stopping injection before cement reaches "
        "the posterior quarter on the lateral view; no source with this figure is recorded)",
        "§7.4",
        "the cement spread's posterior-wall caution",
        "assumption",
    ),
    Source(
        "pmc7427078",
        "BMC, PMC7427078 (137 PVP)",
        "§3.2",
        "cement touching both endplates: recompression 5.2 % vs 16.5 %",
    ),
    Source(
        "hulme2006",
        "Hulme et al. 2006, Spine 31:1983",
        "§3.3, §5.1",
        "reported leak rates VP 41 % vs KP 9 %; kyphosis correction 6.6°",
    ),
    Source(
        "kaviar2014",
        "Dohm et al. 2014, AJNR 35:2227 (KAVIAR)",
        "§3.3",
        "CT-detected extravasation KP 73 % vs VP 82 % of levels",
    ),
    Source(
        "no_ratio",
        "Tool assumption: no published kyphoplasty cement:balloon volume ratio was found",
        "§3.2, §9a",
        "extra interdigitation volume is a user parameter (default 0)",
        "assumption",
    ),
    Source(
        "rule9a",
        "Tool assumption: cement fill band 0.16-0.30 × body volume, target 0.24 "
        "(from Molloy 2003 and Belkoff 2001, Spine)",
        "§9a",
        "formula combining the sources above",
        "derived",
    ),
    # --- devices (DOMAIN.md §4.1) ----------------------------------------------------------------
    Source(
        "k981251",
        "FDA 510(k) K981251 (Kyphon IBT, 1998)",
        "§4.1",
        "radiopaque markers at both balloon ends; maximum inflation volume tested",
    ),
    Source(
        "xpander_ifu",
        "Kyphon Xpander / Xpander II / Express IFUs (M708348B164, M708348B151E); "
        "FDA K101864, K123771",
        "§4.1",
        "balloon sizes 10/3, 15/3, 20/3, 10/2, 15/2",
    ),
    Source(
        "k132620",
        "FDA K132620 (InterV Kyphoplasty Catheter)",
        "§4.1",
        "balloon designed for internal pressure up to 400 psi",
    ),
    Source(
        "k223709",
        "FDA K223709 (Kyphoplasty Balloon Catheter, 2023)",
        "§4.1",
        "acceptance: constrained burst >= 400 psi",
    ),
    Source(
        "pubmed16762891",
        "Nan Fang Yi Ke Da Xue Xue Bao 2006;26:705 (PubMed 16762891)",
        "§3.2, §4.1",
        "cadaver reference inflation 2.95 mL at 123 psi restored height",
    ),
    Source(
        "balloon_shape",
        "Balloon shape model of this tool: capsule, working length = nominal "
        "length, radius grows with volume; cortex shell 1 mm",
        "§4.1 (shape not published)",
        "inflation geometry (not validated)",
        "assumption",
    ),
    # --- height restoration (DOMAIN.md §5, §9b) ----------------------------------------------
    Source(
        "crandall2004",
        "Crandall et al. 2004, Spine J 4:418",
        "§5.1",
        "acute vs chronic KP restoration",
    ),
    Source(
        "lieberman2001",
        "Lieberman et al. 2001, Spine 26:1631",
        "§5.1",
        "KP: 70 % of levels gained 46.8 % of lost height, 30 % none",
    ),
    Source(
        "belkoff2001h",
        "Belkoff, Mathis, Fenton et al. 2001, Spine 26:151",
        "§5.1",
        "cadaver: IBT restored 97 % of lost height vs 30 % with VP",
    ),
    Source(
        "palmowski2020",
        "Palmowski et al. 2020, Eur Spine J 29:2560",
        "§5.1",
        "kyphosis correction 3.8° (<2 wk), 4.3° (2-6 wk), 1.7° (6-51 wk)",
    ),
    Source(
        "papanastassiou2012",
        "Papanastassiou et al. 2012, Eur Spine J 21:1826",
        "§5.1",
        "kyphosis reduction BKP 4.8° vs VP 1.7°",
    ),
    Source(
        "beall2018",
        "Beall et al. 2018, IJSS 12:295 (25 prospective studies)",
        "§5.1",
        "no significant BKP vs VP difference in anterior or posterior height change",
    ),
    Source(
        "xie2017",
        "Xie & Jin 2017, J Osteoporos Phys Act 5(4)",
        "§5.1",
        "PVA restoration ratio 14.7 ± 15.2 %",
    ),
    Source(
        "pmc2996621",
        "Lordoplasty vs KP, Asian Spine J (PMC2996621)",
        "§5.1",
        "KP lost about 5° of 7° kyphosis correction by 3 months",
    ),
    Source(
        "sakos2019",
        "Noriega et al. 2019, SAKOS RCT",
        "§4.3, §5.1",
        "BKP midline gain 0.31 ± 2.22 mm at 6 months",
    ),
    Source(
        "yavuz2023",
        "Yavuz & Aydın 2023, J Turk Spinal Surg 34:180",
        "§5.1",
        "restoration declines over 60 months",
    ),
    Source(
        "jorthopsurg2018",
        "J Orthop Surg 2018 (10.1177/2309499018806700)",
        "§5.2",
        "supine-stress heights approximate post-VP heights in mobile (IVC) fractures",
    ),
    Source(
        "vbs2010",
        "VBS vs BKP cadaver study, Eur Spine J 2010 (10.1007/s00586-010-1341-x)",
        "§5.2",
        "balloon reduction largely lost after deflation before cement",
    ),
    Source(
        "rule9b",
        "Tool assumption: Beta fits to Crandall 2004, Lieberman 2001 and Beall 2018 (BKP acute "
        "1.84/2.25, chronic 1.58/4.28, VP 0.68/4.98, retention 2.51/2.51)",
        "§9b",
        "restored-fraction and retention distributions",
        "derived",
    ),
    # --- flow (DOMAIN.md §7.4) -----------------------------------------------------------------
    Source(
        "flow74",
        "Tool assumption: Darcy flow, permeability falling nonlinearly with "
        "bone volume fraction: Baroud 2004, Nauman 1999, Widmer & Ferguson 2013)",
        "§7.4",
        "qualitative fill order only; never a leak probability",
        "derived",
    ),
    Source(
        "hu_porosity",
        "HU → bone-volume-fraction proxy of this tool (linear, uncalibrated; HU→BMD is "
        "scanner-specific: Engelke et al. 2008, J Clin Densitom 11:123)",
        "§7.2",
        "flow resistance map",
        "assumption",
    ),
    Source(
        "foramen_zone",
        "Basivertebral-foramen region of this tool: posterior wall, ±5 mm of the "
        "midline, middle third of the height",
        "§3.4 (location not given)",
        "where type-B leak points are flagged",
        "assumption",
    ),
    Source(
        "zderic2016",
        "Zderic et al. 2016, J Orthop Translat 8:40 (PMC5987039)",
        "§7.4",
        "stepwise injection: portions do not mix, spread antero-laterally (not modelled)",
    ),
)

SOURCES: dict[str, Source] = {s.id: s for s in _ALL}


def cite(ids: Iterable[str]) -> tuple[str, ...]:
    """Validate source ids and return them de-duplicated in first-seen order.

    Raises
    ------
    KeyError
        If an id is not in :data:`SOURCES` (a programming error: every cited number must be
        registered).
    """
    out: list[str] = []
    for i in ids:
        if i not in SOURCES:
            raise KeyError(f"unknown source id {i!r}; register it in planner/estimate/sources.py")
        if i not in out:
            out.append(i)
    return tuple(out)


def sources_json(ids: Iterable[str]) -> list[dict[str, str]]:
    """The registered sources for ``ids`` as JSON-able dicts (for CLI and report output)."""
    return [SOURCES[i].to_json() for i in cite(ids)]
