"""Start-up benchmark: process start → first demo image in the workstation, against a
minimal PySide6 + VTK app that generates the same demo and renders one image (same run,
whole processes, best of N).

Usage::

    python bench/bench_startup.py [--repeat 2] [--size 1280x800]

Run under a display (``xvfb-run -a python bench/bench_startup.py``). Target (issue 13):
workstation ≤ 1.2 × the minimal app.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = r"""
import sys, time
import numpy as np
from PySide6.QtWidgets import QApplication
import vtkmodules.vtkInteractionStyle
import vtkmodules.vtkRenderingFreeType
import vtkmodules.vtkRenderingOpenGL2
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkImageSlice, vtkImageSliceMapper
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData
from planner.demo import generate_demo
app = QApplication(sys.argv[:1])
w = QVTKRenderWindowInteractor()
w.resize(W, H); w.show()
case = generate_demo()
hu = np.ascontiguousarray(case.volume.hu)
img = vtkImageData(); nk, nj, ni = hu.shape; img.SetDimensions(ni, nj, nk)
img.GetPointData().SetScalars(numpy_to_vtk(hu.ravel(), deep=False))
m = vtkImageSliceMapper(); m.SetInputData(img); m.SetSliceNumber(nk // 2); m.SetOrientationToZ()
s = vtkImageSlice(); s.SetMapper(m)
s.GetProperty().SetColorWindow(1800); s.GetProperty().SetColorLevel(400)
r = vtkRenderer(); r.AddViewProp(s); r.ResetCamera()
rw = w.GetRenderWindow(); rw.AddRenderer(r); rw.Render()
print("FIRST_IMAGE", time.time(), flush=True)
"""

# The program's own start-up path (ui.shell.app.start, as `python main.py` runs it) with a
# fresh settings file and the same window size as the minimal app.
WORKSTATION = r"""
import sys, time, tempfile
from PySide6.QtCore import QSettings
from ui.shell.app import start
settings = QSettings(tempfile.mkdtemp() + "/s.ini", QSettings.Format.IniFormat)
app, win = start([], settings=settings, size=(W, H))
rw = win.slice_views["axial"].render_window()
def on_render(*_):
    if win.doc.volume is not None:
        print("FIRST_IMAGE", time.time(), flush=True)
        import os; os._exit(0)
rw.AddObserver("EndEvent", on_render)
app.exec()
"""


def run(code: str, size: tuple[int, int]) -> float:
    src = code.replace("W, H", f"{size[0]}, {size[1]}")
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", src], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_IMAGE"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"no image: {out.stderr[-1500:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--size", default="1280x800")
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.split("x"))
    mins, wss = [], []
    for _ in range(a.repeat):  # interleaved: both see the same machine load
        mins.append(run(MINIMAL, size))  # type: ignore[arg-type]
        wss.append(run(WORKSTATION, size))  # type: ignore[arg-type]
    m, w = min(mins), min(wss)
    print(f"minimal PySide6+VTK app, start → first demo image: {m:.2f} s (runs {mins})")
    print(f"workstation, start → first demo image:            {w:.2f} s (runs {wss})")
    print(f"ratio {w / m:.2f}x (target ≤ 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
