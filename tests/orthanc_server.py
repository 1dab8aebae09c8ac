"""A real Orthanc DICOM server for the PACS tests and the bench, on a free loopback port.

Started with a temporary JSON configuration and storage folder (HTTP off, only the planner's
AE title known for echo/find/get/store), stopped afterwards. ``ORTHANC`` is None where the
Debian package is not installed, and the tests skip with that reason.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

ORTHANC = shutil.which("Orthanc") or (
    "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").is_file() else None
)
SERVER_AET = "ORTHANCTEST"
PLANNER_AET = "VAPTEST"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OrthancServer:
    """``with OrthancServer(tmp) as o: o.port ...``"""

    def __init__(self, workdir: Path) -> None:
        if ORTHANC is None:
            raise RuntimeError("Orthanc is not installed (Debian package 'orthanc')")
        self.workdir = Path(workdir)
        self.port = free_port()
        self.planner_store_port = free_port()  # where Orthanc sends C-MOVE results
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OrthancServer:
        db = self.workdir / "orthanc-db"
        db.mkdir(parents=True, exist_ok=True)
        cfg = {
            "Name": "planner-test",
            "StorageDirectory": str(db),
            "IndexDirectory": str(db),
            "DicomAet": SERVER_AET,
            "DicomPort": self.port,
            "HttpServerEnabled": False,
            "RemoteAccessAllowed": False,
            "DicomCheckCalledAet": True,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomCheckModalityHost": True,
            "Plugins": [],
            "StorageCompression": False,
            "DicomModalities": {
                "planner": {
                    "AET": PLANNER_AET,
                    "Host": "127.0.0.1",
                    "Port": self.planner_store_port,
                    "AllowEcho": True,
                    "AllowFind": True,
                    "AllowGet": True,
                    "AllowMove": True,
                    "AllowStore": True,
                }
            },
        }
        path = self.workdir / "orthanc.json"
        path.write_text(json.dumps(cfg), encoding="utf-8")
        log = open(self.workdir / "orthanc.log", "wb")  # noqa: SIM115 - closed with the process
        assert ORTHANC is not None
        self.proc = subprocess.Popen([ORTHANC, str(path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited: see {self.workdir / 'orthanc.log'}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("Orthanc did not start within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
