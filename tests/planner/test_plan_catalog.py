"""Device catalog: the shipped needles and validation of broken catalogs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.errors import InputError
from planner.plan.catalog import DEFAULT_CATALOG_PATH, CatalogError, get_needle, load_catalog

# DOMAIN.md §4.2 (regular-wall gauge chart)
EXPECTED = {
    "8G": (4.191, 3.429),
    "10G": (3.404, 2.692),
    "11G": (3.048, 2.388),
    "12G": (2.769, 2.159),
    "13G": (2.413, 1.803),
    "15G": (1.829, 1.372),
}


def test_shipped_catalog_matches_the_gauge_chart() -> None:
    cat = load_catalog()
    assert set(cat.ids()) == set(EXPECTED)
    for nid, (od, inner) in EXPECTED.items():
        n = cat.needle(nid)
        assert (n.od_mm, n.id_mm) == (od, inner)
        assert n.radius_mm == pytest.approx(od / 2)
        assert "gauge" in n.source.lower()  # the citation text, not the key
    assert cat.needle("11").id == "11G" and cat.needle(" 11g ").id == "11G"
    assert get_needle("13G").od_mm == 2.413


def test_unknown_needle_lists_the_choices() -> None:
    with pytest.raises(InputError, match="11G"):
        load_catalog().needle("14G")


def _write(tmp_path: Path, data: Any) -> Path:
    p = tmp_path / "devices.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def _base() -> dict[str, Any]:
    return json.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["needles"][2].update(id_mm=3.2), "id_mm 3.2 must be > 0 and < od_mm 3.048"),
        (lambda d: d["needles"][0].pop("source"), "'source' is required"),
        (lambda d: d["needles"][1].update(od_mm="3.4"), "'od_mm' must be a number"),
        (lambda d: d["needles"].append(dict(d["needles"][0])), "duplicate needle ids: 8G"),
        (lambda d: d.update(format_version=9), "format_version 9 is not supported"),
        (lambda d: d["needles"][0].update(gauge=2), "'gauge' must be an integer 6-30"),
        (lambda d: d.update(needles=[]), "'needles' must be a non-empty list"),
    ],
)
def test_broken_catalogs_are_refused_with_a_clear_message(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    data = _base()
    mutate(data)
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, data))
    assert message in str(err.value)
    assert "devices.json" in str(err.value)


def test_unreadable_catalog(tmp_path: Path) -> None:
    p = tmp_path / "devices.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(p)
