"""Benchmark: load CT series as whole processes, this loader against SimpleITK and dcm2niix.

Usage::

    python bench/bench_load.py [--repeat 5] [--cache DIR] [--only uncompressed_300,j2k_20,...]

Generates (once, cached in a temp folder) synthetic 512 x 512 CT series: 300 slices
uncompressed, 20 and 300 slices JPEG 2000 lossless. Each loader runs as a fresh process per
run (imports, worker start-up and file reading all counted; the file cache warm for all), the
three in turn (A B C A B C ...) so that machine load hits all alike. Prints per loader the
median wall time, the median of the run-by-run ratios against each anchor, and the peak
resident memory of the process. Anchors: SimpleITK ``ImageSeriesReader`` (GDCM) and the
``dcm2niix`` command (which also writes a NIfTI file; ``-z n``, no compression).

Then the gantry-tilted real series (../shared/data/dicom_gantry_tilt_ge, if present): slice
step chosen, p95 |HU error| at every original pixel (each pixel's header position sampled in
the loaded volume), and peak traced memory of the load against the output volume.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_description  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's planner, also in this process (tilt check)


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
    done = folder / ".complete"
    if done.exists():
        return  # before any import: the benchmark process stays small (see machine())
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEG2000Lossless

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


def run_child(method: str, folder: Path) -> None:
    """Runs as the whole measured process: load the series the way each tool does."""
    if method == "planner":
        from planner.loading import load_path

        vol = load_path(folder).volume
        print(vol.shape_kji)
    else:
        import SimpleITK as sitk

        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
        arr = sitk.GetArrayViewFromImage(reader.Execute())
        print(arr.shape)


def _command(method: str, folder: Path, out_dir: Path) -> list[str]:
    if method == "dcm2niix":
        return ["dcm2niix", "-z", "n", "-o", str(out_dir), "-f", "bench", str(folder)]
    return [sys.executable, str(Path(__file__).resolve()), "--child", method, str(folder)]


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one whole process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed with exit code {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def compare(folder: Path, repeat: int, methods: list[str]) -> dict[str, list[tuple[float, float]]]:
    out_dir = Path(tempfile.mkdtemp(prefix="bench_load_out_"))
    runs: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    try:
        _warm(folder)
        for m in methods:  # one warm-up each (page cache, bytecode)
            _timed(_command(m, folder, out_dir))
        for _ in range(repeat):
            for m in methods:
                runs[m].append(_timed(_command(m, folder, out_dir)))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return runs


def report_compare(runs: dict[str, list[tuple[float, float]]]) -> None:
    anchors = [m for m in runs if m != "planner"]
    for m, rs in runs.items():
        walls = [w for w, _ in rs]
        line = (
            f"  {m:9s} wall median {statistics.median(walls):6.2f} s "
            f"(min {min(walls):.2f}, max {max(walls):.2f}); "
            f"peak RSS {max(r for _, r in rs):5.0f} MiB"
        )
        if m == "planner":
            for a in anchors:
                ratios = [p / q for (p, _), (q, _) in zip(rs, runs[a], strict=True)]
                line += f"; vs {a} {statistics.median(ratios):.2f}x"
        print(line)


def tilt_check(folder: Path) -> None:
    """Finest-gap resampling of the gantry-tilted series: error at original pixels, memory."""
    import tracemalloc

    import numpy as np
    import pydicom

    from planner.loading import load_path

    tracemalloc.start()
    t0 = time.perf_counter()
    res = load_path(folder)
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    vol = res.volume
    errs = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
        hu = raw * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        pad = ds.get("PixelPaddingValue")
        valid = raw != pad if pad is not None else np.ones(raw.shape, bool)
        o = np.asarray(ds.ImageOrientationPatient, float)
        ps = np.asarray(ds.PixelSpacing, float)
        jj, ii = np.nonzero(valid)
        lps = (
            np.asarray(ds.ImagePositionPatient, float)
            + ii[:, None] * ps[1] * o[:3]
            + jj[:, None] * ps[0] * o[3:]
        )
        got = vol.sample_lps(lps)
        ok = np.isfinite(got)
        errs.append(np.abs(got[ok] - hu[jj, ii][ok]))
    err = np.concatenate(errs)
    print(
        f"  slice step {vol.spacing_mm[2]:.3f} mm, output {' x '.join(map(str, vol.shape_kji))}; "
        f"|HU error| at {err.size} original pixels: median {np.median(err):.1f}, "
        f"p95 {np.percentile(err, 95):.1f}, p99 {np.percentile(err, 99):.1f}; "
        f"load {wall:.2f} s in-process; peak traced memory {peak / vol.hu.nbytes:.2f} x the output "
        f"volume ({vol.hu.nbytes / 2**20:.0f} MiB)"
    )


def machine() -> str:
    """Versions without importing the packages here: this process stays small, so the peak
    memory the kernel reports for each child (inherited at fork) is the child's own."""
    from importlib.metadata import version

    d2n = subprocess.run(["dcm2niix", "-v"], capture_output=True, text=True).stdout.strip()
    return (
        f"{cpu_description()}; pydicom {version('pydicom')}; SimpleITK {version('SimpleITK')}; "
        f"dcm2niix {d2n.splitlines()[-1] if d2n else '?'}"
    )


CASES = {
    "uncompressed_300": ("uncompressed", 300),
    "j2k_20": ("j2k", 20),
    "j2k_300": ("j2k", 300),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "planner_bench_load"
    )
    ap.add_argument("--only", default=",".join([*CASES, "tilt"]))
    ap.add_argument("--child", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args.child[0], Path(args.child[1]))
        return
    print("machine:", machine())
    for name in args.only.split(","):
        if name == "tilt":
            folder = ROOT.parent / "shared" / "data" / "dicom_gantry_tilt_ge" / "GE"
            if folder.is_dir():
                print("\ngantry tilt (real GE head CT, 18.5 degrees, gaps 1.08 / 4 / 7 mm):")
                tilt_check(folder)
            continue
        syntax, n = CASES[name]
        folder = args.cache / f"{syntax}_{n}"
        generate(folder, n, syntax)
        size = sum(p.stat().st_size for p in folder.glob("*.dcm")) / 2**20
        print(f"\n{name}: {n} x 512 x 512, {size:.0f} MiB on disk, {args.repeat} runs each")
        report_compare(compare(folder, args.repeat, ["planner", "simpleitk", "dcm2niix"]))


if __name__ == "__main__":
    main()
