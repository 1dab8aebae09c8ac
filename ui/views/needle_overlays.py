"""Needle overlays in the workstation's views: one adapter per side and view, mirroring the
plan shown (the drag preview while a gesture runs, else the document's plan), coloured by the
planner's worst finding. The needles of the plan's other levels are drawn in grey (context:
two levels' needles must not cross); they are edited by making their level active.
During a gesture the view under the mouse redraws at once and the
others on the service's shared ``preview_tick``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

from planner.plan.catalog import get_needle
from ui.document.trajectory_service import TrajectoryService
from ui.render.needle_actors import NeedleAdapter, NeedleDisplay, SuggestionAdapter


class NeedleOverlays(QObject):
    """One :class:`NeedleAdapter` per side in every view, mirroring ``service.display_plan()``."""

    def __init__(
        self,
        views: dict[str, Any],
        service: TrajectoryService,
        parent: QObject | None = None,
        active_view: Any = None,
    ) -> None:
        super().__init__(parent)
        self.views = views
        self.active_view = active_view  # () -> name of the view the user works in
        self.service = service
        self.selected: tuple[str, str] | None = None
        self.adapters: dict[tuple[str, str], NeedleAdapter] = {}
        #: pending auto-suggestions, dashed, until accepted or dismissed
        self.suggestion_adapters: dict[tuple[str, str], SuggestionAdapter] = {}
        self._suggested: dict[str, NeedleDisplay | None] = {"left": None, "right": None}
        self._last: dict[str, tuple[Any, ...]] = {}
        self._displays: dict[str, NeedleDisplay | None] = {"left": None, "right": None}
        for vname, view in views.items():
            for side in ("left", "right"):
                a = NeedleAdapter()
                view.add_adapter(a)
                self.adapters[(vname, side)] = a
                sa = SuggestionAdapter()
                view.add_adapter(sa)
                self.suggestion_adapters[(vname, side)] = sa
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self._render_all)
        service.doc.plan_changed.connect(lambda _o, _n: self.refresh())
        service.preview_changed.connect(self._on_service_preview_changed)
        service.preview_tick.connect(lambda _p: self._render_others())
        self._others_due = False
        service.context_changed.connect(lambda _l: self.refresh())
        service.unipedicular_changed.connect(lambda _on: self.refresh())
        service.suggestions_changed.connect(self.refresh_suggestions)
        #: needles of the plan's other levels, keyed by (level, side), one adapter per view
        self.other_adapters: dict[tuple[str, str, str], NeedleAdapter] = {}
        self._others: dict[tuple[str, str], NeedleDisplay] = {}
        service.doc.case_changed.connect(lambda _o, _n: self.refresh_other_levels())

    def suggestion_display(self, side: str) -> NeedleDisplay | None:
        return self._suggested.get(side)

    def refresh_suggestions(self) -> None:
        """Draw the pending suggestions (dashed) in every view."""
        for side in ("left", "right"):
            s = self.service.suggestions.get(side)
            t = None if s is None else s.trajectory
            new = (
                None
                if t is None
                else NeedleDisplay(
                    t.skin_entry_lps,
                    t.bone_entry_lps,
                    t.target_lps,
                    get_needle(t.needle_id).od_mm,
                    "unknown",
                )
            )
            old = self._suggested[side]
            if new == old:
                continue
            self._suggested[side] = new
            for vname in self.views:
                self.suggestion_adapters[(vname, side)].update(old, new)
        self._render_timer.setInterval(0)
        self._render_timer.start()

    def display(self, side: str) -> NeedleDisplay | None:
        return self._displays.get(side)

    def refresh(self) -> None:
        plan = self.service.display_plan()
        changed = False
        for side in ("left", "right"):
            traj = plan.trajectory(side) if plan is not None else None  # type: ignore[arg-type]
            if traj is None:
                key: tuple[Any, ...] = (None,)
            else:
                sev = self.service.severity(traj, plan)
                sel = self.selected[1] if self.selected and self.selected[0] == side else ""
                key = (traj, sev, self.service.preview is not None, sel)
            if self._last.get(side) == key:
                continue
            self._last[side] = key
            changed = True
            new = (
                None
                if traj is None
                else NeedleDisplay(
                    traj.skin_entry_lps,
                    traj.bone_entry_lps,
                    traj.target_lps,
                    get_needle(traj.needle_id).od_mm,
                    key[1],
                    key[2],
                    key[3],
                )
            )
            old = self._displays[side]
            self._displays[side] = new
            for vname in self.views:
                self.adapters[(vname, side)].update(old, new)
        if not changed:
            return
        if self.service.preview is None:
            self._render_timer.setInterval(0)
            self._render_timer.start()
            return
        # during a gesture: the view under the mouse now, the others on the service's tick
        name = self._active_name()
        if name in self.views:
            self.views[name].request_render()
        self._others_due = True

    def _active_name(self) -> str:
        return str(self.active_view()) if self.active_view is not None else ""

    def other_level_displays(self) -> dict[tuple[str, str], NeedleDisplay]:
        """What is drawn for the plan's inactive levels, keyed by (level, side)."""
        return dict(self._others)

    def refresh_other_levels(self) -> None:
        """Draw every needle of the case's levels other than the active one, in grey."""
        case = self.service.doc.case
        want: dict[tuple[str, str], NeedleDisplay] = {}
        if case is not None:
            for lp in case.levels:
                if lp.level == case.plan.active_level:
                    continue
                for t in lp.trajectories:
                    want[(lp.level, t.side)] = NeedleDisplay(
                        t.skin_entry_lps,
                        t.bone_entry_lps,
                        t.target_lps,
                        get_needle(t.needle_id).od_mm,
                        "other level",
                    )
        if want == self._others:
            return
        for key in set(self._others) | set(want):
            old, new = self._others.get(key), want.get(key)
            if old == new:
                continue
            for vname, view in self.views.items():
                a = self.other_adapters.get((vname, *key))
                if a is None:
                    a = self.other_adapters[(vname, *key)] = NeedleAdapter()
                    view.add_adapter(a)
                a.update(old, new)
        self._others = want
        self._render_timer.setInterval(0)
        self._render_timer.start()

    def _on_service_preview_changed(self, preview: Any) -> None:
        # while a gesture runs the 3D view renders at its interactive level of detail
        # (10-18 fps on CPU, HEADLESS.md) instead of ~250 ms still frames
        v3 = self.views.get("3d")
        if v3 is not None and not getattr(v3, "closed", False):
            v3.render_window().SetDesiredUpdateRate(15.0 if preview is not None else 0.5)
        self.refresh()

    def _render_all(self) -> None:
        self._others_due = False
        for view in self.views.values():
            view.request_render()

    def _render_others(self) -> None:
        # the view under the mouse has already drawn this state; render the others now (one
        # batch with the other followers of the drag)
        if not self._others_due:
            return
        self._others_due = False
        skip = self._active_name()
        for name, view in self.views.items():
            if name != skip:
                view.render_now()

    def remove(self) -> None:
        for (vname, _side), a in self.adapters.items():
            self.views[vname].remove_adapter(a)
        for (vname, _side), sa in self.suggestion_adapters.items():
            self.views[vname].remove_adapter(sa)
        for (vname, _level, _side), oa in self.other_adapters.items():
            self.views[vname].remove_adapter(oa)
        self.other_adapters.clear()
        self.adapters.clear()
        self.suggestion_adapters.clear()
