"""The session, the plan file and the constants pass ``mypy --strict`` (their API is typed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "planner/session",
    "planner/plan/file.py",
    "planner/plan/schema.py",
    "planner/plan/read.py",
    "planner/plan/model.py",
    "planner/constants.py",
    "planner/estimate/report.py",
    "planner/commands/plan.py",
    "planner/commands/check.py",
    "planner/commands/estimate.py",
    "planner/commands/_common.py",
    "planner/trajectory/clearance.py",
    "planner/trajectory/metrics.py",
    "planner/trajectory/suggest.py",
    "planner/trajectory/entry.py",
    "planner/vertebra/levels.py",
    "planner/vertebra/labels.py",
]


def test_session_modules_pass_mypy_strict() -> None:
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
