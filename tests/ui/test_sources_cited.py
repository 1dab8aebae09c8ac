"""The app cites original sources (author, year, journal) or "tool assumption": no text shown
to the user (string literals other than docstrings and comments, catalogs) names the project's
internal research notes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERNAL = ("DOMAIN.md", "DESIGN.md", "ANATOMY.md")


def _user_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_no_internal_document_is_cited_in_the_ui_reports_or_catalogs() -> None:
    found = []
    for folder in ("ui", "planner"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, text in _user_strings(path):
                if any(doc in text for doc in INTERNAL):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    for path in sorted((ROOT / "resources").rglob("*")):
        if path.is_file() and path.suffix in (".json", ".qss", ".txt", ".html"):
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}" for doc in INTERNAL if doc in text]
    assert not found, found
