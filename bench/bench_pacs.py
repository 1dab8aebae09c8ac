"""Benchmark: retrieve a 300-slice CT study from a real Orthanc with the planner's C-GET and
with dcmtk's ``getscu``, in the same run (target: planner ≤ 1.5 × getscu).

Run: ``python bench/bench_pacs.py [--repeat N] [--slices 300]``. Starts Orthanc on a free
loopback port with a temporary configuration, stores a synthetic 512×512×N CT (the demo's
slices repeated, uncompressed, 0.5 MB each), then times both retrieves alternately (best and
median of N). Prints figures only; needs the Debian packages ``orthanc`` and ``dcmtk``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _study(n: int, out: Path) -> tuple[str, str]:
    import numpy as np

    from planner.demo import generate_demo
    from planner.dicom_export import write_dicom_series
    from planner.volume import CTVolume

    demo = generate_demo(0).volume
    k = np.arange(n) % demo.hu.shape[0]
    hu = np.full((n, 512, 512), -1000, dtype=np.int16)
    sj, si = demo.hu.shape[1:]
    hu[:, :sj, :si] = demo.hu[k]
    aff = np.diag([0.7, 0.7, 1.0, 1.0])
    vol = CTVolume.from_array(hu, aff, "2.25.1234567890123456789")
    res = write_dicom_series(vol, out, signed=True, study_description="bench")
    return res.study_uid, res.series_uid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slices", type=int, default=300)
    args = ap.parse_args()
    getscu = shutil.which("getscu")
    if getscu is None or Path(getscu).parent.name == "shims":
        getscu = "/usr/bin/getscu" if Path("/usr/bin/getscu").is_file() else None
    from tests.orthanc_server import ORTHANC, PLANNER_AET, SERVER_AET, OrthancServer

    if ORTHANC is None or getscu is None:
        print("needs Orthanc and dcmtk's getscu (Debian packages orthanc, dcmtk)")
        return
    from planner.pacs import client
    from planner.pacs.config import LocalAE, PacsServer

    with tempfile.TemporaryDirectory() as tmp, OrthancServer(Path(tmp)) as orth:
        t = Path(tmp)
        study, series = _study(args.slices, t / "src")
        server = PacsServer("bench", "127.0.0.1", orth.port, SERVER_AET)
        local = LocalAE(PLANNER_AET, timeout_s=120)
        files = sorted((t / "src").glob("*.dcm"))
        t0 = time.perf_counter()
        client.send(server, local, files)
        print(
            f"stored {len(files)} slices ({sum(f.stat().st_size for f in files) / 1e6:.0f} MB)"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        ours, theirs = [], []
        for i in range(args.repeat):
            dest = t / f"cache{i}"
            t0 = time.perf_counter()
            r = client.get(server, local, study, series, dest)
            ours.append(time.perf_counter() - t0)
            assert r["received"] == args.slices, r
            odir = t / f"getscu{i}"
            odir.mkdir()
            t0 = time.perf_counter()
            subprocess.run(
                [
                    getscu,
                    "-aet",
                    PLANNER_AET,
                    "-aec",
                    SERVER_AET,
                    "-S",
                    "-k",
                    "QueryRetrieveLevel=SERIES",
                    "-k",
                    f"StudyInstanceUID={study}",
                    "-k",
                    f"SeriesInstanceUID={series}",
                    "-od",
                    str(odir),
                    "127.0.0.1",
                    str(orth.port),
                ],
                check=True,
                capture_output=True,
            )
            theirs.append(time.perf_counter() - t0)
            assert len(list(odir.iterdir())) == args.slices
        for name, v in (("planner C-GET (incl. validation scan)", ours), ("dcmtk getscu", theirs)):
            print(f"{name}: best {min(v):.2f} s, median {statistics.median(v):.2f} s")
        print(
            f"ratio (median): {statistics.median(ours) / statistics.median(theirs):.2f} "
            "(target <= 1.5)"
        )


if __name__ == "__main__":
    main()
