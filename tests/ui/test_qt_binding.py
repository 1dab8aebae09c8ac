"""Guard against a Qt binding that leaks references to None.

PySide6 6.12.0 on Python < 3.12 drops one reference to None on every call that returns nothing;
after enough calls the interpreter frees None and aborts (pyproject.toml excludes that version).
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QCheckBox, QLabel


def test_void_calls_do_not_leak_none_references(qtbot) -> None:
    label, box = QLabel(), QCheckBox()
    qtbot.addWidget(label)
    qtbot.addWidget(box)
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        box.setChecked(True)
    assert abs(sys.getrefcount(None) - before) < 50
