"""The built-in exercise library: variants of the demo anatomy at every level T6-L5.

Each exercise is made the way a real plan is: the case is generated
(:func:`planner.demo.case.generate_case`), the planner analyses the study by itself (levels
found and named without help — checked against the generator's ground truth, within 5 mm,
and refused otherwise), and the reference plan is the planner's auto-suggestion
(:func:`planner.trajectory.suggest`) for the side(s) asked — or, where the suggestion finds no
transpedicular corridor that the anatomy has (lumbar cases), the path along the generator's
true pedicle axis as evaluated by the planner — with no breach beyond Gertzbein-Robbins grade
1 and no canal entry (recorded in the checks).

Variants (combine with ``+``, e.g. ``severe+osteoporotic+obese``): see :data:`VARIANTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.demo.spec import WINDOWS, CaseSpec, all_params, window_for
from planner.errors import AnalysisError, InputError
from planner.plan.model import Plan, SeriesBinding
from planner.progress import Progress, report
from planner.training.exercise import Exercise, ExerciseCase
from planner.volume import CTVolume

LEVELS = ("T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5")
#: Variant name → (CaseSpec settings, description for the trainee).
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "standard": ({"fracture_grade": 2}, "Genant grade 2 wedge fracture."),
    "intact": ({"fracture_grade": 0}, "No fracture (prophylactic augmentation)."),
    "mild": ({"fracture_grade": 1}, "Genant grade 1 fracture."),
    "severe": ({"fracture_grade": 3}, "Genant grade 3 fracture (> 40 % height loss)."),
    "osteoporotic": ({"bone": "osteoporotic"}, "Osteoporotic bone (about 100 HU)."),
    "normal-bone": ({"bone": "normal"}, "Normal bone density (about 170 HU)."),
    "narrow-pedicles": ({"pedicle_scale": 0.8}, "Pedicles 20 % narrower than average."),
    "wide-pedicles": ({"pedicle_scale": 1.25}, "Pedicles 25 % wider than average."),
    "rotated": ({"rotation_deg": 8.0}, "The level is rotated 8° (scoliotic)."),
    "average": ({"fat_extra_mm": 25.0}, "Average build (25 mm more subcutaneous fat)."),
    "obese": ({"fat_extra_mm": 45.0}, "Obese (45 mm more subcutaneous fat): long path."),
    "parapedicular": ({"pedicle_width_mm": 3.2},
                      "The pedicle is too narrow for the needle: only a parapedicular path "
                      "is safe."),
}
#: The library offered in the workstation (level, variant, side); every level T6-L5.
LIBRARY: tuple[tuple[str, str, str], ...] = (
    ("L1", "standard", "bipedicular"),
    ("L2", "osteoporotic", "left"),
    ("T12", "severe+osteoporotic", "bipedicular"),
    ("L3", "normal-bone+average", "right"),
    ("T11", "mild", "left"),
    ("L4", "rotated", "bipedicular"),
    ("L5", "obese", "left"),
    ("T10", "standard", "bipedicular"),
    ("T9", "narrow-pedicles", "left"),
    ("T8", "standard", "bipedicular"),
    ("T7", "parapedicular", "right"),
    ("T6", "intact", "right"),
)
#: Worst breach grade accepted for a reference (Gertzbein-Robbins grade 1, < 2 mm, is the
#: clinically accepted limit; Gertzbein & Robbins, Spine 1990).
MAX_REFERENCE_GRADE = 1
#: Largest distance (mm) between a found level's centroid and the true one.
NAMING_TOLERANCE_MM = 5.0


@dataclass(frozen=True, eq=False)
class BuiltExercise:
    """An exercise with its study and what the library checked."""

    exercise: Exercise
    volume: CTVolume
    checks: dict[str, Any]
    context: Any = None  # the level's TrajectoryContext (reused for scoring)


def case_spec(level: str, variant: str) -> CaseSpec:
    """The generator settings of ``level`` + ``variant`` (module notes)."""
    window = WINDOWS[window_for(level)]
    kw: dict[str, Any] = {"levels": window, "fractured_level": level}
    for part in variant.split("+"):
        if part not in VARIANTS:
            raise InputError(f"unknown variant {part!r}; choose from {', '.join(VARIANTS)}")
        settings = dict(VARIANTS[part][0])
        if "pedicle_width_mm" in settings:
            settings = {"pedicle_scale": settings["pedicle_width_mm"]
                        / all_params(level).pedicle_width}
        kw.update(settings)
    if "pedicle_scale" in kw:
        kw["scaled_level"] = level
    if "rotation_deg" in kw:
        kw["rotated_level"] = level
    return CaseSpec(**kw)


def difficulty(spec: CaseSpec, level: str, approach: str) -> tuple[int, str]:
    """Difficulty 1-4 and why (tool assumption: one step per complicating factor)."""
    width = spec.params(level).pedicle_width
    reasons = [f"pedicle {width:.1f} mm wide"]
    points = 0
    if width < 5.0:
        points += 2
    elif width < 7.0:
        points += 1
    for cond, text in ((spec.rotation_deg != 0.0, "rotated level"),
                       (spec.fat_extra_mm >= 40.0, "deep soft tissue"),
                       (approach == "parapedicular", "parapedicular path"),
                       (spec.fracture_grade == 3, "severe collapse"),
                       (spec.bone == "osteoporotic", "faint osteoporotic landmarks")):
        if cond:
            points += 1
            reasons.append(text)
    return min(4, 1 + points), ", ".join(reasons)


def build_exercise(level: str, variant: str = "standard", seed: int = 0,
                   side: str = "bipedicular", needle_id: str = "11G",
                   progress: Progress | None = None) -> BuiltExercise:
    """Generate, analyse (as the planner does for any study) and plan one library exercise.

    Raises
    ------
    AnalysisError
        When the planner cannot find and name the level by itself or the auto-suggested
        reference is not breach-free (such a case is not offered).
    """
    from planner.demo.case import generate_case
    from planner.trajectory import TrajectoryContext, suggest
    from planner.vertebra import analyze_spine

    if level not in LEVELS:
        raise InputError(f"the library covers {LEVELS[0]}-{LEVELS[-1]}; got {level!r}")
    if side not in ("left", "right", "bipedicular"):
        raise InputError(f"side must be left, right or bipedicular; got {side!r}")
    spec = case_spec(level, variant)
    desc = " ".join(VARIANTS[p][1] for p in variant.split("+"))
    report(progress, 0.05, "generating the case")
    case = generate_case(spec, seed, description=f"Training case {level} ({variant})")
    vol = case.volume
    report(progress, 0.35, "analysing the study (levels found and named by the planner)")
    analysis = analyze_spine(vol)
    checks = _check_naming(analysis, case.truth.levels)
    lr = analysis.level(level)
    ctx = TrajectoryContext.build(vol, lr.anatomy, lr.morphometry)
    report(progress, 0.8, "planning the reference")
    sides = ("left", "right") if side == "bipedicular" else (side,)
    uni = side != "bipedicular"
    sugg = {s: suggest(ctx, s, needle_id, unipedicular=uni) for s in sides}
    refs = {s: (sg.trajectory, sg.result, sg.reason) for s, sg in sugg.items()}
    if "parapedicular" not in variant:
        for s, sg in sugg.items():
            if sg.trajectory.approach == "parapedicular" or sg.result.metrics.breach_grade:
                better = _truth_axis_reference(case, level, s, ctx, needle_id, uni)
                if better is not None:
                    refs[s] = better
    for s, (_traj, res, _) in refs.items():
        m = res.metrics
        if m.breach_grade > MAX_REFERENCE_GRADE or any(
                f.code == "canal_entered" for f in res.findings):
            raise AnalysisError(f"{level} ({variant}): no acceptable reference on the {s} "
                                f"side (grade {m.breach_grade}); the case is not offered")
    approaches = {traj.approach for traj, _, _ in refs.values()}
    approach = "parapedicular" if "parapedicular" in approaches else "transpedicular"
    ref = Plan(SeriesBinding(vol.series_uid, vol.geometry_fingerprint()), level=level,
               trajectories=tuple(traj for traj, _, _ in refs.values()))
    diff, why = difficulty(spec, level, approach)
    params = {"fracture_grade": spec.fracture_grade, "bone": spec.bone,
              "pedicle_width_mm": round(spec.params(level).pedicle_width, 2),
              "rotation_deg": spec.rotation(level), "fat_extra_mm": spec.fat_extra_mm,
              "levels_in_scan": f"{spec.levels[0]}-{spec.levels[-1]}"}
    ex = Exercise(
        exercise_id=f"{level}-{variant}-{side}-s{seed}", title=f"{level} {variant} ({side})",
        case=ExerciseCase(desc, variant, seed, params), level=level, side=side,
        approach=approach, difficulty=diff, difficulty_reason=why, reference=ref,
        needle_id=needle_id)
    checks["reference"] = {s: {"reason": why, "breach_grade": res.metrics.breach_grade,
                               "approach": traj.approach}
                           for s, (traj, res, why) in refs.items()}
    report(progress, 1.0, "exercise ready")
    return BuiltExercise(ex, vol, checks, ctx)


def _truth_axis_reference(case: Any, level: str, side: str, ctx: Any, needle_id: str,
                          uni: bool) -> tuple[Any, Any, str] | None:
    """A transpedicular reference along the generator's true pedicle axis (tip at 75 % of the
    way to the anterior cortex), evaluated by the planner; used where the auto-suggestion's
    search misses a corridor the anatomy has. None unless breach-free with ≥ 0.5 mm cortical
    clearance (Kaur 2016)."""
    from planner.plan.model import Trajectory
    from planner.trajectory import evaluate
    from planner.trajectory.entry import bone_entry_lps, inside_from_context

    ped = case.truth.level(level).pedicles[side]
    d = np.asarray(ped.axis_dir_lps, dtype=np.float64)
    entry = np.asarray(ped.entry_lps, dtype=np.float64)
    back = entry - np.arange(0.0, 200.0, 1.0)[:, None] * d
    outside = np.nonzero(case.volume.sample_lps(back, fill=-1000.0) < -400.0)[0]
    if outside.size == 0:
        return None
    skin = back[max(0, int(outside[0]) - 1)]
    tip = entry + 0.75 * ped.length_to_anterior_cortex_mm * d
    be = bone_entry_lps(skin, tip, inside_from_context(ctx))
    traj = Trajectory(side, "transpedicular", tuple(skin), tuple(be), tuple(tip),  # type: ignore[arg-type]
                      needle_id)
    res = evaluate(ctx, traj, unipedicular=uni)
    m = res.metrics
    if m.breach_grade or m.min_cortical_clearance_mm < 0.5 or any(
            f.code == "canal_entered" for f in res.findings):
        return None
    return traj, res, ("along the true pedicle axis (the auto-suggestion's search found no "
                       "transpedicular corridor)")


def _check_naming(analysis: Any, truths: Any) -> dict[str, Any]:
    found = {}
    for t in truths:
        try:
            c = np.asarray(analysis.level(t.name).morphometry.centroid_lps)
        except KeyError:
            raise AnalysisError(f"the planner did not find {t.name} in the library case "
                                f"(found {', '.join(analysis.names())})") from None
        d = float(np.linalg.norm(c - np.asarray(t.centroid_lps)))
        if d > NAMING_TOLERANCE_MM:
            raise AnalysisError(f"the planner named another body {t.name} ({d:.1f} mm off)")
        found[t.name] = round(d, 2)
    return {"levels_named": found, "warnings": list(analysis.warnings)}
