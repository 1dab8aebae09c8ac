"""The printable plan report (one self-contained HTML file).

Contents: series binding, levels (confirmed or proposed), morphometry, the case's total cement
with its band, then one section per planned level: procedure, trajectories with their findings,
balloons, cement volume, spread, expected restoration, VP vs BKP and every source cited. The
findings and estimates are :func:`planner.session.report.report_content` (the same code path as
the panels and the ``check``/``estimate`` commands). Every estimate states its model, inputs,
band and sources. No patient identifiers unless ``include_patient`` is set (the user ticks a
box); the series UID is always there so the report cannot be mistaken for another study's.

:func:`build_report_html` is pure (no Qt); :func:`export_report` is the File-menu action.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ui.panels.estimates_text import (
    balloon_html,
    cement_html,
    compare_html,
    restoration_html,
    sources_html,
    spread_html,
)

log = logging.getLogger(__name__)
E = html.escape
CSS = """
body{font-family:Helvetica,Arial,sans-serif;font-size:10.5pt;color:#111;max-width:190mm;
  margin:10mm auto}
h1{font-size:16pt;margin:0 0 2mm} h2{font-size:12.5pt;border-bottom:1px solid #888;margin:6mm 0 2mm}
table.grid{border-collapse:collapse;margin:2mm 0}
table.grid td,table.grid th{border:1px solid #999;padding:1mm 2mm;text-align:left;
  vertical-align:top}
.meta td{padding:0 4mm 0 0} .big{font-size:13pt} .flags li{color:#a04000} .notes li{color:#333}
.honest{font-style:italic;color:#333} .warn{color:#a04000;font-weight:bold}
ol.sources{font-size:9pt}
@media print{h2{page-break-after:avoid} table{page-break-inside:avoid}}
"""
NOT_CLAIMED = (
    "This plan does not predict a guaranteed height, restored strength, pain relief or a "
    "leakage probability (no validated model exists). Bands are population-level; flags are not "
    "probabilities. Verify every level name and every path on the images."
)


def _pt(p: Any) -> str:
    return f"({p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f})"


def _series_section(volume: Any, content: Any) -> str:
    sp = volume.grid.spacing_mm
    rows = [
        ("Series UID", volume.series_uid),
        ("Geometry fingerprint", volume.grid.fingerprint()),
        ("Description", volume.identity.description or "—"),
        ("Modality", volume.identity.modality),
        ("Voxels", f"{sp[0]:.2f} × {sp[1]:.2f} × {sp[2]:.2f} mm"),
    ]
    out = "<table class='meta'>" + "".join(
        f"<tr><td>{E(a)}</td><td>{E(str(b))}</td></tr>" for a, b in rows
    )
    out += "</table>"
    if not content.binding_ok:
        out += (
            "<p class='warn'>The plan is bound to another series (UID "
            f"{E(content.series_uid)}): do not use this report for this study.</p>"
        )
    return out


def _patient_section(volume: Any, include: bool) -> str:
    if not include:
        return (
            "<p>Patient identifiers omitted (tick “include patient identifiers” to print them).</p>"
        )
    p = volume.patient
    rows = [
        ("Name", p.patient_name),
        ("ID", p.patient_id),
        ("Birth date", p.birth_date),
        ("Sex", p.sex),
        ("Study date", p.study_date),
        ("Institution", p.institution),
    ]
    return (
        "<table class='meta'>"
        + "".join(f"<tr><td>{E(a)}</td><td>{E(b or '—')}</td></tr>" for a, b in rows)
        + "</table>"
    )


def _levels_section(analysis: Any, planned: dict[str, str]) -> str:
    from ui.panels.measurements_table import COLUMNS, row_texts

    if analysis is None:
        return "<p>No vertebra analysis.</p>"
    head = "<tr><th>Status</th>" + "".join(f"<th>{E(c)}</th>" for c in COLUMNS) + "</tr>"
    rows = []
    for r in analysis.levels:
        status = (
            "confirmed" if r.candidate.confirmed else "<b>proposed</b>"
        ) + f" ({E(r.candidate.source)})"
        mark = f" ◉ planned ({planned[r.level]})" if r.level in planned else ""
        cells = [t for t, _ in row_texts(r.morphometry)]
        cells[0] += mark
        rows.append(f"<tr><td>{status}</td>" + "".join(f"<td>{E(c)}</td>" for c in cells) + "</tr>")
    out = "<table class='grid'>" + head + "".join(rows) + "</table>"
    for r in analysis.levels:
        if r.level in planned and not r.candidate.confirmed:
            out += (
                f"<p class='warn'>The planned level {E(r.level)} is a proposal, "
                "not confirmed by the user.</p>"
            )
    short = [  # graded 0 as short vertebrae: say so, the reader checks the endplates
        f"{r.level}: {n}" for r in analysis.levels for n in r.morphometry.notes
        if n.startswith("short vertebral height")
    ]
    if short:
        out += "<ul class='flags'>" + "".join(f"<li>{E(n)}</li>" for n in short) + "</ul>"
    if analysis.warnings:
        out += (
            "<ul class='flags'>" + "".join(f"<li>{E(w)}</li>" for w in analysis.warnings) + "</ul>"
        )
    out += (
        "<p class='honest'>Heights in the body's mid-sagittal plane; reference heights from the "
        "nearest intact neighbours (tool assumption); Genant grades (Genant et al. 1993, J Bone "
        "Miner Res); trabecular HU thresholds (Pickhardt et al. 2013, Ann Intern Med).</p>"
    )
    return out


def _corrections_section(corrections: Any) -> str:
    """Every correction of the automatic analysis, with the automatic value beside it."""
    from planner.session.corrections_text import describe

    rows = []
    for c in corrections:
        what, auto, value = describe(c)
        rows.append(
            f"<tr><td>{E(c.level)}</td><td>{E(what)}</td><td>{E(auto)}</td><td>{E(value)}</td></tr>"
        )
    return (
        "<table class='grid'><tr><th>Level</th><th>Corrected</th><th>Automatic</th>"
        "<th>Edited (used)</th></tr>" + "".join(rows) + "</table>"
        "<p class='honest'>Levels marked “edited” use the user's values; points LPS mm.</p>"
    )


def _trajectories_section(level: Any) -> str:
    """Needles of one level with the session's findings (``level.check``)."""
    import math

    if not level.trajectories:
        return "<p>No trajectories planned.</p>"
    out = [f"<p>Approach: {'unipedicular' if level.unipedicular else 'bipedicular'}.</p>"]
    for t in level.trajectories:
        length = math.dist(t.skin_entry_lps, t.target_lps)
        out.append(
            f"<p><b>{E(t.side.capitalize())}</b> {E(t.approach)}, needle {E(t.needle_id)}: skin "
            f"entry {_pt(t.skin_entry_lps)}, bone entry {_pt(t.bone_entry_lps)}, tip "
            f"{_pt(t.target_lps)} LPS mm; skin to tip {length:.1f} mm.</p>"
        )
        if level.check is not None:
            fs = [f for f in level.check.findings if f.side == t.side]
            if fs:
                out.append(
                    "<ul class='flags'>"
                    + "".join(f"<li>{E(f.severity)}: {E(f.message)}</li>" for f in fs)
                    + "</ul>"
                )
            else:
                out.append("<p>No findings.</p>")
    return "".join(out)


def _total_section(content: Any) -> str:
    from ui.panels.common import fmt_range

    t = content.total_cement
    out = (
        f"<p class='big'>Cement to prepare for {len(content.levels)} level(s): "
        f"<b>{t.recommended_ml:.1f} mL</b> (band {fmt_range(*t.range_ml, 'mL')}; the sum of "
        "the levels' recommended volumes and of their bands' bounds).</p>"
    )
    if t.missing:
        out += (
            "<p class='warn'>Not included (no analysis): " + E(", ".join(t.missing)) + ".</p>"
        )
    return out


def _level_section(level: Any, result: Any) -> list[str]:
    est = level.estimates
    parts = [
        f"<h2>Level {E(level.level)} — {E(level.procedure)} ({E(level.status)})</h2>",
        "<h3>Trajectories</h3>",
        _trajectories_section(level),
    ]
    if est is None:
        return [*parts, "<p>No estimates: this level has not been analysed.</p>"]
    parts += [
        "<h3>Balloons</h3>",
        "".join(balloon_html(b) for b in est.balloons) or "<p>No balloons planned.</p>",
        "<h3>Cement volume</h3>",
        cement_html(est.cement),
        "<h3>Cement spread</h3>",
        spread_html(est.spread),
        "<h3>Expected height restoration</h3>",
        restoration_html(est.restoration, result.morphometry if result else None),
        "<h3>Vertebroplasty and kyphoplasty compared</h3>",
        compare_html(est.comparison),
    ]
    if est.notes:
        parts.append(
            "<h3>Notes</h3><ul class='notes'>"
            + "".join(f"<li>{E(n)}</li>" for n in est.notes)
            + "</ul>"
        )
    if level.notes:
        parts.append(f"<p>{E(level.notes)}</p>")
    return [*parts, "<h3>Sources</h3>", sources_html(est.source_ids)]


def _measurements_section(measurements: Any) -> str:
    from ui.tools.measurement import from_plan_measurement

    rows = []
    for pm in measurements:
        m = from_plan_measurement(pm)
        pts = ", ".join(_pt(p) for p in m.points_lps)
        rows.append(
            f"<li>{E(m.kind.capitalize())} {E(m.label)} in the {E(m.view)} view: {pts}</li>"
        )
    return "<ul>" + "".join(rows) + "</ul><p>Points in LPS mm.</p>"


def as_case(plan: Any, analysis: Any = None) -> Any:
    """A ``planner.session.Case`` from a case or a single-level ``Plan`` (compatibility)."""
    from planner.session import Case
    from ui.document.level_analysis import synced_confirmations

    if isinstance(plan, Case):
        case = plan if analysis is None else replace(plan, analysis=analysis)
    else:
        case = Case.from_legacy(plan, analysis)
    return synced_confirmations(case)


def build_report_html(
    volume: Any,
    case: Any,
    analysis: Any = None,
    _estimates: Any = None,
    include_patient: bool = False,
    app_version: str = "",
    indication: Any = None,
    mri: Any = None,
) -> str:
    """The report as one HTML document (pure function of its inputs).

    ``case`` is a ``planner.session.Case`` (or a single-level ``Plan`` with ``analysis``);
    findings and estimates come from :func:`planner.session.report.report_content`. All
    positions LPS mm, volumes mL, heights mm, angles degrees.
    """
    from planner.session import report_content

    case = as_case(case, analysis)
    content = report_content(volume, case)
    analysis = case.corrected_analysis()  # with the surgeon's corrected points
    levels = content.levels
    title = ", ".join(f"{lv.level} {lv.procedure}" for lv in levels) or "no level planned"
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    planned = {lv.level: lv.procedure for lv in levels}
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Plan {E(title)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Vertebral augmentation plan — {E(title)}</h1>",
        f"<p>Generated {now} by Vertebral Augmentation Planner {E(app_version)}. A planning aid: "
        "every number below is an estimate with its model, inputs, band and sources.</p>",
    ]
    if indication is not None:
        from ui.mri.report_section import indication_html

        parts += ["<h2>Indication check</h2>", indication_html(indication, mri)]
    parts += [
        "<h2>Series</h2>",
        _series_section(volume, content),
        "<h2>Patient</h2>",
        _patient_section(volume, include_patient),
        "<h2>Levels and measurements</h2>",
        _levels_section(analysis, planned),
        "<h2>Total cement</h2>",
        _total_section(content),
    ]
    for lv in levels:
        result = None
        if analysis is not None:
            result = next((r for r in analysis.levels if r.level == lv.level), None)
        parts += _level_section(lv, result)
    if content.corrections:
        parts += ["<h2>Corrections by the user</h2>", _corrections_section(content.corrections)]
    if content.measurements:
        parts += ["<h2>Measurements drawn</h2>", _measurements_section(content.measurements)]
    if content.notes:
        parts += ["<h2>Plan notes</h2>", f"<p>{E(content.notes)}</p>"]
    parts += [f"<h2>Limits</h2><p class='honest'>{E(NOT_CLAIMED)}</p>", "</body></html>"]
    return "\n".join(parts)


def write_report(path: str | Path, html_text: str) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        p = p.with_suffix(".html")
    p.write_text(html_text, encoding="utf-8")
    return p
