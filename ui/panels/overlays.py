"""Wires the vertebra and estimate adapters to the views and keeps them in step with the document.

One adapter per view and element (DESIGN.md §4): body outlines (all views), height lines and
the ghost outline (sagittal), balloons and the cement cloud (all views). Updates are pushed on
``analysis_changed`` / ``plan_changed`` / the estimates controller's ``changed`` — never polled.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from ui.document.document import Document
from ui.panels.estimates_state import EstimatesController
from ui.render.estimate_actors import BalloonAdapter, CementAdapter, GhostAdapter
from ui.render.vertebra_actors import (
    BodyOutlineAdapter,
    HeightLinesAdapter,
    remove_top_layer,
    top_layer_context,
)


class PlanningOverlays(QObject):
    def __init__(
        self,
        doc: Document,
        controller: EstimatesController,
        views: dict[str, Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc, self.ctrl, self.views = doc, controller, views
        self.outlines: dict[str, BodyOutlineAdapter] = {}
        self.heights: dict[str, HeightLinesAdapter] = {}
        self.balloons: dict[str, BalloonAdapter] = {}
        self.cement: dict[str, CementAdapter] = {}
        self.ghosts: dict[str, GhostAdapter] = {}
        self._top: Any = None
        for name, view in views.items():
            if name == "3d":
                self._top = top_layer_context(view.context)
            self._add(view, self.outlines, name, BodyOutlineAdapter())
            self._add(view, self.cement, name, CementAdapter())
            self._add(view, self.balloons, name, BalloonAdapter())  # drawn over the cement
            if name == "sagittal":
                self._add(view, self.heights, name, HeightLinesAdapter())
                self._add(view, self.ghosts, name, GhostAdapter())
        self._shown_analysis: Any = None
        self._shown_view: Any = None
        self._target: str | None = None
        self._drawn = False
        #: 3D adapters not updated during a correction drag (drawn when it ends)
        self._stale_3d: set[str] = set()
        doc.analysis_changed.connect(self._on_document_changed)
        if hasattr(doc, "gesture_changed"):
            doc.gesture_changed.connect(self._on_document_gesture_changed)
        doc.plan_changed.connect(self._on_document_changed)
        controller.changed.connect(self._on_controller_changed)
        controller.injected_changed.connect(self._on_controller_injected_changed)
        self._on_document_changed(None, None)
        self._on_controller_changed()

    def _add(self, view: Any, table: dict[str, Any], name: str, adapter: Any) -> None:
        table[name] = adapter
        if name == "3d":  # on the layer above the bone volume (see top_layer_context)
            adapter.attach(self._top)
        else:
            view.add_adapter(adapter)

    def close(self) -> None:
        """Remove the 3D adapters and their layer (before the views are finalized)."""
        view = self.views.get("3d")
        for table in (self.outlines, self.balloons, self.cement):
            a = table.pop("3d", None)
            if a is not None:
                a.remove()
        if view is not None and self._top is not None:
            remove_top_layer(view.context)
            self._top = None

    def _render(self) -> None:
        for v in self.views.values():
            v.request_render()

    def _on_document_changed(self, _old: Any, _new: Any) -> None:
        analysis = self.doc.analysis
        target = self.doc.plan.level if self.doc.plan is not None else None
        if analysis is self._shown_analysis and target == self._target and self._drawn:
            return
        dirty: set[str] = set()
        for name, a in self.outlines.items():
            if self._deferred(name, "outlines"):
                continue
            a.changed = False
            if analysis is self._shown_analysis:
                a.set_target(target)
            else:
                a.target = target
                a.update(self._shown_analysis, analysis)
            if a.changed or not self._drawn:
                dirty.add(name)
        self._shown_analysis, self._target, self._drawn = analysis, target, True
        result = self.doc.level_result(target) if target is not None else None
        for name, h in self.heights.items():
            if result is not h.value:
                h.update(h.value, result)
                dirty.add(name)
        # only the views whose drawing changed render (a dragged morphometry point: sagittal)
        for name in dirty:
            self.views[name].request_render()

    def _deferred(self, name: str, table: str) -> bool:
        """Whether the 3D view's ``table`` adapter waits for the end of a correction drag:
        its translucent body and balloons would be rebuilt and the 3D view rendered
        (~100-200 ms) on each push, for a view the dragging user does not look at."""
        if name != "3d" or not getattr(self.doc, "in_gesture", False):
            return False
        self._stale_3d.add(table)
        return True

    def _on_document_gesture_changed(self, on: bool) -> None:
        if on or not self._stale_3d or "3d" not in self.views:
            return
        stale, self._stale_3d = self._stale_3d, set()
        if "outlines" in stale and "3d" in self.outlines:
            a = self.outlines["3d"]
            if a.value is self._shown_analysis:
                a.set_target(self._target)
            else:
                a.target = self._target
                a.update(a.value, self._shown_analysis)
        view = self.ctrl.current
        for table in (self.balloons, self.cement):
            if "estimates" in stale and "3d" in table:
                table["3d"].update(table["3d"].value, view)
        self.views["3d"].request_render()

    def _on_controller_changed(self) -> None:
        view, old = self.ctrl.current, self._shown_view
        for table in (self.balloons, self.cement, self.ghosts):
            for name, a in table.items():
                if self._deferred(name, "estimates"):
                    continue
                a.update(old, view)
        injected = False
        for a in self.cement.values():
            if a.injected_ml != self.ctrl.injected_ml:
                a.set_injected(self.ctrl.injected_ml)
                injected = True
        self._shown_view = view
        # only the views whose drawing changed render: a corrected point gives new estimates
        # but the same balloons and cement (the 3D view would render ~200 ms for nothing)
        dirty: set[str] = set()
        if injected or _drawn_key(old, "full") != _drawn_key(view, "full"):
            dirty |= set(self.balloons) | set(self.cement)
        if "estimates" in self._stale_3d:
            dirty.discard("3d")
        if _drawn_key(old, "restoration") != _drawn_key(view, "restoration"):
            dirty |= set(self.ghosts)
        for name in dirty:
            self.views[name].request_render()

    def _on_controller_injected_changed(self, _ml: float) -> None:
        for a in self.cement.values():
            a.set_injected(self.ctrl.injected_ml)
        self._render()

    def set_ghost_enabled(self, on: bool) -> None:
        for a in self.ghosts.values():
            a.set_enabled(on)
        self._render()


def _drawn_key(view: Any, part: str) -> tuple[int, int]:
    """Identity of what an estimate adapter draws from an ``EstimateView``: its ``part``
    (``full``: balloons and cement; ``restoration``: the ghost) and the level result they are
    placed on (the balloons' lifted endplates, the ghost outline)."""
    if view is None:
        return (0, 0)
    drawn = getattr(view, part, None)
    if drawn is None:
        return (0, 0)
    return (id(drawn), id(getattr(view, "result", None)))
