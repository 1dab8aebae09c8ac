"""File → PACS…: find a study on a PACS, retrieve and open it, send the plan's DICOM objects.

Servers and the planner's AE title live in the PACS settings file
(:mod:`planner.pacs.config`); the dialog edits them. Network operations run on a worker
thread; results, progress and errors come back through Qt signals (queued to the GUI thread).
Errors name the server and the DICOM status; nothing about the AEs is logged.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

STUDY_COLUMNS = (
    "PatientName",
    "PatientID",
    "StudyDate",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
)
SERIES_COLUMNS = ("SeriesNumber", "Modality", "SeriesDescription", "NumberOfSeriesRelatedInstances")


class _Bridge(QObject):
    done = Signal(object, object)  # callback, result
    failed = Signal(str)
    progress = Signal(int, int)


class PacsDialog(QDialog):
    """Search fields, server choice, study and series tables, retrieve/cancel, send."""

    def __init__(self, win: Any, config_path: str | None = None) -> None:
        super().__init__(win)
        from planner.pacs.config import load_config

        self.win = win
        self.config_path = config_path
        self.config = load_config(config_path)
        self.cancel = threading.Event()
        self.bridge = _Bridge()
        self.bridge.done.connect(lambda cb, res: cb(res))
        self.bridge.failed.connect(self._error)
        self.bridge.progress.connect(self._progress)
        self.setWindowTitle("PACS")
        self.resize(900, 600)
        self._build()

    # --- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.server = QComboBox()
        self._fill_servers()
        top.addWidget(QLabel("Server"))
        top.addWidget(self.server, 1)
        edit = QPushButton("Servers…")
        edit.clicked.connect(self.edit_servers)
        top.addWidget(edit)
        echo = QPushButton("Test (C-ECHO)")
        echo.clicked.connect(self.echo)
        top.addWidget(echo)
        lay.addLayout(top)
        form = QFormLayout()
        self.patient_id = QLineEdit()
        self.patient_name = QLineEdit()
        self.date = QLineEdit()
        self.date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.accession = QLineEdit()
        for label, w in (
            ("Patient ID", self.patient_id),
            ("Patient name", self.patient_name),
            ("Study date", self.date),
            ("Accession", self.accession),
        ):
            form.addRow(label, w)
        lay.addLayout(form)
        search = QPushButton("Search studies")
        search.clicked.connect(self.search)
        lay.addWidget(search)
        self.studies = self._table(STUDY_COLUMNS)
        self.studies.itemSelectionChanged.connect(self.load_series)
        lay.addWidget(self.studies, 2)
        self.series = self._table(SERIES_COLUMNS)
        lay.addWidget(self.series, 1)
        bottom = QHBoxLayout()
        self.bar = QProgressBar()
        self.status = QLabel("")
        self.retrieve_btn = QPushButton("Retrieve and open")
        self.retrieve_btn.clicked.connect(self.retrieve)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel.set)
        self.send_btn = QPushButton("Send plan objects")
        self.send_btn.setToolTip("Export the plan as SR, SEG and OR sheet PDF and store them")
        self.send_btn.clicked.connect(self.send_plan)
        for w in (self.bar, self.status):
            bottom.addWidget(w, 1)
        for w in (self.retrieve_btn, self.cancel_btn, self.send_btn):
            bottom.addWidget(w)
        lay.addLayout(bottom)

    @staticmethod
    def _table(cols: tuple[str, ...]) -> QTableWidget:
        t = QTableWidget(0, len(cols))
        t.setHorizontalHeaderLabels(cols)
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        t.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        return t

    def _fill_servers(self) -> None:
        self.server.clear()
        for s in self.config.servers:
            self.server.addItem(s.name)

    # --- helpers ----------------------------------------------------------------------
    def _target(self) -> tuple[Any, Any]:
        from planner.errors import InputError

        if not self.config.servers:
            raise InputError("no PACS server configured: add one with Servers…")
        return self.config.server(self.server.currentText()), self.config.local

    def _run(self, what: str, job: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Run ``job`` on a worker thread; ``then(result)`` on the GUI thread."""
        from planner.errors import PlannerError

        self.status.setText(what + "…")
        self.cancel.clear()
        self.cancel_btn.setEnabled(True)

        def work() -> None:
            try:
                res = job()
            except PlannerError as exc:
                self.bridge.failed.emit(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed
                self.bridge.failed.emit(f"{what}: {type(exc).__name__}: {exc}")
                return
            self.bridge.done.emit(then, res)

        self.worker = threading.Thread(target=work, daemon=True)
        self.worker.start()

    def _error(self, text: str) -> None:
        self.cancel_btn.setEnabled(False)
        self.status.setText("failed")
        QMessageBox.warning(self, "PACS", text)

    def _progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(done)

    def _ok(self, text: str) -> None:
        self.cancel_btn.setEnabled(False)
        self.status.setText(text)

    # --- actions ----------------------------------------------------------------------
    def echo(self) -> None:
        from planner.pacs import client

        server, local = self._target()
        self._run(
            "C-ECHO",
            lambda: client.echo(server, local),
            lambda r: self._ok(f"{r['server']}: echo OK"),
        )

    def search(self) -> None:
        from planner.pacs import client

        server, local = self._target()
        f = {
            "PatientID": self.patient_id.text().strip(),
            "PatientName": self.patient_name.text().strip(),
            "StudyDate": self.date.text().strip(),
            "AccessionNumber": self.accession.text().strip(),
        }
        self._run("Searching", lambda: client.find(server, local, "study", f), self._show_studies)

    def _fill(
        self, table: QTableWidget, rows: list[dict[str, Any]], cols: tuple[str, ...], key: str
    ) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, name in enumerate(cols):
                v = row.get(name, "")
                item = QTableWidgetItem(", ".join(v) if isinstance(v, list) else str(v))
                if c == 0:
                    item.setData(256, row.get(key, ""))
                table.setItem(r, c, item)
        table.resizeColumnsToContents()

    def _show_studies(self, rows: list[dict[str, Any]]) -> None:
        self._fill(self.studies, rows, STUDY_COLUMNS, "StudyInstanceUID")
        self.series.setRowCount(0)
        self._ok(f"{len(rows)} study(ies)")

    def _selected(self, table: QTableWidget) -> str | None:
        rows = table.selectionModel().selectedRows() if table.selectionModel() else []
        if not rows:
            return None
        item = table.item(rows[0].row(), 0)
        return None if item is None else str(item.data(256))

    def load_series(self) -> None:
        from planner.pacs import client

        study = self._selected(self.studies)
        if not study:
            return
        server, local = self._target()
        self._run(
            "Listing series",
            lambda: client.find(server, local, "series", {"StudyInstanceUID": study}),
            lambda rows: (
                self._fill(self.series, rows, SERIES_COLUMNS, "SeriesInstanceUID"),
                self._ok(f"{len(rows)} series"),
            ),
        )

    def retrieve(self) -> None:
        from planner.errors import InputError
        from planner.pacs import client
        from planner.pacs.config import DEFAULT_CACHE

        study = self._selected(self.studies)
        if not study:
            raise InputError("select a study first")
        series = self._selected(self.series)
        server, local = self._target()
        self._run(
            "Retrieving",
            lambda: client.get(
                server, local, study, series, DEFAULT_CACHE, self.bridge.progress.emit, self.cancel
            ),
            self._opened,
        )

    def _opened(self, res: dict[str, Any]) -> None:
        bad = len(res.get("bad_files", []))
        self._ok(f"{res['received']} object(s) retrieved" + (f", {bad} unreadable" if bad else ""))
        if res["received"]:
            self.win.open_path(res["folder"])

    def send_plan(self) -> None:
        from planner.dicom_objects.export import export_dicom
        from planner.orsheet.build import LoadedCase
        from planner.orsheet.pdf import pdf_bytes
        from planner.pacs import client
        from ui.output.orsheet import sheet_for_document

        server, local = self._target()
        doc = self.win.doc
        sheet = sheet_for_document(doc, getattr(self.win.planning, "controller", None), False)
        case = LoadedCase(doc.volume, (), sheet.content.levels)
        out = Path(tempfile.mkdtemp(prefix="plan-dicom-"))

        def job() -> dict[str, Any]:
            res = export_dicom(case, sheet.content, pdf_bytes(sheet), doc.source_path, out)
            files = [Path(f) for f in res["files"].values()]
            if res["ct_folder"]:  # the CT had no DICOM files: its generated series goes too
                files = sorted(Path(res["ct_folder"]).glob("*.dcm")) + files
            return client.send(server, local, files, self.bridge.progress.emit)

        self._run(
            "Sending", job, lambda r: self._ok(f"{r['sent']} object(s) sent to {r['server']}")
        )

    def edit_servers(self) -> None:
        dlg = ServersDialog(self, self.config)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.result_config is not None:
            from planner.pacs.config import save_config

            self.config = dlg.result_config
            save_config(self.config, self.config_path)
            self._fill_servers()


class ServersDialog(QDialog):
    """Add or replace one server and set the planner's AE title."""

    def __init__(self, parent: QWidget, config: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS servers")
        self.config = config
        self.result_config: Any = None
        form = QFormLayout(self)
        self.local = QLineEdit(config.local.ae_title)
        self.name = QLineEdit()
        self.host = QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(104)
        self.aec = QLineEdit()
        self.known = QLabel(", ".join(s.name for s in config.servers) or "none")
        for label, w in (
            ("This planner's AE title", self.local),
            ("Known servers", self.known),
            ("Server name", self.name),
            ("Host", self.host),
            ("Port", self.port),
            ("Server AE title", self.aec),
        ):
            form.addRow(label, w)
        row = QHBoxLayout()
        save = QPushButton("Save")
        save.clicked.connect(self._save)
        remove = QPushButton("Remove server")
        remove.clicked.connect(self._remove)
        row.addWidget(save)
        row.addWidget(remove)
        form.addRow(row)

    def _save(self) -> None:
        from dataclasses import replace

        from planner.errors import PlannerError
        from planner.pacs.config import LocalAE, PacsConfig, PacsServer

        try:
            local = LocalAE(
                self.local.text(), self.config.local.store_port, self.config.local.timeout_s
            )
            servers = [s for s in self.config.servers if s.name != self.name.text().strip()]
            if self.name.text().strip():
                servers.append(
                    PacsServer(
                        self.name.text().strip(),
                        self.host.text().strip(),
                        self.port.value(),
                        self.aec.text(),
                    )
                )
        except PlannerError as exc:
            QMessageBox.warning(self, "PACS servers", str(exc))
            return
        self.result_config = replace(PacsConfig(local, tuple(servers)))
        self.accept()

    def _remove(self) -> None:
        from planner.pacs.config import PacsConfig

        name = self.name.text().strip()
        self.result_config = PacsConfig(
            self.config.local, tuple(s for s in self.config.servers if s.name != name)
        )
        self.accept()


def open_pacs_dialog(win: Any) -> PacsDialog:
    dlg = PacsDialog(win)
    dlg.show()
    return dlg
