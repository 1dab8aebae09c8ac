"""Simulated fluoroscopy: AP, lateral and bull's-eye DRRs with the needles projected and the
C-arm angles of each view.

The radiographs come from :mod:`planner.drr` and are computed off the GUI thread (~0.5 s each
on 2 cores): AP and lateral once per level, the bull's-eye whenever the selected needle's
direction changes (latest request wins, so a drag never queues work). The needles are drawn
over the images from the plan on every change — during a drag too — by projecting their LPS
points with the image's own ``lps_to_pixel``, at their true outer diameter.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from planner.fluoro_window import fluoro_display
from planner.plan.catalog import get_needle
from planner.progress import Progress
from ui.document.trajectory_service import TrajectoryService
from ui.document.workers import Task, start_task
from ui.render.needle_actors import SEVERITY_COLOURS
from ui.render.needle_actors import SUGGESTION_COLOUR as SUGGESTION_RGB
from ui.render.orientation import direction_letters
from ui.views.enlarge import Enlarger

log = logging.getLogger(__name__)
SIZE_PX = 384
FOV_MM = 160.0
TITLES = {"ap": "AP", "lateral": "Lateral", "bullseye": "Bull's-eye"}


LABEL_BOX = QColor(0, 0, 0, 190)
#: Pending (not yet accepted) suggestions, drawn dashed in every view.
SUGGESTION_COLOUR = QColor.fromRgbF(*SUGGESTION_RGB)
LABEL_TEXT = QColor(255, 226, 120)


def letter_font() -> QFont:
    """Orientation letters (a function: no QFont before the application exists)."""
    return QFont("Arial", 10, QFont.Weight.Bold)


def angle_font() -> QFont:
    """C-arm angle lines."""
    return QFont("Arial", 9, QFont.Weight.Bold)


def boxed_text(
    p: QPainter,
    box: QRectF,
    text: str,
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
) -> None:
    """Text on a dark, opaque-enough box: readable over white bone and black air alike."""
    p.save()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(LABEL_BOX)
    p.drawRoundedRect(box, 3, 3)
    p.setPen(LABEL_TEXT)
    p.drawText(
        box.adjusted(4, 0, -4, 0) if align & Qt.AlignmentFlag.AlignLeft else box, align, text
    )
    p.restore()


def radiological_beam(direction_lps: Any) -> Any:
    """The sense of a beam line that keeps one radiological convention in every view.

    A ray sum is the same along either sense of its line, but the image is mirrored. The AP
    view looks anterior → posterior (+y: the patient's left on the image right, as a
    radiograph is read); a bull's-eye (mostly AP for a transpedicular needle pointing
    posterior → anterior) is shown in that same sense, so the left needle never swaps sides.
    A beam with no AP component is shown like the lateral view (−x).
    """
    d = np.asarray(direction_lps, dtype=np.float64)
    if abs(d[1]) > 1e-6:
        return d if d[1] > 0 else -d
    return d if d[0] <= 0 else -d


class DRRView(QWidget):
    """One radiograph with projected needles, C-arm angle and orientation letters."""

    def __init__(self, view: str, panel: FluoroPanel) -> None:
        super().__init__(panel)
        self.view = view
        self.panel = panel
        self.image: Any = None  # planner.drr.DRRImage
        self._qimage: QImage | None = None
        self.setMinimumSize(130, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def mouseDoubleClickEvent(self, _event: Any) -> None:
        self.panel.enlarger.toggle(self)  # this radiograph alone, in a taller panel, or back

    def set_image(self, image: Any) -> None:
        self.image = image
        if image is None:
            self._qimage = None
        else:
            px = fluoro_display(image.pixels, image.pixel_mm)
            h, w = px.shape
            self._qimage = QImage(px.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.update()

    @property
    def angle_text(self) -> str:
        return "" if self.image is None else f"C-arm {self.image.angles.label}"

    def _image_rect(self) -> QRectF:
        side = min(self.width(), self.height() - 18)
        return QRectF((self.width() - side) / 2, 18 + (self.height() - 18 - side) / 2, side, side)

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        title = TITLES[self.view]
        if self.view == "bullseye":
            title += f" ({self.panel.service.selected_side})"
        p.setPen(QColor(225, 228, 232))
        p.setFont(QFont("Arial", 9, QFont.Weight.Bold))
        p.drawText(
            QRectF(4, 0, self.width() - 8, 18),
            Qt.AlignmentFlag.AlignVCenter,
            title if self.image is not None else f"{title}   {self.panel.state_text}",
        )
        if self._qimage is None:
            p.end()
            return
        rect = self._image_rect()
        p.drawImage(rect, self._qimage)
        scale = rect.width() / self.image.pixels.shape[1]
        p.save()
        p.setClipRect(rect)  # a needle leaving the field ends at the image's edge
        self._draw_needles(p, rect, scale)
        p.restore()
        self._draw_letters(p, rect)
        lines, box = self.angle_box()
        p.setFont(angle_font())
        boxed_text(p, box, lines)
        p.end()

    def angle_box(self) -> tuple[str, QRectF]:
        """The C-arm angles (two lines) and their box in the image's lower-left corner (px)."""
        a = self.image.angles
        lines = (
            f"{'LAO' if a.lao_deg >= 0 else 'RAO'} {abs(a.lao_deg):.1f}°\n"
            f"{'CRAN' if a.cranial_deg >= 0 else 'CAUD'} {abs(a.cranial_deg):.1f}°"
        )
        fm = QFontMetrics(angle_font())
        w = max(fm.horizontalAdvance(t) for t in lines.split("\n")) + 8
        h = 2 * fm.height() + 4
        rect = self._image_rect()
        return lines, QRectF(rect.left() + 3, rect.bottom() - h - 3, w, h)

    def _draw_suggestions(self, p: QPainter, rect: QRectF, scale: float) -> None:
        """Pending auto-suggestions: dashed, in the suggestion colour, until accepted."""
        for s in self.panel.service.suggestions.values():
            t = s.trajectory
            pts = np.array([t.skin_entry_lps, t.target_lps])
            px = self.image.lps_to_pixel(pts) * scale + np.array([rect.left(), rect.top()])
            width = max(2.0, get_needle(t.needle_id).od_mm / self.image.pixel_mm * scale)
            pen = QPen(SUGGESTION_COLOUR, width, Qt.PenStyle.DashLine)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            p.setPen(pen)
            if float(np.hypot(*(px[1] - px[0]))) < 1.0:
                p.drawEllipse(QPointF(*px[1]), width, width)
            else:
                p.drawLine(QPointF(*px[0]), QPointF(*px[1]))

    def _draw_needles(self, p: QPainter, rect: QRectF, scale: float) -> None:
        self._draw_suggestions(p, rect, scale)
        plan = self.panel.service.display_plan()
        if plan is None:
            return
        for traj in plan.trajectories:
            pts = np.array([traj.skin_entry_lps, traj.bone_entry_lps, traj.target_lps])
            depth = self.panel.service.advance_mm.get(traj.side)
            if depth is not None:  # the needle "advanced" with the needle views' depth slider
                self._draw_planned_path(p, pts, rect, scale)
                d = (pts[2] - pts[0]) / np.linalg.norm(pts[2] - pts[0])
                pts = np.array([pts[0], pts[0], pts[0] + d * depth])
            px = self.image.lps_to_pixel(pts) * scale + np.array([rect.left(), rect.top()])
            sev = self.panel.service.severity(traj, plan)
            c = SEVERITY_COLOURS.get(sev, SEVERITY_COLOURS["unknown"])
            colour = QColor.fromRgbF(*c)
            width = max(2.0, get_needle(traj.needle_id).od_mm / self.image.pixel_mm * scale)
            pen = QPen(colour, width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            a, b = QPointF(*px[0]), QPointF(*px[2])
            if float(np.hypot(*(px[2] - px[0]))) < 1.0:
                p.setBrush(colour)
                p.drawEllipse(a, width, width)  # looking straight down the needle
                p.setBrush(Qt.BrushStyle.NoBrush)
            else:
                p.drawLine(a, b)
            p.setPen(QPen(QColor(255, 255, 255), 1.0))
            p.drawEllipse(QPointF(*px[2]), width / 2 + 2, width / 2 + 2)

    def _draw_planned_path(self, p: QPainter, pts: Any, rect: QRectF, scale: float) -> None:
        px = self.image.lps_to_pixel(pts) * scale + np.array([rect.left(), rect.top()])
        pen = QPen(QColor(255, 255, 255, 150), 1.0, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(*px[0]), QPointF(*px[2]))

    def letter_boxes(self) -> dict[str, tuple[str, QRectF]]:
        """Orientation letter and its box per image edge ("left", "right", "top", "bottom")."""
        im = self.image
        rect = self._image_rect()
        fm = QFontMetrics(letter_font())
        # on a small radiograph the centred bottom letter would sit under the angle box
        angles_right = self.angle_box()[1].right()
        out: dict[str, tuple[str, QRectF]] = {}
        for edge, v in (
            ("right", im.col_dir_lps),
            ("left", -im.col_dir_lps),
            ("top", -im.row_dir_lps),
            ("bottom", im.row_dir_lps),
        ):
            text = direction_letters(v)
            w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
            x = {"left": rect.left() + 3, "right": rect.right() - w - 3}.get(
                edge, rect.center().x() - w / 2
            )
            if edge == "bottom":
                x = max(x, angles_right + 3)
            y = {"top": rect.top() + 3, "bottom": rect.bottom() - h - 3}.get(
                edge, rect.center().y() - h / 2
            )
            out[edge] = (text, QRectF(x, y, w, h))
        return out

    def _draw_letters(self, p: QPainter, _rect: QRectF) -> None:
        p.setFont(letter_font())
        for text, box in self.letter_boxes().values():
            boxed_text(p, box, text, Qt.AlignmentFlag.AlignCenter)


class FluoroPanel(QWidget):
    def __init__(self, service: TrajectoryService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.doc = service.doc
        self.views = {v: DRRView(v, self) for v in ("ap", "lateral", "bullseye")}
        self.note = QLabel(
            "Simulated radiographs (parallel beam, no magnification). Angles: beam "
            "axis, LAO/RAO and cranial/caudal, detector anterior. Double-click a view to "
            "enlarge it."
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #9aa3ad; font-size: 11px")
        self.enlarger = Enlarger(self, list(self.views.values()))
        row = QHBoxLayout()
        for v in self.views.values():
            row.addWidget(v)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(row, 1)
        lay.addWidget(self.note)
        self.state_text = "no study"
        self._renderer: Any = None
        self._renderer_key: Any = None
        self._bull_dir: Any = None
        self.task: Task | None = None
        self._dirty = False
        self._closed = False
        self.doc.volume_changed.connect(lambda _v: self._reset())
        self.doc.analysis_changed.connect(lambda _o, _n: self.request())
        self.doc.plan_changed.connect(lambda _o, _n: self._on_plan_changed())
        # during a drag the radiographs follow on the service's shared tick
        service.preview_changed.connect(lambda p: self._repaint() if p is None else None)
        service.preview_tick.connect(lambda _p: self._repaint())
        service.advance_changed.connect(self._repaint)
        service.suggestions_changed.connect(self._repaint)
        service.selected_side_changed.connect(lambda _s: self.request())
        service.context_changed.connect(lambda _l: self.request())

    # --- what to render ------------------------------------------------------------------------
    def _centre(self) -> Any:
        res = self.service.level_result()
        if res is not None:
            return np.asarray(res.morphometry.centroid_lps, dtype=np.float64), res.level
        plan = self.service.display_plan()
        if plan is not None and plan.trajectories:
            return np.mean([t.target_lps for t in plan.trajectories], axis=0), "needles"
        return None, None

    def bullseye_direction(self) -> Any:
        """Beam for the bull's-eye view: the selected needle, else its pedicle axis (LPS)."""
        side = self.service.selected_side
        plan = self.doc.plan
        traj = plan.trajectory(side) if plan is not None else None
        if traj is None and plan is not None and plan.trajectories:
            traj = plan.trajectories[0]
        if traj is not None:
            d = np.subtract(traj.target_lps, traj.skin_entry_lps)
            return d / np.linalg.norm(d)
        ctx = self.service.context()
        if ctx is not None:
            ped = ctx.pedicles[side]
            if np.all(np.isfinite(ped.axis_dir)):
                return ctx.frame.rotation @ ped.axis_dir
        return None

    # --- scheduling ----------------------------------------------------------------------------
    def request(self) -> None:
        """Compute what is missing or stale, off the GUI thread (latest request wins)."""
        if self._closed or self.doc.volume is None:
            return
        if self.task is not None and self.task.running:
            self._dirty = True
            return
        centre, key = self._centre()
        if centre is None:
            self.state_text = "place a needle or analyse the levels"
            self._repaint()
            return
        rkey = (id(self.doc.volume), key)
        direction = self.bullseye_direction()
        need_base = rkey != self._renderer_key
        need_bull = direction is not None and (
            need_base
            or self._bull_dir is None
            or not np.allclose(direction, self._bull_dir, atol=1e-4)
        )
        if not need_base and not need_bull:
            return
        volume = self.doc.volume
        renderer = None if need_base else self._renderer

        def fn(progress: Progress) -> Any:
            from planner.drr import DRRRenderer

            r = renderer or DRRRenderer(volume, centre, radius_mm=FOV_MM / 2 + 20)
            out: dict[str, Any] = {"renderer": r}
            if need_base:
                for v in ("ap", "lateral"):
                    progress.update(0.1, f"DRR {v}")
                    out[v] = r.render(v, SIZE_PX, FOV_MM)
            if need_bull:
                beam = radiological_beam(direction)
                out["bullseye"] = r.render("bullseye", SIZE_PX, FOV_MM, beam)
            return out

        self.state_text = "computing…"
        self._repaint()
        task = start_task(self, "Simulated fluoroscopy", fn, show_dialog=False)
        task.succeeded.connect(lambda out: self._on_rendered(rkey, direction, out))
        task.failed.connect(lambda exc: log.warning("DRR failed: %s", exc))
        task.finished.connect(self._on_task_finished)
        self.task = task

    def _on_rendered(self, rkey: Any, direction: Any, out: dict[str, Any]) -> None:
        if self._closed or rkey[0] != id(self.doc.volume):
            return
        self._renderer, self._renderer_key = out["renderer"], rkey
        for v in ("ap", "lateral", "bullseye"):
            if v in out:
                self.views[v].set_image(out[v])
        if "bullseye" in out:
            self._bull_dir = direction
        self.state_text = ""

    def _on_task_finished(self) -> None:
        self.task = None
        if self._dirty and not self._closed:
            self._dirty = False
            self.request()

    def _on_plan_changed(self) -> None:
        self._repaint()
        self.request()

    def _repaint(self) -> None:
        for v in self.views.values():
            v.update()

    def _reset(self) -> None:
        self._renderer = self._renderer_key = self._bull_dir = None
        for v in self.views.values():
            v.set_image(None)
        self.state_text = (
            "no study" if self.doc.volume is None else "place a needle or analyse the levels"
        )
        self.request()

    def angle_labels(self) -> dict[str, str]:
        """The C-arm angle text of each view (empty while not computed)."""
        return {k: v.angle_text for k, v in self.views.items()}

    def close_panel(self) -> None:
        self._closed = True
        if self.task is not None and self.task.running:
            self.task.wait(10000)
