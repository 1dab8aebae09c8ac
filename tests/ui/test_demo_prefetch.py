"""Start-up: the demo is built in a background thread while the window is imported and built,
and File → Open demo case takes that volume instead of building another."""

from __future__ import annotations

import os
import sys
import threading
import types

import pytest

pytestmark = pytest.mark.gui


def test_the_demo_built_at_start_up_is_the_one_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.demo
    from ui.document import demo_prefetch
    from ui.document.study_open import make_demo_volume

    built: list[str] = []
    release = threading.Event()

    def generate_demo() -> object:
        built.append(threading.current_thread().name)
        release.wait(5)
        return types.SimpleNamespace(volume=f"volume {len(built)}")

    monkeypatch.setattr(planner.demo, "generate_demo", generate_demo)
    progress = types.SimpleNamespace(update=lambda *a: None)
    demo_prefetch.start(process=False)
    demo_prefetch.start()  # once only
    release.set()
    assert make_demo_volume(progress) == "volume 1"
    assert built == ["demo-prefetch"]
    # taken once: the next Open demo case builds a new one, here
    assert make_demo_volume(progress) == "volume 2"
    assert built == ["demo-prefetch", threading.current_thread().name]


def test_a_failed_prefetch_is_reported_by_the_opener(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.demo
    from ui.document import demo_prefetch

    def broken() -> object:
        raise MemoryError("no room for the demo")

    monkeypatch.setattr(planner.demo, "generate_demo", broken)
    demo_prefetch.start(process=False)
    with pytest.raises(MemoryError, match="no room"):
        demo_prefetch.take()
    assert demo_prefetch.take() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the forked builder is Linux only")
def test_the_demo_is_built_in_another_process_and_its_failure_reported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.demo
    from ui.document import demo_prefetch

    monkeypatch.setattr(planner.demo, "generate_demo",
                        lambda: types.SimpleNamespace(volume=("built in", os.getpid())))
    demo_prefetch.start(process=True)
    kind, pid = demo_prefetch.take()
    assert kind == "built in" and pid != os.getpid()  # not this process

    def broken() -> object:
        raise MemoryError("no room for the demo")

    monkeypatch.setattr(planner.demo, "generate_demo", broken)
    demo_prefetch.start(process=True)
    with pytest.raises(MemoryError, match="no room"):
        demo_prefetch.take()
    assert demo_prefetch.take() is None
