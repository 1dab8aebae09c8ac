"""Page layout of the OR sheet as drawing operations, shared by the PDF and the Qt printer.

A page is a list of :class:`Text`, :class:`Picture` and :class:`Box` operations in millimetres
from the top-left corner of an A4 portrait page. Text is wrapped here with the Helvetica metrics
of reportlab (pure Python), so the PDF (:mod:`planner.orsheet.pdf`) and the workstation's
printer (``ui/output``) draw the same lines at the same places.

Pages: one per treated level (header, per needle the four images and its numbers, the level's
balloons, cement, restoration, findings and indications), then one summary page (levels, total
cement with band, every finding by severity, caveats, full list of sources). A level that does
not fit continues on a following page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from planner.estimate.sources import SOURCES
from planner.orsheet.content import LevelSheet, NeedleSheet, SheetContent
from planner.orsheet.images import SheetImage
from planner.vertebra.grading import grade_text

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
MARGIN_MM = 10.0
PT_MM = 25.4 / 72.0
IMG_MM = 45.0
RED, ORANGE, BLACK, GREY = (0.75, 0.0, 0.0), (0.7, 0.35, 0.0), (0.0, 0.0, 0.0), (0.35, 0.35, 0.35)
SEVERITY_RGB = {"danger": RED, "warning": ORANGE, "info": GREY}


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text; ``y_mm`` is its top."""

    x_mm: float
    y_mm: float
    text: str
    size_pt: float = 8.0
    bold: bool = False
    rgb: tuple[float, float, float] = BLACK


@dataclass(frozen=True, slots=True)
class Picture:
    x_mm: float
    y_mm: float
    w_mm: float
    h_mm: float
    image: SheetImage


@dataclass(frozen=True, slots=True)
class Box:
    x_mm: float
    y_mm: float
    w_mm: float
    h_mm: float
    fill: tuple[float, float, float] | None = None
    stroke: tuple[float, float, float] | None = GREY


@dataclass
class Page:
    ops: list[Text | Picture | Box] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [o.text for o in self.ops if isinstance(o, Text)]


_TTF = {
    "DejaVuSans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVuSans-Bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
}


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str]:
    """(regular, bold) font names for reportlab: DejaVu Sans when installed (it has every
    character of the cited authors' names), else the built-in Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if all(Path(p).is_file() for p in _TTF.values()):
        for name, path in _TTF.items():
            pdfmetrics.registerFont(TTFont(name, path))
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def wrap(text: str, size_pt: float, width_mm: float, bold: bool = False) -> list[str]:
    """Lines of ``text`` no wider than ``width_mm`` in the sheet's font at ``size_pt``."""
    from reportlab.lib.utils import simpleSplit

    font = fonts()[1 if bold else 0]
    return list(simpleSplit(text, font, size_pt, width_mm / PT_MM)) or [""]


def printable_citation(sid: str) -> str:
    """The citation as printed: the project's research notes are not a source, so their
    references are dropped and the entry is marked as a tool assumption or derived rule."""
    s = SOURCES[sid]
    text = re.sub(r",?\s*DOMAIN\.md( gap:)?\s*(§[\w.]+)?\s*", " ", s.citation).strip(" ,;")
    if s.kind == "assumption":
        return "Tool assumption: " + text
    if s.kind == "derived":
        return "Derived by this tool from the cited sources: " + text
    return text


class Flow:
    """A cursor that places wrapped text and pictures, starting a new page when full."""

    def __init__(self, header: str) -> None:
        self.pages: list[Page] = []
        self.header = header
        self.y = 0.0
        self.new_page()

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(Page())
        self.y = MARGIN_MM
        if len(self.pages) > 1 or self.header:
            self.page.ops.append(Text(MARGIN_MM, 4.0, self.header, 6.5, False, GREY))

    def need(self, h_mm: float) -> None:
        if self.y + h_mm > PAGE_H_MM - MARGIN_MM:
            self.new_page()

    def para(
        self,
        text: str,
        size: float = 8.0,
        bold: bool = False,
        rgb: tuple[float, float, float] = BLACK,
        x: float = MARGIN_MM,
        width: float = PAGE_W_MM - 2 * MARGIN_MM,
        gap: float = 0.6,
    ) -> None:
        lead = size * PT_MM * 1.22
        for line in wrap(text, size, width, bold):
            self.need(lead)
            self.page.ops.append(Text(x, self.y, line, size, bold, rgb))
            self.y += lead
        self.y += gap

    def columns(self, cols: list[list[str]], size: float = 7.6) -> None:
        """Side-by-side columns of short lines (wrapped within their column)."""
        n = len(cols)
        width = (PAGE_W_MM - 2 * MARGIN_MM) / n
        lead = size * PT_MM * 1.22
        wrapped = [[ln for s in col for ln in wrap(s, size, width - 2.0)] for col in cols]
        height = max(len(c) for c in wrapped) * lead
        self.need(height)
        for i, col in enumerate(wrapped):
            for j, line in enumerate(col):
                self.page.ops.append(Text(MARGIN_MM + i * width, self.y + j * lead, line, size))
        self.y += height + 1.0


def _f(v: float, digits: int = 1) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def needle_numbers(n: NeedleSheet) -> list[list[str]]:
    """The needle's numbers in three columns (module notes of :mod:`planner.orsheet.content`)."""
    m = n.metrics
    t = n.trajectory
    lat = "lateral" if n.entry_lateral_mm >= 0 else "medial"
    sup = "superior" if n.entry_superior_mm >= 0 else "inferior"
    c1 = [
        f"Side {t.side}, {t.approach}, needle {n.gauge} (OD {_f(m.needle_od_mm, 2)} mm)",
        f"Medial angle {_f(m.medial_angle_deg)}° to body, {_f(m.medial_angle_table_deg)}° to table",
        f"Craniocaudal angle {_f(m.craniocaudal_angle_deg)}° to body, "
        f"{_f(m.craniocaudal_angle_table_deg)}° to table (+ = tip cranial)",
        f"Skin to tip {_f(m.length_skin_to_tip_mm)} mm; "
        f"bone to tip {_f(m.length_bone_to_tip_mm)} mm",
    ]
    c2 = [
        f"Entry on AP: {n.clock_label} o'clock, {_f(abs(n.entry_lateral_mm))} mm {lat}, "
        f"{_f(abs(n.entry_superior_mm))} mm {sup} of the pedicle centre",
        f"Isthmus width {_f(m.isthmus_width_mm)} mm; min cortical clearance "
        f"{_f(m.min_cortical_clearance_mm)} mm",
        f"Clearance medial {_f(m.clearance_medial_mm)}, lateral {_f(m.clearance_lateral_mm)}, "
        f"superior {_f(m.clearance_superior_mm)}, inferior {_f(m.clearance_inferior_mm)} mm; "
        f"canal {_f(m.canal_clearance_mm)} mm",
    ]
    breach = f"Breach grade {m.breach_grade} (Gertzbein-Robbins)"
    if m.breach_grade:
        breach += f": {_f(m.breach_mm)} mm {m.breach_direction}"
    c3 = [
        breach,
        f"Tip depth {_f(100 * m.tip_depth_frac, 0)} % of body depth; "
        f"{_f(m.tip_to_anterior_cortex_mm)} mm to anterior cortex",
        f"Bull's-eye C-arm LAO {_f(m.bullseye_lao_deg)}°, cranial {_f(m.bullseye_cranial_deg)}°",
        "Fluoro rule (wall before medial border): " + ("kept" if m.fluoro_rule_ok else "NOT kept"),
    ]
    return [c1, c2, c3]


def short_source(sid: str) -> str:
    """Short form: first author/journal and year of a clinical source, else its kind."""
    s = SOURCES[sid]
    if s.kind == "assumption":
        return "tool assumption"
    if s.kind == "derived":
        return "derived by this tool"
    name = re.split(r"[,(;]", s.citation)[0].strip()
    year = re.search(r"(?:19|20)\d{2}", s.citation)
    return name if year is None or year.group(0) in name else f"{name} {year.group(0)}"


def short_sources(ids: tuple[str, ...]) -> str:
    return "; ".join(dict.fromkeys(short_source(s) for s in ids))


def _level_header(flow: Flow, lv: LevelSheet, content: SheetContent) -> None:
    mo = lv.morphometry
    h = mo.heights_mm
    flow.para(f"{lv.level} — {lv.plan.procedure} — {len(lv.needles)} needle(s)", 14, True)
    ref = mo.reference_heights_mm
    ref_s = (
        ""
        if ref is None
        else (f" (reference {_f(ref.anterior)}/{_f(ref.middle)}/{_f(ref.posterior)})")
    )
    flow.para(
        f"Genant grade {grade_text(mo)}; heights anterior/middle/posterior "
        f"{_f(h.anterior)}/{_f(h.middle)}/{_f(h.posterior)} mm{ref_s}; wedge "
        f"{_f(mo.wedge_angle_deg)}°; body {_f(mo.body_volume_ml)} mL; posterior wall "
        f"{mo.posterior_wall}; trabecular {_f(mo.trabecular_hu, 0)} HU",
        8.5,
    )
    if not lv.confirmed:
        flow.para(
            f"LEVEL NAME PROPOSED, NOT CONFIRMED: check that this is {lv.level} (count from "
            "the sacrum and the last rib) before using this page.",
            9,
            True,
            RED,
        )
    if content.patient:
        flow.para(
            "Patient: " + "; ".join(f"{k} {v or '—'}" for k, v in content.patient.items()),
            8.5,
            True,
        )


def _needle_block(flow: Flow, n: NeedleSheet, images: tuple[SheetImage, ...]) -> None:
    flow.need(5 + IMG_MM + 30)
    flow.para(f"{n.side.upper()} needle — {n.trajectory.approach}, {n.gauge}", 10, True)
    gap = (PAGE_W_MM - 2 * MARGIN_MM - 4 * IMG_MM) / 3
    for i, im in enumerate(images):
        x = MARGIN_MM + i * (IMG_MM + gap)
        flow.page.ops.append(Picture(x, flow.y, IMG_MM, IMG_MM, im))
        if im.angles is not None:
            flow.page.ops.append(
                Text(
                    x,
                    flow.y + IMG_MM + 0.4,
                    f"C-arm for this view: {im.angles.label}",
                    6.3,
                    False,
                    GREY,
                )
            )
    flow.y += IMG_MM + 3.4
    flow.columns(needle_numbers(n))
    for f in n.findings:
        flow.para(
            f"{f.severity.upper()}: {f.message}",
            7.4,
            f.severity == "danger",
            SEVERITY_RGB.get(f.severity, BLACK),
            gap=0.2,
        )


def _level_estimates(flow: Flow, lv: LevelSheet) -> None:
    c = lv.estimates.cement
    lo, hi = lv.cement_band_ml
    flow.para(
        f"Cement {lv.level}: {_f(lv.cement_ml)} mL (band {_f(lo)}–{_f(hi)} mL; biomechanical "
        f"range {_f(c.range_ml[0])}–{_f(c.range_ml[1])} mL) — {c.method}",
        8.5,
        True,
    )
    for b in lv.balloons:
        flow.para(
            f"Balloon {b.side}: {b.device_name}, inflate to {_f(b.inflation_ml)} mL "
            f"(modelled volume {_f(b.volume_ml)} mL, {_f(b.tip_offset_mm)} mm behind the tip)"
            + ("; " + "; ".join(b.warnings) if b.warnings else ""),
            8,
        )
    rest = lv.estimates.restoration
    if rest is None:
        flow.para("Expected restoration: not estimated (no reference heights).", 8)
    else:
        walls = ", ".join(
            f"{w} {_f(b.median)} mm ({_f(b.p10)}–{_f(b.p90)})" for w, b in rest.immediate_mm.items()
        )
        wa = rest.wedge_angle_change_deg
        flow.para(
            f"Expected restoration (immediate, median with 10th–90th percentile): {walls}; "
            f"wedge angle {_f(wa.median)}° ({_f(wa.p10)}–{_f(wa.p90)}°); acuity {rest.acuity}",
            8,
        )
    flow.para("Indications and flags: " + " ".join(lv.indications), 7.2, gap=0.4)
    flow.para(
        "Sources: " + short_sources(lv.estimates.source_ids) + " (full list on the last page)",
        6.8,
        rgb=GREY,
    )


def _summary_page(flow: Flow, content: SheetContent) -> None:
    flow.new_page()
    flow.para("Summary — all levels", 14, True)
    for lv in content.levels:
        lo, hi = lv.cement_band_ml
        sides = ", ".join(f"{n.side} {n.gauge}" for n in lv.needles) or "no needle"
        flow.para(
            f"{lv.level}: {lv.plan.procedure}; {sides}; cement {_f(lv.cement_ml)} mL "
            f"(band {_f(lo)}–{_f(hi)} mL)",
            9,
        )
    lo, hi = content.total_cement_band_ml
    rlo, rhi = content.total_cement_range_ml
    flow.para(
        f"Total cement {_f(content.total_cement_ml)} mL (band {_f(lo)}–{_f(hi)} mL; "
        f"biomechanical range {_f(rlo)}–{_f(rhi)} mL)",
        11,
        True,
    )
    if content.indication:
        flow.para("Indication", 10, True)
        flow.para("; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in content.indication), 8)
    flow.para("Findings by severity", 10, True)
    if not content.findings:
        flow.para("No findings on any needle.", 8)
    for f in content.findings:
        flow.para(
            f"{f.severity.upper()} — {f.level} {f.side}: {f.message}",
            8,
            f.severity == "danger",
            SEVERITY_RGB.get(f.severity, BLACK),
            gap=0.2,
        )
    flow.para("Caveats", 10, True)
    for c in content.caveats:
        flow.para("• " + c, 8, gap=0.2)
    flow.para("Sources", 10, True)
    for i, sid in enumerate(content.source_ids, 1):
        s = SOURCES[sid]
        flow.para(f"{i}. {printable_citation(sid)} — {s.used_for}", 7.2, gap=0.2)


def layout(
    content: SheetContent, images: dict[tuple[str, str], tuple[SheetImage, ...]], stamp: str = ""
) -> list[Page]:
    """Pages of the sheet; ``images[(level, side)]`` are the four images of that needle."""
    header = (
        f"OR sheet — series {content.series_uid} — {stamp} — planning aid, verify on the images"
    )
    flow = Flow(header)
    for i, lv in enumerate(content.levels):
        if i:
            flow.new_page()
        _level_header(flow, lv, content)
        for n in lv.needles:
            _needle_block(flow, n, images[(lv.level, n.side)])
        _level_estimates(flow, lv)
    _summary_page(flow, content)
    return flow.pages
