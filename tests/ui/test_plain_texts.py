"""Texts the surgeon reads: indication items by their question, the no-anchor message."""

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


def test_no_anchor_message_counts_one_body_in_the_singular() -> None:
    from ui.panels.level_dialogs import plain_no_anchor_message

    raw = "found {} vertebral bodies (LPS centres …) but neither the sacrum … anchor their names"
    one = plain_no_anchor_message(raw.format(1))
    assert one is not None and "found one vertebral body but cannot tell which level it is" in one
    many = plain_no_anchor_message(raw.format(5))
    assert many is not None and "found 5 vertebral bodies but cannot tell which level each" in many
