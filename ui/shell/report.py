"""The printable plan report (one self-contained HTML file).

Contents: level and series binding, levels (confirmed or proposed), morphometry, trajectories
with their findings, balloons, cement volume, spread, expected restoration, VP vs BKP, and every
source cited. Every estimate states its model, inputs, band and sources. No patient identifiers
unless ``include_patient`` is set (the user ticks a box); the series UID is always there so the
report cannot be mistaken for another study's.

:func:`build_report_html` is pure (no Qt); :func:`export_report` is the File-menu action.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
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


def _series_section(volume: Any, plan: Any) -> str:
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
    if (
        plan.series.series_uid != volume.series_uid
        or plan.series.geometry_fingerprint != volume.grid.fingerprint()
    ):
        out += (
            "<p class='warn'>The plan is bound to another series (UID "
            f"{E(plan.series.series_uid)}): do not use this report for this study.</p>"
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


def _levels_section(analysis: Any, target: str) -> str:
    from ui.panels.measurements_table import COLUMNS, row_texts

    if analysis is None:
        return "<p>No vertebra analysis.</p>"
    head = "<tr><th>Status</th>" + "".join(f"<th>{E(c)}</th>" for c in COLUMNS) + "</tr>"
    rows = []
    for r in analysis.levels:
        status = (
            "confirmed" if r.candidate.confirmed else "<b>proposed</b>"
        ) + f" ({E(r.candidate.source)})"
        mark = " ◉ target" if r.level == target else ""
        cells = [t for t, _ in row_texts(r.morphometry)]
        cells[0] += mark
        rows.append(f"<tr><td>{status}</td>" + "".join(f"<td>{E(c)}</td>" for c in cells) + "</tr>")
    out = "<table class='grid'>" + head + "".join(rows) + "</table>"
    res = next((r for r in analysis.levels if r.level == target), None)
    if res is not None and not res.candidate.confirmed:
        out += (
            f"<p class='warn'>The target level {E(target)} is a proposal, "
            "not confirmed by the user.</p>"
        )
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


def _trajectories_section(volume: Any, plan: Any, result: Any) -> str:
    if not plan.trajectories:
        return "<p>No trajectories planned.</p>"
    out = []
    check = None
    if result is not None:
        try:  # the session's findings: the same code path as `check` and the panels
            from planner.session import Case, LevelAnalysis, LevelsAnalysis, level_check

            data = LevelAnalysis(result.anatomy, result.morphometry)
            case = Case.from_legacy(plan, LevelsAnalysis(((plan.level, data),)))
            check = level_check(volume, case, plan.level)
        except Exception as exc:  # noqa: BLE001 - the report still prints the geometry
            log.warning("trajectory findings unavailable: %s", exc)
    for t in plan.trajectories:
        import math

        length = math.dist(t.skin_entry_lps, t.target_lps)
        out.append(
            f"<p><b>{E(t.side.capitalize())}</b> {E(t.approach)}, needle {E(t.needle_id)}: skin "
            f"entry {_pt(t.skin_entry_lps)}, bone entry {_pt(t.bone_entry_lps)}, tip "
            f"{_pt(t.target_lps)} LPS mm; skin to tip {length:.1f} mm.</p>"
        )
        if check is not None:
            res = next(r for tt, r in check.results if tt == t)
            if res.findings:
                out.append(
                    "<ul class='flags'>"
                    + "".join(f"<li>{E(f.severity)}: {E(f.message)}</li>" for f in res.findings)
                    + "</ul>"
                )
            else:
                out.append("<p>No findings.</p>")
    return "".join(out)


def _measurements_section(plan: Any) -> str:
    from ui.tools.measurement import from_plan_measurement

    rows = []
    for pm in plan.measurements:
        m = from_plan_measurement(pm)
        pts = ", ".join(_pt(p) for p in m.points_lps)
        rows.append(
            f"<li>{E(m.kind.capitalize())} {E(m.label)} in the {E(m.view)} view: {pts}</li>"
        )
    return "<ul>" + "".join(rows) + "</ul><p>Points in LPS mm.</p>"


def build_report_html(
    volume: Any,
    plan: Any,
    analysis: Any,
    estimates: Any,
    include_patient: bool = False,
    app_version: str = "",
    indication: Any = None,
    mri: Any = None,
) -> str:
    """The report as one HTML document (pure function of its inputs).

    ``estimates`` is a ``planner.estimate.PlanEstimates`` for ``plan`` (or None when the level
    has no analysis). All positions LPS mm, volumes mL, heights mm, angles degrees.
    """
    result = (
        None
        if analysis is None
        else next((r for r in analysis.levels if r.level == plan.level), None)
    )
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Plan {E(plan.level)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Vertebral augmentation plan — {E(plan.level)} — {E(plan.procedure)}</h1>",
        f"<p>Generated {now} by Vertebral Augmentation Planner {E(app_version)}. A planning aid: "
        "every number below is an estimate with its model, inputs, band and sources.</p>",
    ]
    if indication is not None:
        from ui.mri.report_section import indication_html

        parts += ["<h2>Indication check</h2>", indication_html(indication, mri)]
    parts += [
        "<h2>Series</h2>",
        _series_section(volume, plan),
        "<h2>Patient</h2>",
        _patient_section(volume, include_patient),
        "<h2>Levels and measurements</h2>",
        _levels_section(analysis, plan.level),
        "<h2>Trajectories</h2>",
        _trajectories_section(volume, plan, result),
    ]
    if estimates is not None:
        parts += [
            "<h2>Balloons</h2>",
            "".join(balloon_html(b) for b in estimates.balloons) or "<p>No balloons planned.</p>",
            "<h2>Cement volume</h2>",
            cement_html(estimates.cement),
            "<h2>Cement spread</h2>",
            spread_html(estimates.spread),
            "<h2>Expected height restoration</h2>",
            restoration_html(estimates.restoration, result.morphometry if result else None),
            "<h2>Vertebroplasty and kyphoplasty compared</h2>",
            compare_html(estimates.comparison),
        ]
        if estimates.notes:
            parts.append(
                "<h2>Notes</h2><ul class='notes'>"
                + "".join(f"<li>{E(n)}</li>" for n in estimates.notes)
                + "</ul>"
            )
        parts += ["<h2>Sources</h2>", sources_html(estimates.source_ids)]
    else:
        parts.append("<p>No estimates: the target level has not been analysed.</p>")
    if plan.measurements:
        parts += ["<h2>Measurements drawn</h2>", _measurements_section(plan)]
    if plan.notes:
        parts += ["<h2>Plan notes</h2>", f"<p>{E(plan.notes)}</p>"]
    parts += [f"<h2>Limits</h2><p class='honest'>{E(NOT_CLAIMED)}</p>", "</body></html>"]
    return "\n".join(parts)


def estimates_for_report(doc: Any, controller: Any = None) -> Any:
    """The current plan's estimates: the controller's finished run if it matches, else computed."""
    plan = doc.plan
    result = doc.level_result(plan.level) if plan is not None else None
    if result is None:
        return None
    cur = getattr(controller, "current", None)
    if cur is not None and cur.full is not None and cur.plan is plan and cur.result is result:
        return cur.full
    from planner.estimate import compute_estimates

    return compute_estimates(doc.volume, result.anatomy, result.morphometry, plan)


def write_report(path: str | Path, html_text: str) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        p = p.with_suffix(".html")
    p.write_text(html_text, encoding="utf-8")
    return p
