"""The workstation as a user drives it: open, look, click, scroll, window, measure, save."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import synthetic_volume
from ui.shell.screenshot import vtk_pixels

pytestmark = pytest.mark.gui


def send_mouse(
    widget,
    kind,
    pos,
    button=Qt.MouseButton.LeftButton,  # type: ignore[no-untyped-def]
    modifiers=Qt.KeyboardModifier.NoModifier,
):
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
        "double": QEvent.Type.MouseButtonDblClick,
    }
    buttons = Qt.MouseButton.NoButton if kind == "release" else button
    p = QPointF(pos)
    ev = QMouseEvent(
        types[kind],
        p,
        widget.mapToGlobal(p),
        button if kind != "move" else Qt.MouseButton.NoButton,
        buttons,
        modifiers,
    )
    QApplication.sendEvent(widget, ev)


def send_wheel(widget, pos, notches=1, modifiers=Qt.KeyboardModifier.NoModifier):  # type: ignore[no-untyped-def]
    p = QPointF(pos)
    ev = QWheelEvent(
        p,
        widget.mapToGlobal(p),
        QPoint(),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, ev)


def expected_grey(hu, width, level):  # type: ignore[no-untyped-def]
    return np.clip((np.asarray(hu, float) - (level - width / 2)) / width, 0, 1) * 255


def set_study(win, vol):  # type: ignore[no-untyped-def]
    win.doc.set_study(vol, (), "test:")
    QApplication.processEvents()


# --- opening ----------------------------------------------------------------------------------
def test_demo_opens_through_the_menu_and_each_view_shows_its_slice(demo_window) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    vol = win.doc.volume
    assert vol is not None
    cursor = win.state.cursor_lps
    ijk = np.rint(vol.lps_to_voxel(cursor)).astype(int)
    w, lvl = win.state.window, win.state.level
    for name, view in win.slice_views.items():
        info = view.pipeline.slice_info()
        axis = {"axial": 2, "coronal": 1, "sagittal": 0}[name]  # the demo is axial, i j k = L P S
        assert info.index == ijk[axis], name
        view.pipeline.set_crosshair_visible(False)
        rgb = vtk_pixels(view.render_window()).astype(float)
        h = rgb.shape[0]
        # compare rendered grey with the volume sampled on this slice at 60 display points
        rng = np.random.default_rng(1)
        right, up = view.pipeline.screen_axes()
        diffs = []
        for _ in range(60):
            p = cursor + right * rng.uniform(-60, 60) + up * rng.uniform(-60, 60)
            if not vol.grid.contains_voxel(vol.lps_to_voxel(p)):
                continue
            x, y = view.pipeline.lps_to_display(p)
            row, col = int(round(h - 1 - y)), int(round(x))
            if 30 < row < h - 30 and 40 < col < rgb.shape[1] - 40:
                diffs.append(abs(rgb[row, col, 0] - expected_grey(vol.sample_lps(p), w, lvl)))
        assert len(diffs) > 20, name
        assert np.median(diffs) < 6.0, (name, np.median(diffs))
    assert win.view_3d.pipeline.prop.GetVisibility() == 1
    assert "Demo" in win.windowTitle()
    assert win.settings.recent()[0] == "demo:"


def test_click_moves_linked_crosshair_and_hu_readout_is_the_volume_value(
    demo_window, qtbot
) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    vol = win.doc.volume
    axial = win.slice_views["axial"]
    target = win.state.cursor_lps + np.array([17.3, -11.2, 0.0])
    pos = axial.widget_point(target)
    send_mouse(axial.vtk, "press", pos)
    send_mouse(axial.vtk, "release", pos)
    cursor = win.state.cursor_lps
    assert np.allclose(cursor[:2], target[:2], atol=axial.pipeline.mm_per_pixel() * 1.5)
    for name, view in win.slice_views.items():
        assert np.allclose(view.pipeline.cursor_lps, cursor)
        origin, normal, _half = view._plane()
        assert abs(float((cursor - origin) @ normal)) < 1e-6, name  # every slice passes through it
    assert win.hu_label.text() == f"HU {vol.value_at_lps(cursor)}"
    assert "LPS (" in win.position_label.text()
    # hovering reads out the point under the mouse
    hover = cursor + np.array([-25.0, 8.0, 0.0])
    send_mouse(axial.vtk, "move", axial.widget_point(hover), Qt.MouseButton.NoButton)
    shown = axial.lps_at(axial.widget_point(hover))
    assert win.hu_label.text() == f"HU {vol.value_at_lps(shown)}"


def test_wheel_page_keys_zoom_and_maximise(demo_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = demo_window
    axial = win.slice_views["axial"]
    centre = QPointF(axial.vtk.width() / 2, axial.vtk.height() / 2)
    before = axial.pipeline.slice_info()
    z0 = win.state.cursor_lps[2]
    send_wheel(axial.vtk, centre, 1)
    after = axial.pipeline.slice_info()
    assert after.index == before.index + 1 and win.state.cursor_lps[2] > z0  # superior
    win.state.set_active_view("axial")
    win.actions_by_name["prev_slice"].trigger()
    win.actions_by_name["prev_slice"].trigger()
    assert axial.pipeline.slice_info().index == before.index - 1
    scale = axial.pipeline.renderer.GetActiveCamera().GetParallelScale()
    send_wheel(axial.vtk, centre, 2, Qt.KeyboardModifier.ControlModifier)
    assert axial.pipeline.renderer.GetActiveCamera().GetParallelScale() < scale
    win.actions_by_name["reset"].trigger()
    assert axial.pipeline.renderer.GetActiveCamera().GetParallelScale() == pytest.approx(
        scale, rel=0.02
    )
    send_mouse(axial.vtk, "double", centre)
    assert win.grid.maximised == "axial"
    assert not win.view_3d.isVisible() and axial.isVisible()
    send_mouse(axial.vtk, "double", centre)
    assert win.grid.maximised is None and win.view_3d.isVisible()
    win.actions_by_name["layout_1p3"].trigger()
    assert win.grid.layout_name == "1+3" and all(v.isVisible() for v in win.views().values())
    assert axial.width() > 1.5 * win.slice_views["coronal"].width()
    win.actions_by_name["layout_1x3"].trigger()
    row = [win.slice_views[n] for n in ("axial", "coronal", "sagittal")]
    assert win.grid.layout_name == "1x3" and not win.view_3d.isVisible()
    assert all(v.isVisible() for v in row)
    assert [v.mapTo(win, v.rect().topLeft()).x() for v in row] == sorted(
        v.mapTo(win, v.rect().topLeft()).x() for v in row
    )
    assert len({v.mapTo(win, v.rect().topLeft()).y() for v in row}) == 1
    assert max(v.width() for v in row) - min(v.width() for v in row) <= 2


def test_window_level_presets_typed_values_and_drag_change_pixels(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    vol = synthetic_volume()
    set_study(win, vol)
    axial = win.slice_views["axial"]
    axial.pipeline.set_crosshair_visible(False)
    probe = vol.voxel_to_lps([20, 20, 15])  # soft tissue, 40 HU
    x, y = axial.pipeline.lps_to_display(probe)

    def grey() -> float:
        px = vtk_pixels(axial.render_window())
        return float(px[int(round(px.shape[0] - 1 - y)), int(round(x)), 0])

    win.actions_by_name["preset_bone"].trigger()
    assert grey() == pytest.approx(expected_grey(40, 1800, 400), abs=3)
    win.actions_by_name["preset_soft_tissue"].trigger()
    assert grey() == pytest.approx(expected_grey(40, 400, 50), abs=3)
    assert (win.window_spin.value(), win.level_spin.value()) == (400, 50)
    win.window_spin.setValue(100)
    win.level_spin.setValue(40)
    win.level_spin.editingFinished.emit()
    assert (win.state.window, win.state.level) == (100, 40)
    assert grey() == pytest.approx(expected_grey(40, 100, 40), abs=3)
    # Ctrl+drag: rightwards widens the window
    c = QPointF(axial.vtk.width() / 2, axial.vtk.height() / 2)
    send_mouse(axial.vtk, "press", c, modifiers=Qt.KeyboardModifier.ControlModifier)
    send_mouse(axial.vtk, "move", c + QPointF(60, 0), modifiers=Qt.KeyboardModifier.ControlModifier)
    send_mouse(axial.vtk, "release", c + QPointF(60, 0))
    assert win.state.window > 100 and win.state.level == pytest.approx(40)
    assert win.doc.undo_stack.count() == 0  # view settings are not undoable


@pytest.mark.parametrize("feet_first", [False, True])
def test_axial_view_shows_patient_left_on_screen_right_with_matching_letters(
    make_window, feet_first
) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    vol = synthetic_volume(feet_first=feet_first)
    set_study(win, vol)
    axial = win.slice_views["axial"]
    axial.pipeline.set_crosshair_visible(False)
    rgb = vtk_pixels(axial.render_window()).astype(float)
    bright = (rgb[..., 0] > 240) & (np.abs(rgb[..., 0] - rgb[..., 2]) < 10)
    cols = np.nonzero(bright.any(axis=0))[0]
    assert cols.size > 5
    assert cols.min() > rgb.shape[1] / 2, "the patient's left must be on the screen's right"
    letters = axial.pipeline.edge_letters()
    assert (letters["right"], letters["left"], letters["top"], letters["bottom"]) == (
        "L",
        "R",
        "A",
        "P",
    )
    assert win.slice_views["coronal"].pipeline.edge_letters()["right"] == "L"
    assert win.slice_views["sagittal"].pipeline.edge_letters()["top"] == "S"
    # the letters drawn are the ones computed
    assert axial.pipeline._letters["right"].GetInput() == "L"


def test_distance_measurement_is_one_undo_step_listed_and_deletable(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    vol = synthetic_volume()
    set_study(win, vol)
    axial = win.slice_views["axial"]
    win.actions_by_name["tool_distance"].trigger()
    z = win.state.cursor_lps[2]
    a, b = np.array([-20.0, -10.0, z]), np.array([10.0, 30.0, z])
    send_mouse(axial.vtk, "press", axial.widget_point(a))
    send_mouse(axial.vtk, "move", axial.widget_point((a + b) / 2), Qt.MouseButton.LeftButton)
    send_mouse(axial.vtk, "move", axial.widget_point(b), Qt.MouseButton.LeftButton)
    send_mouse(axial.vtk, "release", axial.widget_point(b))
    assert win.doc.undo_stack.count() == 1
    (m,) = win.doc.measurements
    assert m.value == pytest.approx(50.0, abs=2 * axial.pipeline.mm_per_pixel())
    assert win.measurement_panel.list.count() == 1
    assert win.isWindowModified()
    adapter = axial._measure_adapters[m.id]
    assert adapter.actor.GetVisibility() == 1
    axial.step_slices(3)  # measurement lies on another slice now: hidden
    assert adapter.actor.GetVisibility() == 0
    # angle: three clicks
    win.actions_by_name["tool_angle"].trigger()
    for p in ([0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0]):
        q = np.array(p) + [0, 0, win.state.cursor_lps[2]]
        send_mouse(axial.vtk, "press", axial.widget_point(q))
        send_mouse(axial.vtk, "release", axial.widget_point(q))
    assert win.doc.measurements[-1].value == pytest.approx(90.0, abs=3.0)
    assert win.doc.undo_stack.count() == 2
    win.measurement_panel.list.setCurrentRow(0)
    win.actions_by_name["delete_measurement"].trigger()
    assert [x.kind for x in win.doc.measurements] == ["angle"]
    win.doc.undo_stack.undo()
    assert len(win.doc.measurements) == 2


def test_screenshots_hold_vtk_pixels_and_no_patient_identifiers(
    make_window, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    import ui.shell.main_window as mw

    win = make_window()
    set_study(win, synthetic_volume())
    win.actions_by_name["patient_info"].setChecked(True)
    win.toggle_patient_info()
    axial = win.slice_views["axial"]
    assert "DOE^JANE" in axial.pipeline.corners.GetText(3)
    seen = []
    real = mw.view_image
    monkeypatch.setattr(
        mw,
        "view_image",
        lambda v, s=1.0: (seen.append(axial.pipeline.corners.GetText(3)), real(v, s))[1],
    )
    w, h = axial.render_window().GetSize()
    win.actions_by_name["shot_size_screen"].trigger()
    path = win.save_view_screenshot(str(tmp_path / "axial.png"))
    assert seen == [""]
    img = QImage(path)
    assert (img.width(), img.height()) == (w, h)
    assert "DOE^JANE" in axial.pipeline.corners.GetText(3)  # restored on screen
    # 2x: rendered off-screen at twice the size (default), and 1920 px wide
    win.actions_by_name["shot_size_2x"].trigger()
    img2 = QImage(win.save_view_screenshot(str(tmp_path / "axial2.png")))
    assert (img2.width(), img2.height()) == (2 * w, 2 * h)
    win.actions_by_name["shot_size_1920"].trigger()
    img3 = QImage(win.save_view_screenshot(str(tmp_path / "axial3.png")))
    assert img3.width() == 1920 and abs(img3.height() - round(h * 1920 / w)) <= 1
    win.actions_by_name["shot_size_2x"].trigger()
    wpath = win.save_window_screenshot(str(tmp_path / "window.png"))
    wimg = QImage(wpath)
    assert wimg.width() == 2 * win.width()
    centre = axial.vtk.mapTo(win, QPoint(axial.vtk.width() // 2 + 40, axial.vtk.height() // 2 + 40))
    assert wimg.pixelColor(centre * 2).value() > 30  # VTK pixels, not the empty grab


def test_undo_commands_merge_nudges_and_discard_prompt(make_window, qtbot, dialogs) -> None:  # type: ignore[no-untyped-def]
    from planner.plan.model import Plan, SeriesBinding
    from ui.document.commands import merge_key_for

    win = make_window()
    vol = synthetic_volume()
    set_study(win, vol)
    doc = win.doc
    seen = []
    doc.plan_changed.connect(lambda old, new: seen.append((old, new)))
    binding = SeriesBinding(vol.series_uid, vol.geometry_fingerprint())
    a = Plan(binding, level="L1")
    b = Plan(binding, level="L2")
    c = Plan(binding, level="L3")
    doc.push_plan(a, "Set plan")
    key = merge_key_for("nudge level")
    doc.push_plan(b, "Nudge", key)
    doc.push_plan(c, "Nudge", key)
    assert doc.undo_stack.count() == 2 and doc.plan is c  # the two nudges merged
    assert win.isWindowModified() and win.windowTitle().endswith("[*]")
    doc.undo_stack.undo()
    assert doc.plan is a and seen[-1] == (c, a)
    doc.undo_stack.redo()
    assert doc.plan is c
    dialogs["discard"].clear()
    task = win.opener.open_path("demo:")  # asks before discarding (answered yes in tests)
    assert dialogs["discard"] == [True]
    with qtbot.waitSignal(task.finished, timeout=60000):
        task.cancel()
    assert doc.volume is vol and doc.plan is c  # cancelled: nothing replaced


def test_help_shortcuts_lists_every_shortcut(make_window) -> None:  # type: ignore[no-untyped-def]
    from ui.shell.help_dialogs import ShortcutsDialog, shortcut_rows

    win = make_window()
    rows = shortcut_rows(win.actions())
    texts = {t for _k, t in rows}
    assert {"Next slice", "Reset views", "Open demo case", "Distance"} <= texts
    dlg = ShortcutsDialog(win.actions(), win)
    assert dlg.table.rowCount() >= len(rows)
    dlg.close()
    dlg.deleteLater()


def test_layout_window_level_and_recent_persist_between_sessions(make_window) -> None:  # type: ignore[no-untyped-def]
    first = make_window(settings_name="shared.ini")
    first.actions_by_name["layout_1p3"].trigger()
    first.actions_by_name["preset_soft_tissue"].trigger()
    first.settings.add_recent("/data/study_a")
    first.close()
    second = make_window(settings_name="shared.ini")
    assert second.grid.layout_name == "1+3"
    assert (second.state.window, second.state.level) == (400.0, 50.0)
    assert second.settings.recent() == ["/data/study_a"]
    assert [a.text() for a in second.recent_menu.actions()] == ["/data/study_a"]
