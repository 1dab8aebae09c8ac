"""Benchmark: load a 300-slice 512x512 CT series with this loader and with SimpleITK.

Usage::

    python bench/bench_load.py [--slices 300] [--repeat 3] [--cache DIR]

Generates (once, cached in a temp folder) a synthetic CT series uncompressed and as JPEG 2000
lossless, then times each loader in its own fresh subprocess (so imports, worker start-up and
peak memory are counted per method, with a warm file cache for both; module imports are done
before the clock starts for both). Prints wall time (best of N, runs interleaved), the peak
resident memory above the interpreter's baseline, the volume size and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_description  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fp:
            for line in fp:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _phantom_slice(k: int, n: int, rng) -> object:
    import numpy as np

    j, i = np.mgrid[0:512, 0:512]
    x, y = (i - 256) / 200.0, (j - 270) / 150.0
    body = x**2 + y**2 < 1.0
    hu = np.full((512, 512), -1000.0)
    hu[body] = 40.0
    r = np.hypot((i - 256) / 30.0, (j - 330) / 25.0 * (1 + 0.2 * np.sin(k / n * 6)))
    hu[(r > 0.7) & (r < 1.0)] = 900.0  # cortical ring
    hu[r <= 0.7] = 200.0  # cancellous core
    hu += rng.normal(0.0, 15.0, hu.shape) * body
    return np.clip(np.rint(hu), -1024, 3000)


def generate(folder: Path, n: int, syntax: str) -> None:
    """Write the series (uncompressed or JPEG 2000 lossless) unless it is already cached."""
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEG2000Lossless

    done = folder / ".complete"
    if done.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    series, study = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    for k in range(n):
        arr = (_phantom_slice(k, n, rng) + 1024).astype(np.uint16)
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, pydicom.uid.generate_uid()
        ds.Modality, ds.StudyInstanceUID, ds.SeriesInstanceUID = "CT", study, series
        ds.ImageType = "ORIGINAL\\PRIMARY\\AXIAL"
        ds.ImagePositionPatient = [-250.0, -250.0, -k * 1.0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [0.9765625, 0.9765625], 1.0
        ds.Rows = ds.Columns = 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = arr.tobytes()
        if syntax == "j2k":
            ds.compress(JPEG2000Lossless, arr)
        pydicom.dcmwrite(folder / f"{rng.integers(1 << 40):012x}.dcm", ds, enforce_file_format=True)
    done.write_text("ok")


def _warm(folder: Path) -> None:
    for p in folder.glob("*.dcm"):
        p.read_bytes()


def run_one(method: str, folder: Path) -> dict[str, float]:
    """Runs inside the child process: load once, report time and memory."""
    if method == "planner":  # import what the loader uses, as SimpleITK is imported below
        import pydicom.pixels  # noqa: F401

        from planner.dicom.pixels import shutdown_workers
        from planner.loading import load_path
    else:
        import SimpleITK as sitk
    base = _rss_mb()
    t0 = time.perf_counter()
    if method == "planner":
        vol = load_path(folder).volume
        arr = vol.hu
    else:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
        img = reader.Execute()
        arr = sitk.GetArrayViewFromImage(img)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if method == "planner":
        import planner.dicom.pixels as px

        pool = px._POOL  # bench-only peek: forkserver workers are not our children
        for pid in list(getattr(pool, "_processes", None) or {}):
            child = max(child, _peak_of(pid))
        shutdown_workers()
    return {
        "wall_s": wall,
        "baseline_mb": base,
        "peak_mb": peak,
        "child_peak_mb": child,
        "volume_mb": arr.nbytes / 2**20,
        "dtype": str(arr.dtype),
        "shape": list(arr.shape),
    }


def _child(method: str, folder: Path) -> dict[str, float]:
    _warm(folder)
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def machine() -> str:
    import pydicom
    import SimpleITK as sitk

    return (
        f"{cpu_description()}; pydicom {pydicom.__version__}; "
        f"SimpleITK {sitk.Version.VersionString()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "planner_bench_load"
    )
    ap.add_argument("--child", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]))))
        return
    print("machine:", machine())
    for syntax in ("uncompressed", "j2k"):
        folder = args.cache / f"{syntax}_{args.slices}"
        t = time.perf_counter()
        generate(folder, args.slices, syntax)
        size = sum(p.stat().st_size for p in folder.glob("*.dcm")) / 2**20
        print(
            f"\n{syntax}: {args.slices} x 512 x 512, {size:.0f} MiB on disk ({folder}, "
            f"ready in {time.perf_counter() - t:.1f} s)"
        )
        results: dict[str, list[dict[str, float]]] = {"planner": [], "simpleitk": []}
        for _ in range(args.repeat):  # interleaved, so machine load hits both alike
            for method in results:
                results[method].append(_child(method, folder))
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for method, runs in results.items():
            best = min(runs, key=lambda r: r["wall_s"])
            walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
            delta = max(r["peak_mb"] - r["baseline_mb"] for r in runs)
            print(
                f"  {method:9s} wall best {best['wall_s']:.2f} s (runs: {walls}); "
                f"peak RSS {max(r['peak_mb'] for r in runs):.0f} MiB, above baseline "
                f"{delta:.0f} MiB = {delta / best['volume_mb']:.2f} x volume "
                f"({best['volume_mb']:.0f} MiB {best['dtype']}); worker peak "
                f"{max(r['child_peak_mb'] for r in runs):.0f} MiB"
            )


if __name__ == "__main__":
    main()
