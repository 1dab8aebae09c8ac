"""Bone-marrow oedema per vertebral body from STIR (or fat-sat T2) and T1, and the acuity.

Method
------
For each level the CT body mask (from the vertebra analysis), eroded by
:data:`EROSION_MM` to leave out the cortex and the partial volume of discs and endplates at
the MRI's thick slices, is carried into the MRI frame through the level's registration and
both sequences are sampled there (trilinear). Per level:

- ``stir_ratio`` / ``t1_ratio``: median body signal divided by the reference, the median of
  the other bodies' medians in the same scan (levels graded as fractured on the CT, or not
  known intact there — a possible grade, not graded — are left out of the reference when
  grades are given), so coil shading and scanner scaling cancel;
- ``oedema_fraction``: the share of the body's samples that are STIR-bright
  (> :data:`STIR_BRIGHT_RATIO` x reference) and, when a T1 is present, T1-dark
  (< :data:`T1_DARK_RATIO` x reference) at the same point.

Classification: ``"oedema"`` when ``oedema_fraction >= OEDEMA_FRACTION``; ``"no oedema"`` when
``oedema_fraction < CLEAR_FRACTION`` and ``stir_ratio < STIR_CLEAR_RATIO``; otherwise
``"indeterminate"``; also ``"indeterminate"`` when less than half of the body lies in the MRI
or no other body gives a reference.

Sources: an unhealed (acute or subacute) osteoporotic fracture shows bone-marrow oedema, low
signal on T1-weighted and high signal on STIR images, and this pattern is used to choose the
level to treat (Tanigawa et al. 2006, Radiology 239:195-200; Voormolen et al. 2006, AJNR Am J
Neuroradiol 27:1579-1585; oedema on MRI was an inclusion criterion of VERTOS II, Klazen et al.
2010, Lancet 376:1085-1092). The numeric thresholds are tool assumptions, not published
cut-offs; the numbers are always shown so a reader can judge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.grid import ImageGrid
from planner.mri.register import Registration
from planner.volume import CTVolume

#: Erosion of the CT body mask before sampling the MRI, mm (tool assumption).
EROSION_MM = 2.5
#: A sample is STIR-bright above this multiple of the reference bodies' STIR (tool assumption).
STIR_BRIGHT_RATIO = 1.5
#: A sample is T1-dark below this multiple of the reference bodies' T1 (tool assumption).
T1_DARK_RATIO = 0.8
#: Share of the body in the oedema pattern for "oedema" (tool assumption).
OEDEMA_FRACTION = 0.25
#: Below this share, and with STIR_CLEAR_RATIO, "no oedema" (tool assumption).
CLEAR_FRACTION = 0.05
STIR_CLEAR_RATIO = 1.25
MIN_COVERAGE = 0.5
MAX_SAMPLES = 20000

SOURCES = (
    "Tanigawa N et al. Percutaneous vertebroplasty: relationship between vertebral body bone "
    "marrow edema pattern on MR images and initial clinical response. Radiology 2006;239:195-200",
    "Voormolen MH et al. Pain response in the first trimester after percutaneous vertebroplasty "
    "in patients with osteoporotic vertebral compression fractures with or without bone marrow "
    "edema. AJNR Am J Neuroradiol 2006;27:1579-1585",
    "Klazen CA et al. Vertebroplasty versus conservative treatment in acute osteoporotic "
    "vertebral compression fractures (Vertos II). Lancet 2010;376:1085-1092 (inclusion: bone "
    "oedema on MRI)",
    "thresholds (STIR > 1.5x and T1 < 0.8x the other bodies, >= 25 % of the body): tool "
    "assumption",
)

CLASSES = ("oedema", "no oedema", "indeterminate")


@dataclass(frozen=True, slots=True)
class LevelOedema:
    """Oedema finding of one vertebral body (signal ratios are unitless)."""

    level: str
    classification: str
    stir_ratio: float | None
    t1_ratio: float | None
    oedema_fraction: float | None
    coverage: float
    n_samples: int
    reason: str

    @property
    def acuity(self) -> str:
        """``"acute"`` with oedema, ``"chronic"`` without, else ``"unknown"``."""
        return {"oedema": "acute", "no oedema": "chronic"}.get(self.classification, "unknown")

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None, nd: int = 3) -> float | None:
            return None if v is None else round(float(v), nd)

        return {"level": self.level, "classification": self.classification,
                "stir_ratio": r(self.stir_ratio), "t1_ratio": r(self.t1_ratio),
                "oedema_fraction": r(self.oedema_fraction), "coverage": r(self.coverage, 2),
                "n_samples": self.n_samples, "reason": self.reason,
                "acuity": self.acuity}


@dataclass(frozen=True, slots=True)
class BodyMask:
    """A CT body mask on a (crop) grid of the CT, and the level's CT fracture grade."""

    level: str
    mask: NDArray[np.bool_]
    grid: ImageGrid
    genant_grade: int = 0
    #: Known intact on the CT (grade 0, graded, no higher grade possible): may serve as
    #: normal-marrow reference.
    intact: bool = True


def thresholds_json() -> dict[str, Any]:
    return {"stir_bright_ratio": STIR_BRIGHT_RATIO, "t1_dark_ratio": T1_DARK_RATIO,
            "oedema_fraction": OEDEMA_FRACTION, "clear_fraction": CLEAR_FRACTION,
            "stir_clear_ratio": STIR_CLEAR_RATIO, "erosion_mm": EROSION_MM,
            "sources": list(SOURCES)}


def _points(body: BodyMask) -> NDArray[np.float64]:
    """CT LPS centres of the eroded mask's voxels (at most MAX_SAMPLES, evenly thinned)."""
    from scipy.ndimage import binary_erosion, generate_binary_structure

    it = max(1, int(round(EROSION_MM / float(np.min(body.grid.spacing_mm)))))
    core = binary_erosion(body.mask, generate_binary_structure(3, 1), iterations=it)
    kji = np.argwhere(core)
    if len(kji) > MAX_SAMPLES:
        kji = kji[:: int(np.ceil(len(kji) / MAX_SAMPLES))]
    return body.grid.voxel_to_lps(kji[:, ::-1].astype(np.float64))


@dataclass(frozen=True, slots=True)
class _Samples:
    stir: NDArray[np.float64] | None
    t1: NDArray[np.float64] | None
    coverage: float


def _sample(body: BodyMask, reg: Registration, stir: CTVolume | None,
            t1: CTVolume | None) -> _Samples:
    pts = reg.for_level(body.level).apply(_points(body))
    if len(pts) == 0:
        return _Samples(None, None, 0.0)
    s = None if stir is None else stir.sample_lps(pts)
    t = None if t1 is None else t1.sample_lps(pts)
    ok = np.ones(len(pts), dtype=bool)
    for a in (s, t):
        if a is not None:
            ok &= np.isfinite(a)
    return _Samples(None if s is None else s[ok], None if t is None else t[ok],
                    float(ok.mean()))


def _median(a: NDArray[np.float64] | None) -> float | None:
    return None if a is None or a.size == 0 else float(np.median(a))


def classify_levels(bodies: list[BodyMask], reg: Registration, stir: CTVolume | None,
                    t1: CTVolume | None) -> list[LevelOedema]:
    """Oedema classification of every body (see module notes).

    Parameters
    ----------
    bodies
        CT body masks, one per level (the analysis), with their CT fracture grades.
    reg
        CT -> MRI registration (per-level transforms).
    stir, t1
        MRI volumes in the MRI frame (either may be None; STIR is needed to find oedema).
    """
    samples = {b.level: _sample(b, reg, stir, t1) for b in bodies}
    med = {n: (_median(s.stir), _median(s.t1)) for n, s in samples.items()}
    graded = {b.level for b in bodies if b.genant_grade > 0 or not b.intact}
    out = []
    for b in bodies:
        s = samples[b.level]
        ref_names = [n for n in med if n != b.level and n not in graded
                     and samples[n].coverage >= MIN_COVERAGE]
        if not ref_names:
            ref_names = [n for n in med if n != b.level and samples[n].coverage >= MIN_COVERAGE]
        out.append(_classify(b.level, s, [med[n] for n in ref_names]))
    return out


def _ref(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None and x > 0]
    return float(np.median(v)) if v else None


def _classify(level: str, s: _Samples, refs: list[tuple[float | None, float | None]]
              ) -> LevelOedema:
    ref_s, ref_t = _ref([r[0] for r in refs]), _ref([r[1] for r in refs])
    n = 0 if s.stir is None and s.t1 is None else len(s.stir if s.stir is not None else s.t1)  # type: ignore[arg-type]
    if s.coverage < MIN_COVERAGE or n == 0:
        return LevelOedema(level, "indeterminate", None, None, None, s.coverage, n,
                           f"only {100 * s.coverage:.0f} % of the body lies in the MRI")
    ms, mt = _median(s.stir), _median(s.t1)
    sr = None if ms is None or ref_s is None else ms / ref_s
    tr = None if mt is None or ref_t is None else mt / ref_t
    if s.stir is None or ref_s is None or sr is None:
        return LevelOedema(level, "indeterminate", sr, tr, None, s.coverage, n,
                           "no STIR / fat-suppressed T2 (or no reference body): oedema cannot "
                           "be judged from T1 alone")
    bright = s.stir > STIR_BRIGHT_RATIO * ref_s
    note, pattern = "", "STIR-bright and T1-dark"
    if s.t1 is not None and ref_t is not None:
        bright &= s.t1 < T1_DARK_RATIO * ref_t
    else:
        note = "; no T1: STIR-bright alone is not specific (also tumour, infection)"
        pattern = "STIR-bright"
    frac = float(bright.mean())
    if frac >= OEDEMA_FRACTION:
        cls, why = "oedema", f"{100 * frac:.0f} % of the body {pattern}"
    elif frac < CLEAR_FRACTION and sr < STIR_CLEAR_RATIO:
        cls, why = "no oedema", f"STIR {sr:.2f}x the other bodies, {100 * frac:.0f} % in pattern"
    else:
        cls, why = "indeterminate", (f"{100 * frac:.0f} % of the body in the oedema pattern, "
                                     f"STIR {sr:.2f}x: between the thresholds")
    return LevelOedema(level, cls, sr, tr, frac, s.coverage, n, why + note)


@dataclass(frozen=True, slots=True)
class AcuityChoice:
    """Acuity used by the restoration model, and where it came from."""

    acuity: str
    source: str


def acuity_for_level(typed_acuity: str, fracture_age_weeks: float | None,
                     oedema: LevelOedema | None) -> AcuityChoice:
    """The restoration model's acuity: MRI oedema when classified, else the typed inputs.

    Notes
    -----
    Oedema -> acute band, no oedema -> chronic band (an unhealed fracture shows oedema;
    Tanigawa 2006, Voormolen 2006); an indeterminate or missing MRI finding falls back to the
    typed acuity, then to the fracture age (<= 6 weeks acute).
    """
    if oedema is not None and oedema.classification != "indeterminate":
        return AcuityChoice(oedema.acuity, f"MRI: {oedema.classification} at {oedema.level} "
                            f"(STIR {oedema.stir_ratio:.2f}x, T1 "
                            + ("n/a" if oedema.t1_ratio is None else f"{oedema.t1_ratio:.2f}x")
                            + " the other bodies)")
    if typed_acuity != "unknown":
        return AcuityChoice(typed_acuity, "typed input")
    if fracture_age_weeks is not None:
        return AcuityChoice("acute" if fracture_age_weeks <= 6 else "chronic",
                            f"fracture age {fracture_age_weeks:g} weeks (typed)")
    return AcuityChoice("unknown", "no MRI finding, no acuity or age typed")
