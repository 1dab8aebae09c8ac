"""Where the docked panels go by default, for the screen the window is on.

Wide screens (≥ ``WIDE_SCREEN_PX``) keep the needle planner in its own left column and show the
needle views beside the simulated fluoroscopy. Smaller screens (a 1280×800 laptop) put every
side panel in one tabbed right column (the measurement list joins the bottom tabs, so every tab
title fits) and tab the bottom panels, so the four views keep most of the window and nothing is
pushed off the screen. View → Reset panels re-applies it.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget, QWidget

WIDE_SCREEN_PX = 1600
#: Side-column panels, first = the tab shown. Unknown panels join this column at the end.
SIDE_ORDER = ("levels", "trajectories", "estimates", "morphometry", "measurements")
BOTTOM_ORDER = ("needle_views", "fluoroscopy")
#: Side panels that join the bottom tabs on a small screen.
COMPACT_BOTTOM = ("measurements",)
SIDE_WIDTH_PX = {True: 400, False: 390}  # compact, wide
BOTTOM_HEIGHT_PX = {True: 220, False: 250}

Area = Qt.DockWidgetArea


def panel_docks(win: QMainWindow) -> dict[str, QDockWidget]:
    """The window's docks by short name ('levels', 'needle_views', ...)."""
    return {
        d.objectName().removeprefix("dock_"): d
        for d in win.findChildren(QDockWidget)
        if d.parent() is win
    }


def is_compact(screen_px: QSize) -> bool:
    return screen_px.width() < WIDE_SCREEN_PX


def arrange_panels(win: QMainWindow, screen_px: QSize) -> None:
    """Dock, tab and size every panel for a screen of ``screen_px`` (available pixels)."""
    compact = is_compact(screen_px)
    docks = panel_docks(win)
    win.setTabPosition(Area.RightDockWidgetArea, QTabWidget.TabPosition.North)
    win.setTabPosition(Area.LeftDockWidgetArea, QTabWidget.TabPosition.North)
    win.setCorner(Qt.Corner.BottomLeftCorner, Area.LeftDockWidgetArea)
    win.setCorner(Qt.Corner.BottomRightCorner, Area.RightDockWidgetArea)
    for dock in docks.values():  # start from nothing: re-tabifying in place leaves stale tab bars
        win.removeDockWidget(dock)
    side = [n for n in SIDE_ORDER if n in docks]
    side += [n for n in docks if n not in side and n not in BOTTOM_ORDER]
    # five tab titles need ~460 px: on a small screen the measurement list joins the bottom
    # tabs, so the side column's four titles show whole in its 390 px
    moved = [n for n in COMPACT_BOTTOM if n in side] if compact else []
    left = [] if compact else [n for n in side if n == "trajectories"]
    right = [n for n in side if n not in left and n not in moved]
    bottom = [n for n in BOTTOM_ORDER if n in docks] + moved
    for names, area in ((left, Area.LeftDockWidgetArea), (right, Area.RightDockWidgetArea)):
        _tabbed(win, [docks[n] for n in names], area)
    if compact:
        _tabbed(win, [docks[n] for n in bottom], Area.BottomDockWidgetArea)
    else:
        _side_by_side(win, [docks[n] for n in bottom], Area.BottomDockWidgetArea)
    columns = [docks[n] for n in (left[:1] + right[:1])]
    win.resizeDocks(columns, [SIDE_WIDTH_PX[compact]] * len(columns), Qt.Orientation.Horizontal)
    rows = [docks[n] for n in bottom]
    win.resizeDocks(rows, [BOTTOM_HEIGHT_PX[compact]] * len(rows), Qt.Orientation.Vertical)
    if not compact and len(rows) > 1:  # share the width below the views equally
        share = max(screen_px.width() - 2 * SIDE_WIDTH_PX[compact], 400) // len(rows)
        win.resizeDocks(rows, [share] * len(rows), Qt.Orientation.Horizontal)


def fit_to_screen(win: QMainWindow) -> None:
    """Shrink and move the window (and floating panels) into the screen's available area.

    A geometry saved on a 1920 px screen restored on a 1280×800 one would otherwise reopen
    wider than the screen with panels off it.
    """
    screen = win.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    if not win.isMaximized() and not win.isFullScreen():
        frame = win.frameGeometry()
        extra_w = max(frame.width() - win.width(), 0)
        extra_h = max(frame.height() - win.height(), 0)
        w = min(win.width(), avail.width() - extra_w)
        h = min(win.height(), avail.height() - extra_h)
        if (w, h) != (win.width(), win.height()):
            win.resize(w, h)
        _move_inside(win, avail)
    for dock in panel_docks(win).values():
        if dock.isFloating():
            dock.resize(min(dock.width(), avail.width()), min(dock.height(), avail.height()))
            _move_inside(dock, avail)


def _move_inside(w: QWidget, avail: QRect) -> None:
    g = w.frameGeometry()
    x = min(max(g.left(), avail.left()), avail.right() + 1 - g.width())
    y = min(max(g.top(), avail.top()), avail.bottom() + 1 - g.height())
    if (x, y) != (g.left(), g.top()):
        w.move(max(x, avail.left()), max(y, avail.top()))


def _place(win: QMainWindow, dock: QDockWidget, area: Area) -> None:
    win.addDockWidget(area, dock)
    dock.setFloating(False)
    dock.show()


def _tabbed(win: QMainWindow, docks: list[QDockWidget], area: Area) -> None:
    if not docks:
        return
    _place(win, docks[0], area)
    for dock in docks[1:]:
        _place(win, dock, area)
        win.tabifyDockWidget(docks[0], dock)
    docks[0].raise_()


def _side_by_side(win: QMainWindow, docks: list[QDockWidget], area: Area) -> None:
    for i, dock in enumerate(docks):
        _place(win, dock, area)
        if i:
            win.splitDockWidget(docks[i - 1], dock, Qt.Orientation.Horizontal)
