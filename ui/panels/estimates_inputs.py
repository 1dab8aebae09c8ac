"""Input widgets of the estimates panel: procedure, clinical inputs and one balloon per side.

They mirror ``doc.plan`` (refilled with signals blocked on every ``plan_changed``) and change it
only with ``doc.push_plan``: a combo or checkbox change is one command, a spin box pushes on
editingFinished, the inflation slider previews while dragged and pushes one command on
release (keyboard steps on the slider merge into one command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from planner.plan.model import BalloonPlacement, ClinicalInputs
from ui.document.commands import merge_key_for
from ui.document.document import Document
from ui.panels.common import plan_or_new
from ui.shell.errors import guarded

SLIDER_STEP_ML = 0.05
ACUITY_ITEMS = (
    ("unknown", "not known"),
    ("acute", "oedema on MRI (acute)"),
    ("chronic", "no oedema on MRI (chronic)"),
)


def _spin(
    lo: float, hi: float, step: float, decimals: int, suffix: str, tip: str
) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setSuffix(suffix)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


def _narrow(combo: QComboBox, chars: int = 12) -> None:
    """Let a combo box be narrower than its longest item (the list still shows it whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)


def _device_text(d: Any) -> str:
    """A balloon's nominal length and largest volume, as the catalog states them."""
    return f"{d.nominal_length.describe('mm')} long, max {d.max_volume.describe('mL')}"


def _set(widget: Any, setter: Callable[[Any], None], value: Any) -> None:
    widget.blockSignals(True)
    setter(value)
    widget.blockSignals(False)


class ClinicalBox(QGroupBox):
    """Procedure and the inputs the CT cannot give (fracture age, leak risk, restoration)."""

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Procedure and clinical inputs", parent)
        self.doc = doc
        self.procedure = QComboBox()
        self.procedure.addItems(["vertebroplasty", "kyphoplasty"])
        self.procedure.setToolTip("Vertebroplasty (VP) or balloon kyphoplasty (BKP)")
        self.age = _spin(
            -1,
            520,
            1,
            0,
            " weeks",
            "Fracture age in weeks (≤ 6 weeks counts as acute, "
            "Palmowski et al. 2020); 'unknown' when not known",
        )
        self.age.setSpecialValueText("unknown")
        self.oedema = QComboBox()
        for _key, text in ACUITY_ITEMS:
            self.oedema.addItem(text)
        self.oedema.setToolTip(
            "MRI bone-marrow oedema (STIR/T2): present = acute; overrides the age"
        )
        self.acuity_label = QLabel()
        self.acuity_label.setWordWrap(True)  # "Acuity used: … (why)" must not widen the panel
        self.viscosity = QComboBox()
        self.viscosity.addItems(["high", "standard", "low"])
        self.viscosity.setToolTip(
            "Low-viscosity cement: leak odds ratio 3.32 (World Neurosurg 2017)"
        )
        self.cleft = QCheckBox("Intravertebral cleft")
        self.cleft.setToolTip(
            "Intravertebral cleft (Kümmell): leak odds ratio 1.40; recollapse OR 2.97"
        )
        self.supine_on = QCheckBox("Positional heights measured")
        self.supine_on.setToolTip(
            "For a mobile fracture: heights on a supine-stress or prone image; "
            "the restoration median is then measured, not assumed (J Orthop Surg 2018)"
        )
        self.supine = [
            _spin(0, 60, 0.5, 1, " mm", f"{w} height on the positional image")
            for w in ("Anterior", "Middle", "Posterior")
        ]
        for s in self.supine:  # a height of 0 mm is "not measured", not a value
            s.setSpecialValueText("—")
        self.extra = _spin(
            0,
            5,
            0.1,
            1,
            " mL",
            "Kyphoplasty: cement beyond the cavity for "
            "interdigitation (no published ratio; default 0, tool assumption)",
        )
        for combo in (self.procedure, self.oedema, self.viscosity):
            _narrow(combo)
        form = QFormLayout(self)
        form.addRow("Procedure", self.procedure)
        form.addRow("Fracture age", self.age)
        form.addRow("MRI oedema", self.oedema)
        form.addRow("", self.acuity_label)
        form.addRow("Cement viscosity", self.viscosity)
        form.addRow("", self.cleft)
        form.addRow("", self.supine_on)
        # the three heights get the panel's full width, their label above (a 390 px column)
        form.addRow(QLabel("Positional heights anterior / middle / posterior"))
        row = QHBoxLayout()
        for s in self.supine:
            row.addWidget(s)
        form.addRow(row)
        form.addRow("Extra cement (BKP)", self.extra)
        self.procedure.activated.connect(lambda *_: self._push_procedure())
        self.age.editingFinished.connect(self._push_clinical)
        self.oedema.activated.connect(lambda *_: self._push_clinical())
        self.viscosity.activated.connect(lambda *_: self._push_clinical())
        self.cleft.toggled.connect(lambda *_: self._push_clinical())
        self.supine_on.toggled.connect(lambda *_: self._push_clinical())
        for s in self.supine:
            s.editingFinished.connect(self._push_clinical)
        self.extra.editingFinished.connect(self._push_clinical)
        doc.plan_changed.connect(lambda *_: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        plan = self.doc.plan
        self.setEnabled(plan is not None)
        if plan is None:
            self.acuity_label.setText("Choose a target level first (Levels panel).")
            return
        c = plan.clinical
        _set(self.procedure, self.procedure.setCurrentText, plan.procedure)
        _set(
            self.age,
            self.age.setValue,
            -1 if c.fracture_age_weeks is None else c.fracture_age_weeks,
        )
        _set(self.oedema, self.oedema.setCurrentIndex, [k for k, _ in ACUITY_ITEMS].index(c.acuity))
        _set(self.viscosity, self.viscosity.setCurrentText, c.cement_viscosity)
        _set(self.cleft, self.cleft.setChecked, c.intravertebral_cleft)
        _set(self.supine_on, self.supine_on.setChecked, c.supine_heights_mm is not None)
        for s, v in zip(self.supine, c.supine_heights_mm or (0.0, 0.0, 0.0), strict=True):
            _set(s, s.setValue, v)
            s.setEnabled(c.supine_heights_mm is not None)
        _set(self.extra, self.extra.setValue, c.extra_interdigitation_ml)
        self.extra.setEnabled(plan.procedure == "kyphoplasty")
        eff = c.effective_acuity
        why = (
            "from MRI oedema"
            if c.acuity != "unknown"
            else "from the age (≤ 6 weeks acute)"
            if c.fracture_age_weeks is not None
            else "no age or MRI: the kyphoplasty band spans acute and chronic"
        )
        self.acuity_label.setText(f"Acuity used: {eff} ({why})")

    @guarded("change the procedure")
    def _push_procedure(self) -> None:
        plan = plan_or_new(self.doc)
        proc = self.procedure.currentText()
        if proc != plan.procedure or self.doc.plan is None:
            self.doc.push_plan(replace(plan, procedure=proc), f"Procedure: {proc}")

    def clinical_from_widgets(self) -> ClinicalInputs:
        age = self.age.value()
        supine = tuple(s.value() for s in self.supine) if self.supine_on.isChecked() else None
        return ClinicalInputs(
            fracture_age_weeks=None if age < 0 else float(age),
            acuity=ACUITY_ITEMS[self.oedema.currentIndex()][0],
            cement_viscosity=self.viscosity.currentText(),
            intravertebral_cleft=self.cleft.isChecked(),
            supine_heights_mm=supine,  # type: ignore[arg-type]
            extra_interdigitation_ml=round(self.extra.value(), 2),
        )

    @guarded("change the clinical inputs")
    def _push_clinical(self) -> None:
        plan = self.doc.plan
        if plan is None:
            return
        new = self.clinical_from_widgets()
        if new != plan.clinical:
            self.doc.push_plan(replace(plan, clinical=new), "Clinical inputs")
        else:
            self.refresh()


class BalloonBox(QGroupBox):
    """One side's balloon: device, position along the needle, inflation volume, result.

    Signals: ``preview_changed(side, ml)`` while the slider is dragged (nothing is pushed)."""

    preview_changed = Signal(str, float)

    def __init__(
        self, doc: Document, side: str, catalog: Any, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"{side.capitalize()} balloon", parent)
        self.doc, self.side, self.catalog = doc, side, catalog
        self.enable = QCheckBox(f"Balloon on the {side} needle")
        self.device = QComboBox()
        for d in catalog.devices.values():
            # the name alone in the combo (it fits the column); length and volume below it
            self.device.addItem(d.name, d.id)
            self.device.setItemData(
                self.device.count() - 1,
                f"{_device_text(d)}. Rated pressure: {d.max_pressure.describe('psi')}. "
                "Values marked unverified could not be confirmed from the IFU "
                "(KYPHON Xpander II IFU M708348B164, FDA 510(k) K101864).",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.offset = _spin(
            0,
            40,
            0.5,
            1,
            " mm",
            "Distance from the needle tip back to the balloon's "
            "distal marker (0 = the balloon starts at the tip)",
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(round(4.0 / SLIDER_STEP_ML)))
        self.slider.setToolTip(
            "Inflation volume: drag to preview, release to apply (one undo step)"
        )
        self.spin = _spin(
            0, 10, 0.1, 2, " mL", "Inflation volume (mL); the planner models volume, not pressure"
        )
        self.result = QLabel("—")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        form = QFormLayout(self)
        form.addRow(self.enable)
        # the device names are long: the combo gets the panel's full width, its label above
        form.addRow(QLabel("Device"))
        form.addRow(self.device)
        self.device_info = QLabel()
        self.device_info.setWordWrap(True)
        form.addRow(self.device_info)
        form.addRow("Position", self.offset)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        form.addRow("Inflation", row)
        form.addRow(self.result)
        self.enable.toggled.connect(lambda on: self._on_enable_toggled(on))
        self.device.activated.connect(lambda *_: self._push(device_id=self.device.currentData()))
        self.offset.editingFinished.connect(
            lambda: self._push(tip_offset_mm=round(self.offset.value(), 2))
        )
        self.spin.editingFinished.connect(
            lambda: self._push(inflation_ml=round(self.spin.value(), 2))
        )
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.slider.sliderReleased.connect(self._on_slider_released)
        doc.plan_changed.connect(lambda *_: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        plan = self.doc.plan
        traj = plan.trajectory(self.side) if plan is not None else None
        b = plan.balloon(self.side) if plan is not None else None
        kp = plan is not None and plan.procedure == "kyphoplasty"
        self.enable.setEnabled(traj is not None and kp)
        self.enable.setToolTip(
            ""
            if traj is not None and kp
            else "Kyphoplasty with a trajectory on this side is needed first"
        )
        _set(self.enable, self.enable.setChecked, b is not None)
        for w in (self.device, self.offset, self.slider, self.spin):
            w.setEnabled(b is not None)
        if b is None:
            self.device_info.setText("")
            return
        idx = self.device.findData(b.device_id)
        _set(self.device, self.device.setCurrentIndex, max(idx, 0))
        dev = self.catalog.devices.get(b.device_id)
        self.device_info.setText("" if dev is None else _device_text(dev))
        top = dev.max_volume.value if dev is not None and dev.max_volume.value else 4.0
        _set(
            self.slider,
            self.slider.setMaximum,
            int(round(max(top * 1.34, b.inflation_ml) / SLIDER_STEP_ML)),
        )
        if not self.slider.isSliderDown():
            _set(self.slider, self.slider.setValue, int(round(b.inflation_ml / SLIDER_STEP_ML)))
        _set(self.spin, self.spin.setValue, b.inflation_ml)
        _set(self.offset, self.offset.setValue, b.tip_offset_mm)

    def show_result(self, res: Any, pending: bool) -> None:
        if res is None:
            self.result.setText("<i>computing…</i>" if pending and self.enable.isChecked() else "—")
            return
        yes = {True: "✓", False: "✗"}
        c = res.contacts
        txt = (
            f"Placed <b>{res.volume_ml:.2f} mL</b> (cavity {res.cavity_ml:.2f}, endplate lift "
            f"{res.lift_ml:.2f}); radius {res.radius_mm:.1f} mm<br>"
            f"Contacts: superior endplate {yes[c.get('superior_endplate', False)]}, inferior "
            f"endplate {yes[c.get('inferior_endplate', False)]}, "
            f"cortex {yes[c.get('cortex', False)]}"
            f"<br>Posterior wall: {res.posterior_wall_distance_mm:.1f} mm"
        )
        lift = res.lift_mm
        if any(v > 0 for v in lift.values()):
            txt += (
                "<br>Endplate lift A/M/P: "
                + " / ".join(f"{lift.get(w, 0):.1f}" for w in ("anterior", "middle", "posterior"))
                + " mm"
            )
        for w in res.warnings:
            txt += f"<br><span style='color:#f0be5a'>⚠ {w}</span>"
        if pending:
            txt = "<i>(updating)</i> " + txt
        self.result.setText(txt)

    # --- gestures ---------------------------------------------------------------------------
    def _on_slider_value_changed(self, value: int) -> None:
        ml = value * SLIDER_STEP_ML
        _set(self.spin, self.spin.setValue, ml)
        if self.slider.isSliderDown():
            self.result.setText(f"<i>Preview {ml:.2f} mL: release to apply</i>")
            self.preview_changed.emit(self.side, ml)
        else:  # keyboard / page steps: merge consecutive steps into one undo step
            self._push(inflation_ml=round(ml, 2), merge=True)

    def _on_slider_released(self) -> None:
        self._push(inflation_ml=round(self.slider.value() * SLIDER_STEP_ML, 2))

    @guarded("change the balloon")
    def _on_enable_toggled(self, on: bool) -> None:
        plan = self.doc.plan
        if plan is None:
            return
        if on and plan.balloon(self.side) is None:
            dev = self.device.currentData() or next(iter(self.catalog.devices))
            self.doc.push_plan(
                plan.with_balloon(BalloonPlacement(self.side, dev)), f"Add {self.side} balloon"
            )
        elif not on and plan.balloon(self.side) is not None:
            self.doc.push_plan(
                replace(plan, balloons=tuple(b for b in plan.balloons if b.side != self.side)),
                f"Remove {self.side} balloon",
            )

    @guarded("change the balloon")
    def _push(self, merge: bool = False, **changes: Any) -> None:
        plan = self.doc.plan
        b = plan.balloon(self.side) if plan is not None else None
        if b is None:
            return
        new = replace(b, **changes)
        if new == b:
            return
        what = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changes.items())
        key = merge_key_for(f"balloon-{self.side}-inflation") if merge else -1
        self.doc.push_plan(plan.with_balloon(new), f"{self.side.capitalize()} balloon: {what}", key)
