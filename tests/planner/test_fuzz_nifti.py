"""Property-based fuzzing of the NIfTI loader on a slab of the demo case.

Each damaged file must load with the right warning code (NaN voxels counted, values beyond int16
``hu_clipped``, unscaled data ``not_hounsfield``) with every other voxel unchanged and left kept
left, or be refused with a message naming the file. Outcome counts are printed (``pytest -s``).
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import PlannerError
from planner.io_nifti import RAS_TO_LPS
from planner.loading import load_path

OUTCOMES: Counter[str] = Counter()
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def slab() -> tuple[np.ndarray, np.ndarray]:
    """A 16 x 72 x 95 slab of the demo (every 4th voxel in plane) and its RAS affine."""
    from planner.demo import generate_demo

    vol = generate_demo().volume
    k0 = vol.shape_kji[0] // 2
    hu = np.ascontiguousarray(vol.hu[k0 : k0 + 16, ::4, ::4])
    m = vol.ijk_to_lps.copy()
    m[:3, 3] = vol.voxel_to_lps((0.0, 0.0, float(k0)))
    m[:3, 0] *= 4
    m[:3, 1] *= 4
    return hu, RAS_TO_LPS @ m


def _write(folder: Path, data_kji: np.ndarray, affine: np.ndarray, name: str = "ct.nii") -> Path:
    path = folder / name
    img = nib.Nifti1Image(
        np.ascontiguousarray(data_kji.transpose(2, 1, 0)), np.eye(4), dtype=data_kji.dtype
    )
    img.set_sform(np.eye(4), code=1)
    img.set_qform(np.eye(4), code=1)
    nib.save(img, str(path))
    raw = bytearray(path.read_bytes())  # write the affine bytes as given, even degenerate ones
    raw[252:256] = np.array([0, 1], "<i2").tobytes()  # qform_code 0, sform_code 1
    raw[280:328] = np.asarray(affine[:3], dtype="<f4").tobytes()
    path.write_bytes(bytes(raw))
    return path


def _load(path: Path, codes: set[str] | None) -> object:
    try:
        res = load_path(path)
    except PlannerError as exc:
        assert path.name in str(exc), str(exc)
        assert codes is None, f"refused although it should load: {exc}"
        OUTCOMES["refused"] += 1
        return None
    assert codes is not None, "loaded although it must be refused"
    got = {w.code for w in res.warnings}
    assert codes <= got, (codes, got)
    OUTCOMES["loads:" + (",".join(sorted(codes)) or "clean")] += 1
    return res


def test_the_slab_itself_loads_clean_and_in_place(slab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    res = _load(_write(tmp_path, hu, affine), set())
    assert res is not None and not res.warnings  # type: ignore[attr-defined]
    vol = res.volume  # type: ignore[attr-defined]
    np.testing.assert_array_equal(vol.hu, hu)
    np.testing.assert_allclose(vol.ijk_to_lps, RAS_TO_LPS @ affine, atol=1e-3)


@FUZZ
@given(n_nan=st.integers(1, 50), seed=st.integers(0, 1000))
def test_nan_voxels_are_counted_and_set_to_air(slab, n_nan: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    data = hu.astype(np.float32)
    flat = np.random.default_rng(seed).choice(data.size, n_nan, replace=False)
    data.flat[flat] = np.nan
    with tempfile.TemporaryDirectory() as d:
        res = _load(_write(Path(d), data, affine), {"nan_voxels"})
    warn = next(w for w in res.warnings if w.code == "nan_voxels")  # type: ignore[attr-defined]
    assert f"{n_nan} voxel" in warn.message
    out = res.volume.hu  # type: ignore[attr-defined]
    assert np.all(out.flat[flat] == -1000)
    keep = np.ones(data.size, bool)
    keep[flat] = False
    np.testing.assert_array_equal(out.ravel()[keep], hu.ravel()[keep])


@FUZZ
@given(
    value=st.sampled_from([2.0**62, -(2.0**62), 1e30, 40000.0, -40000.0, math.inf]),
    n=st.integers(1, 20),
)
def test_values_beyond_int16_are_clipped_with_hu_clipped(slab, value: float, n: int) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    as_int = abs(value) == 2.0**62  # stored as int64, like the 2^62 case of the hostile test
    data = hu.astype(np.int64 if as_int else np.float32)
    data.flat[:n] = value
    with tempfile.TemporaryDirectory() as d:
        res = _load(_write(Path(d), data, affine), {"hu_clipped"})
    assert f"{n} voxel" in next(w.message for w in res.warnings if w.code == "hu_clipped")  # type: ignore[attr-defined]


@FUZZ
@given(offset=st.integers(0, 1024))
def test_unscaled_data_is_not_hounsfield(slab, offset: int) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    data = (np.maximum(hu, -1024).astype(np.int32) + 1024 + offset).astype(np.uint16)
    with tempfile.TemporaryDirectory() as d:
        _load(_write(Path(d), data, affine), {"not_hounsfield"})


@FUZZ
@given(
    col=st.integers(0, 2),
    value=st.sampled_from([0.0, math.nan, math.inf, 1e-9, 1e9]),
    parallel=st.booleans(),
)
def test_degenerate_affine_is_refused(slab, col: int, value: float, parallel: bool) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    bad = affine.copy()
    if parallel:
        bad[:3, col] = bad[:3, (col + 1) % 3]
    else:
        bad[:3, col] = bad[:3, col] / np.linalg.norm(bad[:3, col]) * value
        if value == 0.0 or not math.isfinite(value):
            bad[:3, col] = value
    with tempfile.TemporaryDirectory() as d:
        _load(_write(Path(d), hu, bad, "degenerate.nii"), None)


@FUZZ
@given(keep=st.integers(0, 20000))
def test_truncated_file_is_refused(slab, keep: int) -> None:  # type: ignore[no-untyped-def]
    hu, affine = slab
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d), hu, affine, "cut.nii")
        path.write_bytes(path.read_bytes()[: min(keep, path.stat().st_size - 2)])
        _load(path, None)


def teardown_module() -> None:
    print("\nNIfTI fuzz outcomes:", dict(sorted(OUTCOMES.items())))
