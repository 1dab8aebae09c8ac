"""Estimates inputs: a positional height not yet measured reads "—", not "0.0 mm"."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.gui


def test_unmeasured_positional_heights_show_a_dash(make_window: Any) -> None:
    win = make_window()
    box = win.planning.estimates.clinical
    assert len(box.supine) == 3
    for s in box.supine:
        s.setValue(0.0)
        assert s.text() == "—"
        assert "0.0" not in s.text()
        s.setValue(12.5)
        assert s.text() == "12.5 mm"
        s.setValue(0.0)
    assert box.clinical_from_widgets().supine_heights_mm is None  # unticked: not measured
