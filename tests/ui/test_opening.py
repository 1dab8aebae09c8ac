"""Opening studies: every CT in the shared data, load errors, cancel, drag and drop, recent."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QPushButton

from planner.errors import CorruptFileError
from tests.ui.conftest import synthetic_volume

pytestmark = pytest.mark.gui

SHARED_CTS = [
    "totalseg_example/example_ct.nii.gz",
    "totalseg_example/example_ct_dicom",
    "tptbox_l3/sub-ct_label-22_ct.nii.gz",
    "dicom_gantry_tilt_ge/GE",
    "dicom_pydicom_edge_cases/CT_small.dcm",
    "dicom_pydicom_edge_cases/eCT_Supplemental.dcm",
]


def open_and_wait(win, qtbot, path, timeout=60000):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.opener.study_opened, timeout=timeout):
        win.open_path(str(path))
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=5000)


@pytest.mark.parametrize("rel", SHARED_CTS)
def test_each_shared_ct_opens_and_shows_in_every_view(
    make_window, qtbot, shared_data, dialogs, rel
) -> None:  # type: ignore[no-untyped-def]
    from planner.loading import load_path

    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"{path} not present")
    win = make_window((1000, 700))
    open_and_wait(win, qtbot, path)
    vol = win.doc.volume
    expected = load_path(path).volume
    assert vol.shape_kji == expected.shape_kji
    assert np.array_equal(vol.hu, expected.hu)
    assert win.settings.recent()[0] == str(path)
    cursor = win.state.cursor_lps
    assert (
        win.hu_label.text() == f"HU {vol.value_at_lps(cursor)}" or vol.value_at_lps(cursor) is None
    )
    for view in win.slice_views.values():
        info = view.pipeline.slice_info()
        assert 0 <= info.index < info.count
        assert view.pipeline.image_slice.GetVisibility() == 1
    letters = win.slice_views["axial"].pipeline.edge_letters()
    assert (letters["left"], letters["right"]) == ("R", "L")


def test_load_error_shows_the_message_and_keeps_the_study(
    make_window, qtbot, tmp_path, dialogs
) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    vol = synthetic_volume()
    win.doc.set_study(vol, (), "test:")
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a nifti file at all")
    task_done = []
    win.open_path(str(bad))
    qtbot.waitUntil(
        lambda: win.opener.task is None and (task_done.append(1) or True), timeout=30000
    )
    assert win.doc.volume is vol
    assert len(dialogs["errors"]) == 1
    level, text = dialogs["errors"].pop()
    assert level == "warning" and "broken.nii.gz" in text


def test_cancelling_a_load_leaves_the_previous_study_intact(
    make_window, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import ui.document.study_open

    win = make_window()
    vol = synthetic_volume()
    win.doc.set_study(vol, (), "test:")
    started = threading.Event()

    class SlowLoader:
        @staticmethod
        def scan_path(path, progress):  # type: ignore[no-untyped-def]
            started.set()
            for i in range(2000):
                progress.update(i / 2000, f"Reading header {i}")
                threading.Event().wait(0.005)
            raise AssertionError("the scan should have been cancelled")

    monkeypatch.setattr(ui.document.study_open, "_facade", lambda: SlowLoader)
    task = win.opener.open_path("/somewhere/a_big_study")
    assert started.wait(10)
    with qtbot.waitSignal(task.cancelled, timeout=10000):
        task.dialog.findChild(QPushButton).click()  # the Cancel button of the progress dialog
    assert win.doc.volume is vol
    assert win.slice_views["axial"].pipeline.grid is vol.grid
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=5000)


def test_failed_loader_raises_corrupt_file_dialog(make_window, qtbot, monkeypatch, dialogs) -> None:  # type: ignore[no-untyped-def]
    import ui.document.study_open

    class BrokenLoader:
        @staticmethod
        def scan_path(path, progress):  # type: ignore[no-untyped-def]
            raise CorruptFileError("slice 12 is truncated; export the series again.", path=path)

    monkeypatch.setattr(ui.document.study_open, "_facade", lambda: BrokenLoader)
    win = make_window()
    win.open_path("/data/study")
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)
    assert win.doc.volume is None
    ((level, text),) = dialogs["errors"]
    dialogs["errors"].clear()
    assert "slice 12 is truncated" in text and "/data/study" in text


def test_drop_a_file_opens_it(make_window, qtbot, shared_data) -> None:  # type: ignore[no-untyped-def]
    path = shared_data / "tptbox_l3" / "sub-ct_label-22_ct.nii.gz"
    win = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(win.opener.study_opened, timeout=30000):
        win.dropEvent(ev)
    assert win.doc.volume.shape_kji == (73, 47, 73) or win.doc.volume is not None
    assert Path(win.settings.recent()[0]) == path
    assert win.recent_menu.actions()[0].text() == str(path)


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    """Inputs the command line refuses, one of each kind."""
    import pydicom

    from tests.planner.dicom_factory import write_series

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    out: dict[str, Path] = {"non_dicom_file": text}
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.pdf").write_bytes(b"%PDF-1.4")
    out["folder_without_images"] = empty
    for name, spacing in (("nan_spacing", r"nan\nan"), ("negative_spacing", r"-0.7\-0.7")):
        s = write_series(tmp_path / name, n=4, rows=16, cols=16)
        for p in s.paths:
            ds = pydicom.dcmread(p)
            ds.PixelSpacing = spacing
            ds.save_as(p, enforce_file_format=True)
        out[name] = tmp_path / name
    nifti = tmp_path / "singular.nii"
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4), np.int16), np.eye(4)), str(nifti))
    raw = bytearray(nifti.read_bytes())
    raw[280:328] = np.zeros(12, "<f4").tobytes()  # sform rows all zero: a singular affine
    raw[252:256] = np.array([0, 1], "<i2").tobytes()  # qform_code 0, sform_code 1
    nifti.write_bytes(bytes(raw))
    out["singular_nifti"] = nifti
    return out


@pytest.mark.parametrize(
    "kind",
    [
        "non_dicom_file",
        "folder_without_images",
        "nan_spacing",
        "negative_spacing",
        "singular_nifti",
    ],
)
@pytest.mark.parametrize("route", ["open", "drop", "recent"])  # the command line: open_path too
def test_every_open_path_refuses_bad_input_with_a_message_and_keeps_the_study(
    make_window, qtbot, tmp_path, dialogs, kind, route
) -> None:  # type: ignore[no-untyped-def]
    path = _bad_inputs(tmp_path)[kind]
    win = make_window()
    vol = synthetic_volume()
    win.doc.set_study(vol, (), "test:")
    if route == "open":
        win.open_path(str(path))
    elif route == "drop":
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        win.dropEvent(
            QDropEvent(
                QPointF(50, 50),
                Qt.DropAction.CopyAction,
                mime,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
        )
    elif route == "recent":
        win.settings.add_recent(str(path))
        win._refresh_recent_menu()
        win.recent_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: bool(dialogs["errors"]), timeout=30000)
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)
    assert win.doc.volume is vol and win.slice_views["axial"].pipeline.grid is vol.grid
    assert not dialogs["series"], "an empty or useless series chooser was shown"
    ((level, text),) = dialogs["errors"]
    dialogs["errors"].clear()
    assert level == "warning", text  # a planner message, not an unexpected error
    assert path.name in text


def test_unexpected_error_while_showing_a_study_keeps_the_previous_one(
    make_window, qtbot, tmp_path, dialogs, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.planner.dicom_factory import write_series

    write_series(tmp_path / "ok", n=4, rows=16, cols=16)
    win = make_window()
    vol = synthetic_volume()
    win.doc.set_study(vol, (), "test:")

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated fault in the views")

    monkeypatch.setattr(win.opener, "_replace_study", broken)
    win.open_path(str(tmp_path / "ok"))
    qtbot.waitUntil(lambda: bool(dialogs["errors"]), timeout=30000)
    qtbot.waitUntil(lambda: win.opener.task is None, timeout=10000)
    assert win.doc.volume is vol
    ((level, text),) = dialogs["errors"]
    dialogs["errors"].clear()
    assert level == "critical" and "unchanged" in text
