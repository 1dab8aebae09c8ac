"""Nothing truncated at 1280×800 or 1920×1080: every panel is shown in turn and every visible
label, button, tab title, table header and cell is checked against the width its text needs,
and no panel, table or scroll area needs a horizontal scroll bar."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QLabel,
    QPushButton,
    QStyle,
    QTabBar,
    QTableView,
)

from tests.ui.trajectory_helpers import truth_trajectory
from ui.shell.panel_layout import arrange_panels, panel_docks

pytestmark = pytest.mark.gui


def _needed(fm: Any, text: str) -> int:
    return max((fm.horizontalAdvance(line) for line in text.split("\n")), default=0)


def _in_scroll_area(w: Any) -> bool:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea) and not isinstance(p, QTableView):
            return True
        p = p.parentWidget()
    return False


def _problems(root: Any) -> list[str]:
    out: list[str] = []
    for lab in root.findChildren(QLabel):
        text = lab.text()
        if (
            not lab.isVisible()
            or lab.wordWrap()
            or not text
            or lab.textFormat() == Qt.TextFormat.RichText
            or "<" in text
        ):
            continue
        need = _needed(lab.fontMetrics(), text)
        if lab.contentsRect().width() + 1 < need:
            out.append(f"label {text[:40]!r}: {lab.contentsRect().width()} < {need} px")
        elif not _in_scroll_area(lab) and lab.visibleRegion().boundingRect().width() + 1 < min(
            need, lab.width()
        ):
            out.append(f"label {text[:40]!r} clipped by its panel")
    for b in root.findChildren(QAbstractButton):
        if not b.isVisible() or not b.text() or not isinstance(b, (QPushButton, QCheckBox)):
            continue
        if b.width() + 1 < b.minimumSizeHint().width():
            out.append(f"button {b.text()!r}: {b.width()} < {b.minimumSizeHint().width()} px")
    for bar in root.findChildren(QTabBar):
        if not bar.isVisible():
            continue
        for i in range(bar.count()):
            r = bar.tabRect(i)
            # the tab's own size hint holds the style sheet's padding and borders: a narrower
            # tab is elided ("Lev…")
            need = (
                bar.tabSizeHint(i).width() if bar.elideMode() != Qt.TextElideMode.ElideNone else 0
            )
            need = max(need, bar.fontMetrics().horizontalAdvance(bar.tabText(i)) + 8)
            if r.width() < need or r.right() > bar.width() + 1:
                out.append(f"tab {bar.tabText(i)!r}: {r.width()} px for {need}")
    for t in root.findChildren(QTableView):
        if not t.isVisible() or t.model() is None:
            continue
        m, h, fm = t.model(), t.horizontalHeader(), t.fontMetrics()
        # the item delegate's text margin (QCommonStyle: focus-frame margin + 1, each side)
        pad = 2 * (t.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, t) + 1)
        hfm = h.fontMetrics()
        for c in range(m.columnCount()):
            if t.isColumnHidden(c):
                continue
            width = t.columnWidth(c)
            title = str(m.headerData(c, Qt.Orientation.Horizontal) or "")
            if h.isVisible() and hfm.horizontalAdvance(title) + 8 > width:
                out.append(f"header {title!r}: {width} px for {hfm.horizontalAdvance(title)}")
            for r in range(m.rowCount()):
                cell = str(m.data(m.index(r, c)) or "")
                # a wrapping table needs only its longest word to fit (and the row to grow)
                parts = cell.split() if t.wordWrap() else [cell]
                need = max((fm.horizontalAdvance(w) for w in parts), default=0)
                lines = fm.horizontalAdvance(cell) // max(width - pad, 1) + 1
                if need + pad > width or (
                    t.wordWrap() and t.rowHeight(r) < min(lines, 3) * fm.lineSpacing()
                ):
                    out.append(
                        f"cell {cell[:30]!r} in {title!r}: {width} px, "
                        f"row {t.rowHeight(r)} px for {lines} lines"
                    )
        if h.isVisible() and h.length() > t.viewport().width():
            out.append(f"table with {title!r}: columns wider than the panel (scrolling)")
    for area in root.findChildren(QAbstractScrollArea):
        bar = area.horizontalScrollBar()
        if area.isVisible() and bar.maximum() > 0:
            out.append(
                f"{type(area).__name__} {area.objectName()!r} scrolls sideways by "
                f"{bar.maximum()} px ({area.viewport().width()} px wide)"
            )
    return out


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_every_panel_shows_its_text_unabridged(planning_window, demo_case, qtbot, size) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    svc = win.trajectory.service
    for side in ("left", "right"):
        plan = svc.base_plan().with_trajectory(truth_trajectory(demo_case, side))
        win.doc.push_plan(plan, side)
    win.resize(*size)
    arrange_panels(win, QSize(*size))
    qtbot.wait(50)
    problems: dict[str, list[str]] = {}
    for name, dock in panel_docks(win).items():
        dock.show()
        dock.raise_()
        QApplication.processEvents()
        qtbot.wait(20)
        found = _problems(dock)
        if found:
            problems[name] = found
    problems_main = [p for p in _problems(win) if p.startswith("tab ")]
    if problems_main:
        problems["dock tabs"] = problems_main
    assert not problems, problems


@pytest.mark.parametrize(
    ("avail", "expected"),
    [(400, [40, 150, 210]), (250, [40, 150, 60]), (200, [40, 100, 60]), (100, [40, 80, 60])],
)
def test_columns_fit_by_wrapping_the_stretch_column_first(avail: int, expected: list[int]) -> None:
    from ui.panels.fitting_table import fit_widths_px

    # (longest word, longest line) per column; column 2 stretches
    ranges = [(40, 40), (80, 150), (60, 100)]
    assert fit_widths_px(ranges, avail, stretch=2) == expected
