"""The attempt, as in the room: CT hidden, simulated fluoroscopy only, every image a shot.

Click an AP image to choose the skin entry, aim the needle (medial and craniocaudal angles),
advance it in mm steps, take shots (AP, lateral, oblique or bull's-eye, the C-arm rotated and
tilted as set), withdraw and redirect; "Needle placed" scores the attempt and opens the
debrief. The attempt is saved after every action.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from planner.training.attempt import Attempt
from planner.training.history import History
from ui.training.fluoro_view import FluoroView

AP_TOLERANCE_DEG = 12.0


def _spin(lo: float, hi: float, val: float, step: float, suffix: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(1)
    s.setSingleStep(step)
    s.setValue(val)
    s.setSuffix(suffix)
    return s


class AttemptWindow(QDialog):
    """One attempt at an exercise (module notes)."""

    def __init__(self, session: Any, trainee: str, history_root: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Training — {session.exercise.title}")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.attempt = Attempt(session, trainee)
        self.history = History(history_root, trainee)
        self.attempt_file = self.history.attempt_path(session.exercise.exercise_id,
                                                      datetime.now())
        self.debrief: QDialog | None = None
        self.result: Any = None
        self.view = FluoroView()
        self.view.clicked.connect(self._on_click)
        self._build(session.exercise)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._update_status)
        self._timer.start(1000)
        self._update_status()
        self.resize(1180, 780)

    # --- layout -----------------------------------------------------------------------------
    def _build(self, ex: Any) -> None:
        brief = QLabel(ex.brief())
        brief.setWordWrap(True)
        self.side = QComboBox()
        self.side.addItems(list(ex.sides))
        self.side.currentTextChanged.connect(self._side_changed)
        carm = QGroupBox("C-arm (each image is a shot)")
        f = QFormLayout(carm)
        self.lao = _spin(-120, 120, 0, 5, "°")
        self.lao.setToolTip("Rotation about the patient's long axis: LAO +, RAO −")
        self.cran = _spin(-45, 45, 0, 5, "°")
        self.cran.setToolTip("Tilt: cranial +, caudal −")
        f.addRow("Rotation LAO+/RAO−", self.lao)
        f.addRow("Tilt cranial+/caudal−", self.cran)
        row = QHBoxLayout()
        self.btn_ap = QPushButton("AP")
        self.btn_lat = QPushButton("Lateral")
        self.btn_shot = QPushButton("Shot (as set)")
        self.btn_bull = QPushButton("Bull's-eye")
        for b, fn in ((self.btn_ap, lambda: self._shoot(0.0, 0.0)),
                      (self.btn_lat, lambda: self._shoot(90.0, 0.0)),
                      (self.btn_shot, lambda: self._shoot(self.lao.value(), self.cran.value())),
                      (self.btn_bull, self._bullseye)):
            b.clicked.connect(fn)
            row.addWidget(b)
        f.addRow(row)
        needle = QGroupBox("Needle")
        g = QFormLayout(needle)
        g.addRow("Side", self.side)
        self.entry_label = QLabel("Skin entry: click on an AP image")
        self.entry_label.setWordWrap(True)
        g.addRow(self.entry_label)
        self.medial = _spin(-30, 60, 15, 1, "°")
        self.medial.setToolTip("Convergence: + turns the tip towards the midline")
        self.cranial = _spin(-40, 40, 0, 1, "°")
        self.cranial.setToolTip("Craniocaudal: + points the tip towards the head")
        for s in (self.medial, self.cranial):
            s.editingFinished.connect(self._aim)
        g.addRow("Medial angle", self.medial)
        g.addRow("Craniocaudal angle", self.cranial)
        self.step = _spin(0.5, 20, 5, 0.5, " mm")
        g.addRow("Step", self.step)
        row2 = QHBoxLayout()
        self.btn_adv = QPushButton("Advance")
        self.btn_wd = QPushButton("Withdraw")
        self.btn_adv.clicked.connect(lambda: self._move(+1))
        self.btn_wd.clicked.connect(lambda: self._move(-1))
        row2.addWidget(self.btn_adv)
        row2.addWidget(self.btn_wd)
        g.addRow(row2)
        self.depth_label = QLabel("Depth 0.0 mm")
        g.addRow(self.depth_label)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.btn_done = QPushButton("Needle placed")
        self.btn_done.setStyleSheet("font-weight: bold; padding: 6px;")
        self.btn_done.clicked.connect(self.finish)
        right = QVBoxLayout()
        for w in (brief, carm, needle, self.status, self.message):
            right.addWidget(w)
        right.addStretch(1)
        right.addWidget(self.btn_done)
        side_panel = QWidget()
        side_panel.setLayout(right)
        side_panel.setFixedWidth(360)
        lay = QHBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(side_panel)

    # --- actions ----------------------------------------------------------------------------
    def _cur(self) -> str:
        return self.side.currentText()

    def _say(self, text: str) -> None:
        self.message.setText(text)

    def _shoot(self, lao: float, cran: float) -> None:
        self.lao.setValue(lao)
        self.cran.setValue(cran)
        shot = self.attempt.shoot(lao, cran)
        n = self.attempt.needles[self._cur()]
        self.view.marker_px = None
        if n.skin_lps is not None and n.depth_mm == 0.0:
            self.view.marker_px = tuple(shot.project(n.skin_lps)[0])  # type: ignore[assignment]
        self.view.set_shot(shot, f"shot {self.attempt.shots}")
        self._say("")
        self._saved()

    def _bullseye(self) -> None:
        lao, cran = self.attempt.best_bullseye(self._cur())
        self._shoot(round(lao, 1), round(cran, 1))

    def _on_click(self, col: float, row: float) -> None:
        shot = self.view.shot
        if shot is None or abs(shot.pose.lao_deg) > AP_TOLERANCE_DEG or \
                abs(shot.pose.cranial_deg) > AP_TOLERANCE_DEG:
            self._say("Choose the skin entry on an AP image.")
            return
        try:
            skin = self.attempt.skin_point(shot, col, row)
            self.attempt.set_skin_entry(self._cur(), skin)
        except ValueError as exc:
            self._say(str(exc))
            return
        self.view.marker_px = (col, row)
        self.view.update()
        self.entry_label.setText(f"Skin entry ({self._cur()}) set — aim and advance")
        self._say("")
        self._saved()

    def _aim(self) -> None:
        before = self.attempt.redirections
        self.attempt.set_direction(self._cur(), self.medial.value(), self.cranial.value())
        if self.attempt.redirections > before:
            self._say("Redirected (counted).")
        self._saved()

    def _move(self, sign: int) -> None:
        self._aim()
        try:
            self.attempt.advance(self._cur(), sign * self.step.value())
        except ValueError as exc:
            self._say(str(exc))
            return
        self._saved()

    def _side_changed(self, side: str) -> None:
        n = self.attempt.needles[side]
        self.medial.setValue(n.medial_deg)
        self.cranial.setValue(n.cranial_deg)
        self.entry_label.setText("Skin entry set" if n.skin_lps is not None else
                                 "Skin entry: click on an AP image")
        self._update_status()

    def _saved(self) -> None:
        try:
            self.attempt.save(self.attempt_file)
        except OSError as exc:
            self._say(f"could not save the attempt: {exc}")
        self._update_status()

    def _update_status(self) -> None:
        a = self.attempt
        n = a.needles[self._cur()]
        self.depth_label.setText(f"Depth {n.depth_mm:.1f} mm")
        self.status.setText(f"Shots {a.shots} · redirections {a.redirections} · "
                            f"time {a.elapsed_s():.0f} s")

    def finish(self) -> None:
        """Score the attempt, record it in the history and open the debrief."""
        from ui.training.debrief import DebriefDialog

        self._aim()
        self.result = self.attempt.finish()
        self._timer.stop()
        self.attempt.save(self.attempt_file)
        ex = self.attempt.session.exercise
        self.history.add(ex.exercise_id, ex.level, self.result.to_json())
        for w in (self.btn_ap, self.btn_lat, self.btn_shot, self.btn_bull, self.btn_adv,
                  self.btn_wd, self.btn_done):
            w.setEnabled(False)
        self._update_status()
        self.debrief = DebriefDialog(self.attempt, self.result, self.history, self)
        self.debrief.show()
