"""Dragging a morphometry point in the workstation: cost of one mouse move (target <= 50 ms).

Run under a display:
``xvfb-run -a -s "-screen 0 1920x1080x24" python bench/bench_corrections_ui.py``.
The demo opens with its exact ground-truth analysis; the L1 anterior superior point is dragged
30 px on the sagittal view. One move = the corrected case computed, the handles and the status
bar updated and the sagittal view rendered. One push = the case given to the document (one
merged undo step): every panel (measurement table, levels, estimates) and view follows.
Reference in the same run: one plain render of the sagittal view.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from PySide6.QtCore import QPointF, QSettings

    from ui.shell.app import create_application

    app = create_application([])
    from planner.demo import generate_demo
    from tests.ui.demo_truth import truth_analysis
    from tests.ui.trajectory_helpers import send_mouse
    from ui.render.vertebra_actors import height_line_points
    from ui.shell.main_window import MainWindow

    win = MainWindow(
        QSettings("/tmp/bench_corrections_ui.ini", QSettings.Format.IniFormat), allow_gpu=False
    )
    win.resize(1920, 1050)
    win.show()
    case = generate_demo()
    win.doc.set_study(case.volume, (), "demo:")
    a = truth_analysis(case, confirmed=("L1",))
    levels = []
    for r in a.levels:
        lines = {
            w: (tuple(map(float, p)), tuple(map(float, q)))
            for w, (p, q) in height_line_points(r.anatomy, r.morphometry).items()
        }
        levels.append(replace(r, morphometry=replace(r.morphometry, height_lines_lps=lines)))
    a = replace(a, levels=tuple(levels))
    win.doc._apply_analysis(a)
    win.state.set_cursor(np.asarray(a.level("L1").anatomy.frame.origin_lps))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    view = win.slice_views["sagittal"]
    handles = {(lv, k): p for lv, k, p in view.morphometry_tool.adapter.visible}
    q0 = view.widget_point(handles[("L1", "anterior_superior")])
    tool = view.morphometry_tool
    send_mouse(view.vtk, "press", q0)
    moves, pushes = [], []
    for k in range(1, 31):
        t = time.perf_counter()
        send_mouse(view.vtk, "move", q0 + QPointF(0.0, float(k)))
        view.render_now()
        moves.append(1000.0 * (time.perf_counter() - t))
        if k % 5 == 0:  # what the PUSH_MS timer does during a drag
            t = time.perf_counter()
            tool.flush()
            app.processEvents()
            view.render_now()
            pushes.append(1000.0 * (time.perf_counter() - t))
    send_mouse(view.vtk, "release", q0 + QPointF(0.0, 30.0))
    app.processEvents()
    renders = []
    for _ in range(10):
        t = time.perf_counter()
        view.render_now()
        renders.append(1000.0 * (time.perf_counter() - t))
    m = win.doc.analysis.level("L1").morphometry
    print(
        f"demo L1 anterior superior dragged 30 px: {len(moves)} moves, "
        f"{win.doc.undo_stack.count()} undo step(s); anterior height now "
        f"{m.heights_mm.anterior:.1f} mm, grade {m.genant_grade}"
    )
    print(
        f"  one move (corrected case + handles + status + sagittal render): median "
        f"{np.median(moves):.1f} ms, max {np.max(moves):.1f} ms (target <= 50 ms)"
    )
    print(
        f"  one document push (every panel and view; at most every 150 ms while dragging): "
        f"median {np.median(pushes):.0f} ms, max {np.max(pushes):.0f} ms"
    )
    print(f"  reference: plain sagittal render median {np.median(renders):.1f} ms")
    win.doc.undo_stack.setClean()
    win.close()


if __name__ == "__main__":
    main()
