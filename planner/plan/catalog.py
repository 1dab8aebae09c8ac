"""Device catalog: working needles (gauge, outer and inner diameter), validated on load.

The catalog is data (``resources/devices.json``), not code, so a site can add a device without
a release. Every entry names its source; diameters come from the regular-wall hypodermic gauge
chart tabulated in DOMAIN.md §4.2.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from planner.errors import InputError, NotFoundError

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parents[2] / "resources" / "devices.json"
SUPPORTED_FORMAT_VERSIONS = (1,)


class CatalogError(InputError):
    """The device catalog file is missing fields or holds impossible values."""

    default_message = "The device catalog is not valid; restore resources/devices.json."


@dataclass(frozen=True, slots=True)
class Needle:
    """A working needle / cannula.

    Parameters
    ----------
    id
        Catalog id used in plans, e.g. ``"11G"``.
    gauge
        Birmingham (Stubs) gauge number.
    od_mm, id_mm
        Outer and inner diameter in mm.
    source
        Where the diameters come from (human-readable citation).

    Notes
    -----
    Breach margins use the outer diameter: the needle's surface lies ``od_mm / 2`` from its
    axis (DOMAIN.md §6.1).
    """

    id: str
    gauge: int
    od_mm: float
    id_mm: float
    source: str
    use: str = ""

    @property
    def radius_mm(self) -> float:
        return self.od_mm / 2.0


@dataclass(frozen=True, slots=True)
class DeviceCatalog:
    """The needles a plan may name, in catalog order."""

    needles: tuple[Needle, ...]
    path: str = ""

    def needle(self, needle_id: str) -> Needle:
        """The needle with this id (case-insensitive, ``"11"`` and ``"11g"`` accepted)."""
        key = needle_id.strip().upper()
        if key and key[-1] != "G":
            key += "G"
        for n in self.needles:
            if n.id.upper() == key:
                return n
        raise InputError(
            f"needle {needle_id!r} is not in the device catalog; "
            f"choose one of {', '.join(self.ids())}"
        )

    def ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.needles)


def _number(entry: dict[str, Any], key: str, where: str, path: Path) -> float:
    v = entry.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise CatalogError(f"{where}: '{key}' must be a number in mm, got {v!r}", path=path)
    return float(v)


def _parse_needle(entry: Any, index: int, sources: dict[str, str], path: Path) -> Needle:
    where = f"needles[{index}]"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} must be an object, got {type(entry).__name__}", path=path)
    nid = entry.get("id")
    if not isinstance(nid, str) or not nid.strip():
        raise CatalogError(f"{where}: 'id' must be a non-empty string", path=path)
    where = f"needle {nid!r}"
    gauge = entry.get("gauge")
    if isinstance(gauge, bool) or not isinstance(gauge, int) or not 6 <= gauge <= 30:
        raise CatalogError(f"{where}: 'gauge' must be an integer 6-30, got {gauge!r}", path=path)
    od = _number(entry, "od_mm", where, path)
    inner = _number(entry, "id_mm", where, path)
    if not 0.3 <= od <= 8.0:
        raise CatalogError(f"{where}: od_mm {od} is outside 0.3-8.0 mm", path=path)
    if not 0.0 < inner < od:
        raise CatalogError(f"{where}: id_mm {inner} must be > 0 and < od_mm {od}", path=path)
    src = entry.get("source")
    if not isinstance(src, str) or not src.strip():
        raise CatalogError(
            f"{where}: 'source' is required (cite where the OD comes from)", path=path
        )
    use = str(entry.get("use", ""))
    return Needle(nid, gauge, od, inner, sources.get(src, src), sources.get(use, use))


def parse_catalog(data: Any, path: Path) -> DeviceCatalog:
    """Validate decoded catalog JSON and build a :class:`DeviceCatalog`."""
    if not isinstance(data, dict):
        raise CatalogError("the catalog must be a JSON object", path=path)
    version = data.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise CatalogError(
            f"format_version {version!r} is not supported (expected one of "
            f"{SUPPORTED_FORMAT_VERSIONS})",
            path=path,
        )
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise CatalogError("'sources' must map names to citations", path=path)
    raw = data.get("needles")
    if not isinstance(raw, list) or not raw:
        raise CatalogError("'needles' must be a non-empty list", path=path)
    needles = tuple(_parse_needle(e, i, sources, path) for i, e in enumerate(raw))
    ids = [n.id.upper() for n in needles]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CatalogError(f"duplicate needle ids: {', '.join(dupes)}", path=path)
    return DeviceCatalog(needles, str(path))


def load_catalog(path: str | Path | None = None) -> DeviceCatalog:
    """Read and validate a device catalog (default: ``resources/devices.json``).

    Raises
    ------
    CatalogError
        With the file, the entry and the offending value named.
    """
    p = Path(path) if path is not None else DEFAULT_CATALOG_PATH
    if path is None:
        return _default_catalog()
    return _read(p)


def _read(p: Path) -> DeviceCatalog:
    if not p.is_file():
        raise NotFoundError(path=p)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"cannot read the device catalog ({exc})", path=p) from exc
    return parse_catalog(data, p)


@lru_cache(maxsize=1)
def _default_catalog() -> DeviceCatalog:
    return _read(DEFAULT_CATALOG_PATH)


def get_needle(needle: Needle | str) -> Needle:
    """A :class:`Needle` from itself or from its id in the default catalog."""
    if isinstance(needle, Needle):
        return needle
    return load_catalog().needle(needle)
