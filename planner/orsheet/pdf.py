"""The OR sheet as a PDF, written with reportlab.

Why reportlab and not Qt's QPdfWriter: ``python -m planner report ... --pdf`` must work on a
machine without a display or Qt, and planner/ may not import Qt (DESIGN.md layers). reportlab
is pure Python, BSD-licensed, long maintained, and writes PDF text as real text (searchable and
extractable, which the tests use). The workstation prints the same pages with QPrinter from the
same layout (:mod:`planner.orsheet.layout`), so paper and PDF do not diverge.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputError
from planner.orsheet.content import SheetContent
from planner.orsheet.images import SheetImage
from planner.orsheet.layout import (
    PAGE_H_MM,
    PAGE_W_MM,
    Box,
    Page,
    Picture,
    Text,
    fonts,
    layout,
)

MM_PT = 72.0 / 25.4


@dataclass(frozen=True, eq=False)
class OrSheet:
    """Content, images and laid-out pages of one sheet."""

    content: SheetContent
    images: dict[tuple[str, str], tuple[SheetImage, ...]]
    pages: list[Page]

    def texts(self) -> list[str]:
        """Every text line, page after page (what the PDF says)."""
        return [t for p in self.pages for t in p.texts()]

    @property
    def n_images(self) -> int:
        return sum(isinstance(o, Picture) for p in self.pages for o in p.ops)


def make_sheet(content: SheetContent, volume: object, stamp: str | None = None) -> OrSheet:
    """Render every needle's four images and lay the pages out."""
    from planner.orsheet.images import render_needle_images

    images: dict[tuple[str, str], tuple[SheetImage, ...]] = {}
    for lv in content.levels:
        for n in lv.needles:
            images[(lv.level, n.side)] = render_needle_images(
                volume,  # type: ignore[arg-type]
                lv.anatomy,
                n.trajectory,
                n.metrics.needle_od_mm,
                n.pedicle_centre_lps,
            )
    stamp = stamp or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return OrSheet(content, images, layout(content, images, stamp))


def _png(im: SheetImage) -> io.BytesIO:
    buf = io.BytesIO()
    im.pil().save(buf, format="PNG")
    buf.seek(0)
    return buf


def pdf_bytes(sheet: OrSheet, title: str = "OR sheet") -> bytes:
    """The sheet's pages as PDF bytes (A4 portrait; images embedded as lossless PNG)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W_MM * MM_PT, PAGE_H_MM * MM_PT), invariant=True)
    c.setTitle(title)
    c.setCreator("Vertebral Augmentation Planner")
    h = PAGE_H_MM * MM_PT
    for page in sheet.pages:
        for op in page.ops:
            if isinstance(op, Text):
                c.setFillColorRGB(*op.rgb)
                c.setFont(fonts()[1 if op.bold else 0], op.size_pt)
                c.drawString(op.x_mm * MM_PT, h - op.y_mm * MM_PT - op.size_pt * 0.85, op.text)
            elif isinstance(op, Picture):
                c.drawImage(
                    ImageReader(_png(op.image)),
                    op.x_mm * MM_PT,
                    h - (op.y_mm + op.h_mm) * MM_PT,
                    op.w_mm * MM_PT,
                    op.h_mm * MM_PT,
                )
            elif isinstance(op, Box):
                if op.fill is not None:
                    c.setFillColorRGB(*op.fill)
                if op.stroke is not None:
                    c.setStrokeColorRGB(*op.stroke)
                c.rect(
                    op.x_mm * MM_PT,
                    h - (op.y_mm + op.h_mm) * MM_PT,
                    op.w_mm * MM_PT,
                    op.h_mm * MM_PT,
                    stroke=op.stroke is not None,
                    fill=op.fill is not None,
                )
        c.showPage()
    c.save()
    return buf.getvalue()


def write_pdf(sheet: OrSheet, path: str | Path) -> Path:
    """Write the PDF atomically (temporary file in the same folder, then rename)."""
    p = Path(path)
    if p.suffix.lower() != ".pdf":
        p = p.with_suffix(".pdf")
    data = pdf_bytes(sheet)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".pdf.tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(f"cannot write the PDF: {exc.strerror or exc}", path=p) from exc
    return p
