"""File → Export OR sheet (PDF), File → Print… (into a PDF printer) and the PACS dialog."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.ui.test_estimates_panel import demo_trajectories
from tests.ui.trajectory_helpers import planning_window  # noqa: F401


@pytest.fixture
def planned_window(planning_window, demo_case):  # type: ignore[no-untyped-def]  # noqa: F811
    win = planning_window
    win.planning.controller.enabled = False
    from planner.plan.model import Plan, SeriesBinding

    vol = win.doc.volume
    plan = win.doc.plan or Plan(SeriesBinding(vol.series_uid, vol.grid.fingerprint()), "L1")
    for t in demo_trajectories(demo_case):
        plan = plan.with_trajectory(t)
    win.doc.push_plan(replace(plan, level="L1"), "needles")
    QApplication.processEvents()
    return win


@pytest.mark.gui
def test_export_and_print_same_pages(planned_window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtPrintSupport import QPrinter

    import ui.output.orsheet as orsheet

    win = planned_window
    out = tmp_path / "sheet.pdf"
    monkeypatch.setattr(orsheet, "ask_pdf_path", lambda parent, folder, name: (str(out), False))
    win.actions_by_name["export_orsheet"].trigger()
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Subtype /Image") >= 8
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setFullPage(True)
    pages = orsheet.print_or_sheet(win, printer)
    assert pages == 2  # the level page and the summary page, as in the PDF
    assert (tmp_path / "printed.pdf").stat().st_size > 100_000


def test_default_folder_is_the_study_or_documents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ui.output.orsheet import default_output_dir

    study = tmp_path / "study"
    study.mkdir()
    assert default_output_dir(str(study)) == study
    assert default_output_dir(str(study / "CT1.dcm")) == study
    assert default_output_dir("") != tmp_path


@pytest.mark.gui
def test_pacs_dialog_lists_servers_and_names_errors(qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from planner.pacs.config import LocalAE, PacsConfig, PacsServer, save_config
    from tests.orthanc_server import free_port
    from ui.pacs.dialog import PacsDialog

    cfg = tmp_path / "pacs.json"
    save_config(
        PacsConfig(
            LocalAE("VAPTEST", timeout_s=3),
            (PacsServer("nowhere", "127.0.0.1", free_port(), "NOBODY"),),
        ),
        cfg,
    )
    errors: list[str] = []

    class Win:
        pass

    dlg = PacsDialog(None, str(cfg))
    dlg.win = Win()
    qtbot.addWidget(dlg)
    monkeypatch.setattr(dlg, "_error", lambda text: errors.append(text))
    dlg.bridge.failed.disconnect()
    dlg.bridge.failed.connect(dlg._error)
    assert dlg.server.count() == 1 and dlg.server.currentText() == "nowhere"
    dlg.echo()
    qtbot.waitUntil(lambda: bool(errors), timeout=15000)
    assert "PACS 'nowhere'" in errors[0] and "did not answer" in errors[0]


@pytest.mark.gui
def test_pacs_dialog_search_retrieve_open_against_orthanc(qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Search studies, list series, retrieve with progress and hand the folder to the window."""
    from planner.cli import main
    from planner.pacs import client
    from planner.pacs.config import LocalAE, PacsConfig, PacsServer, save_config
    from tests.orthanc_server import ORTHANC, PLANNER_AET, SERVER_AET, OrthancServer
    from ui.pacs import dialog as pacs_dialog

    if ORTHANC is None:
        pytest.skip("Orthanc is not installed (Debian package 'orthanc')")
    assert main(["demo", str(tmp_path / "demo")]) == 0
    files = sorted((tmp_path / "demo" / "dicom").glob("*.dcm"))
    monkeypatch.setattr("planner.pacs.config.DEFAULT_CACHE", tmp_path / "cache")
    with OrthancServer(tmp_path / "orthanc") as orth:
        server = PacsServer("ward PACS", "127.0.0.1", orth.port, SERVER_AET)
        local = LocalAE(PLANNER_AET, timeout_s=120)
        client.send(server, local, files)
        cfg = tmp_path / "pacs.json"
        save_config(PacsConfig(local, (server,)), cfg)
        opened: list[str] = []

        class Win:
            def open_path(self, path: str) -> None:
                opened.append(path)

        dlg = pacs_dialog.PacsDialog(None, str(cfg))
        dlg.win = Win()
        qtbot.addWidget(dlg)
        dlg.patient_id.setText("DEMO-0")
        dlg.search()
        qtbot.waitUntil(lambda: dlg.studies.rowCount() == 1, timeout=60000)
        assert dlg.studies.item(0, 1).text() == "DEMO-0"
        dlg.studies.selectRow(0)
        qtbot.waitUntil(lambda: dlg.series.rowCount() == 1, timeout=60000)
        dlg.series.selectRow(0)
        dlg.retrieve()
        qtbot.waitUntil(lambda: bool(opened), timeout=120000)
        assert dlg.bar.value() == dlg.bar.maximum() or dlg.bar.maximum() >= 1
        assert len(list(Path(opened[0]).glob("*.dcm"))) == len(files)
        assert f"{len(files)} object(s) retrieved" in dlg.status.text()


@pytest.mark.gui
def test_pacs_dialog_sends_the_plan_objects(planned_window, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Send plan objects: SR, SEG, PDF (and the generated CT of an in-memory study) arrive."""
    from planner.pacs import client
    from planner.pacs.config import LocalAE, PacsConfig, PacsServer, save_config
    from tests.orthanc_server import ORTHANC, PLANNER_AET, SERVER_AET, OrthancServer
    from ui.pacs.dialog import PacsDialog

    if ORTHANC is None:
        pytest.skip("Orthanc is not installed (Debian package 'orthanc')")
    with OrthancServer(tmp_path / "orthanc") as orth:
        server = PacsServer("ward PACS", "127.0.0.1", orth.port, SERVER_AET)
        local = LocalAE(PLANNER_AET, timeout_s=120)
        cfg = tmp_path / "pacs.json"
        save_config(PacsConfig(local, (server,)), cfg)
        dlg = PacsDialog(planned_window, str(cfg))
        qtbot.addWidget(dlg)
        dlg.send_plan()
        qtbot.waitUntil(lambda: "sent to ward PACS" in dlg.status.text(), timeout=300000)
        series = client.find(server, local, "series", {"StudyInstanceUID": ""})
        assert sorted(s["Modality"] for s in series) == ["CT", "DOC", "SEG", "SR"]
