"""A save removes the temporaries that killed saves left beside the plan file."""

import os
import time

from planner.plan.file import remove_stale_temporaries, save_plan
from planner.plan.model import Plan, SeriesBinding


def _plan() -> Plan:
    return Plan(level="L1", series=SeriesBinding("1.2.3", "fp"), trajectories=())


def test_save_removes_old_temporaries_and_keeps_fresh_ones(tmp_path):
    target = tmp_path / "case.plan.json"
    old = tmp_path / ".case.plan.json.abc123.tmp"
    fresh = tmp_path / ".case.plan.json.def456.tmp"
    other = tmp_path / ".other.json.zzz.tmp"
    for f in (old, fresh, other):
        f.write_text("{")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    save_plan(_plan(), target)
    assert target.exists()
    assert not old.exists()
    assert fresh.exists()  # may belong to a save running right now
    assert other.exists()  # another file's temporary is not ours


def test_remove_stale_temporaries_reports_what_it_removed(tmp_path):
    target = tmp_path / "p.json"
    stale = tmp_path / ".p.json.x.tmp"
    stale.write_text("")
    removed = remove_stale_temporaries(target, now=time.time() + 120)
    assert removed == [stale]
    assert not stale.exists()
