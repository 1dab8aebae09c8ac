"""Per-trainee attempt history, kept locally (no server): JSON lines + CSV export.

Layout under the root (the workstation uses the app's data folder)::

    <root>/<trainee>/history.jsonl       one finished attempt per line (appended, fsync'd)
    <root>/<trainee>/attempts/*.json     every attempt as a plan file, saved as it goes
"""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

COLUMNS = ("when", "exercise_id", "level", "passed", "score", "tip_error_mm",
           "entry_error_mm", "angle_error_deg", "breach_grade", "shots", "redirections",
           "time_s")


def trainee_slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip())[:60].strip("._")
    return slug or "trainee"


class History:
    """Attempts of one trainee."""

    def __init__(self, root: str | Path, trainee: str) -> None:
        self.trainee = trainee
        self.folder = Path(root) / trainee_slug(trainee)

    @property
    def file(self) -> Path:
        return self.folder / "history.jsonl"

    def attempt_path(self, exercise_id: str, started: datetime) -> Path:
        return self.folder / "attempts" / f"{exercise_id}-{started:%Y%m%d-%H%M%S}.json"

    def add(self, exercise_id: str, level: str, result: dict[str, Any],
            when: datetime | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {"when": (when or datetime.now()).isoformat(timespec="seconds"),
               "exercise_id": exercise_id, "level": level}
        row.update({k: result.get(k) for k in COLUMNS if k in result})
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return row

    def rows(self) -> list[dict[str, Any]]:
        """Every recorded attempt, oldest first (a damaged line is skipped)."""
        if not self.file.is_file():
            return []
        out = []
        for line in self.file.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                out.append(row)
        return out

    def export_csv(self, path: str | Path) -> Path:
        p = Path(path)
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
            w.writeheader()
            for row in self.rows():
                w.writerow(row)
        return p
