"""Fluoroscopy display window from the projection's own histogram (planner.fluoro_window),
on synthetic images and on DRRs of the real NIfTI and DICOM CTs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planner.fluoro_window import HARMONISATION, fluoro_display, harmonised, histogram_window


def _old_global_stretch(p: np.ndarray) -> np.ndarray:
    """The former display: 1 − exp(−ray sum), stretched between global 1 % / 99.5 %."""
    v = 1.0 - np.exp(-p.astype(np.float64))
    lo, hi = np.percentile(v, [1, 99.5])
    return (np.clip((v - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def _stats(u8: np.ndarray) -> dict[str, float]:
    n = u8.shape[0]
    c = u8[n // 6 : n - n // 6, n // 6 : n - n // 6].astype(np.float64)
    q5, q95 = np.percentile(c, [5, 95])
    spine = u8[:, n // 3 : 2 * n // 3].astype(np.float64)
    return {
        "white": float((c >= 254).mean()),
        "black": float((c <= 1).mean()),
        "spread": float(q95 - q5),
        "edges": float(np.abs(np.diff(spine, axis=0)).mean()),  # endplates: vertical gradient
    }


def test_window_is_read_from_the_histogram_quantiles() -> None:
    rng = np.random.default_rng(1)
    v = rng.uniform(0.0, 10.0, size=(300, 300))
    lo, hi = histogram_window(v, low_q=0.01, high_q=0.995)
    assert lo == pytest.approx(0.1, abs=0.1) and hi == pytest.approx(9.95, abs=0.1)
    # only the central region counts: a bright border does not move the window
    v2 = v.copy()
    v2[:20] = 1000.0
    assert histogram_window(v2) == pytest.approx((lo, hi), abs=0.15)


def test_harmonisation_keeps_a_small_ring_visible_on_a_thick_background() -> None:
    n = 256
    yy, xx = np.mgrid[0:n, 0:n]
    thickness = 6.0 + 4.0 * np.exp(-((xx - n / 2) ** 2) / (2 * 60.0**2))  # trunk: smooth, thick
    r = np.hypot(yy - n / 2, xx - n / 2)
    ring = 0.4 * ((r > 10) & (r < 14))  # a pedicle's cortex seen end-on
    p = (thickness + ring).astype(np.float32)
    assert harmonised(np.full((50, 50), 2.0), 1.0) == pytest.approx(2.0 * (1 - HARMONISATION))
    new, old = fluoro_display(p, 0.5), _old_global_stretch(p)
    on, off = (r > 10.5) & (r < 13.5), (r > 17) & (r < 22)
    contrast_new = new[on].mean() - new[off].mean()
    contrast_old = old[on].mean() - old[off].mean()
    assert contrast_new > 60 and contrast_new > 2 * contrast_old


def _nifti_l3_centre(root: Path) -> np.ndarray:
    nib = pytest.importorskip("nibabel")
    lab = nib.load(str(root / "totalseg_example" / "vertebrae_labels.nii.gz"))
    ijk = np.argwhere(np.asarray(lab.dataobj) == 29).mean(axis=0)  # 29 = L3
    ras = lab.affine @ np.r_[ijk, 1.0]
    return np.array([-ras[0], -ras[1], ras[2]])


def _cptac_t8_centre(root: Path) -> np.ndarray:
    truth = json.loads((root / "cptac_chest_ct" / "levels_truth.json").read_text())
    return np.array(next(lv["centre_lps"] for lv in truth["levels"] if lv["level"] == "T8"))


@pytest.mark.parametrize(
    ("rel", "centre"),
    [
        ("totalseg_example/example_ct.nii.gz", _nifti_l3_centre),
        ("cptac_chest_ct/dicom", _cptac_t8_centre),
    ],
)
def test_real_ct_radiographs_are_neither_white_nor_washed_out(shared_data, rel, centre) -> None:  # type: ignore[no-untyped-def]
    from planner.drr import DRRRenderer
    from planner.loading import load_path

    vol = load_path(shared_data / rel).volume
    r = DRRRenderer(vol, centre(shared_data), radius_mm=100.0)
    beam = np.array([0.35, 0.85, 0.3])
    for view, d in (("ap", None), ("lateral", None), ("bullseye", beam / np.linalg.norm(beam))):
        im = r.render(view, 384, 160.0, d)
        new, old = (
            _stats(fluoro_display(im.pixels, im.pixel_mm)),
            _stats(_old_global_stretch(im.pixels)),
        )
        assert new["white"] < 0.02 and new["black"] < 0.03, (view, new)
        assert new["spread"] > 120, (view, new)  # uses the grey scale, not a few levels
        # bone edges (endplates, cortices) at least 1.5x the global stretch's contrast
        assert new["edges"] > 1.5 * old["edges"], (view, new, old)
