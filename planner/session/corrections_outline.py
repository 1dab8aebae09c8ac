"""The surgeon's correction of a body outline: a brush on the body mask, stored compactly.

A ``"body_outline"`` correction (key ``"body"``) holds the difference between the corrected
body mask and the automatic one, on the level's crop grid (``LevelAnatomy.grid``, arrays
``[k, j, i]``):

- ``automatic``: ``{"sha1", "shape_kji", "voxels", "volume_ml"}`` of the automatic mask;
- ``value``: ``{"sha1_automatic", "shape_kji", "runs", "voxels", "volume_ml"}`` where ``runs``
  is the run-length code of ``corrected XOR automatic`` over the C-order flattened crop:
  ``[start_0, length_0, start_1, length_1, ...]`` (flat voxel indices).

The SHA-1 of the automatic mask (its ``np.packbits`` bytes) is kept so a plan reopened on a
changed analysis (another version, another crop) is detected and the delta is not applied to a
mask it was not made on. Volumes in mL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import LevelAnatomy
from planner.constants import BRUSH_RADIUS_RANGE_MM
from planner.session.model import Correction

KIND = "body_outline"
KEY = "body"
BoolArray = NDArray[np.bool_]


_SHA1: list[tuple[BoolArray, str]] = []  # the last few read-only masks and their digests


def mask_sha1(mask: BoolArray) -> str:
    """SHA-1 (hex) of a boolean mask's packed bits and shape (C order).

    Remembered for the last few read-only masks (an analysis' masks are frozen), so a brush
    stroke does not digest the automatic mask at every mouse move.
    """
    frozen = not mask.flags.writeable
    if frozen:
        for m, digest in _SHA1:
            if m is mask:
                return digest
    h = hashlib.sha1(str(tuple(mask.shape)).encode())
    h.update(np.packbits(np.ascontiguousarray(mask, dtype=bool)).tobytes())
    digest = h.hexdigest()
    if frozen:
        _SHA1.insert(0, (mask, digest))
        del _SHA1[8:]
    return digest


def encode_runs(delta: BoolArray) -> list[int]:
    """Run-length code ``[start, length, ...]`` of the True voxels of ``delta`` (C order)."""
    flat = np.ascontiguousarray(delta, dtype=bool).reshape(-1).view(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0]))))
    starts, stops = edges[0::2], edges[1::2]
    out = np.empty(2 * len(starts), dtype=np.int64)
    out[0::2], out[1::2] = starts, stops - starts
    return [int(v) for v in out]


def decode_runs(runs: Iterable[Any], shape_kji: tuple[int, ...]) -> BoolArray:
    """The mask of shape ``shape_kji`` whose True voxels are the runs (see :func:`encode_runs`).

    Raises
    ------
    ValueError
        Runs that are not pairs of non-negative integers inside the crop, or out of order.
    """
    r = np.asarray(list(runs), dtype=np.int64)
    n = int(np.prod(shape_kji))
    if r.ndim != 1 or r.size % 2:
        raise ValueError("an outline correction's runs are [start, length, ...] pairs")
    starts, lengths = r[0::2], r[1::2]
    stops = starts + lengths
    if r.size and (
        starts.min() < 0 or lengths.min() <= 0 or stops.max() > n or np.any(starts[1:] < stops[:-1])
    ):
        raise ValueError("an outline correction's runs leave the level's crop or overlap")
    flat = np.zeros(n + 1, dtype=np.int32)
    np.add.at(flat, starts, 1)
    np.add.at(flat, stops, -1)
    return np.asarray(np.cumsum(flat[:-1]) > 0).reshape(shape_kji)


def brush(
    anatomy: LevelAnatomy,
    mask: BoolArray,
    centres_lps: Iterable[Iterable[float]],
    radius_mm: float,
    normal_lps: Iterable[float],
    add: bool,
) -> BoolArray:
    """``mask`` with a brush stroke painted (``add``) or erased, in one 2D view's slice.

    Parameters
    ----------
    anatomy
        The level (its crop grid places the mask).
    mask
        The body mask to edit, shape ``anatomy.grid.shape_kji``.
    centres_lps
        The brush centres of the stroke, LPS mm (on the view's slice).
    radius_mm
        Brush radius in the slice plane, mm (:data:`planner.constants.BRUSH_RADIUS_RANGE_MM`).
    normal_lps
        The view's slice normal (unit vector, LPS); voxels within half a voxel of the slice
        along it are painted, so the stroke stays on the slice the surgeon sees.

    Returns
    -------
    A new mask (the input is not changed).
    """
    lo, hi = BRUSH_RADIUS_RANGE_MM
    if not lo <= radius_mm <= hi:
        raise ValueError(f"the brush radius must be {lo:g}–{hi:g} mm, got {radius_mm:g}")
    n = np.asarray(list(normal_lps), dtype=np.float64)
    n = n / float(np.linalg.norm(n))
    grid = anatomy.grid
    half = 0.5 * float(np.abs(grid.lps_to_ijk[:3, :3] @ n).max() ** -1)  # half a voxel along n
    out = np.array(mask, dtype=bool, copy=True)
    pad = radius_mm + half
    for c in np.asarray([list(p) for p in centres_lps], dtype=np.float64).reshape(-1, 3):
        box = _box(anatomy, c, pad)
        if box is None:
            continue
        (k0, j0, i0), (k1, j1, i1) = box
        k, j, i = np.meshgrid(
            np.arange(k0, k1), np.arange(j0, j1), np.arange(i0, i1), indexing="ij"
        )
        lps = grid.voxel_to_lps(np.stack([i, j, k], axis=-1).astype(np.float64))
        d = lps - c
        along = d @ n
        across = np.linalg.norm(d - along[..., None] * n, axis=-1)
        sel = (np.abs(along) <= half) & (across <= radius_mm)
        out[k0:k1, j0:j1, i0:i1][sel] = add
    return out


def _box(
    anatomy: LevelAnatomy, c: NDArray[np.float64], pad_mm: float
) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
    grid = anatomy.grid
    corners = c + pad_mm * np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
    ijk = grid.lps_to_voxel(corners)
    lo = np.maximum(np.floor(ijk.min(axis=0)).astype(int), 0)[::-1]
    hi = np.minimum(np.ceil(ijk.max(axis=0)).astype(int) + 1, grid.shape_kji[::-1])[::-1]
    if np.any(hi <= lo):
        return None
    return (int(lo[0]), int(lo[1]), int(lo[2])), (int(hi[0]), int(hi[1]), int(hi[2]))


def outline_correction(anatomy: LevelAnatomy, corrected: BoolArray) -> Correction:
    """The correction that turns the automatic body mask of ``anatomy`` into ``corrected``.

    ``anatomy`` is the *automatic* level (its body is the reference of the delta).
    """
    auto = anatomy.body
    if corrected.shape != auto.shape:
        raise ValueError(f"corrected body shape {corrected.shape} != crop {auto.shape}")
    if not corrected.any():
        raise ValueError(f"{anatomy.level}: the corrected body would be empty; not taken")
    vox_ml = anatomy.grid.voxel_volume_mm3 / 1000.0
    sha = mask_sha1(auto)
    shape = [int(v) for v in auto.shape]
    automatic = {
        "sha1": sha,
        "shape_kji": shape,
        "voxels": int(auto.sum()),
        "volume_ml": round(float(auto.sum()) * vox_ml, 3),
    }
    value = {
        "sha1_automatic": sha,
        "shape_kji": shape,
        "runs": encode_runs(corrected ^ auto),
        "voxels": int(corrected.sum()),
        "volume_ml": round(float(corrected.sum()) * vox_ml, 3),
    }
    return Correction.make(anatomy.level, KIND, KEY, automatic, value)


def corrected_body(anatomy: LevelAnatomy, correction: Correction) -> BoolArray:
    """The corrected body mask of the *automatic* ``anatomy``.

    Raises
    ------
    ValueError
        The automatic mask is not the one the correction was made on (SHA-1 or shape differ),
        or the stored runs are malformed.
    """
    v = correction.value
    if not isinstance(v, dict):
        raise ValueError("an outline correction's value must be an object")
    shape = tuple(int(s) for s in v.get("shape_kji", ()))
    if shape != tuple(anatomy.body.shape) or v.get("sha1_automatic") != mask_sha1(anatomy.body):
        raise ValueError(
            "the automatic body outline differs from the one it was drawn on (another analysis)"
        )
    return np.asarray(anatomy.body ^ decode_runs(v.get("runs", []), shape))


def with_outline(anatomy: LevelAnatomy, correction: Correction) -> LevelAnatomy:
    """``anatomy`` with its corrected body (see :func:`corrected_body`)."""
    return replace(anatomy, body=corrected_body(anatomy, correction))
