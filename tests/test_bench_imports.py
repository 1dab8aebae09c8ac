"""The benchmarks are scripts run by hand: check that every name they import from this project
still exists, so a refactor cannot silently break them."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("planner", "ui", "tests")
BENCHES = sorted((ROOT / "bench").glob("bench_*.py"))


def _project_imports(path: Path) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PROJECT_PACKAGES:
                out += [(node.module, alias.name) for alias in node.names]
    return out


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_bench_imports_resolve(bench: Path) -> None:
    pytest.importorskip("PySide6.QtWidgets", reason="the UI benchmarks import Qt modules")
    imports = _project_imports(bench)
    missing = [
        f"{module}.{name}"
        for module, name in imports
        if not hasattr(importlib.import_module(module), name)
        and importlib.util.find_spec(f"{module}.{name}") is None
    ]
    assert not missing, f"{bench.name} imports names that no longer exist: {missing}"


def test_every_benchmark_is_checked() -> None:
    assert len(BENCHES) >= 7
    assert any(_project_imports(b) for b in BENCHES)
