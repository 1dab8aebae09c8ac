"""DICOM networking with pynetdicom: C-ECHO, C-FIND, C-GET into a local cache, C-STORE.

Retrieval uses C-GET: the images come back on the planner's own association, so the planner
never listens on a port (no storage SCP is needed, nothing is open to the network). What
arrives is accepted only for the storage classes the planner can use (CT/MR images, SEG, SR,
PDF, secondary capture), stored under a name derived from its SOP Instance UID (never from
anything else the sender chose), and the retrieved folder is then scanned like any other input
(:func:`planner.dicom.scan.scan_headers`) before it is opened.

Errors name the server (by its configured name) and the DICOM status; AE titles, hosts and
patient identifiers never go to the log (pynetdicom's own logger is kept at WARNING).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from planner.errors import Cancelled, InputError, PlannerError
from planner.pacs.config import LocalAE, PacsServer

log = logging.getLogger(__name__)
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # its messages name AEs

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
)
VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
FIND_KEYS = {
    "PATIENT": (
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
    "STUDY": (
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyDescription",
        "AccessionNumber",
        "ModalitiesInStudy",
        "PatientID",
        "PatientName",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ),
    "SERIES": (
        "SeriesInstanceUID",
        "StudyInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
    ),
}
Progress = Callable[[int, int], None]


class PacsError(PlannerError):
    """A DICOM network operation failed; the message names the server and the status."""


def _status_text(code: int) -> str:
    from pynetdicom.status import code_to_category

    return f"status 0x{code:04X} ({code_to_category(code)})"


def _transfer_syntaxes() -> list[str]:
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGLosslessSV1,
        JPEGLSLossless,
        RLELossless,
    )

    return [
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGLosslessSV1,
        JPEGLSLossless,
        RLELossless,
    ]


class _Session:
    """One association with a server (context manager); releases or aborts on exit."""

    def __init__(
        self,
        server: PacsServer,
        local: LocalAE,
        contexts: Iterable[str],
        roles: Iterable[str] = (),
        handlers: list[Any] | None = None,
    ) -> None:
        from pynetdicom import AE, build_role

        self.server = server
        ae = AE(ae_title=local.ae_title)
        ae.maximum_pdu_size = 0
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = local.timeout_s
        for c in contexts:
            ae.add_requested_context(c, _transfer_syntaxes())
        ext: list[Any] = [build_role(r, scp_role=True) for r in roles]
        self.assoc = ae.associate(
            server.host,
            int(server.port),
            ae_title=server.ae_title,
            ext_neg=ext or None,
            evt_handlers=handlers or [],
        )
        if not self.assoc.is_established:
            raise PacsError(f"PACS '{server.name}' {_refusal(self.assoc, server, local)}")

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.assoc.is_established:
            if exc[0] is None:
                self.assoc.release()
            else:
                self.assoc.abort()

    def fail(self, op: str, status: Dataset | None) -> PacsError:
        if status is None or "Status" not in status:
            return PacsError(
                f"PACS '{self.server.name}': {op} got no answer (timeout or connection lost)"
            )
        return PacsError(
            f"PACS '{self.server.name}': {op} failed with {_status_text(int(status.Status))}"
        )


def echo(server: PacsServer, local: LocalAE) -> dict[str, Any]:
    """C-ECHO; returns {"server", "status"}."""
    with _Session(server, local, [VERIFICATION]) as s:
        st = s.assoc.send_c_echo()
        if not st or int(st.Status) != 0:
            raise s.fail("C-ECHO", st)
    return {"server": server.name, "status": "success"}


def _identifier(level: str, filters: dict[str, str]) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k in FIND_KEYS[level]:
        setattr(ds, k, "")
    for k, v in filters.items():
        if v:
            setattr(ds, k, v)
    return ds


def _json_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bytes | str):
        return str(v)
    try:
        return [str(x) for x in v] if not isinstance(v, str) and hasattr(v, "__iter__") else str(v)
    except TypeError:
        return str(v)


def find(
    server: PacsServer, local: LocalAE, level: str, filters: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """C-FIND at PATIENT (patient root), STUDY or SERIES (study root) level."""
    level = level.upper()
    if level not in FIND_KEYS:
        raise InputError(f"query level must be patient, study or series; got {level.lower()!r}")
    model = PATIENT_ROOT_FIND if level == "PATIENT" else STUDY_ROOT_FIND
    out = []
    with _Session(server, local, [model]) as s:
        for status, ident in s.assoc.send_c_find(_identifier(level, filters or {}), model):
            if not status:
                raise s.fail(f"C-FIND ({level.lower()})", None)
            code = int(status.Status)
            if code in (0xFF00, 0xFF01) and ident is not None:
                out.append({k: _json_value(ident.get(k, "")) for k in FIND_KEYS[level]})
            elif code != 0:
                raise s.fail(f"C-FIND ({level.lower()})", status)
    return out


@dataclass
class _Receiver:
    """C-STORE sub-operations of a C-GET: validated and written into the cache folder."""

    dest: Path
    cancel: threading.Event | None
    received: int = 0
    refused: int = 0

    def handle(self, event: Any) -> int:
        if self.cancel is not None and self.cancel.is_set():
            return 0xFE00  # cancelled
        req = event.request
        cls = str(req.AffectedSOPClassUID)
        uid = str(req.AffectedSOPInstanceUID)
        if cls not in STORAGE_CLASSES or not _UID_RE.match(uid) or len(uid) > 64:
            self.refused += 1
            return 0xA700 if cls not in STORAGE_CLASSES else 0xC000
        name = hashlib.sha1(uid.encode()).hexdigest()[:20] + ".dcm"
        with open(self.dest / name, "wb") as fh:
            fh.write(event.encoded_dataset())
        self.received += 1
        return 0x0000


def cache_folder(cache: Path, study_uid: str, series_uid: str | None) -> Path:
    """``cache/<hash of study>/<hash of series or 'all'>``: no identifiers in paths."""
    h = hashlib.sha1(study_uid.encode()).hexdigest()[:16]
    s = hashlib.sha1(series_uid.encode()).hexdigest()[:16] if series_uid else "all"
    return cache / h / s


def retrieve_identifier(study_uid: str, series_uid: str | None) -> Dataset:
    """C-GET/C-MOVE identifier of a study or one series (UIDs checked)."""
    for u in (study_uid, series_uid):
        if u is not None and not _UID_RE.match(u):
            raise InputError("study and series UIDs must be dotted numbers")
    ident = Dataset()
    ident.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    ident.StudyInstanceUID = study_uid
    if series_uid:
        ident.SeriesInstanceUID = series_uid
    return ident


def follow_retrieve(
    s: _Session,
    op: str,
    responses: Iterable[tuple[Dataset, Dataset | None]],
    rx: _Receiver,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> int:
    """Follow C-GET/C-MOVE responses: progress, cancel (abort), errors; returns failures."""
    failed = 0
    for status, _ident in responses:
        if cancel is not None and cancel.is_set():
            s.assoc.abort()
            raise Cancelled(
                f"retrieve from PACS '{s.server.name}' cancelled after {rx.received} object(s)"
            )
        if not status:
            raise s.fail(op, None)
        code = int(status.Status)
        left = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
        done = int(status.get("NumberOfCompletedSuboperations", 0) or 0)
        failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
        if progress is not None and code in (0xFF00, 0xFF01):
            progress(done, done + left + failed)
        if code not in (0x0000, 0xFF00, 0xFF01, 0xB000):
            raise s.fail(op, status)
    return failed


def retrieved(server: PacsServer, dest: Path, rx: _Receiver, failed: int) -> dict[str, Any]:
    return {
        "server": server.name,
        "folder": str(dest),
        "received": rx.received,
        "refused": rx.refused,
        "failed": failed,
        **validate_folder(dest),
    }


def get(
    server: PacsServer,
    local: LocalAE,
    study_uid: str,
    series_uid: str | None,
    cache: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """C-GET a study (or one series) into the cache; validate what arrived."""
    from pynetdicom import evt

    ident = retrieve_identifier(study_uid, series_uid)
    dest = cache_folder(cache, study_uid, series_uid)
    dest.mkdir(parents=True, exist_ok=True)
    rx = _Receiver(dest, cancel)
    handlers = [(evt.EVT_C_STORE, rx.handle)]
    classes = [STUDY_ROOT_GET, *STORAGE_CLASSES]
    with _Session(server, local, classes, STORAGE_CLASSES, handlers) as s:
        responses = s.assoc.send_c_get(ident, STUDY_ROOT_GET)
        failed = follow_retrieve(s, "C-GET", responses, rx, progress, cancel)
    return retrieved(server, dest, rx, failed)


def validate_folder(folder: Path) -> dict[str, Any]:
    """Scan a retrieved folder as any input: series found, unreadable files listed."""
    from planner.dicom.scan import scan_headers
    from planner.dicom.series import build_series

    if not any(folder.iterdir()):
        return {"series": [], "bad_files": []}
    scan = scan_headers(folder)
    series = build_series(list(scan.frames), scan.bad_by_series)
    return {
        "series": [
            {
                "series_uid": s.series_uid,
                "modality": s.modality,
                "n_images": s.n_images,
                "is_candidate": s.is_candidate,
            }
            for s in series
        ],
        "bad_files": [Path(p).name + ": " + why for p, why in scan.bad_files],
    }


def send(
    server: PacsServer, local: LocalAE, files: list[Path], progress: Progress | None = None
) -> dict[str, Any]:
    """C-STORE DICOM files (each read and checked first)."""
    import pydicom

    datasets = []
    for f in files:
        try:
            ds = pydicom.dcmread(str(f))
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise InputError(f"not a DICOM file: {exc}", path=f) from exc
        if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
            raise InputError("DICOM file without SOP class or instance UID", path=f)
        datasets.append(ds)
    classes = sorted({str(d.SOPClassUID) for d in datasets})
    if len(classes) > 120:
        raise InputError("too many different object types for one association")
    sent = 0
    with _Session(server, local, classes) as s:
        for i, ds in enumerate(datasets):
            st = s.assoc.send_c_store(ds)
            if not st or int(st.Status) not in (0x0000, 0xB000, 0xB007, 0xB006):
                raise s.fail(f"C-STORE of {Path(files[i]).name}", st)
            sent += 1
            if progress is not None:
                progress(sent, len(datasets))
    return {"server": server.name, "sent": sent}


def _refusal(assoc: Any, server: PacsServer, local: LocalAE) -> str:
    """Why an association was not established, in the user's terms.

    A server that refuses an unknown AE title may send its A-ASSOCIATE-RJ and close the
    connection at once; pynetdicom then sometimes sees the closed connection first and reports
    an abort, not a rejection. So a server that accepts the TCP connection but not the
    association counts as refusing it; "did not answer" is kept for a server not reachable.
    """
    import socket

    check = "check that it knows this planner's AE title and address"
    if assoc.is_rejected:
        return f"rejected the association ({check})"
    try:
        with socket.create_connection((server.host, int(server.port)), timeout=local.timeout_s):
            pass
    except OSError:
        return "did not answer (check host, port and AE titles)"
    return f"rejected the association (it closed the connection without accepting; {check})"
