"""File → Print… and File → Export OR sheet (PDF): the same pages on paper and in the PDF.

The pages come from :func:`planner.orsheet.layout.layout` (mm from the top-left of an A4
page); the PDF is written by reportlab (:mod:`planner.orsheet.pdf`), the printer gets the
same operations painted with QPainter (:func:`paint_pages`). Dialogs default to the study's
folder when it is writable, else the user's Documents folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QStandardPaths, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPen
from PySide6.QtWidgets import QApplication, QCheckBox, QFileDialog, QMessageBox, QWidget

from ui.shell.errors import guarded

log = logging.getLogger(__name__)


def default_output_dir(source_path: str) -> Path:
    """The study's folder when it exists and is writable, else the user's Documents."""
    if source_path:
        p = Path(source_path)
        folder = p if p.is_dir() else p.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(docs) if docs else Path.home()


def sheet_for_document(doc: Any, controller: Any, include_patient: bool) -> Any:
    """The OR sheet of the document's case (every planned level), through the session."""
    from dataclasses import replace

    from planner.errors import InputError
    from planner.orsheet.build import sheet_from_case
    from planner.orsheet.pdf import make_sheet
    from ui.document.case_restore import document_case_plan
    from ui.document.level_analysis import synced_confirmations

    plan, case = document_case_plan(doc), doc.case
    if doc.volume is None or plan is None or case is None:
        raise InputError("no plan yet: add a level to the plan in the Levels panel first")
    missing = [lp.level for lp in plan.levels if doc.level_result(lp.level) is None]
    if missing:
        raise InputError(f"{', '.join(missing)} not analysed: run Analysis first")
    case = synced_confirmations(replace(case, plan=plan))
    content = sheet_from_case(doc.volume, case, include_patient)
    return make_sheet(content, doc.volume)


def paint_pages(
    painter: QPainter, pages: list[Any], page_rect: QRectF, new_page: Any = None
) -> None:
    """Paint layout pages (mm, top-left origin) into ``page_rect`` (device units)."""
    from planner.orsheet.layout import PAGE_W_MM, Box, Picture, Text

    scale = page_rect.width() / PAGE_W_MM
    for i, page in enumerate(pages):
        if i and new_page is not None:
            new_page()
        for op in page.ops:
            if isinstance(op, Text):
                f = QFont("DejaVu Sans")
                f.setPointSizeF(op.size_pt)
                f.setBold(op.bold)
                # font size in device pixels: 1 pt = 25.4/72 mm
                f.setPixelSize(max(1, round(op.size_pt * 25.4 / 72 * scale)))
                painter.setFont(f)
                painter.setPen(QColor.fromRgbF(*op.rgb))
                asc = painter.fontMetrics().ascent()
                painter.drawText(QPointF(op.x_mm * scale, op.y_mm * scale + asc), op.text)
            elif isinstance(op, Picture):
                rgb = op.image.rgb
                img = QImage(
                    rgb.data,
                    rgb.shape[1],
                    rgb.shape[0],
                    rgb.strides[0],
                    QImage.Format.Format_RGB888,
                ).copy()
                painter.drawImage(
                    QRectF(op.x_mm * scale, op.y_mm * scale, op.w_mm * scale, op.h_mm * scale), img
                )
            elif isinstance(op, Box):
                painter.setPen(
                    QPen(QColor.fromRgbF(*op.stroke)) if op.stroke else Qt.PenStyle.NoPen
                )
                r = QRectF(op.x_mm * scale, op.y_mm * scale, op.w_mm * scale, op.h_mm * scale)
                if op.fill:
                    painter.fillRect(r, QColor.fromRgbF(*op.fill))
                painter.drawRect(r)


def ask_pdf_path(parent: QWidget, folder: Path, name: str) -> tuple[str, bool] | None:
    """Save dialog + 'include patient identifiers' (default no). Replaced in tests."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Export OR sheet (PDF)", str(folder / name), "PDF (*.pdf)"
    )
    if not path:
        return None
    box = QMessageBox(parent)
    box.setWindowTitle("Patient identifiers")
    box.setText("Print patient identifiers (name, ID, birth date) on the OR sheet?")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return path, box.exec() == QMessageBox.StandardButton.Yes


@guarded("export the OR sheet")
def export_or_sheet(win: Any, path: str | None = None, include_patient: bool = False) -> str:
    from planner.orsheet.pdf import write_pdf

    doc = win.doc
    if path is None:
        level = doc.plan.level if doc.plan is not None else "plan"
        got = ask_pdf_path(win, default_output_dir(doc.source_path), f"OR_sheet_{level}.pdf")
        if got is None:
            return ""
        path, include_patient = got
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        sheet = sheet_for_document(doc, getattr(win.planning, "controller", None), include_patient)
        out = write_pdf(sheet, path)
    finally:
        QApplication.restoreOverrideCursor()
    win.statusBar().showMessage(f"Saved {out.name}", 4000)
    return str(out)


@guarded("print the OR sheet")
def print_or_sheet(win: Any, printer: Any = None) -> int:
    """QPrintDialog, then the OR sheet's pages; returns the number of pages printed."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    if printer is None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF()
            )
        )
        printer.setFullPage(True)
        patient = QCheckBox("Include patient identifiers")
        dlg = QPrintDialog(printer, win)
        dlg.setOptionTabs([patient])
        if dlg.exec() != QPrintDialog.DialogCode.Accepted:
            return 0
        include = patient.isChecked()
    else:
        include = False
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        sheet = sheet_for_document(win.doc, getattr(win.planning, "controller", None), include)
        painter = QPainter(printer)
        try:
            rect = printer.pageLayout().fullRectPixels(printer.resolution())
            paint_pages(painter, sheet.pages, QRectF(rect), printer.newPage)
        finally:
            painter.end()
    finally:
        QApplication.restoreOverrideCursor()
    return len(sheet.pages)
