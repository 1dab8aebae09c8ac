"""The dependency rule (DESIGN.md §1): planner/ imports neither Qt nor VTK nor ui,
ui/render/ imports no Qt. Checked in a fresh interpreter so nothing else pollutes sys.modules."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import planner

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_PLANNER = ("PySide6", "shiboken6", "vtk", "vtkmodules", "ui")


def _all_planner_modules() -> list[str]:
    names = ["planner"]
    for info in pkgutil.walk_packages(planner.__path__, prefix="planner."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_importing_every_planner_module_pulls_in_no_qt_or_vtk() -> None:
    mods = _all_planner_modules()
    assert len(mods) > 5, mods
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_IN_PLANNER!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "", f"planner pulled in: {out.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_planner_sources_name_no_forbidden_import() -> None:
    files = list((ROOT / "planner").rglob("*.py"))
    assert files
    for f in files:
        bad = _imports(f) & set(FORBIDDEN_IN_PLANNER)
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_ui_render_sources_import_no_qt() -> None:
    for f in (ROOT / "ui" / "render").rglob("*.py"):
        bad = _imports(f) & {"PySide6", "shiboken6"}
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_import_linter_contracts_hold() -> None:
    """The same rule as declared for import-linter in pyproject.toml (napari's way)."""
    import shutil

    exe = shutil.which("lint-imports")
    assert exe is not None, "import-linter is a test dependency: pip install -e '.[test]'"
    out = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
