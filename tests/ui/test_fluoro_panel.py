"""Simulated fluoroscopy panel: AP, lateral and bull's-eye DRRs with C-arm angles and the
needles projected where they are."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from planner.drr import carm_angles
from tests.ui.trajectory_helpers import truth_trajectory, wait_fluoro  # noqa: F401
from ui.render.needle_actors import SEVERITY_COLOURS

pytestmark = pytest.mark.gui


def test_drr_panel_shows_carm_angles_and_follows_the_needle(
    planning_window, demo_case, qtbot
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    fl = win.trajectory.fluoro
    traj = truth_trajectory(demo_case, "left")
    win.trajectory.service.set_selected_side("left")
    win.doc.push_plan(win.trajectory.service.base_plan().with_trajectory(traj), "plan")
    wait_fluoro(win, qtbot)
    qtbot.waitUntil(
        lambda: fl.views["bullseye"].image is not None and fl.task is None, timeout=30000
    )
    labels = fl.angle_labels()
    assert labels["ap"] == "C-arm LAO 0.0° CRAN 0.0°"
    assert labels["lateral"] == "C-arm LAO 90.0° CRAN 0.0°"
    d = np.subtract(traj.target_lps, traj.skin_entry_lps)
    assert labels["bullseye"] == f"C-arm {carm_angles(d).label}"
    # a left transpedicular needle converges medially: the beam axis is tilted to the right
    assert "RAO" in labels["bullseye"]
    # the needle is drawn where the image projects it (QWidget.grab holds these pixels: no VTK)
    view = fl.views["lateral"]
    img = view.grab().toImage()
    rect = view._image_rect()
    scale = rect.width() / view.image.pixels.shape[1]
    mid = 0.5 * (np.asarray(traj.bone_entry_lps) + np.asarray(traj.target_lps))
    px = view.image.lps_to_pixel(mid)[0] * scale + np.array([rect.left(), rect.top()])
    c = img.pixelColor(int(px[0]), int(px[1]))
    expected = np.array(SEVERITY_COLOURS[win.trajectory.service.severity(traj)]) * 255
    assert np.abs(np.array([c.red(), c.green(), c.blue()]) - expected).max() < 40, (
        c.red(),
        c.green(),
    )
    # moving the needle re-renders the bull's-eye along the new direction, off the GUI thread
    moved = traj.__class__(
        traj.side,
        traj.approach,
        tuple(np.add(traj.skin_entry_lps, [0, 0, 20.0])),
        traj.bone_entry_lps,
        traj.target_lps,
        traj.needle_id,
    )
    win.doc.push_plan(win.doc.plan.with_trajectory(moved), "move")
    QApplication.processEvents()
    d2 = np.subtract(moved.target_lps, moved.skin_entry_lps)
    qtbot.waitUntil(
        lambda: fl.angle_labels()["bullseye"] == f"C-arm {carm_angles(d2).label}", timeout=30000
    )
    assert "CAUD" in fl.angle_labels()["bullseye"]  # skin entry raised: tip caudal to it
