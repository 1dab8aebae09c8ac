"""The indication summary lists the checklist's questions, never its internal item ids."""

from __future__ import annotations

from planner.indication import ITEMS, evaluate
from ui.mri.report_section import indication_html, questions
from ui.mri.tables import summary_html


def test_report_and_panel_summary_name_items_by_their_question() -> None:
    check = evaluate([("pain_at_level", "yes"), ("coagulopathy", "yes")])
    html = indication_html(check)
    summary = summary_html(check)
    assert "Back pain attributable to the fractured level" in questions(check, ["pain_at_level"])
    for text in (html, summary):
        assert "Uncorrectable coagulopathy" in text
        assert "pain_at_level" not in text and "cement_allergy" not in text
    # the "Unknown" cell of the report lists every unanswered question by its text
    unknown_cell = html.split("<th>Unknown</th><td>")[1].split("</td>")[0]
    assert unknown_cell.count(";") == len(ITEMS) - 3  # 13 items, 2 answered: 11 listed
    assert questions(check, []) == "none"
