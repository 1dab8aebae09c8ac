"""PACS settings: the servers the planner talks to and its own application entity.

Stored as JSON (``{"local": {...}, "servers": [{...}]}``), by default in
``~/.config/vertebral-planner/pacs.json``; the workstation edits the same file. Nothing in
here is ever logged (AE titles, hosts and ports identify a hospital's network).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import InputError

_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE VR: 16 chars, no backslash
DEFAULT_CONFIG = Path.home() / ".config" / "vertebral-planner" / "pacs.json"
DEFAULT_CACHE = Path.home() / ".cache" / "vertebral-planner" / "pacs"


def check_ae_title(title: str, what: str) -> str:
    t = title.strip()
    if not _AE_RE.match(t) or not t:
        raise InputError(f"{what} AE title must be 1-16 printable characters without '\\'")
    return t


@dataclass(frozen=True, slots=True)
class PacsServer:
    """A remote DICOM node (C-ECHO/FIND/GET/STORE SCP)."""

    name: str
    host: str
    port: int
    ae_title: str

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title, f"server '{self.name}'")
        if not (0 < int(self.port) < 65536):
            raise InputError(f"server '{self.name}': port must be 1-65535")
        if not self.host.strip():
            raise InputError(f"server '{self.name}': host is empty")


@dataclass(frozen=True, slots=True)
class LocalAE:
    """The planner's own AE: its title, and for C-MOVE its storage port (0 = none)."""

    ae_title: str = "VAPLANNER"
    store_port: int = 0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title, "local")


@dataclass(frozen=True)
class PacsConfig:
    local: LocalAE = field(default_factory=LocalAE)
    servers: tuple[PacsServer, ...] = ()

    def server(self, name: str) -> PacsServer:
        for s in self.servers:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.servers) or "none configured"
        raise InputError(f"no PACS server named '{name}' (known: {known})")

    def to_json(self) -> dict[str, Any]:
        return {"local": asdict(self.local), "servers": [asdict(s) for s in self.servers]}


def load_config(path: str | Path | None = None) -> PacsConfig:
    """Read the settings (missing file → no servers)."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    if not p.is_file():
        return PacsConfig()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        local = LocalAE(**raw.get("local", {}))
        servers = tuple(PacsServer(**s) for s in raw.get("servers", []))
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read the PACS settings: {exc}", path=p) from exc
    return PacsConfig(local, servers)


def save_config(config: PacsConfig, path: str | Path | None = None) -> Path:
    p = Path(path) if path is not None else DEFAULT_CONFIG
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config.to_json(), fh, indent=2)
    os.replace(tmp, p)
    return p
