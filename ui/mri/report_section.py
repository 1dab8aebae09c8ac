"""The report's indication-check section (pure HTML from an IndicationCheck; no Qt)."""

from __future__ import annotations

import html
from typing import Any

E = html.escape
RED = "#c00000"


def questions(check: Any, item_ids: list[str]) -> str:
    """The checklist's own questions for ``item_ids`` ("; "-joined, "none" when empty): the
    surgeon reads "Uncorrectable coagulopathy", never the internal id "coagulopathy"."""
    by_id = {r.item_id: r.question.rstrip("?") for r in check.items}
    return "; ".join(by_id.get(i, i) for i in item_ids) or "none"


def indication_html(check: Any, mri: Any = None) -> str:
    """First-page section: the statement, what is met / present / unknown, flagged levels in
    red, the oedema numbers when an MRI was registered, and the sources per item."""
    flagged = check.flagged_levels()
    parts = [f"<p class='warn'>{E(check.statement)}</p>"]
    for level, why in flagged.items():
        parts.append(f"<p style='color:{RED};font-weight:bold'>Level {E(level)}: "
                     f"{E('; '.join(why))}</p>")

    def ids(v: list[str]) -> str:
        return E(questions(check, v))

    parts.append(
        "<table class='grid'>"
        f"<tr><th>Indications met</th><td>{ids(check.indications_met)}</td></tr>"
        f"<tr><th>Contraindications present</th><td style='color:{RED}'>"
        f"{ids(check.contraindications_present)}</td></tr>"
        f"<tr><th>Cautions</th><td>{ids(check.cautions)}</td></tr>"
        f"<tr><th>Unknown</th><td>{ids(check.unknowns)}</td></tr></table>")
    if mri is not None:
        rows = "".join(
            f"<tr><td>{E(f.level)}</td><td>{E(f.classification)}</td>"
            f"<td>{'—' if f.stir_ratio is None else f'{f.stir_ratio:.2f}'}</td>"
            f"<td>{'—' if f.t1_ratio is None else f'{f.t1_ratio:.2f}'}</td>"
            f"<td>{E(f.reason)}</td></tr>" for f in mri.levels)
        t = mri.registration.global_transform
        parts.append(
            "<p>MRI registered to the CT (" + E(mri.registration.method) + f"; rotation "
            f"{t.angle_deg:.1f}°). Oedema per level (signal relative to the other bodies; "
            "thresholds are tool assumptions):</p><table class='grid'><tr><th>Level</th>"
            "<th>MRI</th><th>STIR ×</th><th>T1 ×</th><th>Why</th></tr>" + rows + "</table>")
    rows = "".join(
        f"<tr><td>{E(r.question)}</td><td>{E(r.answer)}"
        f"{' (analysis)' if r.origin == 'analysis' else ''}</td>"
        f"<td{' style=color:' + RED if r.status in ('present', 'caution') else ''}>"
        f"{E(r.status)}</td><td>{E(r.note)}</td><td>{E(r.source)}</td></tr>"
        for r in check.items)
    parts.append("<table class='grid'><tr><th>Item</th><th>Answer</th><th>Status</th>"
                 "<th>Note</th><th>Source</th></tr>" + rows + "</table>")
    return "\n".join(parts)
