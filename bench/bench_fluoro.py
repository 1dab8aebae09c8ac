"""Cone-beam fluoroscopy shot time at 512 × 512 on the demo (L1), vs the parallel-beam DRR.

Prints the median and max of 10 shots per pose: a new pose (CT projected + needle + window)
and a repeated pose (CT projection reused, only the needle moves), next to the parallel-beam
DRR of planner.drr in the same run as the reference.
Run: ``PYTHONPATH=. python bench/bench_fluoro.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from planner.demo import generate_demo
from planner.drr import DRRRenderer
from planner.fluoro import CArmPose, ConeBeamProjector, take_shot


def _times(fn: object, n: int = 10) -> tuple[float, float]:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), max(ts)


def main() -> None:
    case = generate_demo(0)
    lv = case.truth.level("L1")
    c = np.array(lv.centroid_lps)
    t = time.perf_counter()
    proj = ConeBeamProjector(case.volume, c)
    print(f"projector set-up (once per study): {time.perf_counter() - t:.3f} s")
    ped = lv.pedicles["left"]
    tip = np.array(ped.isthmus_centre_lps) + 15 * np.array(ped.axis_dir_lps)
    skin = np.array(ped.entry_lps) - 60 * np.array(ped.axis_dir_lps)
    drr = DRRRenderer(case.volume, c)
    for name, lao, cran, view in (("AP", 0.0, 0.0, "ap"), ("lateral", 90.0, 0.0, "lateral"),
                                  ("oblique LAO 25 CRAN 10", 25.0, 10.0, None)):
        pose = CArmPose(tuple(c), lao, cran)
        med, mx = _times(lambda pose=pose: take_shot(proj, pose, 512, (skin, tip, 1.5)))
        ct = proj.line_integrals(pose, 512)
        med2, mx2 = _times(
            lambda pose=pose, ct=ct: take_shot(proj, pose, 512, (skin, tip, 1.5), ct))
        line = (f"{name:24s} cone-beam new pose {1000 * med:6.1f} ms (max {1000 * mx:6.1f}), "
                f"same pose {1000 * med2:5.1f} ms")
        if view is not None:
            dm, _ = _times(lambda view=view: drr.render(view, 512))
            line += f" | parallel-beam DRR {1000 * dm:5.1f} ms"
        else:
            dm, _ = _times(lambda pose=pose: drr.render("bullseye", 512,
                                                         direction_lps=pose.beam_dir()))
            line += f" | parallel-beam oblique DRR {1000 * dm:5.1f} ms"
        print(line)


if __name__ == "__main__":
    main()
