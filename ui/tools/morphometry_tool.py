"""Dragging a level's six morphometry points on the sagittal view (issue 11: the surgeon corrects).

Gesture (one gesture = one undo step, DESIGN.md §3): press on a handle (one of the six points
of a level whose mid-sagittal plane the slice shows) and drag. Every mouse move recomputes the
case with the point as a correction (:func:`planner.session.corrections.add_point_correction`:
heights, Genant grade, wedge angle, the neighbours' reference heights) and shows it at once on
the sagittal view (handles) and in the status bar; the case itself (measurement table, levels,
restoration and cement in the estimates, all views) is pushed at most every
:data:`PUSH_MS` ms during the drag and on release. The pushes of one drag merge into one undo
step.
The point is kept in the body's (possibly corrected) mid-sagittal plane. A position the
six-point method cannot use (a superior point below its inferior one) is not taken; the status
bar says why.

The event filter is installed after the view's own, so Qt calls it first; presses that miss a
handle pass through to the view (and the needle tool, installed later, is asked before this).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent

from planner.session.corrections import KIND, add_point_correction, point_correction
from planner.vertebra.grading import grade_text
from ui.document.commands import merge_key_for
from ui.render.morphometry_handles import MorphometryHandlesAdapter, level_handles
from ui.shell.errors import error_display

log = logging.getLogger(__name__)
HIT_PX = 9.0
#: During a drag the document (every panel and view) follows at most this often; the sagittal
#: handles and the status bar follow every move.
PUSH_MS = 150


class MorphometryTool(QObject):
    """Drag the morphometry points of the sagittal view (see the module docstring).

    Signals: status(str) — a short message for the status bar.
    """

    status = Signal(str)

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self.view = view
        self.doc = view.doc
        self.adapter = MorphometryHandlesAdapter()
        view.add_adapter(self.adapter)
        self._drag: tuple[str, str, int] | None = None  # level, key, merge key
        self._serial = 0
        self._pending: tuple[Any, str, int] | None = None  # case, undo text, merge key
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PUSH_MS)
        self._timer.timeout.connect(self.flush)
        self.doc.case_changed.connect(self._on_document_case_changed)
        view.vtk.installEventFilter(self)
        self.refresh()

    def refresh(self, case: Any = None) -> None:
        """Show the handles of ``case`` (default: the document's)."""
        case = self.doc.case if case is None else case
        analysis = None if case is None else case.corrected_analysis()
        edited: dict[str, set[str]] = {}
        for c in () if case is None else case.plan.corrections:
            if c.kind == KIND:
                edited.setdefault(c.level, set()).add(c.key)
        self.adapter.update(None, level_handles(analysis, edited))
        self.view.request_render()

    def _on_document_case_changed(self, old: Any, new: Any) -> None:
        if (
            old is None
            or new is None
            or old.analysis is not new.analysis
            or (old.plan.corrections != new.plan.corrections)
        ):
            self.refresh()

    # --- events -----------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is not self.view.vtk or not isinstance(event, QMouseEvent):
            return False
        if self.doc.case is None or self.doc.volume is None:
            return False
        t = event.type()
        with error_display(self.view, "move the morphometry point"):
            if t == QEvent.Type.MouseButtonPress:
                return self._press(event)
            if t == QEvent.Type.MouseMove and self._drag is not None:
                self._move(event.position())
                return True
            if t == QEvent.Type.MouseButtonRelease and self._drag is not None:
                self._drag = None
                self.flush()
                set_gesture(self.doc, False)  # what waited for the drag's end follows now
                return True
        return False

    def hit(self, pos: QPointF) -> tuple[str, str] | None:
        """The handle (level, key) under widget position ``pos``, or None."""
        best, best_d = None, HIT_PX
        for level, key, lps in self.adapter.visible:
            q = self.view.widget_point(lps)
            d = float(np.hypot(q.x() - pos.x(), q.y() - pos.y()))
            if d <= best_d:
                best, best_d = (level, key), d
        return best

    def _press(self, ev: QMouseEvent) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton or ev.modifiers() & (
            Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
        ):
            return False
        hit = self.hit(ev.position())
        if hit is None:
            return False
        self._serial += 1
        level, key = hit
        self._drag = (level, key, merge_key_for(f"morphometry {level} {key} {self._serial}"))
        set_gesture(self.doc, True)
        self.status.emit(f"Moving {level} {key.replace('_', ' ')} point")
        return True

    def _move(self, pos: QPointF) -> None:
        assert self._drag is not None
        level, key, merge = self._drag
        case = self.doc.case
        try:
            data = case.analysis.level(level)  # the automatic analysis: its point is stored
        except KeyError:
            self._drag = None
            set_gesture(self.doc, False)
            return
        shown = case.level_data(level)  # the plane the surgeon may have moved or turned
        fr = (shown or data).anatomy.frame
        p = np.asarray(self.view.lps_at(pos), dtype=float)
        p = p - float((p - fr.origin_lps) @ fr.left) * np.asarray(fr.left)  # mid-sagittal plane
        try:
            new = add_point_correction(case, point_correction(data.morphometry, key, p))
        except ValueError as exc:
            self.status.emit(str(exc))
            return
        self._pending = (new, f"Move {level} {key.replace('_', ' ')} point", merge)
        self.refresh(new)
        self.status.emit(_summary(new, level))
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Push the pending corrected case (one merged undo step per drag)."""
        self._timer.stop()
        if self._pending is not None:
            case, text, merge = self._pending
            self._pending = None
            self.doc.push_case(case, text, merge)


def set_gesture(doc: Any, on: bool) -> None:
    """Tell the document a correction drag starts or ends (``Document.set_gesture``)."""
    setter = getattr(doc, "set_gesture", None)
    if setter is not None:
        setter(on)


def _summary(case: Any, level: str) -> str:
    m = case.level_data(level).morphometry
    h = " / ".join(f"{m.heights_mm.get(w):.1f}" for w in ("anterior", "middle", "posterior"))
    return f"{level}: heights A/M/P {h} mm, Genant {grade_text(m)}, wedge {m.wedge_angle_deg:.1f}°"


def attach(view: Any) -> MorphometryTool | None:
    """Install the tool on a sagittal slice view (None: the document holds no case)."""
    if not hasattr(view.doc, "case_changed"):
        return None
    tool = MorphometryTool(view)
    tool.status.connect(lambda text: _show_status(view, text))
    return tool


def _show_status(view: Any, text: str) -> None:
    bar = getattr(view.window(), "statusBar", None)
    if bar is not None:
        bar().showMessage(text, 8000)
