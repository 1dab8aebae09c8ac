"""The whole ``planner`` package passes ``mypy --strict`` (config: pyproject.toml [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_planner_package_passes_mypy_strict() -> None:
    # mypy is a declared test dependency (pyproject.toml [project.optional-dependencies] test)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "planner"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout, proc.stdout + proc.stderr
