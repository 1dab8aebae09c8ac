"""The needle views' titles sit on a dark box (readable over bright bone in a small view)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.gui


def test_needle_view_titles_have_a_dark_box(make_window: Any) -> None:
    from ui.views.needle_views import ObliqueView

    win = make_window()
    views = win.findChildren(ObliqueView)
    assert len(views) >= 2
    for v in views:
        tp = v.pipeline.corners.actors[2].GetTextProperty()  # the title corner
        assert tp.GetBackgroundOpacity() >= 0.5
        assert sum(tp.GetBackgroundColor()) < 0.3  # dark
        other = v.pipeline.corners.actors[3].GetTextProperty()
        assert other.GetBackgroundOpacity() == 0.0  # only the title gets a box
