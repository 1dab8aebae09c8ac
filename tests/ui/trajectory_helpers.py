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
from planner.session import edit
from tests.ui.demo_truth import truth_analysis


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


@pytest.fixture
def planning_window(demo_window: Any, demo_case: Any, qtbot: Any) -> Any:
    win = demo_window
    svc = win.trajectory.service
    svc.synchronous = True
    analysis = truth_analysis(demo_case, confirmed=("L1",), source="seed", levels=("L1",))
    win.doc._apply_analysis(analysis)
    win.doc._apply_case(edit.add_level(win.doc.case, "L1"))  # the user chose L1 (explicit)
    assert svc.context("L1") is not None
    QApplication.processEvents()
    return win


@pytest.fixture
def truth_runs(monkeypatch: Any, demo_case: Any) -> None:
    """'Analyse' (and the re-run when a plan is reopened) yields the demo's exact truth, every
    level proposed: deterministic and fast (these tests check the workstation)."""
    import ui.document.trajectory_service

    monkeypatch.setattr(
        ui.document.trajectory_service,
        "run_level_analysis",
        lambda volume, progress: truth_analysis(demo_case, levels=("T12", "L1")),
    )


def select_row(table: Any, row: int) -> None:
    """Select ``row`` of a table as a click would, whatever keyboard modifier state an earlier
    test's synthetic key events left behind (``selectRow`` honours it)."""
    from PySide6.QtCore import QItemSelectionModel

    flags = (
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    )
    table.selectionModel().select(table.model().index(row, 0), flags)


def choose_level(win: Any, level: str = "L1") -> None:
    """The user adds ``level`` to the plan (it becomes the active level): one undo step."""
    win.doc.push_case(edit.add_level(win.doc.case, level), f"Add {level}")


def wait_fluoro(win: Any, qtbot: Any) -> None:
    fl = win.trajectory.fluoro
    qtbot.waitUntil(lambda: fl.task is None and fl.views["ap"].image is not None, timeout=30000)
