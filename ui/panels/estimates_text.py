"""HTML of the estimates (panel text and the printed report share it; no Qt).

Every number carries its unit and its band; the formula, the inputs and the sources are
written out, and the limits of the evidence are stated.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from ui.panels.common import fmt_band, fmt_range, source_lines

WALL_NAMES = {"anterior": "Anterior", "middle": "Middle", "posterior": "Posterior"}
E = html.escape


def _list(items: Iterable[str], cls: str = "") -> str:
    items = list(items)
    if not items:
        return ""
    c = f" class='{cls}'" if cls else ""
    return f"<ul{c}>" + "".join(f"<li>{E(i)}</li>" for i in items) + "</ul>"


def sources_html(ids: Iterable[str]) -> str:
    lines = source_lines(ids)
    return "<ol class='sources'>" + "".join(f"<li>{E(s)}</li>" for s in lines) + "</ol>"


def cement_html(c: Any) -> str:
    """Recommended volume, band, preferred part of the band, formula, flags, notes."""
    lo, hi = c.range_ml
    plo, phi = c.preferred_range_ml
    out = [
        f"<p class='big'><b>{c.recommended_ml:.1f} mL</b> {E(c.procedure)} cement "
        f"(band {fmt_range(lo, hi, 'mL')})</p>"
    ]
    if (plo, phi) != (lo, hi):
        out.append(f"<p>Risk flags set: prefer the lower half, {fmt_range(plo, phi, 'mL')}.</p>")
    out.append(f"<p><b>Formula</b>: {E(c.method)}</p>")
    out.append(
        f"<p><b>Input</b>: body volume V_VB = {c.body_volume_ml:.1f} mL (CT segmentation of "
        "the level, cut at the posterior wall). Band = 0.16–0.30 × V_VB (strength floor – "
        "stiffness stop: Molloy et al. 2003, Spine 28:1549).</p>"
    )
    if c.hemi_body_limit_ml is not None:
        out.append(
            f"<p>Unipedicular, tip short of the midline: needle-side limit ≈ "
            f"{c.hemi_body_limit_ml:.1f} mL (0.14 × V_VB).</p>"
        )
    if c.flags:
        out.append(
            "<p><b>Leak-risk flags</b> (not probabilities):</p>" + _list(c.flags.values(), "flags")
        )
    out.append(_list(c.notes, "notes"))
    return "".join(out)


def restoration_rows(r: Any) -> list[tuple[str, str, str]]:
    """(wall, immediate band, 6–12 month band) rows and the wedge angle row."""
    rows = []
    for w, b in r.immediate_mm.items():
        f = r.follow_up_mm[w]
        rows.append(
            (
                WALL_NAMES.get(w, w),
                fmt_band(b.median, b.p10, b.p90, "mm"),
                fmt_band(f.median, f.p10, f.p90, "mm"),
            )
        )
    a, af = r.wedge_angle_change_deg, r.wedge_angle_follow_up_deg
    rows.append(
        (
            "Wedge angle (less wedging)",
            fmt_band(a.median, a.p10, a.p90, "°"),
            fmt_band(af.median, af.p10, af.p90, "°"),
        )
    )
    return rows


def restoration_html(r: Any, morph: Any = None) -> str:
    if r is None:
        return (
            "<p>No reference (pre-fracture) heights for this level: expected restoration is "
            "not estimated (no number is made up).</p>"
        )
    head = (
        "<table class='grid'><tr><th>Expected gain</th><th>Immediately<br>median (10th–90th)</th>"
        "<th>At 6–12 months<br>median (10th–90th)</th></tr>"
    )
    body = "".join(
        f"<tr><td>{E(a)}</td><td>{E(b)}</td><td>{E(c)}</td></tr>" for a, b, c in restoration_rows(r)
    )
    lost = r.inputs.get("lost_height_mm", {})
    inputs = (
        f"<p><b>Inputs</b>: {E(r.procedure)}, acuity {E(r.acuity)}, lost height "
        + ", ".join(f"{w} {v:.1f} mm" for w, v in lost.items())
        + (", positional heights" if r.inputs.get("positional_heights") else "")
        + "</p>"
    )
    ref = ""
    if morph is not None and morph.reference_heights_mm is not None:
        ref = (
            "<p>Measured / reference heights: "
            + ", ".join(
                f"{w} {morph.heights_mm.get(w):.1f} / {morph.reference_heights_mm.get(w):.1f} mm"
                for w in ("anterior", "middle", "posterior")
            )
            + "</p>"
        )
    return (
        head
        + body
        + "</table>"
        + inputs
        + ref
        + f"<p><b>Model</b>: {E(r.model)}</p>"
        + _list(r.notes, "notes")
        + "<p class='honest'>A population band tied to procedure, acuity and mobility — not a "
        "promised height (tool model; Crandall 2004, Beall 2018).</p>"
    )


def balloon_html(b: Any) -> str:
    c = b.contacts
    yes = {True: "yes", False: "no"}
    s = (
        f"<p><b>{E(b.side.capitalize())}</b> {E(b.device_id)}: requested {b.requested_ml:.2f} mL, "
        f"placed {b.volume_ml:.2f} mL (cavity {b.cavity_ml:.2f} mL, "
        f"endplate lift {b.lift_ml:.2f} mL); "
        f"contact superior endplate {yes[c.get('superior_endplate', False)]}, inferior endplate "
        f"{yes[c.get('inferior_endplate', False)]}, "
        f"cortex {yes[c.get('cortex', False)]}; posterior "
        f"wall {b.posterior_wall_distance_mm:.1f} mm.</p>"
    )
    return s + _list(b.warnings, "flags")


def spread_html(s: Any) -> str:
    if s is None:
        return "<p>No trajectories: the cement spread is not simulated.</p>"
    yes = {True: "yes", False: "no"}
    out = [
        f"<p>Cloud {s.volume_ml:.1f} mL of {s.requested_ml:.1f} mL planned; "
        "reaches both endplates: "
        f"<b>{yes[s.touches_both_endplates]}</b>; crosses the midline: {yes[s.crosses_midline]}; "
        f"closest to the posterior wall: {s.posterior_wall_distance_mm:.1f} mm.</p>"
    ]
    if s.leak_points:
        out.append("<p><b>Where the front reaches a way out</b> (flags, not probabilities):</p>")
        out.append(
            _list(
                f"{lp.kind.replace('_', ' ')} at LPS ({lp.location_lps[0]:.0f}, "
                f"{lp.location_lps[1]:.0f}, {lp.location_lps[2]:.0f}) mm after "
                f"{lp.injected_ml_at_reach:.1f} mL"
                for lp in s.leak_points
            )
        )
    else:
        out.append(
            "<p>The front reaches no cortical gap, disc or basivertebral foramen region "
            "within the planned volume (a model statement, not a guarantee).</p>"
        )
    out.append(_list(s.warnings, "flags"))
    out.append(
        "<p class='honest'>Model: minimum-resistance front from the needle tips (Dijkstra on "
        "≤ 0.5 mm voxels; resistance from an uncalibrated HU→porosity proxy; cortex and "
        "intact endplates are barriers). Qualitative: where cement goes first.</p>"
    )
    return "".join(out)


def compare_html(cmp: Any) -> str:
    cols = (cmp.vertebroplasty, cmp.kyphoplasty)

    def rest(c: Any, wall: str) -> str:
        if c.restoration is None:
            return "not estimated"
        b = c.restoration.immediate_mm.get(wall)
        return "—" if b is None else fmt_band(b.median, b.p10, b.p90, "mm")

    rows = [
        (
            "Cement",
            *(
                f"{c.cement.recommended_ml:.1f} mL ({fmt_range(*c.cement.range_ml, 'mL')})"
                for c in cols
            ),
        )
    ]
    for w in ("anterior", "middle"):
        rows.append((f"{WALL_NAMES[w]} gain, immediate", *(rest(c, w) for c in cols)))
    rows.append(
        (
            "Wedge angle change",
            *(
                "—"
                if c.restoration is None
                else fmt_band(
                    c.restoration.wedge_angle_change_deg.median,
                    c.restoration.wedge_angle_change_deg.p10,
                    c.restoration.wedge_angle_change_deg.p90,
                    "°",
                )
                for c in cols
            ),
        )
    )
    rows.append(("Leak-risk flags", *("; ".join(c.leak_flags) or "none" for c in cols)))
    rows.append(("Published leak rates", *(c.published_leak_rates for c in cols)))
    t = (
        "<table class='grid'><tr><th></th><th>Vertebroplasty</th><th>Kyphoplasty</th></tr>"
        + "".join(f"<tr><td>{E(a)}</td><td>{E(b)}</td><td>{E(c)}</td></tr>" for a, b, c in rows)
        + "</table>"
    )
    return t + _list(cmp.notes, "notes")
