"""Slice geometry of one stack: order, spacing, gantry tilt, gaps, and the target voxel grid.

Slices are sorted by (0020,0032) Image Position (Patient) projected on the slice normal
``n = row_dir x col_dir`` from (0020,0037) Image Orientation (Patient) — never by file name,
InstanceNumber or SliceLocation. The slice spacing is taken from those positions, not from
(0018,0050) Slice Thickness or (0018,0088) Spacing Between Slices.

A stack whose positions move within the slice plane from slice to slice (gantry tilt: the
slices are perpendicular to the tilted gantry axis but stacked along the table), or whose
spacing is not uniform, cannot be described by one affine. Such stacks get a target grid
with axes (row_dir, col_dir, n), the original in-plane pixel size and a regular step along
n, covering every acquired pixel; :mod:`planner.dicom.resample` fills it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.dicom.headers import FrameHeader
from planner.errors import GeometryError
from planner.grid import FloatArray
from planner.volume import LoadWarning

# Positions that agree within this many mm are treated as exact: it keeps every voxel centre
# within the 0.1 mm accuracy target even after rounding of the DS strings in the headers.
POSITION_TOL_MM = 0.02
UNIFORM_TOL_MM = 0.05  # largest distance of a slice from the regular grid it is placed on
GAP_FACTOR = 1.5  # a spacing this many times the usual one means missing slices
MAX_UPSAMPLE = 16  # the regular grid may hold at most this many times the acquired slices
MIN_PIXEL_MM, MAX_PIXEL_MM = 0.001, 50.0  # plausible pixel sizes (tool assumption)
MAX_POSITION_MM = 1e5
INPLANE_JUMP_MM = 1.0  # in-plane positions this far off a straight track: several stacks


@dataclass(frozen=True, eq=False)
class StackGeometry:
    """Where each sorted slice lies and the regular grid the volume is delivered on.

    Notes
    -----
    ``depth_mm`` is each sorted slice's distance along the normal from the first one;
    ``inplane_mm`` its in-plane shift (along row_dir, col_dir) from the first one. Target
    voxel (i, j, k) lies at ``origin_lps + i*sx*row_dir + j*sy*col_dir + k*step*normal``.
    """

    order: tuple[int, ...]
    depth_mm: FloatArray
    inplane_mm: FloatArray
    ijk_to_lps: FloatArray
    shape_kji: tuple[int, int, int]
    pixel_size_ij: tuple[float, float]
    step_mm: float
    target_inplane_min_mm: tuple[float, float]
    tilt_deg: float
    needs_resample: bool
    warnings: tuple[LoadWarning, ...]


def _unit(v: FloatArray) -> FloatArray:
    n = float(np.linalg.norm(v))
    if n < 1e-6:
        raise GeometryError("Image Orientation (Patient) holds a zero-length direction")
    return v / n


def axes_from_orientation(
    orientation: Sequence[float],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unit row direction, column direction and slice normal (LPS) from (0020,0037)."""
    o = np.asarray(orientation, dtype=np.float64)
    r, c = _unit(o[:3]), _unit(o[3:])
    dot = float(r @ c)
    if abs(dot) > 0.01:
        raise GeometryError(
            f"Image Orientation (Patient) rows and columns are not perpendicular "
            f"(cosine {dot:.3f}); the images cannot be placed reliably"
        )
    c = _unit(c - dot * r)
    return r, c, _unit(np.cross(r, c))


def _bad_numbers(values: Sequence[float], lo: float, hi: float) -> bool:
    return not all(math.isfinite(v) and lo <= v <= hi for v in values)


def frame_problem(frame: FrameHeader) -> str:
    """Why this image's geometry cannot be trusted ('' when it can).

    Pixel Spacing (0028,0030) must be positive and finite (PS3.3 C.7.6.2.1: the physical
    distance between pixel centres); a negative value would silently mirror the image, so it is
    refused rather than guessed. Orientation (0020,0037) must hold two finite unit vectors and
    Position (0020,0032) finite coordinates within 100 m.
    """
    ps, ori, pos = frame.pixel_spacing, frame.orientation, frame.position
    if ps is not None and _bad_numbers(ps, MIN_PIXEL_MM, MAX_PIXEL_MM):
        return (
            f"Pixel Spacing (0028,0030) is {_fmt(ps)} in {frame_label(frame)}: it must be "
            f"positive and finite ({MIN_PIXEL_MM:g} to {MAX_PIXEL_MM:g} mm); a negative value "
            "would mirror the image, so the series is refused"
        )
    if ori is not None:
        norms = (math.hypot(*ori[:3]), math.hypot(*ori[3:]))
        if _bad_numbers(ori, -1.01, 1.01) or _bad_numbers(norms, 0.95, 1.05):
            return (
                f"Image Orientation (Patient) (0020,0037) is {_fmt(ori)} in "
                f"{frame_label(frame)}: it must hold two finite unit vectors"
            )
        cosine = sum(a * b for a, b in zip(ori[:3], ori[3:], strict=True)) / (norms[0] * norms[1])
        if abs(cosine) > 0.01:
            return (
                f"Image Orientation (Patient) (0020,0037) is {_fmt(ori)} in "
                f"{frame_label(frame)}: its rows and columns are not perpendicular "
                f"(cosine {cosine:.3f})"
            )
    if pos is not None and _bad_numbers(pos, -MAX_POSITION_MM, MAX_POSITION_MM):
        return (
            f"Image Position (Patient) (0020,0032) is {_fmt(pos)} in {frame_label(frame)}: "
            "it must hold finite coordinates in mm"
        )
    return ""


def _fmt(values: Sequence[float]) -> str:
    return "\\".join(f"{v:g}" for v in values)


def stack_problem(frames: Sequence[FrameHeader]) -> tuple[str, FrameHeader | None]:
    """(why the stack's geometry cannot be trusted, the first offending image) or ('', None)."""
    for f in frames:
        problem = frame_problem(f)
        if problem:
            return problem, f
    return "", None


def _single_slice_step(frame: FrameHeader) -> tuple[float, list[LoadWarning]]:
    for value, name in (
        (frame.spacing_between, "Spacing Between Slices"),
        (frame.thickness, "Slice Thickness"),
    ):
        if value is not None and math.isfinite(value) and 0.01 <= value <= 100:
            return float(value), [
                LoadWarning(
                    "single_slice",
                    f"Only one slice: its depth is taken from {name} ({value:g} mm).",
                )
            ]
    return 1.0, [LoadWarning("single_slice", "Only one slice and no thickness: depth set to 1 mm.")]


def _is_gap(gap: float, usual: float) -> bool:
    """A spacing close to a whole multiple (>= 2) of the usual one: slices are missing."""
    ratio = gap / usual
    return ratio > GAP_FACTOR and abs(ratio - round(ratio)) < 0.2


def _spacing_warnings(
    depth: FloatArray, frames: list[FrameHeader], step: float
) -> list[LoadWarning]:
    gaps = np.diff(depth)
    med = float(np.median(gaps))
    where = [k for k in range(len(gaps)) if _is_gap(float(gaps[k]), med)]
    out: list[LoadWarning] = []
    if where:
        parts = [
            f"{gaps[k]:.2f} mm between {frame_label(frames[k])} ({depth[k]:.2f} mm) and "
            f"{frame_label(frames[k + 1])} ({depth[k + 1]:.2f} mm), about "
            f"{int(round(gaps[k] / med)) - 1} slice(s)"
            for k in where[:5]
        ]
        out.append(
            LoadWarning(
                "missing_slices",
                f"Missing slices (usual spacing {med:.2f} mm; depths along the slice normal from "
                f"the first slice): {'; '.join(parts)}{' ...' if len(where) > 5 else ''}. Voxels "
                "in a gap are interpolated linearly between its two slices; do not measure there.",
            )
        )
    regular = np.array([g for k, g in enumerate(gaps) if k not in where])
    if not where or (len(regular) and float(regular.max() - regular.min()) > 2 * POSITION_TOL_MM):
        out.append(
            LoadWarning(
                "nonuniform_spacing",
                f"Slice spacing varies from {float(regular.min()):.3f} to "
                f"{float(regular.max()):.3f} mm (median {med:.3f} mm): the volume was resampled "
                f"onto a regular grid with {step:.3f} mm slices by linear interpolation along "
                "the slice normal, so distances are true millimetres.",
            )
        )
    return out


def frame_label(frame: FrameHeader) -> str:
    """File name (and frame number) for messages; never a full path with patient folders."""
    name = frame.path.replace("\\", "/").rsplit("/", 1)[-1]
    return name if frame.frame is None else f"{name} frame {frame.frame + 1}"


def _choose_step(depth: FloatArray) -> float:
    """Regular step for a non-uniform stack: the finest spacing, so no acquired detail is lost
    (a series with 1 mm and 7 mm parts keeps its 1 mm part), unless that multiplies the slice
    count by more than MAX_UPSAMPLE (then the step that gives exactly that many slices)."""
    n = len(depth)
    smallest = float(np.diff(depth).min())
    if depth[-1] / smallest + 1 <= MAX_UPSAMPLE * n:
        return smallest
    return float(depth[-1]) / (MAX_UPSAMPLE * n - 1)


def _sorted_stack(
    frames: Sequence[FrameHeader],
) -> tuple[
    tuple[FloatArray, FloatArray, FloatArray], FloatArray, NDArray[np.intp], FloatArray, FloatArray
]:
    """(axes r, c, n), positions, sort order, depth along n and in-plane shift of each slice."""
    missing = [frame_label(f) for f in frames if f.position is None or f.orientation is None]
    if missing:
        raise GeometryError(
            f"{len(missing)} image(s) lack Image Position/Orientation (Patient), e.g. "
            f"{missing[0]}; the slices cannot be placed in patient space"
        )
    r, c, n = axes_from_orientation(frames[0].orientation or ())
    pos = np.array([f.position for f in frames], dtype=np.float64)
    order = np.argsort(pos @ n, kind="stable")
    rel = pos[order] - pos[order[0]]
    depth = rel @ n
    if len(frames) > 1 and float(np.min(np.diff(depth))) < POSITION_TOL_MM:
        k = int(np.argmin(np.diff(depth)))
        raise GeometryError(
            f"two images lie at the same position ({frame_label(frames[order[k]])} and "
            f"{frame_label(frames[order[k + 1]])}); the series mixes several stacks"
        )
    return (r, c, n), pos, order, depth, np.stack([rel @ r, rel @ c], axis=1)


def _depth_step(frames: Sequence[FrameHeader], depth: FloatArray) -> tuple[float, float, bool]:
    """(step along n, offset of slice 0 from the fitted line, uniform?).

    Uniform when every slice lies within UNIFORM_TOL_MM of the least-squares line through the
    depths, so each voxel centre is within that distance of its header position.
    """
    if len(frames) == 1:
        return 0.0, 0.0, True
    k = np.arange(len(frames), dtype=np.float64)
    slope, offset = np.polyfit(k, depth, 1)
    if float(np.max(np.abs(depth - (offset + slope * k)))) <= UNIFORM_TOL_MM:
        return float(slope), float(offset), True
    return _choose_step(depth), 0.0, False


def _check_track(
    frames: Sequence[FrameHeader], order: NDArray[np.intp], depth: FloatArray, inplane: FloatArray
) -> None:
    """Refuse positions that jump within the slice plane: several stacks, not one.

    One stack (tilted or not) moves its in-plane origin along a straight line with depth;
    interleaved stacks with one UID zigzag around it.
    """
    if len(frames) < 3:
        return
    coef = np.polyfit(depth, inplane, 1)
    resid = inplane - (np.outer(depth, coef[0]) + coef[1])
    dist = np.hypot(resid[:, 0], resid[:, 1])
    if float(dist.max()) > INPLANE_JUMP_MM:
        k = int(np.argmax(dist))
        raise GeometryError(
            f"the image positions do not form one stack: {frame_label(frames[int(order[k])])} "
            f"lies {float(dist.max()):.1f} mm off the line through the others within the slice "
            "plane; the series mixes several stacks. Choose one stack or export them as "
            "separate series",
            path=frames[int(order[k])].path,
        )


def _tilt_warning(
    tilt_deg: float, shear: float, shape: tuple[int, int, int], step: float
) -> LoadWarning:
    n_out, rows, cols = shape
    return LoadWarning(
        "gantry_tilt",
        f"Gantry tilt of {tilt_deg:.1f} degrees (the slices shift {shear:.1f} mm within their "
        "plane across the stack): the volume was resampled onto a regular grid perpendicular to "
        f"the slices ({cols} x {rows} x {n_out}, {step:.3f} mm slices) so every pixel sits where "
        "its header places it; corners outside the acquired slices are set to air.",
    )


def stack_geometry(frames: Sequence[FrameHeader]) -> StackGeometry:
    """Sort one stack along its normal and describe the regular grid it is delivered on.

    Raises
    ------
    GeometryError
        Missing position/orientation, two slices at the same place, or inconsistent axes.
    """
    f0 = frames[0]
    problem, bad = stack_problem(frames)
    if problem:
        raise GeometryError(problem, path=bad.path if bad is not None else None)
    (r, c, n), pos, order, depth, inplane = _sorted_stack(frames)
    _check_track(frames, order, depth, inplane)
    ps = f0.pixel_spacing or (1.0, 1.0)
    sx, sy = float(ps[1]), float(ps[0])  # (0028,0030) is (between rows, between columns)
    warnings: list[LoadWarning] = []
    step, offset, uniform = _depth_step(frames, depth)
    if len(frames) == 1:
        step, warnings = _single_slice_step(f0)
    shear = float(np.max(np.hypot(inplane[:, 0], inplane[:, 1])))
    tilted = shear > UNIFORM_TOL_MM
    tilt_deg = (
        math.degrees(math.atan2(float(np.hypot(*inplane[-1])), float(depth[-1]))) if tilted else 0.0
    )
    umin, vmin = (float(inplane[:, 0].min()), float(inplane[:, 1].min())) if tilted else (0.0, 0.0)
    cols, rows = f0.columns, f0.rows
    if tilted:  # the target plane covers every shifted slice
        cols += math.ceil((float(inplane[:, 0].max()) - umin) / sx - 1e-6)
        rows += math.ceil((float(inplane[:, 1].max()) - vmin) / sy - 1e-6)
        offset = 0.0  # resampling measures target depths from the first slice
    n_out = len(frames) if uniform else int(math.floor(depth[-1] / step + 1e-6)) + 1
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = r * sx, c * sy, n * step
    affine[:3, 3] = pos[order[0]] + umin * r + vmin * c + offset * n
    if not np.all(np.isfinite(affine)) or abs(float(np.linalg.det(affine[:3, :3]))) < 1e-9:
        raise GeometryError(
            f"the slice geometry of {frame_label(f0)} gives a singular or non-finite voxel grid",
            path=f0.path,
        )
    if not uniform:
        warnings += _spacing_warnings(depth, [frames[i] for i in order], step)
    if tilted:
        warnings.append(_tilt_warning(tilt_deg, shear, (n_out, rows, cols), step))
    return StackGeometry(
        order=tuple(int(i) for i in order),
        depth_mm=depth,
        inplane_mm=inplane,
        ijk_to_lps=affine,
        shape_kji=(n_out, rows, cols),
        pixel_size_ij=(sx, sy),
        step_mm=step,
        target_inplane_min_mm=(umin, vmin),
        tilt_deg=tilt_deg,
        needs_resample=bool(tilted or not uniform),
        warnings=tuple(warnings),
    )
