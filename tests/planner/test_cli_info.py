"""``python -m planner info`` and ``convert``: JSON keys, exit codes, one stderr line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from planner.cli import main
from tests.planner.dicom_factory import write_series

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_info_lists_series_and_describes_the_volume(tmp_path, capsys):
    s = write_series(tmp_path, n=6, pixel_spacing=(0.7, 0.9))
    code, js, _ = _run(capsys, "info", str(tmp_path))
    assert code == 0
    assert [x["series_uid"] for x in js["series"]] == [s.series_uid]
    assert {"modality", "description", "n_images"} <= set(js["series"][0])
    vol = js["volume"]
    assert vol["series_uid"] == s.series_uid
    assert vol["shape_kji"] == [6, 64, 64]
    assert vol["spacing_mm"] == [0.9, 0.7, 2.0]
    aff = np.array(vol["ijk_to_lps"])
    assert aff.shape == (4, 4) and np.allclose(
        aff[:3, 3], s.positions[np.argmin(s.positions[:, 2])]
    )
    assert len(vol["hu_range"]) == 2 and isinstance(js["warnings"], list)
    assert "Synthetic" not in json.dumps(js)


def test_info_with_series_and_warnings(tmp_path, capsys):
    write_series(tmp_path, n=5, depths_mm=[0, 2, 4, 8, 10])
    code, js, _ = _run(capsys, "info", str(tmp_path), "--series", js_key(tmp_path))
    assert code == 0
    assert "missing_slices" in [w["code"] for w in js["warnings"]]
    assert all(set(w) == {"code", "message"} for w in js["warnings"])


def js_key(folder: Path) -> str:
    from planner.loading import scan_path

    return scan_path(folder).series[0].key


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "info", str(tmp_path / "missing"))
    assert code == 2 and err.count("\n") == 1 and "missing" in err
    (tmp_path / "a.txt").write_text("x")
    code, _, err = _run(capsys, "info", str(tmp_path))
    assert code == 2 and "no image series" in err
    write_series(tmp_path / "s", n=2)
    code, _, err = _run(capsys, "info", str(tmp_path / "s"), "--series", "9.9.9")
    assert code == 2 and "9.9.9" in err


def test_convert_writes_nifti_with_the_lps_affine(tmp_path, capsys):
    import nibabel as nib

    write_series(tmp_path / "dcm", n=5, orientation=(-1, 0, 0, 0, 1, 0))
    out = tmp_path / "out" / "ct.nii.gz"
    code, js, _ = _run(capsys, "convert", str(tmp_path / "dcm"), str(out))
    assert code == 0 and out.is_file() and js["output"] == str(out)
    img = nib.load(str(out))
    lps = np.array(js["ijk_to_lps"])
    np.testing.assert_allclose(img.affine, np.diag([-1, -1, 1, 1]) @ lps, atol=1e-5)
    assert img.shape == (64, 64, 5)
    code, _, err = _run(capsys, "convert", str(tmp_path / "dcm"), str(tmp_path / "x.png"))
    assert code == 2 and ".nii" in err


def test_module_entry_point(tmp_path):
    write_series(tmp_path, n=3)
    p = subprocess.run(
        [sys.executable, "-m", "planner", "info", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["volume"]["shape_kji"] == [3, 64, 64]
