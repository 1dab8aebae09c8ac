"""File → Open MRI…: linked MRI views through the registration, oedema, indication in red."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.ui.demo_truth import truth_analysis

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session")
def demo_mri_dir(demo_case, tmp_path_factory):  # type: ignore[no-untyped-def]
    from planner.commands._demo_mri import write_demo_mri

    out = tmp_path_factory.mktemp("mri_ui")
    truth = write_demo_mri(demo_case, out)["truth"]
    return out, truth


@pytest.fixture
def mri_window(demo_window, demo_case, demo_mri_dir):  # type: ignore[no-untyped-def]
    from ui.mri.hook import mri_panel, open_mri
    from ui.panels.common import push_analysis

    svc = getattr(getattr(demo_window, "trajectory", None), "service", None)
    if svc is not None:
        svc.synchronous = True
    push_analysis(demo_window.doc, truth_analysis(demo_case), "Analyse spine")
    QApplication.processEvents()
    open_mri(demo_window, str(demo_mri_dir[0]), wait=True)
    panel = mri_panel(demo_window, create=False)
    assert panel is not None and set(panel.volumes) == {"stir", "t1"}
    return demo_window, panel


def _column(table, col):  # type: ignore[no-untyped-def]
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_open_mri_is_in_the_file_menu(make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    file_menu = win.menuBar().actions()[0].menu()
    assert "Open &MRI…" in [a.text() for a in file_menu.actions()]
    assert "open_mri" in win.actions_by_name


def test_register_views_levels_and_indication(mri_window, demo_case, demo_mri_dir, qtbot) -> None:  # type: ignore[no-untyped-def]
    from planner.mri.rigid import RigidTransform

    win, panel = mri_window
    # before the registration the MRI views navigate on their own: a click re-centres them
    sag = panel.views["sagittal"]
    before, old = win.state.cursor_lps, sag.plane.centre_lps.copy()
    qtbot.mouseClick(sag, Qt.MouseButton.LeftButton, pos=QPoint(sag.width() // 2 + 20,
                                                                 sag.height() // 2))
    moved = sag.plane.centre_lps - old  # right of the centre = posterior on a sagittal view
    assert moved[1] > 2.0 and abs(moved[0]) < 1e-6 and abs(moved[2]) < 1.0
    assert np.array_equal(win.state.cursor_lps, before)  # the CT crosshair did not move
    assert panel.last_mri_click is not None
    panel.register(wait=True)
    assert panel.result is not None
    truth = RigidTransform.from_json(demo_mri_dir[1]["transform_ct_to_mri"])
    # the levels table: oedema marked, numbers shown
    assert _column(panel.levels, 0) == ["T11", "T12", "L1", "L2", "L3"]
    mri_col = _column(panel.levels, 1)
    assert mri_col[2] == "oedema" and mri_col[1] == "no oedema"
    assert float(_column(panel.levels, 2)[2]) > 2.0
    # the same crosshair: the CT cursor on L1's centre puts the MRI planes on L1 in the MRI
    l1 = np.asarray(demo_case.truth.level("L1").centroid_lps)
    win.state.set_cursor(l1)
    QApplication.processEvents()
    sag = panel.views["sagittal"]
    assert np.linalg.norm(sag.plane.centre_lps - truth.apply(l1)) < 1.0
    names = [n for n, _, _ in sag.labels]
    assert names == ["T11", "T12", "L1", "L2", "L3"]
    # a click in the MRI view moves the CT crosshair through the inverse registration
    target_mri = truth.apply(np.asarray(demo_case.truth.level("L2").centroid_lps))
    col, row, _ = sag.plane.to_pixel(target_mri)
    pos = sag._to_screen(col, row)
    qtbot.mouseClick(sag, Qt.MouseButton.LeftButton, pos=QPoint(int(pos.x()), int(pos.y())))
    ct_l2 = np.asarray(demo_case.truth.level("L2").centroid_lps)
    assert np.linalg.norm(win.state.cursor_lps - ct_l2)[()] < 3.0
    img = sag.grab().toImage()
    assert img.pixelColor(img.width() // 3, img.height() // 2).value() > 0


def test_level_without_oedema_or_contraindication_is_red(mri_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ui.mri.tables import RED

    win, panel = mri_window
    panel.register(wait=True)
    win.planning.levels.set_target("T12")
    QApplication.processEvents()
    assert panel.indication().flagged_levels() == {"T12": ["no bone-marrow oedema on MRI"]}
    assert panel.levels.item(1, 0).foreground().color() == RED
    main_table = win.planning.levels.table  # the workstation's levels table: marked, red
    assert main_table.item(1, 0).text() == "T12 · no oedema"
    assert main_table.item(1, 0).foreground().color() == RED
    assert main_table.item(2, 0).text() == "L1 · oedema"
    # the restoration model's acuity follows the MRI, one undo step, source stated
    assert win.doc.plan.clinical.acuity == "chronic"
    assert "MRI" in win.doc.undo_stack.undoText()
    assert "source: MRI" in panel.acuity_label.text()
    assert "T12" in panel.summary.text()
    win.planning.levels.set_target("L1")
    QApplication.processEvents()
    assert panel.indication().flagged_levels() == {}
    assert win.doc.plan.clinical.acuity == "acute"
    box = panel.checklist.cellWidget(
        [panel.checklist.item(r, 0).text() for r in range(panel.checklist.rowCount())].index(
            "Pregnancy (fluoroscopy)?"), 1)
    box.setCurrentText("yes")
    assert panel.indication().contraindications_present == ["pregnancy"]
    assert panel.levels.item(2, 0).foreground().color() == RED
    # the report's first section states the check, L1 in red
    path = win.planning.export_report(str(tmp_path / "r.html"), False)
    text = open(path, encoding="utf-8").read()
    first = text.index("<h2>")
    assert text[first:].startswith("<h2>Indication check</h2>")
    assert "does not decide" in text and "Level L1: contraindication: pregnancy" in text
    assert "STIR ×" in text
    # another CT: the MRI and its marks go
    panel.clear()
    assert panel.result is None and win.planning.levels.marks == {}
    assert win.planning.levels.table.item(2, 0).text() == "L1"


def _box(panel, item_id):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QComboBox

    box = panel.checklist.findChild(QComboBox, f"answer_{item_id}")
    assert box is not None
    return box


def _status(panel, item_id):  # type: ignore[no-untyped-def]
    from planner.indication import ITEMS

    row = [it.item_id for it in ITEMS].index(item_id)
    return panel.checklist.item(row, 2).text()


def test_answers_live_in_the_case_one_undo_step_each(demo_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from ui.mri.hook import mri_panel

    win = demo_window
    panel = mri_panel(win)
    stack = win.doc.undo_stack
    n0 = stack.count()
    _box(panel, "infection").setCurrentText("yes")
    assert win.doc.case.plan.indication == (("infection", "yes"),)
    assert stack.count() == n0 + 1 and "infection" in stack.undoText()
    assert panel.indication().contraindications_present == ["infection"]
    assert _status(panel, "infection") == "present"
    _box(panel, "infection").setCurrentText("no")
    assert stack.count() == n0 + 2 and win.doc.case.plan.indication == (("infection", "no"),)
    # a typed number: one step when the typing ends, not one per key
    line = _box(panel, "pain_weeks").lineEdit()
    line.selectAll()  # the box shows "unknown": typing replaces it
    qtbot.keyClicks(line, "12")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert stack.count() == n0 + 3
    assert dict(win.doc.case.plan.indication) == {"infection": "no", "pain_weeks": "12"}
    # a text the item does not take: refused with a message, nothing pushed, box shows the case
    line.setText("soon")
    line.editingFinished.emit()
    assert stack.count() == n0 + 3 and "number" in panel.summary.text()
    assert _box(panel, "pain_weeks").currentText() == "12"
    # undo puts the previous answers back in the boxes and the status column
    stack.undo()
    assert _box(panel, "pain_weeks").currentText() == "unknown"
    stack.undo()
    assert _box(panel, "infection").currentText() == "yes"
    assert panel.indication().contraindications_present == ["infection"]
    stack.undo()
    assert _box(panel, "infection").currentText() == "unknown"
    assert win.doc.case.plan.indication == () and _status(panel, "infection") == "unknown"
    assert stack.count() == n0 + 3  # undo pushed nothing
    stack.redo()
    assert _box(panel, "infection").currentText() == "yes"
    # "unknown" forgets the answer: one step; again "unknown": no step
    _box(panel, "infection").setCurrentText("unknown")
    assert win.doc.case.plan.indication == () and stack.count() == n0 + 2
    panel.set_answer("infection", "unknown")
    assert stack.count() == n0 + 2


def test_answers_are_saved_and_reopened_with_the_plan(  # type: ignore[no-untyped-def]
    demo_window, make_window, qtbot, tmp_path, monkeypatch, truth_runs
) -> None:
    import ui.document.plan_io
    from planner.session import edit
    from ui.mri.hook import mri_panel

    win = demo_window
    win.trajectory.service.synchronous = True
    win.doc.push_case(edit.add_level(win.doc.case, "L1"), "Add L1")
    panel = mri_panel(win)
    _box(panel, "pregnancy").setCurrentText("yes")
    _box(panel, "pain_at_level").setCurrentText("yes")
    path = tmp_path / "plan.json"
    monkeypatch.setattr(ui.document.plan_io, "ask_save_path", lambda parent, start: str(path))
    win.trajectory.actions["save_plan"].trigger()
    assert path.is_file() and not win.doc.is_modified
    win.close()

    win2 = make_window()
    win2.trajectory.service.synchronous = True
    with qtbot.waitSignal(win2.doc.volume_changed, timeout=60000):
        win2.actions_by_name["open_demo"].trigger()
    qtbot.waitUntil(lambda: win2.opener.task is None, timeout=10000)
    panel2 = mri_panel(win2)  # open before the plan: it follows the document
    assert _box(panel2, "pregnancy").currentText() == "unknown"
    monkeypatch.setattr(ui.document.plan_io, "ask_open_path", lambda parent, start: str(path))
    win2.trajectory.actions["open_plan"].trigger()
    qtbot.waitUntil(lambda: bool(win2.doc.case and win2.doc.case.levels), timeout=60000)
    assert dict(win2.doc.case.plan.indication) == {"pregnancy": "yes", "pain_at_level": "yes"}
    assert _box(panel2, "pregnancy").currentText() == "yes"
    assert _box(panel2, "pain_at_level").currentText() == "yes"
    assert panel2.indication().contraindications_present == ["pregnancy"]
    assert "pregnancy" in panel2.summary.text()
    report = win2.planning.export_report(str(tmp_path / "r.html"), False)
    text = open(report, encoding="utf-8").read()
    first = text.index("<h2>")
    assert text[first:].startswith("<h2>Indication check</h2>")
    section = text[first:text.index("<h2>", first + 1)]
    assert "Level L1: contraindication: pregnancy" in section
    assert "<tr><td>Pregnancy (fluoroscopy)?</td><td>yes</td>" in section
    # undoing the reopening empties the boxes again
    win2.doc.undo_stack.undo()
    assert _box(panel2, "pregnancy").currentText() == "unknown"


def test_answers_the_checklist_does_not_take_are_left_out() -> None:
    from ui.mri.tables import valid_answers

    got = valid_answers((("pregnancy", "yes"), ("nonsense", "x"), ("pain_weeks", "soon"),
                         ("pain_weeks", "4")))
    assert got == (("pregnancy", "yes"), ("pain_weeks", "4"))
