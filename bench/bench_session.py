"""Cost of reading findings through the planning session on the demo (prints, never asserts).

The reference, in the same run, is the bare :func:`planner.trajectory.evaluate` of the same
needle: the difference is the session's overhead (content keys, cache look-up, findings list).

Run: python bench/bench_session.py
"""

from __future__ import annotations

import time
from dataclasses import replace

from planner.demo import generate_demo
from planner.plan.model import SeriesBinding
from planner.session import Case, edit, level_check, level_context
from planner.trajectory import evaluate, suggest
from planner.vertebra import analyze_spine

N = 50


def main() -> None:
    demo = generate_demo()
    vol = demo.volume
    analysis = analyze_spine(vol)
    case = Case(SeriesBinding(vol.series_uid, vol.geometry_fingerprint()), analysis=analysis)
    case = edit.add_level(case, "L1")
    ctx = level_context(vol, analysis.level("L1"))
    traj = suggest(ctx, "left", "11G").trajectory
    case = edit.place_needle(case, "L1", traj)
    level_check(vol, case, "L1")

    def moved(i: int) -> Case:
        tip = (traj.target_lps[0] + 0.01 * (i + 1), traj.target_lps[1], traj.target_lps[2])
        return edit.move_needle(case, "L1", replace(traj, target_lps=tip))

    cases = [moved(i) for i in range(N)]
    t0 = time.perf_counter()
    for c in cases:
        level_check(vol, c, "L1")
    session_ms = (time.perf_counter() - t0) / N * 1000
    t0 = time.perf_counter()
    for c in cases:
        lp = c.plan.level("L1")
        assert lp is not None
        evaluate(ctx, lp.trajectories[0], unipedicular=lp.is_unipedicular)
    bare_ms = (time.perf_counter() - t0) / N * 1000
    t0 = time.perf_counter()
    for _ in range(N):
        level_check(vol, case, "L1")
    hit_ms = (time.perf_counter() - t0) / N * 1000
    print(f"level_check, new needle position: {session_ms:.2f} ms")
    print(f"bare evaluate (reference, same run): {bare_ms:.2f} ms")
    print(f"level_check, unchanged plan (cache hit): {hit_ms:.3f} ms")


if __name__ == "__main__":
    main()
