"""Menus, toolbar and shortcuts of the main window (kept apart from its behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QSpinBox, QToolBar

from ui.shell.icons import icon
from ui.views.view_state import load_window_presets

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow

ROI_SIZES_MM = (80.0, 120.0, 200.0, None)


def _act(
    win: MainWindow,
    text: str,
    slot: Callable[[], object],
    shortcut: str | QKeySequence | None = None,
    tip: str = "",
    icon_name: str | None = None,
    checkable: bool = False,
) -> QAction:
    a = QAction(text, win)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setToolTip(f"{tip} ({a.shortcut().toString()})" if shortcut else tip)
        a.setStatusTip(tip)
    if icon_name:
        a.setIcon(icon(icon_name))
    a.setCheckable(checkable)
    a.triggered.connect(lambda *_: slot())
    win.addAction(a)
    return a


def build_actions(win: MainWindow) -> dict[str, QAction]:
    A: dict[str, QAction] = {}
    A["open_folder"] = _act(
        win,
        "Open &folder…",
        win.open_folder_dialog,
        "Ctrl+O",
        "Open a DICOM study folder",
        "open_folder",
    )
    A["open_file"] = _act(
        win,
        "Open fi&le…",
        win.open_file_dialog,
        "Ctrl+Shift+O",
        "Open a DICOM or NIfTI file",
        "open_file",
    )
    A["open_demo"] = _act(
        win,
        "Open &demo case",
        win.open_demo,
        "Ctrl+D",
        "Open the built-in synthetic spine case",
        "demo",
    )
    from ui.mri.hook import open_mri, show_indication

    A["open_mri"] = _act(
        win, "Open &MRI…", lambda: open_mri(win), None,
        "Open an MRI of the same patient (STIR/T1) beside the CT", None)
    A["indication"] = _act(
        win, "&Indication check", lambda: show_indication(win), None,
        "Checklist of indications and contraindications (it never decides)", None)
    A["shot_view"] = _act(
        win,
        "Screenshot of active &view…",
        win.save_view_screenshot,
        "F12",
        "Save the active view as PNG (no patient identifiers)",
        "screenshot",
    )
    A["shot_window"] = _act(
        win,
        "Screenshot of &window…",
        win.save_window_screenshot,
        "Shift+F12",
        "Save the whole window as PNG (no patient identifiers)",
    )
    _output_actions(win, A)
    A["quit"] = _act(win, "&Quit", win.close, QKeySequence.StandardKey.Quit, "Quit")
    A["undo"] = win.doc.undo_stack.createUndoAction(win, "&Undo")
    A["undo"].setShortcut(QKeySequence.StandardKey.Undo)
    A["undo"].setIcon(icon("undo"))
    A["redo"] = win.doc.undo_stack.createRedoAction(win, "&Redo")
    A["redo"].setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    A["redo"].setIcon(icon("redo"))
    for k in ("undo", "redo"):
        A[k].setProperty("shortcut_label", k.capitalize())
        win.addAction(A[k])
    A["delete_measurement"] = _act(
        win, "Delete selected measurement", win.measurement_panel.delete_selected, "Del"
    )
    tools = QActionGroup(win)
    for key, text, sc, tip in (
        ("navigate", "&Navigate", "N", "Click or drag to move the linked crosshair"),
        ("window_level", "&Window/level", "W", "Drag: horizontal = width, vertical = level"),
        ("distance", "&Distance", "D", "Drag to measure a distance in mm"),
        ("angle", "&Angle", "A", "Click three points (vertex second) to measure an angle"),
    ):
        a = _act(win, text, lambda k=key: win.state.set_tool(k), sc, tip, key, checkable=True)
        tools.addAction(a)
        A[f"tool_{key}"] = a
    A["tool_navigate"].setChecked(True)
    for p in load_window_presets():
        A[f"preset_{p.key}"] = _act(
            win,
            f"{p.name} (W {p.width:.0f} / L {p.level:.0f})",
            lambda p=p: win.state.set_window_level(p.width, p.level),
            p.shortcut,
            f"Window preset: {p.name}",
        )
    A["layout_2x2"] = _act(
        win, "Layout 2×2", lambda: win.set_layout("2x2"), "F5", "Four equal views", "layout_2x2"
    )
    A["layout_1p3"] = _act(
        win,
        "Layout 1+3",
        lambda: win.set_layout("1+3"),
        "F6",
        "Active view large above the other three",
        "layout_1p3",
    )
    A["layout_1x3"] = _act(
        win,
        "Layout 1×3",
        lambda: win.set_layout("1x3"),
        "F8",
        "Axial, coronal and sagittal side by side (no 3D)",
        "layout_1x3",
    )
    A["maximise"] = _act(
        win,
        "&Maximise / restore active view",
        win.toggle_maximise,
        "F7",
        "Show only the active view, or restore the layout",
        "maximise",
    )
    A["reset"] = _act(
        win, "&Reset views", win.reset_views, "Home", "Reset zoom and pan of all views", "reset"
    )
    A["next_slice"] = _act(win, "Next slice", lambda: win.step_active(1), "PgUp")
    A["next_slice"].setShortcuts([QKeySequence("PgUp"), QKeySequence("Up")])
    A["prev_slice"] = _act(win, "Previous slice", lambda: win.step_active(-1), "PgDown")
    A["prev_slice"].setShortcuts([QKeySequence("PgDown"), QKeySequence("Down")])
    A["crosshair"] = _act(win, "Show &crosshair", win.toggle_crosshair, "X", checkable=True)
    A["crosshair"].setChecked(True)
    A["patient_info"] = _act(
        win,
        "Show &patient information",
        win.toggle_patient_info,
        None,
        "Show patient name and ID in the axial view (never in screenshots)",
        checkable=True,
    )
    A["roi_centre"] = _act(
        win,
        "3D: centre region on crosshair",
        win.views_3d_centre,
        "C",
        "Crop the 3D view around the crosshair",
        "roi",
    )
    A["surface"] = _act(
        win,
        "3D: bone surface instead of volume",
        win.toggle_surface,
        "S",
        "Iso-surface at 200 HU (decimated) instead of volume rendering",
        "surface",
        checkable=True,
    )
    A["cut_posterior"] = _act(
        win,
        "3D: cut away posterior elements",
        lambda: win.view_3d.set_cut_posterior(A["cut_posterior"].isChecked()),
        None,
        "Hide the laminae and spinous process behind the target body so the body, cement and "
        "needles stay visible from any camera",
        checkable=True,
    )
    A["cut_posterior"].setChecked(True)
    for name, sc in (
        ("ap", "Ctrl+1"),
        ("lateral", "Ctrl+2"),
        ("oblique", "Ctrl+3"),
        ("posterior", "Ctrl+4"),
    ):
        A[f"cam_{name}"] = _act(
            win, f"3D camera: {name}", lambda n=name: win.view_3d.set_camera_preset(n), sc
        )
    A["reset_panels"] = _act(
        win,
        "Reset panels",
        win.reset_panels,
        None,
        "Put every panel back in its default place for this screen",
    )
    A["shortcuts"] = _act(win, "&Shortcuts", win.show_shortcuts, "F1")
    A["about"] = _act(win, "&About", win.show_about)
    return A


def _output_actions(win: MainWindow, A: dict[str, QAction]) -> None:
    """OR sheet (print, PDF) and PACS; the behaviour lives in ui/output and ui/pacs."""
    from ui.output.orsheet import export_or_sheet, print_or_sheet
    from ui.pacs.dialog import open_pacs_dialog

    A["print"] = _act(win, "&Print OR sheet…", lambda: print_or_sheet(win),
                      QKeySequence.StandardKey.Print, "Print the OR sheet of the plan")
    A["export_orsheet"] = _act(win, "Export &OR sheet (PDF)…", lambda: export_or_sheet(win),
                               None, "Save the OR sheet of the plan as a PDF")
    A["pacs"] = _act(win, "P&ACS…", lambda: open_pacs_dialog(win), None,
                     "Find and retrieve studies on a PACS, send the plan's DICOM objects")


def _screenshot_size_menu(win: MainWindow, menu: QMenu) -> None:
    """On-screen, 2× or 1920 px wide (rendered at that size, not upsampled)."""
    from ui.shell.screenshot import SIZES

    group = QActionGroup(win)
    current = win.settings.screenshot_size()
    for key, text in SIZES.items():
        a = QAction(text, win)
        a.setCheckable(True)
        a.setChecked(key == current)
        a.triggered.connect(lambda *_, k=key: win.settings.set_screenshot_size(k))
        group.addAction(a)
        menu.addAction(a)
        win.actions_by_name[f"shot_size_{key}"] = a


def build_menus(win: MainWindow, A: dict[str, QAction]) -> None:
    """The menus; each is recorded in ``win.action_registry`` by id (features add to them by
    id, see :mod:`ui.shell.actions`)."""
    mb = win.menuBar()
    reg = win.action_registry
    m = reg.add_menu("file", mb.addMenu("&File"))
    for k in ("open_folder", "open_file", "open_demo", "open_mri"):
        m.addAction(A[k])
    win.recent_menu = reg.add_menu("file/recent", m.addMenu("Open &recent"))
    m.addAction(A["pacs"])
    m.addSeparator()
    m.addAction(A["print"])
    m.addAction(A["export_orsheet"])
    m.addSeparator()
    m.addAction(A["shot_view"])
    m.addAction(A["shot_window"])
    _screenshot_size_menu(win, m.addMenu("Screenshot &size"))
    m.addSeparator()
    m.addAction(A["quit"])
    m = reg.add_menu("edit", mb.addMenu("&Edit"))
    m.addAction(A["undo"])
    m.addAction(A["redo"])
    m.addSeparator()
    m.addAction(A["delete_measurement"])
    m = reg.add_menu("view", mb.addMenu("&View"))
    for k in ("layout_2x2", "layout_1p3", "layout_1x3", "maximise", "reset"):
        m.addAction(A[k])
    m.addSeparator()
    wl = reg.add_menu("view/window_level", m.addMenu("Window/level presets"))
    for k, a in A.items():
        if k.startswith("preset_"):
            wl.addAction(a)
    m.addAction(A["next_slice"])
    m.addAction(A["prev_slice"])
    m.addAction(A["crosshair"])
    m.addAction(A["patient_info"])
    m.addSeparator()
    m3 = reg.add_menu("view/3d", m.addMenu("3D view"))
    m3.addAction(A["roi_centre"])
    roi = reg.add_menu("view/3d/region", m3.addMenu("Region size"))
    group = QActionGroup(win)
    for size in ROI_SIZES_MM:
        a = QAction("Whole volume" if size is None else f"{size:.0f} mm cube", win)
        a.setCheckable(True)
        a.setChecked(size == 120.0)
        a.triggered.connect(lambda *_, s=size: win.set_roi_size(s))
        group.addAction(a)
        roi.addAction(a)
    m3.addAction(A["surface"])
    m3.addAction(A["cut_posterior"])
    for k in ("cam_ap", "cam_lateral", "cam_oblique", "cam_posterior"):
        m3.addAction(A[k])
    win.panels_menu = reg.add_menu("view/panels", m.addMenu("Panels"))
    win.panels_menu.addAction(A["reset_panels"])
    win.panels_menu.addSeparator()
    m = reg.add_menu("tools", mb.addMenu("&Tools"))
    for k in ("tool_navigate", "tool_window_level", "tool_distance", "tool_angle"):
        m.addAction(A[k])
    m.addSeparator()
    m.addAction(A["indication"])
    m = reg.add_menu("training", mb.addMenu("T&raining"))
    m.addAction(_act(win, "Start exercise…", lambda: _start_training(win),
                     tip="Fluoroscopy-guided needle placement exercise with scoring"))
    m = reg.add_menu("help", mb.addMenu("&Help"))
    m.addAction(A["shortcuts"])
    m.addAction(A["about"])


def build_toolbar(win: MainWindow, A: dict[str, QAction]) -> None:
    tb = QToolBar("Main")
    tb.setObjectName("main_toolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    win.addToolBar(tb)
    for k in (
        "open_folder",
        "open_file",
        "open_demo",
        None,
        "undo",
        "redo",
        None,
        "tool_navigate",
        "tool_window_level",
        "tool_distance",
        "tool_angle",
        None,
        "layout_2x2",
        "layout_1p3",
        "layout_1x3",
        "maximise",
        "reset",
        None,
        "roi_centre",
        "surface",
        "shot_view",
    ):
        if k is None:
            tb.addSeparator()
        else:
            tb.addAction(A[k])
    tb.addSeparator()
    tb.addWidget(QLabel("W"))
    win.window_spin = QSpinBox()
    win.window_spin.setRange(1, 8000)
    win.window_spin.setToolTip("Window width (HU); type a value or drag in a view with Ctrl")
    tb.addWidget(win.window_spin)
    tb.addWidget(QLabel("L"))
    win.level_spin = QSpinBox()
    win.level_spin.setRange(-2000, 4000)
    win.level_spin.setToolTip("Window level (HU)")
    tb.addWidget(win.level_spin)
    for k, a in A.items():
        if k.startswith("preset_"):
            short = a.text().split(" (")[0].split(" ")[0]
            b = QAction(short, win)
            b.setToolTip(a.toolTip() + f" ({a.shortcut().toString()})")
            b.triggered.connect(a.trigger)
            tb.addAction(b)
    win.toolbar = tb


def _start_training(win: MainWindow) -> None:
    from ui.training.start import start_exercise

    start_exercise(win)
