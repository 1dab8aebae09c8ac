"""C-MOVE into the planner's own storage SCP, for servers that do not offer C-GET.

The storage SCP exists only for the duration of one retrieve: it is started on the configured
port (``LocalAE.store_port``) just before the C-MOVE request and shut down as soon as the move
ends, fails or is cancelled. It accepts associations only from the configured server's AE title
(``require_calling_aet``) and stores objects only when they come from that server's address;
what it accepts is validated exactly like a C-GET (:class:`planner.pacs.client._Receiver`).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.pacs.client import (
    STORAGE_CLASSES,
    Progress,
    _Receiver,
    _Session,
    _transfer_syntaxes,
    cache_folder,
    follow_retrieve,
    retrieve_identifier,
    retrieved,
)
from planner.pacs.config import LocalAE, PacsServer

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"


def _addresses(host: str) -> set[str]:
    try:
        return {str(a[4][0]) for a in socket.getaddrinfo(host, None)}
    except OSError:
        return {host}


class _GuardedReceiver(_Receiver):
    """Refuses objects that do not come from the server's own address."""

    allowed: set[str]

    def handle(self, event: Any) -> int:
        if str(event.assoc.requestor.address) not in self.allowed:
            self.refused += 1
            return 0xC000
        return super().handle(event)


def move(
    server: PacsServer,
    local: LocalAE,
    study_uid: str,
    series_uid: str | None,
    cache: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """C-MOVE a study (or one series) to the planner's temporary storage SCP."""
    from pynetdicom import AE, evt

    if not local.store_port:
        raise InputError(
            "C-MOVE needs the planner's storage port (local.store_port) in the "
            "PACS settings; or use C-GET"
        )
    ident = retrieve_identifier(study_uid, series_uid)
    dest = cache_folder(cache, study_uid, series_uid)
    dest.mkdir(parents=True, exist_ok=True)
    rx = _GuardedReceiver(dest, cancel)
    rx.allowed = _addresses(server.host)
    scp_ae = AE(ae_title=local.ae_title)
    scp_ae.maximum_pdu_size = 0
    scp_ae.require_calling_aet = [server.ae_title]
    for c in STORAGE_CLASSES:
        scp_ae.add_supported_context(c, _transfer_syntaxes())
    try:
        scp = scp_ae.start_server(
            ("", local.store_port), block=False, evt_handlers=[(evt.EVT_C_STORE, rx.handle)]
        )
    except OSError as exc:
        raise InputError(f"cannot listen on the planner's storage port: {exc.strerror}") from exc
    if scp is None:  # pragma: no cover - only with block=True
        raise InputError("the storage SCP did not start")
    try:
        with _Session(server, local, [STUDY_ROOT_MOVE]) as s:
            responses = s.assoc.send_c_move(ident, local.ae_title, STUDY_ROOT_MOVE)
            failed = follow_retrieve(s, "C-MOVE", responses, rx, progress, cancel)
    finally:
        scp.shutdown()
    return retrieved(server, dest, rx, failed)
