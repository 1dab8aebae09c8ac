"""Needle editing in the workstation: cost of one drag update and of the fluoroscopy views.

Run under a display: ``xvfb-run -a -s "-screen 0 1920x1080x24" python bench/bench_needle_ui.py``.
Prints the planner's evaluation time per update (target < 10 ms), the session level check the
panels read (both needles), the time to handle one mouse move during a drag (evaluation +
preview + the view under the mouse; the other views, needle views, fluoroscopy and metrics
table follow on one shared 150 ms tick; target < 30 ms) with a stock vtkImageViewer2 slice
render as the same-run reference, and the DRR times (target < 0.5 s each).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stock_viewer_ms(volume: object) -> list[float]:
    """A stock ``vtkImageViewer2`` (offscreen) stepping 30 axial slices: ms per render."""
    from vtkmodules.vtkInteractionImage import vtkImageViewer2

    from ui.render.image import image_from_array

    hu = volume.hu  # type: ignore[attr-defined]
    img = image_from_array(hu, volume.spacing_mm)  # type: ignore[attr-defined]
    v = vtkImageViewer2()
    v.SetInputData(img)
    v.SetColorWindow(1500)
    v.SetColorLevel(300)
    v.GetRenderWindow().SetOffScreenRendering(1)
    v.SetSize(640, 640)
    v.Render()
    out = []
    mid = hu.shape[0] // 2
    for k in range(30):
        t = time.perf_counter()
        v.SetSlice(mid + k % 10)
        v.Render()
        out.append(1e3 * (time.perf_counter() - t))
    v.GetRenderWindow().Finalize()
    return out


def main() -> None:
    from PySide6.QtCore import QPointF, QSettings

    from ui.shell.app import create_application

    app = create_application([])
    from planner.demo import generate_demo
    from planner.drr import DRRRenderer
    from planner.session import edit
    from planner.trajectory import evaluate
    from tests.ui.demo_truth import truth_analysis
    from tests.ui.trajectory_helpers import send_mouse, truth_trajectory
    from ui.document.trajectory_service import GESTURE_FOLLOW_MS
    from ui.shell.main_window import MainWindow

    win = MainWindow(
        QSettings("/tmp/bench_needle_ui.ini", QSettings.Format.IniFormat), allow_gpu=False
    )
    win.resize(1920, 1050)
    win.show()
    case = generate_demo()
    win.doc.set_study(case.volume, (), "demo:")
    svc = win.trajectory.service
    svc.synchronous = True
    win.doc._apply_analysis(truth_analysis(case, confirmed=("L1",)))
    win.doc._apply_case(edit.add_level(win.doc.case, "L1"))  # the user chose L1
    plan = svc.base_plan()
    for side in ("left", "right"):
        plan = plan.with_trajectory(truth_trajectory(case, side))
    win.doc.push_plan(plan, "bench")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    tr = plan.trajectory("left")
    ax = win.slice_views["axial"]
    win.state.set_cursor(np.asarray(tr.target_lps))
    app.processEvents()
    q0 = ax.widget_point(np.asarray(tr.target_lps))
    send_mouse(ax.vtk, "press", q0)
    moves, evals, checks = [], [], []
    for k in range(1, 31):
        t = time.perf_counter()
        send_mouse(ax.vtk, "move", q0 + QPointF(float(k), 0.0))
        app.processEvents()
        moves.append(time.perf_counter() - t)
        t = time.perf_counter()
        evaluate(svc.context(), svc.preview.trajectory("left"))
        evals.append(time.perf_counter() - t)
        moved = svc.preview.with_trajectory(
            svc.moved(svc.preview.trajectory("left"), "target", np.add(tr.target_lps, 0.1 * k))
        )
        t = time.perf_counter()
        svc.check(moved)  # the session's level check as the panel reads it (both needles)
        checks.append(time.perf_counter() - t)
    send_mouse(ax.vtk, "release", q0 + QPointF(30.0, 0.0))
    print(
        f"planner evaluate per update: median {1e3 * np.median(evals):.1f} ms, "
        f"max {1e3 * max(evals):.1f} ms"
    )
    print(
        f"session level check per update (derive.level_check, both needles, uncached): "
        f"median {1e3 * np.median(checks):.1f} ms, max {1e3 * max(checks):.1f} ms"
    )
    print(
        f"mouse move during a drag (evaluate, preview, view under the mouse, and the shared "
        f"{GESTURE_FOLLOW_MS} ms tick of the other views when due): "
        f"median {1e3 * np.median(moves):.0f} ms, p90 {1e3 * np.percentile(moves, 90):.0f} ms, "
        f"max {1e3 * max(moves):.0f} ms"
    )
    ref = _stock_viewer_ms(case.volume)
    print(
        f"reference, same run: stock vtkImageViewer2 slice change + render "
        f"median {np.median(ref):.0f} ms, max {max(ref):.0f} ms"
    )
    r = DRRRenderer(case.volume, case.truth.level("L1").centroid_lps, radius_mm=100.0)
    d = np.subtract(tr.target_lps, tr.skin_entry_lps)
    for view in ("ap", "lateral", "bullseye"):
        t = time.perf_counter()
        r.render(view, 384, 160.0, d)
        print(f"DRR {view} 384 px: {time.perf_counter() - t:.2f} s")
    win.doc.undo_stack.setClean()
    win.close()


if __name__ == "__main__":
    main()
