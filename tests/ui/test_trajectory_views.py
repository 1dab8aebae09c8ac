"""Needle views: two oblique planes containing the needle, a needle's-eye view across it, and
the depth slider that advances the needle along its path."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.trajectory_helpers import truth_trajectory  # noqa: F401
from ui.render.oblique import needle_planes

pytestmark = pytest.mark.gui


def test_oblique_planes_contain_the_needle_and_the_eye_view_follows_the_depth(
    planning_window, demo_case
) -> None:  # type: ignore[no-untyped-def]
    win = planning_window
    nv = win.trajectory.needle_views
    traj = truth_trajectory(demo_case, "left")
    win.trajectory.service.set_selected_side("left")
    win.doc.push_plan(win.trajectory.service.base_plan().with_trajectory(traj), "plan")
    nv.refresh()
    skin, tip = np.asarray(traj.skin_entry_lps), np.asarray(traj.target_lps)
    length = float(np.linalg.norm(tip - skin))
    d = (tip - skin) / length
    for kind in ("along_cc", "along_tr"):
        focal, normal, _half = nv.views[kind].pipeline.plane()
        assert abs(normal @ d) < 1e-9, kind  # the plane contains the needle direction...
        assert (
            abs((skin - focal) @ normal) < 1e-6 and abs((tip - focal) @ normal) < 1e-6
        )  # ...and its points
    n_cc = nv.views["along_cc"].pipeline.plane()[1]
    n_tr = nv.views["along_tr"].pipeline.plane()[1]
    assert abs(n_cc @ n_tr) < 1e-9  # two different planes, at right angles
    # craniocaudal plane seen like a sagittal view: superior up, anterior on the left
    letters = nv.views["along_cc"].pipeline.letters
    assert letters["top"].GetInput().startswith("S") and letters["left"].GetInput().startswith("A")
    # the eye view looks down the needle at the planned tip
    focal, normal, _ = nv.views["eye"].pipeline.plane()
    assert np.allclose(normal, d) and np.allclose(focal, tip, atol=1e-6)
    # advance the needle to 40 mm with the slider: the eye plane moves there, the fluoroscopy
    # and the overlay draw the needle up to that depth
    nv.slider.setValue(80)  # 0.5 mm steps
    nv.refresh()
    focal, _, _ = nv.views["eye"].pipeline.plane()
    assert np.allclose(focal, skin + 40.0 * d, atol=1e-6)
    assert win.trajectory.service.advance_mm["left"] == pytest.approx(40.0)
    assert nv.views["eye"].adapter.value.depth_mm == pytest.approx(40.0)
    assert "40.0 / " in nv.depth_label.text() and "short of the target" in nv.depth_label.text()
    # wheel steps 1 mm, and the slider range ends 10 mm beyond the target
    nv.step_depth(-1.0)
    assert nv.depth_mm == pytest.approx(39.0)
    assert nv.slider.maximum() == int(round((length + 10.0) * 2))
    # switching needle resets the depth to the planned tip
    win.trajectory.service.set_selected_side("right")
    QApplication.processEvents()
    assert nv.depth_mm is None and win.trajectory.service.advance_mm["left"] is None


def test_needle_planes_for_a_vertical_needle_are_defined() -> None:
    planes = needle_planes([0.0, 0.0, 1.0])  # along the spine's axis: no sagittal-like plane
    for dop, up in planes.values():
        assert np.isclose(np.linalg.norm(dop), 1.0) and np.isclose(np.linalg.norm(up), 1.0)
        assert abs(dop @ up) < 1e-9
