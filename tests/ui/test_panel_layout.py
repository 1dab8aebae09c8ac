"""Default panel arrangement: the window fits a 1280×800 screen, and wide screens get the
needle planner in its own column with needle views beside the fluoroscopy."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt

from ui.shell.panel_layout import arrange_panels, panel_docks

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
LEFT = Qt.DockWidgetArea.LeftDockWidgetArea


def _tab_group(win, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    docks = panel_docks(win)
    return {name} | {
        d.objectName().removeprefix("dock_") for d in win.tabifiedDockWidgets(docks[name])
    }


def test_small_screen_puts_side_panels_in_one_tabbed_column_and_fits(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = make_window(size=(1280, 770))
    arrange_panels(win, QSize(1280, 770))
    qtbot.wait(10)
    docks = panel_docks(win)
    assert win.dockWidgetArea(docks["trajectories"]) == RIGHT
    assert _tab_group(win, "levels") == {"levels", "trajectories", "estimates", "morphometry"}
    assert _tab_group(win, "needle_views") == {"needle_views", "fluoroscopy", "measurements"}
    need = win.minimumSizeHint()
    assert need.width() <= 1280 and need.height() <= 770, need
    # the views keep most of the window
    assert win.grid.width() >= 0.6 * win.width()


def test_wide_screen_keeps_the_needle_planner_beside_the_views(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = make_window(size=(1920, 1050))
    arrange_panels(win, QSize(1920, 1050))
    qtbot.wait(10)
    docks = panel_docks(win)
    assert win.dockWidgetArea(docks["trajectories"]) == LEFT
    assert win.dockWidgetArea(docks["levels"]) == RIGHT
    assert _tab_group(win, "needle_views") == {"needle_views"}
    assert win.minimumSizeHint().width() <= 1920
    for d in docks.values():
        assert d.isVisible() and not d.isFloating()


def test_reset_panels_brings_back_a_closed_or_floating_panel(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    docks = panel_docks(win)
    docks["estimates"].setFloating(True)
    docks["fluoroscopy"].close()
    win.actions_by_name["reset_panels"].trigger()
    qtbot.wait(10)
    assert not docks["estimates"].isFloating()
    assert win.dockWidgetArea(docks["estimates"]) == RIGHT
    assert docks["fluoroscopy"].toggleViewAction().isChecked()
