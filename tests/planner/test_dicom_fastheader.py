"""The lean header reader gives exactly the header pydicom gives, or steps aside."""

from __future__ import annotations

import dataclasses
import math

import pytest
from pydicom.uid import ExplicitVRBigEndian

from planner.dicom.fastheader import fast_frame_header
from planner.dicom.headers import read_file_headers
from tests.planner.dicom_factory import WRITABLE_SYNTAXES, write_series


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _compare(path: str) -> bool:
    fast = fast_frame_header(path)
    if fast is None:
        return False
    ref = read_file_headers(path)
    assert len(ref) == 1
    a = dataclasses.asdict(dataclasses.replace(fast, encapsulated_offset=None))
    b = dataclasses.asdict(ref[0])
    diff = {k: (a[k], b[k]) for k in a if not _same(a[k], b[k])}
    assert not diff, f"{path}: {diff}"
    return True


@pytest.mark.parametrize("ts", WRITABLE_SYNTAXES)
def test_same_header_as_pydicom_for_every_syntax(tmp_path, ts) -> None:  # type: ignore[no-untyped-def]
    s = write_series(tmp_path, n=2, rows=32, cols=32, transfer_syntax=ts, padding_value=3000)
    used = [_compare(str(p)) for p in s.paths]
    assert all(used) == (ts != ExplicitVRBigEndian and not ts.endswith(".99"))


def test_same_header_as_pydicom_on_real_files(shared_data) -> None:  # type: ignore[no-untyped-def]
    used = 0
    for folder in (
        "cptac_chest_ct",
        "dicom_gantry_tilt_ge",
        "dicom_pydicom_edge_cases",
        "totalseg_example",
        "dicom_dcmqa_transfer_syntaxes",
    ):
        for p in sorted((shared_data / folder).rglob("*")):
            if p.is_file() and p.suffix not in (".md", ".json", ".txt", ".gz", ".sh"):
                used += _compare(str(p))
    assert used > 100
