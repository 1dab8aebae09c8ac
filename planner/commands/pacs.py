"""``python -m planner pacs echo|find|get|send ...``: talk to a PACS (JSON on stdout).

The server is named from the settings (``--server NAME``, settings file ``--config``, default
``~/.config/vertebral-planner/pacs.json``) or given directly (``--host --port --aec``). The
planner's own AE title is ``--aet`` or the settings' ``local.ae_title``. ``get`` uses C-GET into
the cache folder (default ``~/.cache/vertebral-planner/pacs``) and validates what arrived;
``send`` stores DICOM files or every ``*.dcm`` in given folders.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from planner.errors import InputError

NAME = "pacs"
HELP = "PACS: echo, find (patient/study/series), get (C-GET to a cache), send (C-STORE)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("echo", "find", "get", "send"))
    parser.add_argument("files", nargs="*", help="send: DICOM files or folders")
    parser.add_argument("--config", default=None, help="PACS settings file (JSON)")
    parser.add_argument("--server", default=None, help="server name in the settings")
    parser.add_argument("--host", default=None, help="server host (instead of --server)")
    parser.add_argument("--port", type=int, default=None, help="server port")
    parser.add_argument("--aec", default=None, help="server (called) AE title")
    parser.add_argument("--aet", default=None, help="the planner's (calling) AE title")
    parser.add_argument("--level", choices=("patient", "study", "series"), default="study")
    parser.add_argument("--patient-id", default="")
    parser.add_argument("--patient-name", default="", help="wildcards * and ? allowed")
    parser.add_argument("--study-uid", default="")
    parser.add_argument("--series-uid", default="")
    parser.add_argument("--date", default="", help="study date YYYYMMDD or range A-B")
    parser.add_argument("--modality", default="")
    parser.add_argument("--accession", default="")
    parser.add_argument("--cache", default=None, help="get: cache folder")
    parser.add_argument(
        "--timeout", type=float, default=None, help="network timeout in s (default: settings, 30)"
    )
    parser.add_argument(
        "--move",
        action="store_true",
        help="get: C-MOVE to the planner's storage SCP (listens on --store-port only during "
        "the retrieve) instead of C-GET",
    )
    parser.add_argument(
        "--store-port", type=int, default=None, help="get --move: port to listen on"
    )


def _target(args: argparse.Namespace) -> tuple[Any, Any]:
    from dataclasses import replace

    from planner.pacs.config import LocalAE, PacsServer, load_config

    cfg = load_config(args.config)
    local = cfg.local if args.aet is None else replace(cfg.local, ae_title=args.aet)
    if args.timeout is not None:
        if not args.timeout > 0:
            raise InputError("--timeout must be a positive number of seconds")
        local = replace(local, timeout_s=float(args.timeout))
    if isinstance(local, LocalAE) and args.server:
        return cfg.server(args.server), local
    if args.host and args.port and args.aec:
        return PacsServer("command line", args.host, args.port, args.aec), local
    raise InputError(
        "name a server (--server NAME from the settings) or give --host, --port and --aec"
    )


def _files(items: list[str]) -> list[Path]:
    out: list[Path] = []
    for it in items:
        p = Path(it)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.dcm") if q.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise InputError("does not exist", path=p)
    if not out:
        raise InputError("send: give DICOM files or folders holding *.dcm files")
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.pacs import client
    from planner.pacs.config import DEFAULT_CACHE

    server, local = _target(args)
    if args.action == "echo":
        return client.echo(server, local)
    if args.action == "find":
        filters = {
            "PatientID": args.patient_id,
            "PatientName": args.patient_name,
            "StudyInstanceUID": args.study_uid,
            "StudyDate": args.date,
            "AccessionNumber": args.accession,
        }
        if args.level == "series":
            filters = {
                "StudyInstanceUID": args.study_uid,
                "SeriesInstanceUID": args.series_uid,
                "Modality": args.modality,
            }
        elif args.level == "patient":
            filters = {"PatientID": args.patient_id, "PatientName": args.patient_name}
        results = client.find(server, local, args.level, filters)
        return {"server": server.name, "level": args.level, "results": results}
    if args.action == "get":
        if not args.study_uid:
            raise InputError("get needs --study-uid (and optionally --series-uid)")
        cache = Path(args.cache) if args.cache else DEFAULT_CACHE
        if args.move:
            from dataclasses import replace

            from planner.pacs.move import move

            if args.store_port is not None:
                local = replace(local, store_port=args.store_port)
            return move(server, local, args.study_uid, args.series_uid or None, cache)
        return client.get(server, local, args.study_uid, args.series_uid or None, cache)
    return client.send(server, local, _files(args.files))
