"""PACS round trip against a real Orthanc (started here on a free loopback port).

demo → C-STORE → C-FIND (patient, study, series) → C-GET → open → plan → export-dicom →
C-STORE the SR, SEG and PDF → C-FIND finds them in the CT's study.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.cli import main
from tests.orthanc_server import ORTHANC, PLANNER_AET, SERVER_AET, OrthancServer

pytestmark = pytest.mark.skipif(
    ORTHANC is None,
    reason="Orthanc is not installed (Debian package 'orthanc'; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    with OrthancServer(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


def _net(o: OrthancServer) -> list[str]:
    return [
        "--host",
        "127.0.0.1",
        "--port",
        str(o.port),
        "--aec",
        SERVER_AET,
        "--aet",
        PLANNER_AET,
        "--timeout",
        "120",
    ]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_echo_and_refused_ae(orthanc: OrthancServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["pacs", "echo", *_net(orthanc)], capsys)["status"] == "success"
    capsys.readouterr()
    bad = [
        "--host",
        "127.0.0.1",
        "--port",
        str(orthanc.port),
        "--aec",
        SERVER_AET,
        "--aet",
        "STRANGER",
    ]
    assert main(["pacs", "echo", *bad]) == 2
    err = capsys.readouterr().err
    assert "PACS 'command line' rejected the association" in err


def test_round_trip(
    orthanc: OrthancServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    net = _net(orthanc)
    demo = _run(["demo", str(tmp_path / "demo")], capsys)
    sent = _run(["pacs", "send", demo["dicom_dir"], *net], capsys)
    assert sent["sent"] == demo["n_images"]
    pats = _run(["pacs", "find", "--level", "patient", "--patient-id", "DEMO*", *net], capsys)
    assert [p["PatientID"] for p in pats["results"]] == ["DEMO-0"]
    studies = _run(["pacs", "find", "--level", "study", "--patient-id", "DEMO-0", *net], capsys)
    assert len(studies["results"]) == 1
    study_uid = studies["results"][0]["StudyInstanceUID"]
    series = _run(["pacs", "find", "--level", "series", "--study-uid", study_uid, *net], capsys)
    assert [s["SeriesInstanceUID"] for s in series["results"]] == [demo["series_uid"]]
    got = _run(
        [
            "pacs",
            "get",
            "--study-uid",
            study_uid,
            "--series-uid",
            demo["series_uid"],
            "--cache",
            str(tmp_path / "cache"),
            *net,
        ],
        capsys,
    )
    assert got["received"] == demo["n_images"] and got["bad_files"] == []
    assert got["series"][0]["series_uid"] == demo["series_uid"]
    folder = got["folder"]
    assert "DEMO" not in folder and study_uid not in folder
    plan = tmp_path / "L1.json"
    _run(["plan", folder, "--level", "L1", "--auto", "--out", str(plan)], capsys)
    exp = _run(["export-dicom", folder, str(plan), str(tmp_path / "out")], capsys)
    assert exp["study_uid"] == study_uid
    back = _run(["pacs", "send", str(tmp_path / "out"), *net], capsys)
    assert back["sent"] == 3
    series = _run(["pacs", "find", "--level", "series", "--study-uid", study_uid, *net], capsys)
    assert sorted(s["Modality"] for s in series["results"]) == ["CT", "DOC", "SEG", "SR"]
    logged = caplog.text
    for secret in (SERVER_AET, PLANNER_AET, "DEMO-0", "DEMO^SPINE", str(orthanc.port)):
        assert secret not in logged


def test_get_cancel(orthanc: OrthancServer, tmp_path: Path) -> None:
    """Cancelling a retrieve stops it and says so."""
    from planner.errors import Cancelled
    from planner.pacs import client
    from planner.pacs.config import LocalAE, PacsServer

    server = PacsServer("test", "127.0.0.1", orthanc.port, SERVER_AET)
    local = LocalAE(PLANNER_AET, timeout_s=120)
    studies = client.find(server, local, "study", {"PatientID": "DEMO-0"})
    if not studies:
        pytest.skip("the round-trip test stores the demo first")
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 5:
            cancel.set()

    with pytest.raises(Cancelled, match="cancelled after"):
        client.get(server, local, studies[0]["StudyInstanceUID"], None, tmp_path, progress, cancel)


def test_move_to_own_scp_only_while_retrieving(orthanc: OrthancServer, tmp_path: Path) -> None:
    """C-MOVE: the storage SCP listens during the retrieve only, and only for the server."""
    import socket

    from planner.pacs import client
    from planner.pacs.config import LocalAE, PacsServer
    from planner.pacs.move import move

    server = PacsServer("test", "127.0.0.1", orthanc.port, SERVER_AET)
    local = LocalAE(PLANNER_AET, store_port=orthanc.planner_store_port, timeout_s=120)
    series = client.find(server, local, "series", {"Modality": "CT"})
    if not series:
        pytest.skip("the round-trip test stores the demo first")
    s = series[0]
    res = move(server, local, s["StudyInstanceUID"], s["SeriesInstanceUID"], tmp_path)
    assert res["received"] == int(s["NumberOfSeriesRelatedInstances"]) and res["refused"] == 0
    assert res["series"][0]["series_uid"] == s["SeriesInstanceUID"]
    with socket.socket() as sock:  # nothing listens any more
        assert sock.connect_ex(("127.0.0.1", orthanc.planner_store_port)) != 0


def test_storage_scp_refuses_other_addresses_and_classes(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from planner.pacs.move import _GuardedReceiver

    rx = _GuardedReceiver(tmp_path, None)
    rx.allowed = {"10.0.0.5"}

    def event(addr: str, cls: str, uid: str = "1.2.3") -> SimpleNamespace:
        req = SimpleNamespace(AffectedSOPClassUID=cls, AffectedSOPInstanceUID=uid)
        return SimpleNamespace(
            request=req,
            assoc=SimpleNamespace(requestor=SimpleNamespace(address=addr)),
            encoded_dataset=lambda: b"DICM",
        )

    ct = "1.2.840.10008.5.1.4.1.1.2"
    assert rx.handle(event("10.0.0.6", ct)) == 0xC000
    assert rx.handle(event("10.0.0.5", "1.2.840.10008.5.1.4.1.1.1")) == 0xA700  # CR: not used
    assert rx.handle(event("10.0.0.5", ct, "../../etc/passwd")) == 0xC000
    assert rx.handle(event("10.0.0.5", ct)) == 0x0000
    assert rx.received == 1 and rx.refused == 3
    assert [p.suffix for p in tmp_path.iterdir()] == [".dcm"]
