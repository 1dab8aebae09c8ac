"""The MRI panel: linked MRI views beside the CT, per-level oedema, the indication checklist.

Holds the opened MRI (STIR and/or T1), runs the registration to the CT's analysed levels in a
worker, and shows the result: the MRI's sagittal and axial planes through the shared crosshair
(carried into the MRI frame through the level's transform), optionally with the CT bone
overlaid, level names carried over, and a table of oedema per level. The checklist's answers
are (item id, answer) pairs kept in the document's case (``case.plan.indication``: saved in the
plan file, one undo step per answer); :meth:`MRIPanel.indication` evaluates them with the
findings.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from planner.indication import IndicationCheck, evaluate, findings_from, validate_answers
from planner.mri.pipeline import MRIResult
from planner.mri.reslice import Plane, auto_window, sample_plane, to_grey
from planner.mri.rigid import RigidTransform
from planner.vertebra.grading import known_intact
from planner.volume import CTVolume
from ui.mri.tables import (
    build_checklist,
    fill_levels,
    make_table,
    show_answers,
    show_check,
    summary_html,
    valid_answers,
)
from ui.mri.view import MRISliceView

log = logging.getLogger(__name__)
VIEW_PIXELS = 220
VIEW_PIXEL_MM = 0.9


class MRIPanel(QWidget):
    """Signals: ``result_changed(result)`` after a registration, ``indication_changed()``."""

    result_changed = Signal(object)
    indication_changed = Signal()

    def __init__(self, doc: Any, state: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mri_panel")
        self.doc, self.state = doc, state
        self.volumes: dict[str, CTVolume] = {}
        self.result: MRIResult | None = None
        self.point_pairs: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        self.last_mri_click: NDArray[np.float64] | None = None
        #: the MRI views' own crosshair before a registration links them to the CT
        self.own_cursor: NDArray[np.float64] | None = None
        self.task: Any = None
        self.acuity_source = ""
        self._acuity_key: tuple[str, int] | None = None
        self.views = {o: MRISliceView(o) for o in ("sagittal", "axial")}
        for v in self.views.values():
            v.clicked.connect(self._on_view_clicked)
            v.stepped.connect(lambda s, o=v.orientation: self._on_view_stepped(o, s))
        self.info = QLabel("Open an MRI: File → Open MRI…")
        self.info.setWordWrap(True)
        self.contrast = QComboBox()
        self.overlay = QCheckBox("CT bone overlay")
        self.contrast.currentIndexChanged.connect(lambda *_: self.refresh_views())
        self.overlay.toggled.connect(lambda *_: self.refresh_views())
        self.buttons = {k: QPushButton(t) for k, t in (
            ("register", "Register to CT"), ("add_pair", "Add point pair"),
            ("fit_points", "Fit from points"), ("clear_points", "Clear points"))}
        self.buttons["register"].clicked.connect(lambda *_: self.register())
        self.buttons["add_pair"].clicked.connect(lambda *_: self.add_point_pair())
        self.buttons["fit_points"].clicked.connect(lambda *_: self.fit_from_points())
        self.buttons["clear_points"].clicked.connect(lambda *_: self.clear_points())
        self.buttons["add_pair"].setToolTip("Pairs the CT crosshair with the last click in the "
                                            "MRI views (a vertebra centre in both)")
        self.levels = make_table(("Level", "MRI", "STIR ×", "T1 ×", "Acuity"))
        self.checklist = make_table(("Item", "Answer", "Status"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.acuity_label = QLabel()
        self.acuity_label.setWordWrap(True)
        self._build_layout()
        build_checklist(self.checklist, self._on_answer)
        state.cursor_changed.connect(lambda *_: self.refresh_views())
        doc.analysis_changed.connect(lambda *_: self._refresh_tables())
        doc.volume_changed.connect(lambda *_: self.clear())
        doc.plan_changed.connect(lambda *_: self._on_plan_changed())
        doc.case_changed.connect(self._on_case_changed)
        show_answers(self.checklist, self.answers)
        self._refresh_tables()

    def _build_layout(self) -> None:
        lay = QVBoxLayout(self)
        lay.addWidget(self.info)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.contrast)
        row.addWidget(self.overlay)
        row.addStretch(1)
        lay.addLayout(row)
        views = QHBoxLayout()
        for v in self.views.values():
            views.addWidget(v, 1)
        lay.addLayout(views, 3)
        buttons = QHBoxLayout()
        for b in self.buttons.values():
            buttons.addWidget(b)
        lay.addLayout(buttons)
        lay.addWidget(self.levels, 1)
        lay.addWidget(self.acuity_label)
        lay.addWidget(QLabel("Indication check (answers are yours; it never decides)"))
        lay.addWidget(self.checklist, 2)
        lay.addWidget(self.summary)

    # --- data ----------------------------------------------------------------------------
    def set_mri(self, volumes: dict[str, CTVolume]) -> None:
        """Show newly opened MRI series (``{"stir": ..., "t1": ...}``); clears the old result."""
        self.volumes = dict(volumes)
        self.result = None
        self.own_cursor = None
        self.point_pairs.clear()
        self.contrast.blockSignals(True)
        self.contrast.clear()
        for name in self.volumes:
            self.contrast.addItem(name.upper(), name)
        self.contrast.blockSignals(False)
        names = ", ".join(f"{n.upper()} {v.identity.description}" for n, v in self.volumes.items())
        self.info.setText(f"MRI: {names}. Not registered yet: press 'Register to CT' "
                          "(the CT levels must be analysed).")
        self._refresh_tables()
        self.refresh_views()

    def clear(self) -> None:
        """Forget the MRI and its registration (another CT was opened)."""
        if not self.volumes and self.result is None:
            return
        self.volumes, self.result = {}, None
        self.point_pairs.clear()
        self.contrast.clear()
        for v in self.views.values():
            v.plane, v._image = None, None
            v.update()
        self.info.setText("Open an MRI: File → Open MRI…")
        self.acuity_label.setText("")
        self._refresh_tables()
        self.result_changed.emit(None)

    def set_result(self, result: MRIResult) -> None:
        self.result = result
        reg = result.registration
        t = reg.global_transform
        self.info.setText(
            f"Registered ({reg.method}): rotation {t.angle_deg:.1f}°, shift "
            + ", ".join(f"{v:.1f}" for v in t.translation_mm) + " mm"
            + (f"; {'; '.join(reg.notes)}" if reg.notes else "") + ". Verify on the images.")
        self._refresh_tables()
        self.refresh_views()
        self.apply_acuity()
        self.result_changed.emit(result)

    def _on_plan_changed(self) -> None:
        # not inside the undo command that changed the plan: after it, from the event loop
        QTimer.singleShot(0, self, self.apply_acuity)
        self._refresh_tables()

    def apply_acuity(self) -> None:
        """Feed the target level's MRI finding to the restoration model's acuity (one undo
        step, once per registration and target level; an indeterminate finding changes
        nothing and the typed acuity or age stays in use)."""
        from dataclasses import replace

        from planner.mri.oedema import acuity_for_level

        plan = self.doc.plan
        if plan is None or self.result is None:
            return
        c = plan.clinical
        choice = acuity_for_level(c.acuity, c.fracture_age_weeks, self.result.level(plan.level))
        self.acuity_source = f"{plan.level}: acuity for the restoration model {choice.acuity} " \
                             f"(source: {choice.source})"
        self.acuity_label.setText(self.acuity_source)
        key = (str(plan.level), id(self.result))
        if key == self._acuity_key:
            return
        self._acuity_key = key
        if choice.source.startswith("MRI") and c.acuity != choice.acuity:
            self.doc.push_plan(replace(plan, clinical=replace(c, acuity=choice.acuity)),
                               f"Acuity from MRI ({choice.source})")

    def transform_at(self, ct_lps: NDArray[np.float64]) -> RigidTransform:
        """The registration of the level nearest to a CT point (global without levels)."""
        assert self.result is not None
        reg = self.result.registration
        if self.doc.analysis is None or not reg.level_transforms:
            return reg.global_transform
        nearest = min(self.doc.analysis.levels, key=lambda r: float(np.linalg.norm(
            np.asarray(r.morphometry.centroid_lps) - ct_lps)))
        return reg.for_level(nearest.level)

    # --- registration ----------------------------------------------------------------------
    def _inputs(self) -> tuple[CTVolume, Any] | None:
        if not self.volumes:
            self.info.setText("Open an MRI first (File → Open MRI…).")
            return None
        if self.doc.volume is None or self.doc.analysis is None:
            self.info.setText("Analyse the CT levels first (Levels panel): the registration "
                              "starts from them and carries their names to the MRI.")
            return None
        return self.doc.volume, self.doc.analysis

    def register(self, points: tuple[Any, Any] | None = None, refine: bool = True,
                 wait: bool = False) -> None:
        """Register in a worker (``wait=True``: block until done, for scripts and tests)."""
        from planner.mri.pipeline import analyse_mri
        from ui.document.workers import Task

        inputs = self._inputs()
        if inputs is None or (self.task is not None and self.task.running):
            return
        ct, analysis = inputs
        stir, t1 = self.volumes.get("stir"), self.volumes.get("t1")

        def work(_progress: Any) -> MRIResult:
            return analyse_mri(ct, analysis, stir=stir, t1=t1, points=points,
                               refine_points=refine)

        self.task = Task(self, "Registering the MRI", work, show_dialog=not wait)
        self.task.succeeded.connect(self.set_result)
        self.task.failed.connect(lambda exc: self.info.setText(f"Registration failed: {exc}"))
        self.task.start()
        if wait:
            self.task.wait(120000)
            from PySide6.QtCore import QCoreApplication

            while self.task.running:
                QCoreApplication.processEvents()

    def add_point_pair(self) -> None:
        if self.last_mri_click is None:
            self.info.setText("Click the vertebra centre in an MRI view first, with the CT "
                              "crosshair on the same centre.")
            return
        self.point_pairs.append((self.state.cursor_lps, self.last_mri_click.copy()))
        self.info.setText(f"{len(self.point_pairs)} point pair(s); 2-3 are enough.")

    def fit_from_points(self) -> None:
        if len(self.point_pairs) < 2:
            self.info.setText("Add at least 2 point pairs (vertebra centres in both scans).")
            return
        ct = np.array([p[0] for p in self.point_pairs])
        mr = np.array([p[1] for p in self.point_pairs])
        self.register(points=(ct, mr), refine=True)

    def clear_points(self) -> None:
        self.point_pairs.clear()
        self.info.setText("Point pairs cleared.")

    # --- views ---------------------------------------------------------------------------
    def _mri_cursor(self) -> NDArray[np.float64] | None:
        if self.result is None:
            return None
        ct = self.state.cursor_lps
        return self.transform_at(ct).apply(ct)

    def refresh_views(self) -> None:
        name = self.contrast.currentData()
        vol = self.volumes.get(name) if name else None
        if vol is None:
            return
        centre = self._mri_cursor()
        if centre is None:  # not registered: the MRI's own crosshair (centre at first)
            if self.own_cursor is None:
                lo, hi = vol.bounds_lps()
                self.own_cursor = (np.asarray(lo) + np.asarray(hi)) / 2.0
            centre = self.own_cursor
        lo_w, hi_w = auto_window(vol)
        labels = self._labels()
        for o, view in self.views.items():
            plane = Plane(o, np.asarray(centre, dtype=float), VIEW_PIXELS, VIEW_PIXEL_MM)
            grey = to_grey(sample_plane(vol, plane), lo_w, hi_w)
            rgb = np.repeat(grey[..., None], 3, axis=2)
            if self.overlay.isChecked() and self.result is not None and self.doc.volume is not None:
                inv = self.transform_at(self.state.cursor_lps).inverse()
                bone = sample_plane(self.doc.volume, plane, inv) > 250.0
                rgb[bone] = (0.5 * rgb[bone] + 0.5 * np.array([255, 140, 0])).astype(np.uint8)
            view.show_image(plane, rgb, f"MRI {name.upper()} {o}", labels)

    def _labels(self) -> list[tuple[str, NDArray[np.float64], str]]:
        if self.result is None:
            return []
        flagged = self.indication().flagged_levels()
        out = []
        for n, c in self.result.registration.centroids_mri_lps.items():
            f = self.result.level(n)
            state = "flagged" if n in flagged else (
                "oedema" if f is not None and f.classification == "oedema" else "")
            out.append((n, np.asarray(c), state))
        return out

    def _on_view_clicked(self, mri_lps: NDArray[np.float64]) -> None:
        self.last_mri_click = np.asarray(mri_lps, dtype=float)
        if self.result is None:  # before registration the MRI views navigate on their own
            self.own_cursor = self.last_mri_click.copy()
            self.refresh_views()
            return
        t = self.transform_at(self.state.cursor_lps)
        self.state.set_cursor(t.inverse().apply(mri_lps))

    def _on_view_stepped(self, orientation: str, steps: float) -> None:
        centre = self._mri_cursor() if self.result is not None else self.own_cursor
        if centre is None:
            return
        plane = Plane(orientation, centre, VIEW_PIXELS, VIEW_PIXEL_MM)
        step_mm = 3.5 if orientation == "sagittal" else 1.0
        target = centre + plane.normal * steps * step_mm
        if self.result is None:
            self.own_cursor = target
            self.refresh_views()
            return
        self.state.set_cursor(self.transform_at(self.state.cursor_lps).inverse().apply(target))

    # --- tables ----------------------------------------------------------------------------
    def planned_levels(self) -> list[str]:
        plan = getattr(self.doc, "plan", None)
        if plan is not None and getattr(plan, "level", None):
            return [str(plan.level)]
        analysis = self.doc.analysis
        if analysis is None:
            return []
        return [r.level for r in analysis.levels if not known_intact(r.morphometry)]

    @property
    def answers(self) -> tuple[tuple[str, str], ...]:
        """The checklist answers of the document's case (``()`` without a study)."""
        case = self.doc.case
        return () if case is None else tuple(case.plan.indication)

    def indication(self) -> IndicationCheck:
        """The checklist evaluated with the case's answers, CT analysis and MRI result.

        Answers that do not fit the checklist (a plan file from another version) are left out.
        """
        return evaluate(valid_answers(self.answers), findings_from(
            self.planned_levels(), self.doc.analysis, self.result))

    def set_answer(self, item_id: str, answer: str) -> None:
        """Answer one item in the case: one undo step ("unknown" forgets the answer).

        Raises ValueError/KeyError (message for the user) for an answer the item does not take,
        InputError without a study.
        """
        from planner.session import edit

        case = self.doc.edited_case()
        if answer == "unknown":
            new = edit.clear_indication(case, item_id)
        else:
            validate_answers([(item_id, answer)])
            new = edit.set_indication(case, item_id, answer)
        self.doc.push_case(new, f"Indication: {item_id} {answer}")

    def _on_answer(self, item_id: str, text: str) -> None:
        from planner.errors import InputError

        try:
            self.set_answer(item_id, text.strip().lower() or "unknown")
        except (ValueError, KeyError, InputError) as exc:
            show_answers(self.checklist, self.answers)  # back to what the case holds
            self.summary.setText(f"{exc}")

    def _on_case_changed(self, old: Any, new: Any) -> None:
        """Undo/redo, a reopened plan, another study: the checklist shows the case's answers."""
        before = () if old is None else old.plan.indication
        after = () if new is None else new.plan.indication
        show_answers(self.checklist, self.answers)
        if before != after:
            self._refresh_tables()
            self.refresh_views()
            self.indication_changed.emit()

    def _refresh_tables(self) -> None:
        check = self.indication()
        analysis = self.doc.analysis
        names = [r.level for r in analysis.levels] if analysis is not None else []
        fill_levels(self.levels, names, self.result, check.flagged_levels())
        show_check(self.checklist, check)
        self.summary.setText(summary_html(check))

