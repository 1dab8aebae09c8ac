"""Benchmark the workstation: slice rendering while scrolling and during window/level drags,
3D frame time while rotating (cropped ROI), and time from "open" to the first image.

Usage::

    python bench/bench_ui.py [--size 1280x800] [--slices 300] [--skip-dicom]

Runs the real main window (a virtual X display is started when DISPLAY is unset), on the demo
case and on a synthetic 512x512xN CT series written once as uncompressed DICOM (shared cache
with bench_load.py). Prints figures with the machine description. Targets (issue 3): ≤ 25 ms
per slice render, ≥ 10 fps rotating 3D, first image ≤ load + 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_description  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine(render_window) -> str:  # type: ignore[no-untyped-def]
    from ui.render.volume_pipeline import opengl_renderer

    gl = opengl_renderer(render_window) or "?"
    import vtkmodules
    from PySide6 import __version__ as pyside

    return (
        f"{cpu_description()}; OpenGL renderer: {gl}; "
        f"VTK {vtkmodules.__version__}; PySide6 {pyside}"
    )


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    return (
        f"median {statistics.median(s) * 1e3:6.1f} ms, "
        f"p90 {s[int(0.9 * (len(s) - 1))] * 1e3:6.1f} ms "
        f"(n={len(s)})"
    )


def open_and_time(app, win, opener_call) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Return (load seconds until the worker finished, seconds until the first image)."""
    import ui.document.workers

    t: dict[str, float] = {}
    worker_s: list[float] = []
    original_run = ui.document.workers._Thread.run

    def timed_run(thread):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        original_run(thread)
        worker_s.append(time.perf_counter() - t0)

    ui.document.workers._Thread.run = timed_run  # type: ignore[method-assign]
    start = time.perf_counter()
    opener_call()
    # connected last, so it runs after every view has rendered the new study
    win.doc.volume_changed.connect(lambda _v: t.setdefault("shown", time.perf_counter()))
    while "shown" not in t:
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()
    ui.document.workers._Thread.run = original_run  # type: ignore[method-assign]
    return sum(worker_s), t["shown"] - start


def bench_slices(app, win, n: int = 40) -> None:  # type: ignore[no-untyped-def]
    axial = win.slice_views["axial"]
    views = list(win.slice_views.values())
    rws = [v.render_window() for v in views if v.isVisible()]
    # scrolling: the axial view moves one slice; all 2D views update their crosshair
    per_view, per_step = [], []
    for i in range(n):
        t0 = time.perf_counter()
        axial.pipeline.set_cursor(axial.pipeline.stepped_point(1 if (i // 20) % 2 == 0 else -1))
        axial.render_window().Render()
        per_view.append(time.perf_counter() - t0)
    for i in range(n):
        t0 = time.perf_counter()
        axial.step_slices(1 if (i // 20) % 2 == 0 else -1)
        app.processEvents()  # the scrolled view renders when control returns to the event loop
        per_step.append(time.perf_counter() - t0)
    # a burst of wheel steps at 60 Hz: how often the other views (crosshair followers) redraw
    from ui.views.view_base import FOLLOWER_RENDER_MS

    others = [v for v in views if v is not axial and v.isVisible()]
    counts = {id(v): 0 for v in others}
    originals = {}
    for v in others:
        originals[id(v)] = v.render_now

        def counted(v=v):  # type: ignore[no-untyped-def]
            counts[id(v)] += 1
            originals[id(v)]()

        v.render_now = counted
    t_burst = time.perf_counter()
    for i in range(n):
        axial.step_slices(1 if (i // 20) % 2 == 0 else -1)
        end = t_burst + (i + 1) / 60.0
        while time.perf_counter() < end:
            app.processEvents()
    burst_s = time.perf_counter() - t_burst
    for v in others:
        del v.render_now
    follower_hz = [counts[id(v)] / burst_s for v in others]
    w, lvl = win.state.window, win.state.level
    wl = []
    for i in range(n):
        t0 = time.perf_counter()
        win.state.set_window_level(w + 10 * (i % 20), lvl + 5 * (i % 20))
        app.processEvents()
        wl.append((time.perf_counter() - t0) / len(rws))
    win.state.set_window_level(w, lvl)
    size = axial.render_window().GetSize()
    print(f"    scroll, axial view alone ({size[0]}x{size[1]} px): {_ms(per_view)}")
    print(f"    scroll, one wheel step until the scrolled view is drawn: {_ms(per_step)}")
    if follower_hz:
        print(
            f"    wheel at 60 steps/s: the other 2D views follow at "
            f"{min(follower_hz):.0f}-{max(follower_hz):.0f} redraws/s "
            f"(at most one per {FOLLOWER_RENDER_MS} ms)"
        )
    print(f"    window/level drag, per 2D view render:                {_ms(wl)}")


def bench_reference(win, size: tuple[int, int], n: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Reference in the same run: VTK's own vtkImageViewer2 (a bare X window, no overlays, no
    Qt, no Python per step beyond SetSlice) scrolling the same volume at the same size."""
    from vtkmodules.vtkInteractionImage import vtkImageViewer2

    image = win.slice_views["axial"].pipeline.mapper.GetInput()
    viewer = vtkImageViewer2()
    viewer.SetInputData(image)
    rw = viewer.GetRenderWindow()
    rw.SetMultiSamples(0)
    rw.SetSize(*size)
    viewer.SetSliceOrientationToXY()
    viewer.SetColorWindow(1800.0)
    viewer.SetColorLevel(400.0)
    lo, hi = viewer.GetSliceMin(), viewer.GetSliceMax()
    viewer.SetSlice((lo + hi) // 2)
    viewer.Render()
    viewer.GetRenderer().ResetCamera()
    times = []
    for i in range(n):
        k = viewer.GetSlice() + (1 if (i // 20) % 2 == 0 else -1)
        t0 = time.perf_counter()
        viewer.SetSlice(min(max(k, lo), hi))
        viewer.Render()
        times.append(time.perf_counter() - t0)
    print(f"    reference, vtkImageViewer2 alone ({size[0]}x{size[1]} px): {_ms(times)}")
    rw.Finalize()


def bench_3d(app, win, n: int = 36) -> None:  # type: ignore[no-untyped-def]
    v = win.view_3d
    rw = v.render_window()
    frames = []
    rw.SetDesiredUpdateRate(15.0)  # what the interactor asks for while rotating
    for _ in range(n):
        t0 = time.perf_counter()
        v.pipeline.azimuth(10.0)
        rw.Render()
        frames.append(time.perf_counter() - t0)
    rw.SetDesiredUpdateRate(0.5)
    t0 = time.perf_counter()
    rw.Render()
    still = time.perf_counter() - t0
    lo, hi = v.pipeline.roi_bounds_lps()
    size = rw.GetSize()
    fps = 1.0 / statistics.median(frames)
    print(
        f"    3D rotate ({size[0]}x{size[1]} px, "
        f"ROI {' x '.join(f'{d:.0f}' for d in hi - lo)} mm): "
        f"{_ms(frames)} -> {fps:.1f} fps; still frame {still * 1e3:.0f} ms"
    )
    v.set_mode("surface")
    t0 = time.perf_counter()
    rw.Render()
    print(
        f"    3D iso-surface: {v.pipeline.surface_triangles} triangles, build+first frame "
        f"{(time.perf_counter() - t0) * 1e3:.0f} ms"
    )
    surf = []
    for _ in range(12):
        t0 = time.perf_counter()
        v.pipeline.azimuth(10.0)
        rw.Render()
        surf.append(time.perf_counter() - t0)
    print(f"    3D iso-surface rotate: {_ms(surf)}")
    v.set_mode("volume")


def run_case(app, win, label: str, opener_call) -> None:  # type: ignore[no-untyped-def]
    load_s, shown_s = open_and_time(app, win, opener_call)
    vol = win.doc.volume
    nk, nj, ni = vol.shape_kji
    print(f"\n{label}: {ni}x{nj}x{nk} voxels")
    print(
        f"    open → first image: {shown_s:.2f} s (loading in workers {load_s:.2f} s; "
        f"everything else {shown_s - load_s:.2f} s)"
    )
    for layout in ("2x2", "maximised"):
        if layout == "maximised":
            win.grid.toggle_maximised("axial")
            app.processEvents()
        print(f"  layout {layout}:")
        bench_slices(app, win)
        if layout == "maximised":
            bench_reference(win, tuple(win.slice_views["axial"].render_window().GetSize()))
            win.grid.toggle_maximised("axial")
            app.processEvents()
    bench_3d(app, win)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--skip-dicom", action="store_true")
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "planner_bench_load"
    )
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        # run in a child under a virtual X display, which outlives the child's Qt connection
        import subprocess

        from pyvirtualdisplay import Display

        with Display(visible=False, size=(1920, 1080), color_depth=24) as disp:
            env = {**os.environ, "DISPLAY": f":{disp.display}"}
            sys.exit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDockWidget

    import ui.document.study_open
    import ui.shell.errors
    from ui.shell.app import create_application
    from ui.shell.main_window import MainWindow

    ui.document.study_open.show_load_warnings = lambda *a: None
    ui.shell.errors.message_sink = (
        lambda parent, level, title, text, details="": print("  ERROR:", text)
    )
    app = create_application([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, allow_gpu=True)
    w, h = (int(x) for x in args.size.split("x"))
    win.resize(w, h)
    win.show()
    for dock in win.findChildren(QDockWidget):
        dock.hide()  # time the four views at the window size, without planning panels
    for _ in range(20):
        app.processEvents()
    win.resize(w, h)  # again: the docks' minimum widths held the first resize wider
    for _ in range(20):
        app.processEvents()
    if (win.width(), win.height()) != (w, h):
        print(f"  (window is {win.width()}x{win.height()}, not {w}x{h})")
    run_case(app, win, "demo case", win.opener.open_demo)
    print("\nmachine:", machine(win.view_3d.render_window()))
    print(f"window {w}x{h}; 3D mapper: {type(win.view_3d.pipeline.prop.GetMapper()).__name__}")
    if not args.skip_dicom:
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_load import generate

        folder = args.cache / f"uncompressed_{args.slices}"
        t0 = time.perf_counter()
        generate(folder, args.slices, "uncompressed")
        print(f"\n(synthetic series ready in {time.perf_counter() - t0:.1f} s: {folder})")
        run_case(
            app, win, f"synthetic DICOM 512x512x{args.slices}", lambda: win.opener.open_path(folder)
        )
    win.doc.undo_stack.setClean()
    win.close()


if __name__ == "__main__":
    main()
