"""The MRI panel's tables: oedema per level, and the indication checklist with its answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from planner.indication import ITEMS, IndicationCheck, validate_answers
from ui.mri.report_section import questions

log = logging.getLogger(__name__)
RED = QColor(235, 60, 60)


def make_table(columns: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().setVisible(False)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def fill_levels(table: QTableWidget, names: list[str], result: Any,
                flagged: dict[str, list[str]]) -> None:
    """Rows: level, MRI finding, STIR ×, T1 ×, acuity; red when the level is flagged."""
    table.setRowCount(len(names))
    for row, n in enumerate(names):
        f = result.level(n) if result is not None else None
        texts = (n, "—" if f is None else f.classification,
                 "—" if f is None or f.stir_ratio is None else f"{f.stir_ratio:.2f}",
                 "—" if f is None or f.t1_ratio is None else f"{f.t1_ratio:.2f}",
                 "—" if f is None else f.acuity)
        for col, text in enumerate(texts):
            item = QTableWidgetItem(text)
            item.setToolTip("; ".join(flagged.get(n, [])) or (f.reason if f else ""))
            if n in flagged:
                item.setForeground(QBrush(RED))
            table.setItem(row, col, item)


def build_checklist(table: QTableWidget, on_answer: Callable[[str, str], None]) -> None:
    """One row per item: question (source in the tooltip), an answer box, the status."""
    table.setRowCount(len(ITEMS))
    for row, it in enumerate(ITEMS):
        q = QTableWidgetItem(it.question)
        q.setToolTip(f"{it.kind}; source: {it.source}")
        table.setItem(row, 0, q)
        box = QComboBox()
        box.setEditable(it.numeric)
        box.addItems(["unknown", *(c for c in it.choices if c != "unknown")])
        box.setObjectName(f"answer_{it.item_id}")
        if it.numeric:  # typed: one answer when the typing ends (Enter, focus out) or a pick
            box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            edit = box.lineEdit()
            edit.editingFinished.connect(
                lambda b=box, i=it.item_id: on_answer(i, b.currentText()))
            box.activated.connect(lambda _n, b=box, i=it.item_id: on_answer(i, b.currentText()))
        else:
            box.currentTextChanged.connect(lambda text, i=it.item_id: on_answer(i, text))
        table.setCellWidget(row, 1, box)


def show_answers(table: QTableWidget, answers: tuple[tuple[str, str], ...]) -> None:
    """Put ``answers`` ((item id, answer) pairs) in the answer boxes; others show "unknown".

    No answer signal is sent (the boxes only show the case)."""
    given = dict(answers)
    for row, it in enumerate(ITEMS):
        box = table.cellWidget(row, 1)
        if not isinstance(box, QComboBox):
            continue
        text = given.get(it.item_id, "unknown")
        if box.currentText() == text:
            continue
        box.blockSignals(True)
        if box.isEditable():
            box.setEditText(text)
        else:
            box.setCurrentIndex(max(box.findText(text), 0))
        box.blockSignals(False)


def show_check(table: QTableWidget, check: IndicationCheck) -> None:
    by_id = {r.item_id: r for r in check.items}
    for row, it in enumerate(ITEMS):
        r = by_id[it.item_id]
        item = QTableWidgetItem(r.status + (" (from the analysis)" if r.origin == "analysis"
                                            else ""))
        item.setToolTip(r.note)
        if r.status in ("present", "caution"):
            item.setForeground(QBrush(RED))
        table.setItem(row, 2, item)


def summary_html(check: IndicationCheck) -> str:
    def ids(v: list[str]) -> str:
        return questions(check, v)

    red = "".join(f"<br><span style='color:#eb3c3c'>{n}: {'; '.join(w)}</span>"
                  for n, w in check.flagged_levels().items())
    return (f"<i>{check.statement}</i><br>Indications met: {ids(check.indications_met)}. "
            f"Contraindications present: {ids(check.contraindications_present)}. "
            f"Cautions: {ids(check.cautions)}. Unknown: {len(check.unknowns)} item(s).{red}")


def valid_answers(answers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The answers the checklist takes (others are logged and left out)."""
    kept = []
    for pair in answers:
        try:
            kept.extend(validate_answers([pair]))
        except (ValueError, KeyError) as exc:
            log.warning("indication answer left out: %s", exc)
    return tuple(kept)
