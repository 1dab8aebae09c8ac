"""``generate_demo``: the built-in synthetic thoracolumbar CT with its exact ground truth."""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from dataclasses import dataclass

import numpy as np

from planner.demo import params as P
from planner.demo.render import CorticalGap, render
from planner.demo.shapes import F
from planner.demo.spec import CaseSpec
from planner.demo.spine import LevelGeometry, build_spine
from planner.demo.spine_soft import build_canal, build_disc
from planner.demo.tissue import Trunk
from planner.demo.truth import DemoTruth, level_truth
from planner.volume import CTVolume, PatientInfo

log = logging.getLogger(__name__)

VARIANTS = ("standard", "cortical_gap")
DESCRIPTION = "Demo thoracolumbar spine (synthetic)"
PATIENT_NAME = "DEMO^SPINE"
#: Radius of the planted cortical defect (a ~4 mm round gap, issue 2).
GAP_RADIUS_MM = 2.0
#: Direction of the gap from the body axis: 40° from straight anterior towards patient left.
GAP_ANGLE_DEG = 40.0


@dataclass(frozen=True, eq=False)
class DemoCase:
    """The demo CT and its ground truth.

    Parameters
    ----------
    volume
        int16 HU volume ``[k, j, i]``, axial, head-first supine (i -> patient left, j ->
        posterior, k -> superior), 0.7 x 0.7 x 1 mm.
    truth
        Exact ground truth (:class:`~planner.demo.truth.DemoTruth`).
    seed, variant
        What it was generated from.
    """

    volume: CTVolume
    truth: DemoTruth
    seed: int
    variant: str


def demo_uid(seed: int, variant: str, what: str) -> str:
    """Deterministic DICOM UID (2.25 + UUID derived from the seed) for the series/study/..."""
    digest = hashlib.sha256(f"vaplanner-demo/{seed}/{variant}/{what}".encode()).digest()
    return "2.25." + str(uuid.UUID(bytes=digest[:16], version=4).int)


def _gap_centre(l1: LevelGeometry) -> F:
    """Point on L1's outer body surface, anterolateral left, at the centroid's height."""
    body = l1.body
    ang = math.radians(GAP_ANGLE_DEG)
    direc = np.array([math.sin(ang), -math.cos(ang)])
    lo, hi = 0.0, body.width
    for _ in range(60):  # bisection on the cross-section boundary along the ray
        mid = (lo + hi) / 2.0
        u, v = direc * mid
        if body.xsec_sdf(np.array(u), np.array(v)) <= 0.0:
            lo = mid
        else:
            hi = mid
    u, v = direc * lo
    _, c = body.integrate(h=0.3)
    return l1.frame.to_lps(np.array([u, v, c[2]], dtype=np.float64))


def generate_demo(seed: int = 0, variant: str = "standard") -> DemoCase:
    """Build the synthetic thoracolumbar CT with an L1 wedge fracture, and its ground truth.

    Parameters
    ----------
    seed
        Seeds noise and texture; the same seed gives a byte-identical volume.
    variant
        ``"standard"`` or ``"cortical_gap"`` (adds a 4 mm round defect in L1's anterolateral
        cortex, recorded in ``truth.cortical_gap``).

    Returns
    -------
    DemoCase

    Notes
    -----
    LPS mm. Levels T10 (cut at the top edge) to L4 (cut at the bottom edge); T11-L3 complete
    with ground truth. L1 has a 30 % anterior height loss vs its own pre-fracture shape (Genant
    grade 2, DOMAIN.md §2.1) and osteoporotic cancellous bone (110 HU, DOMAIN.md §7.1).
    Nothing is cached on disk.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    return _generate(CaseSpec(), seed, variant)


def generate_case(spec: CaseSpec, seed: int = 0, description: str = DESCRIPTION) -> DemoCase:
    """A variant of the demo anatomy (:class:`~planner.demo.spec.CaseSpec`) for the training
    library: other levels, fracture grade, bone, pedicle width, rotation, soft tissue.

    Returns
    -------
    DemoCase
        ``variant`` is ``"training"``; ground truth for the spec's complete levels.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return _generate(spec, seed, "training", description)


def _generate(spec: CaseSpec, seed: int, variant: str,
              description: str = DESCRIPTION) -> DemoCase:
    t0 = time.perf_counter()
    column, levels = build_spine(spec)
    discs = [build_disc(levels[i], levels[i + 1], column) for i in range(len(levels) - 1)]
    canal = build_canal(column, levels)
    geom = {lv.name: lv for lv in levels}
    gap = None
    if variant == "cortical_gap":
        gap = CorticalGap(_gap_centre(geom[P.FRACTURED_LEVEL]), GAP_RADIUS_MM,
                          "anterolateral_left")
    spine_y = float(np.mean(column.points[np.abs(column.points[:, 2]) < 110, 1]))
    trunk = Trunk(centre_xy=(0.0, spine_y - 2.0), semi_xy=(124.0, 96.0), spine_y=spine_y,
                  fat_extra_mm=spec.fat_extra_mm)
    canvas, hu = render(column, levels, discs, canal, trunk, seed, gap, spec.field_ij,
                        spec.fractured_level)
    affine = np.eye(4)
    affine[:3, :3] = np.diag(canvas.spacing)
    affine[:3, 3] = canvas.origin
    patient = PatientInfo(patient_name=PATIENT_NAME, patient_id=f"DEMO-{seed}",
                          study_description="Demo spine", position="HFS")
    uid_key = variant if variant != "training" else f"training/{spec!r}"
    volume = CTVolume.from_array(hu, affine, demo_uid(seed, uid_key, "series"),
                                 source_path="", modality="CT", description=description,
                                 patient=patient)
    complete = P.COMPLETE_LEVELS if spec == CaseSpec() else spec.complete_levels
    truth = DemoTruth(
        levels=tuple(level_truth(geom[n]) for n in complete),
        cortical_gap=None if gap is None else (
            tuple(float(v) for v in gap.centre_lps), gap.radius_mm, gap.wall),  # type: ignore[arg-type]
        seed=seed, variant=variant, geometry=geom, canal=canal,
        fractured_level=spec.fractured_level,
    )
    log.info("demo case generated in %.2f s", time.perf_counter() - t0)
    return DemoCase(volume, truth, seed, variant)
