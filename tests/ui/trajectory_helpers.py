"""Shared fixtures and helpers of the needle-planning UI tests (import the fixtures you use).

``planning_window``: the demo opened through the menu, its L1 analysed from the demo's exact
ground truth (fast and deterministic: these tests check the workstation, not the
segmentation), and the trajectory context built on the test's thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from planner.plan.model import Trajectory


def send_mouse(
    widget: Any, kind: str, pos: QPointF, button: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    buttons = Qt.MouseButton.NoButton if kind == "release" else button
    ev = QMouseEvent(
        types[kind],
        QPointF(pos),
        widget.mapToGlobal(QPointF(pos)),
        button if kind != "move" else Qt.MouseButton.NoButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, ev)


def send_key(
    widget: Any, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key, modifiers))


def truth_trajectory(case: Any, side: str, level: str = "L1", needle_id: str = "11G") -> Trajectory:
    """A transpedicular path along the demo's true pedicle axis, tip at 70 % of the way to the
    anterior cortex, skin entry 55 mm behind the pedicle entry."""
    ped = case.truth.level(level).pedicles[side]
    a = np.asarray(ped.axis_dir_lps)
    entry = np.asarray(ped.entry_lps)
    tip = entry + a * 0.7 * ped.length_to_anterior_cortex_mm
    skin = entry - a * 55.0
    return Trajectory(side, "transpedicular", tuple(skin), tuple(entry), tuple(tip), needle_id)  # type: ignore[arg-type]


def demo_truth_analysis(volume: Any, level: str) -> Any:
    """A :class:`SpineAnalysis` of one demo level from the demo's exact ground truth.

    Tests use it to decouple the needle UI from the segmentation's accuracy.
    """
    from planner.anatomy import Morphometry
    from planner.demo import generate_demo
    from planner.vertebra.types import LevelCandidate, LevelResult, SpineAnalysis

    truth = generate_demo().truth
    lt = truth.level(level)
    anatomy = truth.level_anatomy(level, volume.grid)
    morph = Morphometry(
        level=level,
        centroid_lps=lt.centroid_lps,
        body_volume_ml=lt.body_volume_ml,
        heights_mm=lt.heights_mm,
        depth_mm=lt.depth_mm,
        width_mm=lt.width_mm,
        wedge_angle_deg=lt.wedge_angle_deg,
        trabecular_hu=lt.trabecular_hu,
        reference_heights_mm=lt.reference_heights_mm,
        genant_grade=lt.genant_grade,
        morphology=lt.morphology,
        posterior_wall=lt.posterior_wall,
        prefracture_volume_ml=lt.prefracture_volume_ml,
        notes=("demo ground truth (test fixture)",),
    )
    cand = LevelCandidate(level, lt.centroid_lps, "seed", True)
    return SpineAnalysis(
        (LevelResult(cand, anatomy, morph),),
        ("demo ground truth (test fixture)",),
    )



@pytest.fixture
def planning_window(demo_window: Any, demo_case: Any, qtbot: Any) -> Any:
    win = demo_window
    svc = win.trajectory.service
    svc.synchronous = True
    win.doc._apply_analysis(demo_truth_analysis(demo_case.volume, "L1"))
    assert svc.context("L1") is not None
    QApplication.processEvents()
    return win


def wait_fluoro(win: Any, qtbot: Any) -> None:
    fl = win.trajectory.fluoro
    qtbot.waitUntil(lambda: fl.task is None and fl.views["ap"].image is not None, timeout=30000)
