"""The correction modules pass ``mypy --strict`` (their API is typed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["planner/session/corrections.py", "planner/session/model.py",
           "planner/session/derive.py", "planner/session/report.py"]


def test_correction_modules_pass_mypy_strict() -> None:
    if shutil.which("mypy") is None:
        pytest.skip("mypy is not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", *MODULES],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
