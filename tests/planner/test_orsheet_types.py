"""The OR sheet, DICOM export and PACS modules pass ``mypy --strict``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "planner/orsheet",
    "planner/dicom_objects",
    "planner/pacs",
    "planner/commands/report.py",
    "planner/commands/export_dicom.py",
    "planner/commands/pacs.py",
]


def test_output_modules_pass_mypy_strict() -> None:
    if shutil.which("mypy") is None:
        pytest.skip("mypy is not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
