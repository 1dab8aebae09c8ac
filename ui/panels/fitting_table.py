"""A table whose columns always fit its width: long cells wrap between words, never sideways.

The side column is 390 px wide at 1280×800. Each column gets at least its longest word (and
its header title), at most its longest line; what is left over goes to the stretch column,
what is missing is taken from the stretch column first, then from the other columns that can
wrap, in proportion to how much they can give. Rows grow to the wrapped text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics
from PySide6.QtWidgets import QHeaderView, QStyle, QTableWidget, QTableWidgetItem, QWidget

#: Room around a header title (sort indicator margin and frame), px.
HEADER_PAD_PX = 12


def column_range_px(table: QTableWidget, col: int) -> tuple[int, int]:
    """(narrowest, widest) width of one column: its longest word, its longest line."""
    style = table.style()
    pad = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1) + 6
    head = table.horizontalHeaderItem(col)
    title = head.text() if head is not None else ""
    lo = hi = table.horizontalHeader().fontMetrics().horizontalAdvance(title) + HEADER_PAD_PX
    for row in range(table.rowCount()):
        item = table.item(row, col)
        if item is None or not item.text():
            continue
        fm = QFontMetrics(item.font())
        lines = item.text().split("\n")
        words = [w for line in lines for w in line.split()]
        lo = max(lo, max((fm.horizontalAdvance(w) for w in words), default=0) + pad)
        hi = max(hi, max(fm.horizontalAdvance(line) for line in lines) + pad)
    return lo, max(lo, hi)


def set_cell(
    table: QTableWidget,
    row: int,
    col: int,
    text: str,
    tip: str = "",
    colour: QColor | None = None,
    bold: bool = False,
) -> bool:
    """Show a cell, changing the existing item in place; returns whether anything changed.

    A drag update rewrites a few numbers: untouched cells cost nothing and no item is rebuilt
    (a new ``QTableWidgetItem`` per cell made the table resize every row each time).
    """
    item = table.item(row, col)
    if item is None:
        item = QTableWidgetItem(text)
        item.setToolTip(tip)
        if colour is not None:
            item.setForeground(QBrush(colour))
        if bold:
            f = item.font()
            f.setBold(True)
            item.setFont(f)
        table.setItem(row, col, item)
        return True
    changed = False
    if item.text() != text:
        item.setText(text)
        changed = True
    if item.toolTip() != tip:
        item.setToolTip(tip)
    shown = item.data(Qt.ItemDataRole.ForegroundRole)
    shown_colour = shown.color() if isinstance(shown, QBrush) else None
    if shown_colour != colour:
        item.setData(Qt.ItemDataRole.ForegroundRole, None if colour is None else QBrush(colour))
        changed = True
    if item.font().bold() != bold:
        f = item.font()
        f.setBold(bold)
        item.setFont(f)
        changed = True
    return changed


def fit_widths_px(ranges: list[tuple[int, int]], avail_px: int, stretch: int) -> list[int]:
    """Column widths summing to ``avail_px`` where possible (see the module notes)."""
    widths = [hi for _, hi in ranges]
    total = sum(widths)
    if total <= avail_px:
        widths[stretch] += avail_px - total
        return widths
    missing = total - avail_px
    lo_s, hi_s = ranges[stretch]
    first = min(missing, hi_s - lo_s)  # the stretch column wraps first
    widths[stretch] -= first
    missing -= first
    give = [0 if c == stretch else hi - lo for c, (lo, hi) in enumerate(ranges)]
    room = sum(give)
    if missing <= 0 or room <= 0:
        return widths
    take = min(1.0, missing / room)
    return [w - int(g * take + 0.999) for w, g in zip(widths, give, strict=True)]


class FittingTable(QTableWidget):
    """``QTableWidget`` that wraps its cells and sizes its columns to its width.

    Call :meth:`fit_columns` after filling it; it also refits when its viewport resizes.
    ``stretch_column`` gets the width left over.
    """

    def __init__(self, rows: int, columns: int, parent: QWidget | None = None) -> None:
        super().__init__(rows, columns, parent)
        self.stretch_column = columns - 1
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._fitting = False
        self.viewport().installEventFilter(self)

    def set_header(self, titles: tuple[str, ...], tips: tuple[str, ...] = ()) -> None:
        """Column titles (short) with their tooltips (what the column holds, its units)."""
        self.setHorizontalHeaderLabels(list(titles))
        for col, tip in enumerate(tips):
            item = self.horizontalHeaderItem(col)
            if item is not None:
                item.setToolTip(tip)

    def fit_columns(self) -> None:
        if self._fitting:
            return
        self._fitting = True
        try:
            ranges = [column_range_px(self, c) for c in range(self.columnCount())]
            avail = self.viewport().width()
            for col, w in enumerate(fit_widths_px(ranges, avail, self.stretch_column)):
                self.setColumnWidth(col, w)
            self.resizeRowsToContents()
        finally:
            self._fitting = False

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)
