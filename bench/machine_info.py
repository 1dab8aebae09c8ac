"""The machine description every benchmark prints with its figures."""

from __future__ import annotations

import os
import platform


def cpu_description() -> str:
    """CPU model, usable cores, memory, load average, OS and Python."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fp:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fp if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.platform()}; {cpu}; {cores} usable cores (load average {load}); "
        f"{mem:.1f} GiB RAM; Python {platform.python_version()}"
    )
