"""A vertebral body resampled on a fine (≤ 0.5 mm) lattice, with its cortical shell.

Shared by the balloon and the cement-spread models. The fine grid keeps the crop grid's
axis directions (only the spacing changes), so masks move between the two by an affine map.

Surface labels (body frame, outward normal of the smoothed body mask): superior endplate,
inferior endplate, posterior wall, other wall. Cortical gaps are shell voxels where no
cortical HU is found nearby (model assumption, see :func:`fine_body`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from planner.anatomy import BodyFrame, LevelAnatomy
from planner.grid import FloatArray, ImageGrid

BoolArray = NDArray[np.bool_]
NONE, SUPERIOR, INFERIOR, POSTERIOR, WALL = 0, 1, 2, 3, 4
LABEL_NAMES = {
    SUPERIOR: "superior_endplate",
    INFERIOR: "inferior_endplate",
    POSTERIOR: "posterior_wall",
    WALL: "wall",
}
#: Cortical shell thickness used as the barrier [assumption: a modelling choice of this tool;
#: DOMAIN.md has no cortical-thickness source].
SHELL_MM = 1.0
#: Band inside the shell whose voxels are labelled by the surface they face (contacts, leaks).
RIM_MM = 1.0
#: Half-length (mm) of the HU profile across the wall searched for cortex [assumption].
GAP_PROFILE_MM = 2.5
#: |cos| above which an outward normal counts as facing an endplate / the posterior wall.
FACING_COS = 0.6
#: A cortex is judged only on CT slices/pixels at most this large: at 3 mm a ~1 mm cortex is
#: averaged away and a missing peak says nothing (ANATOMY.md §4: cortices under 1 mm are not
#: resolved; tool assumption for the limit).
GAP_MAX_SPACING_MM = 2.0
#: Posterior-wall gaps within this distance of the midsagittal plane are the basivertebral
#: foramen, a normal opening for the basivertebral vein (tool assumption for the width).
BASIVERTEBRAL_HALF_WIDTH_MM = 8.0
#: A shell point has lost its cortex when the highest HU across the wall stays below this
#: fraction of the way from the trabecular core to the typical cortex peak: a thin or
#: partial-volumed cortex (porotic bone) still rises above it, a hole does not (tool
#: assumption; the half-maximum flagged thin cortex on every real porotic body tested).
GAP_LEVEL_FRAC = 0.25
#: Smallest defect reported: a hole of this diameter (or 1.5 CT voxels if larger, what the
#: scan can resolve) through a :data:`SHELL_MM` shell (tool assumption).
GAP_MIN_DIAMETER_MM = 2.0
#: A gap is a defect only if the shell in a ring of this width around it keeps its cortex...
GAP_RING_MM = 2.0
#: ...on at least this fraction of the ring: a large area without a cortical peak is a
#: segmentation off the cortex or partial volume, not a hole in the cortex (tool assumption).
GAP_RING_INTACT_FRAC = 0.7


@dataclass(frozen=True, eq=False)
class FineBody:
    """A body on a fine grid.

    Notes
    -----
    All arrays ``[k, j, i]`` on ``grid`` (LPS mm, ≤ 0.5 mm spacing). ``label`` is set on the
    shell and the rim inside it; ``gap`` marks shell voxels without cortical HU.
    """

    grid: ImageGrid
    frame: BodyFrame
    body: BoolArray
    shell: BoolArray
    rim: BoolArray
    label: NDArray[np.int8]
    depth_mm: NDArray[np.float32]
    hu: NDArray[np.float32] | None
    gap: BoolArray
    crop_to_fine: FloatArray  # 4x4 (i, j, k, 1) crop → fine voxel coordinates
    other_bone: BoolArray  # pedicles / posterior elements next to the body, grown 2 mm
    notes: tuple[str, ...] = field(default=())

    @property
    def interior(self) -> BoolArray:
        return self.body & ~self.shell

    @property
    def voxel_ml(self) -> float:
        return self.grid.voxel_volume_mm3 / 1000.0

    @cached_property
    def coords_body(self) -> NDArray[np.float32]:
        """Body-frame coordinates (left, posterior, superior; mm) of all voxels ``[k, j, i, 3]``."""
        k, j, i = np.indices(self.grid.shape_kji, dtype=np.float32)
        lps = self.grid.voxel_to_lps(np.stack([i, j, k], axis=-1))
        return self.frame.to_body(lps).astype(np.float32)

    @cached_property
    def body_extent(self) -> dict[str, tuple[float, float]]:
        """Min/max body-frame coordinate of the body voxels along left, posterior, superior."""
        c = self.coords_body[self.body]
        return {
            ax: (float(c[:, n].min()), float(c[:, n].max()))
            for n, ax in enumerate(("left", "posterior", "superior"))
        }

    @cached_property
    def posterior_wall_distance_mm(self) -> NDArray[np.float32]:
        """Distance (mm) of every voxel to the posterior wall's outer shell voxels."""
        from scipy import ndimage

        wall = self.shell & (self.label == POSTERIOR) & (self.depth_mm <= self._outer_depth)
        if not wall.any():
            return np.full(self.grid.shape_kji, np.inf, np.float32)
        d = ndimage.distance_transform_edt(~wall, sampling=self._sampling_kji)
        return np.asarray(d, np.float32)

    @property
    def _sampling_kji(self) -> tuple[float, float, float]:
        return tuple(float(s) for s in self.grid.spacing_mm[::-1])  # type: ignore[return-value]

    @property
    def _outer_depth(self) -> float:
        return float(self.grid.spacing_mm.max()) * 1.01

    def lps_to_index(self, lps: FloatArray) -> tuple[NDArray[np.intp], BoolArray]:
        """Nearest voxel ``(n, 3)`` k, j, i indices of LPS points and whether inside the grid."""
        ijk = np.rint(self.grid.lps_to_voxel(np.atleast_2d(lps))).astype(np.intp)
        kji = ijk[:, ::-1]
        inside = np.all((kji >= 0) & (kji < np.array(self.grid.shape_kji)), axis=1)
        return np.where(inside[:, None], kji, 0), inside


def _fine_grid(
    anatomy: LevelAnatomy, spacing_mm: float, margin_mm: float
) -> tuple[ImageGrid, FloatArray]:
    crop = anatomy.grid
    idx = np.argwhere(anatomy.body)
    if idx.size == 0:
        raise ValueError(f"{anatomy.level}: the body mask is empty")
    sp = crop.spacing_mm
    fine_sp = np.minimum(sp, spacing_mm)
    lo_ijk = idx.min(axis=0)[::-1] - margin_mm / sp - 0.5
    hi_ijk = idx.max(axis=0)[::-1] + margin_mm / sp + 0.5
    shape_ijk = np.ceil((hi_ijk - lo_ijk) * sp / fine_sp).astype(int)
    m = np.eye(4)
    m[:3, :3] = crop.direction * fine_sp
    m[:3, 3] = crop.voxel_to_lps(lo_ijk + 0.5 * fine_sp / sp)
    grid = ImageGrid(tuple(int(s) for s in shape_ijk[::-1]), m)  # type: ignore[arg-type]
    crop_to_fine = grid.lps_to_ijk @ crop.ijk_to_lps
    return grid, crop_to_fine


def _resample(
    arr: NDArray[np.generic], crop_to_fine: FloatArray, shape: tuple[int, ...], cval: float
) -> NDArray[np.float32]:
    """Trilinear resampling of a crop array onto the fine grid (affine, kji order)."""
    from scipy import ndimage

    fine_to_crop = np.linalg.inv(crop_to_fine)
    perm = np.eye(4)[[2, 1, 0, 3]]  # (i, j, k) <-> (k, j, i)
    mat = perm @ fine_to_crop @ perm
    out: NDArray[np.float32] = ndimage.affine_transform(
        np.asarray(arr, np.float32),
        _diag_or_full(mat[:3, :3]),
        mat[:3, 3],
        output_shape=shape,
        order=1,
        cval=cval,
        mode="constant",
    )
    return out


def _diag_or_full(m: FloatArray) -> FloatArray:
    """A diagonal matrix as its diagonal: scipy's fast zoom/shift path (≈ 10x faster)."""
    return np.diag(m).copy() if np.allclose(m, np.diag(np.diag(m)), atol=1e-9) else m


def _labels(
    body: BoolArray, zone: BoolArray, grid: ImageGrid, frame: BodyFrame
) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Surface class of the ``zone`` voxels and their outward normals (LPS, ``(n, 3)``)."""
    from scipy import ndimage

    sigma = 1.5 / grid.spacing_mm[::-1]
    sm = ndimage.gaussian_filter(body.astype(np.float32), sigma)
    idx = np.nonzero(zone)
    grads = [np.gradient(sm, axis=a)[idx] / grid.spacing_mm[2 - a] for a in range(3)]
    g_ijk = np.stack(grads[::-1], axis=1)
    out_lps = -(g_ijk @ grid.direction.T)
    out_lps /= np.maximum(np.linalg.norm(out_lps, axis=1, keepdims=True), 1e-9)
    outward = out_lps @ frame.rotation
    lab = np.full(outward.shape[0], WALL, np.int8)
    lab[outward[:, 1] > FACING_COS] = POSTERIOR
    lab[outward[:, 2] > FACING_COS] = SUPERIOR
    lab[outward[:, 2] < -FACING_COS] = INFERIOR
    out = np.zeros(body.shape, np.int8)
    out[idx] = lab
    return out, out_lps


def _gaps(
    hu: NDArray[np.float32],
    crop_hu: NDArray[np.generic],
    crop_grid: ImageGrid,
    fine_grid: ImageGrid,
    body: BoolArray,
    shell: BoolArray,
    depth: NDArray[np.float32],
    normals: NDArray[np.float64],
    rim: BoolArray,
    other_bone: BoolArray,
    labels: NDArray[np.int8],
    frame: BodyFrame,
) -> tuple[BoolArray, str | None]:
    """Shell voxels with no cortical HU across the wall: a disrupted cortex [assumption].

    For each shell voxel the highest HU along its normal within ±``GAP_PROFILE_MM`` (so a
    segmentation off the cortex by up to ~2 mm still finds it; sampled on the CT crop) is
    compared with a threshold :data:`GAP_LEVEL_FRAC` of the way from the trabecular core's
    median HU to the median of those maxima over the shell (intact cortex dominates it).
    Where the body joins other bone (pedicles), the boundary is a cut, not a cortex, and is
    never a gap; nor is the basivertebral foramen. Only a hole in an otherwise intact
    cortex counts: a gap component whose surrounding ring of shell keeps its cortex
    (:data:`GAP_RING_INTACT_FRAC`), on a CT fine enough to show a cortex
    (:data:`GAP_MAX_SPACING_MM`).
    """
    from scipy import ndimage

    core = body & (depth > 3.0)
    if shell.sum() < 50 or core.sum() < 50:
        return np.zeros_like(body), "body too small to judge cortical continuity"
    if float(crop_grid.spacing_mm.max()) > GAP_MAX_SPACING_MM:
        return np.zeros_like(body), (
            f"CT spacing {float(crop_grid.spacing_mm.max()):.1f} mm does not resolve the cortex "
            f"(> {GAP_MAX_SPACING_MM:.0f} mm): cortical gaps not assessed"
        )
    in_rim = shell[rim]
    pts = fine_grid.voxel_to_lps(np.argwhere(rim)[in_rim][:, ::-1].astype(np.float64))
    n = normals[in_rim]
    prof = []
    crop = np.asarray(crop_hu, np.float32)
    for t in np.arange(-GAP_PROFILE_MM, GAP_PROFILE_MM + 1e-6, 0.25):
        ijk = crop_grid.lps_to_voxel(pts - t * n)
        prof.append(ndimage.map_coordinates(crop, ijk[:, ::-1].T, order=1, cval=-1000.0))
    peak = np.max(prof, axis=0)
    trab, cortex = float(np.median(hu[core])), float(np.median(peak))
    if cortex - trab < 100.0:
        return np.zeros_like(body), (
            f"cortex ({cortex:.0f} HU) not distinguishable from cancellous "
            f"bone ({trab:.0f} HU): cortical gaps not assessed"
        )
    gap = np.zeros_like(body)
    gap[tuple(a[in_rim] for a in np.nonzero(rim))] = peak < trab + GAP_LEVEL_FRAC * (cortex - trab)
    gap &= ~other_bone & ~_basivertebral(rim, labels, fine_grid, frame)
    diameter = max(GAP_MIN_DIAMETER_MM, 1.5 * float(crop_grid.spacing_mm.max()))
    min_mm3 = np.pi * (0.5 * diameter) ** 2 * SHELL_MM
    return _defects(gap, shell, fine_grid, min_mm3), None


def _basivertebral(
    rim: BoolArray, labels: NDArray[np.int8], grid: ImageGrid, frame: BodyFrame
) -> BoolArray:
    """Posterior-wall voxels near the midsagittal plane (the basivertebral foramen)."""
    out = np.zeros(rim.shape, dtype=bool)
    idx = np.argwhere(rim & (labels == POSTERIOR))
    if idx.size == 0:
        return out
    lr = frame.to_body(grid.voxel_to_lps(idx[:, ::-1].astype(np.float64)))[:, 0]
    sel = idx[np.abs(lr) < BASIVERTEBRAL_HALF_WIDTH_MM]
    out[tuple(sel.T)] = True
    return out


def _defects(gap: BoolArray, shell: BoolArray, grid: ImageGrid, min_mm3: float) -> BoolArray:
    """Gap components of ≥ ``min_mm3`` whose surrounding shell ring keeps its cortex."""
    from scipy import ndimage

    lab, count = ndimage.label(gap, structure=np.ones((3, 3, 3), bool))
    if count == 0:
        return gap
    vox = float(np.prod(grid.spacing_mm))
    r = max(1, int(round(GAP_RING_MM / float(grid.spacing_mm.min()))))
    keep = np.zeros(count + 1, dtype=bool)
    for n, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        box = tuple(
            slice(max(a.start - r, 0), min(a.stop + r, dim))
            for a, dim in zip(sl, gap.shape, strict=True)
        )
        comp = lab[box] == n
        if comp.sum() * vox < min_mm3:
            continue
        ring = ndimage.binary_dilation(comp, iterations=r) & shell[box] & ~comp
        if ring.any() and 1.0 - gap[box][ring].mean() >= GAP_RING_INTACT_FRAC:
            keep[n] = True
    return np.asarray(keep[lab], dtype=bool)


def fine_body(
    anatomy: LevelAnatomy,
    hu_crop: NDArray[np.generic] | None = None,
    spacing_mm: float = 0.5,
    margin_mm: float = 1.5,
) -> FineBody:
    """Resample a level's body (and HU) onto a ≤ ``spacing_mm`` grid and find its shell.

    Parameters
    ----------
    anatomy
        The level's segmentation (crop grid).
    hu_crop
        HU on the crop grid (``[k, j, i]``, same shape as the masks); None → no gap detection.
    spacing_mm
        Largest fine spacing (mm); finer crop spacings are kept.
    margin_mm
        Margin around the body's bounding box (mm).

    Notes
    -----
    LPS mm. The shell is the outer ``SHELL_MM`` of the body mask.
    """
    from scipy import ndimage

    grid, c2f = _fine_grid(anatomy, spacing_mm, margin_mm)
    body = _resample(anatomy.body, c2f, grid.shape_kji, 0.0) >= 0.5
    sampling = grid.spacing_mm[::-1]
    depth = np.asarray(ndimage.distance_transform_edt(body, sampling=sampling), np.float32)
    shell = body & (depth <= SHELL_MM + 1e-3)
    rim = body & (depth <= SHELL_MM + RIM_MM + 1e-3)
    label, normals = _labels(body, rim, grid, anatomy.frame)
    other = _other_bone(anatomy, c2f, grid)
    notes: list[str] = []
    hu = gap = None
    if hu_crop is not None:
        hu = _resample(hu_crop, c2f, grid.shape_kji, -1000.0)
        gap, note = _gaps(
            hu, hu_crop, anatomy.grid, grid, body, shell, depth, normals, rim, other, label,
            anatomy.frame,
        )
        if note:
            notes.append(note)
    if gap is None:
        gap = np.zeros_like(body)
    return FineBody(
        grid, anatomy.frame, body, shell, rim, label, depth, hu, gap, c2f, other, tuple(notes)
    )


def _other_bone(anatomy: LevelAnatomy, c2f: FloatArray, grid: ImageGrid) -> BoolArray:
    """Bone joined to the body that is not the body (pedicles, posterior elements), grown 2 mm."""
    from scipy import ndimage

    other = anatomy.pedicle_left | anatomy.pedicle_right
    if anatomy.vertebra is not None:
        other = other | anatomy.vertebra
    other = other & ~anatomy.body
    fine_other = _resample(other, c2f, grid.shape_kji, 0.0) >= 0.5
    if not fine_other.any():
        return fine_other
    dist = ndimage.distance_transform_edt(~fine_other, sampling=grid.spacing_mm[::-1])
    return np.asarray(dist <= 2.0)


def fine_to_crop(fine: FineBody, mask: BoolArray, anatomy: LevelAnatomy) -> BoolArray:
    """Bring a fine mask back to the crop grid (partial volume ≥ 0.5), inside the body only."""
    from scipy import ndimage

    perm = np.eye(4)[[2, 1, 0, 3]]
    mat = perm @ fine.crop_to_fine @ perm
    frac = ndimage.affine_transform(
        mask.astype(np.float32),
        _diag_or_full(mat[:3, :3]),
        mat[:3, 3],
        output_shape=anatomy.grid.shape_kji,
        order=1,
        cval=0.0,
    )
    return np.asarray((frac >= 0.5) & anatomy.body, dtype=bool)
