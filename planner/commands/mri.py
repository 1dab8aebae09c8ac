"""``python -m planner mri CT_PATH MRI_PATH [--t1 PATH] [--labels SEG] [--points ...]``.

Registers the MRI (STIR or fat-sat T2, and T1 when present) to the CT's analysed levels and
classifies bone-marrow oedema per vertebral body. Output (JSON; LPS mm, each scan in its own
frame)::

    {"ct_series_uid", "mri": {"stir": {"series_uid", "contrast"}, "t1": {...}},
     "registration": {"method", "global_transform": {"rotation", "translation_mm", ...},
                      "levels": {NAME: {"transform", "centroid_mri_lps"}}, ...},
     "levels": [{"level", "classification", "stir_ratio", "t1_ratio", "oedema_fraction",
                 "coverage", "reason", "acuity"}],
     "thresholds": {...}, "warnings": [...]}

``classification`` is ``oedema`` / ``no oedema`` / ``indeterminate``; ``acuity`` is what the
restoration model uses for that level (acute / chronic / unknown). ``indication`` is the
checklist (:mod:`planner.indication`) for ``--levels`` (default: the fractured levels) with the
``--answer`` values and the analysis findings; it states that it does not decide.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from planner.errors import InputError

NAME = "mri"
HELP = "Register an MRI (STIR/T1) to the CT's levels and classify bone-marrow oedema per level."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ct_path", help="CT: DICOM folder/file or .nii/.nii.gz")
    parser.add_argument("mri_path", help="MRI: study folder holding the STIR (and T1) series, "
                                         "or one series / NIfTI file")
    parser.add_argument("--t1", metavar="PATH", default=None,
                        help="the T1 series when it is not under MRI_PATH")
    parser.add_argument("--labels", metavar="SEG", default=None,
                        help="vertebra label map of the CT (.nii.gz): level names from it")
    parser.add_argument("--points", metavar="CT;MRI", default=None,
                        help="matched vertebra centres instead of the automatic start: "
                             "'x,y,z x,y,z ...;x,y,z x,y,z ...' (CT points; MRI points, LPS mm)")
    parser.add_argument("--points-only", action="store_true",
                        help="use the point fit as the registration (no image refinement)")
    parser.add_argument("--levels", metavar="L1,T12", default=None,
                        help="levels to treat, for the indication check (default: the levels "
                             "graded as fractured on the CT)")
    parser.add_argument("--answer", metavar="ITEM=VALUE", action="append", default=[],
                        help="an indication checklist answer, e.g. --answer pain_weeks=4 "
                             "--answer infection=no (repeatable)")
    parser.add_argument("--plan", metavar="PLAN.json", default=None,
                        help="a plan (format 4) of this CT: its levels and stored checklist "
                             "answers are used (--answer overrides them)")
    parser.add_argument("--plan-out", metavar="OUT.json", default=None,
                        help="write the plan (needs --plan) with the answers stored and each "
                             "level's acuity set from its MRI finding")


def _parse_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        halves = text.split(";")
        if len(halves) != 2:
            raise ValueError
        ct, mr = ([[float(v) for v in p.split(",")] for p in h.split()] for h in halves)
        a, b = np.array(ct, dtype=float), np.array(mr, dtype=float)
        if a.ndim != 2 or a.shape[1] != 3 or a.shape != b.shape:
            raise ValueError
    except ValueError:
        raise InputError("--points must be 'x,y,z x,y,z;x,y,z x,y,z' (the same number of CT "
                         f"and MRI points, LPS mm); got {text!r}") from None
    return a, b


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.indication import evaluate, findings_from
    from planner.io_nifti import load_nifti_labels
    from planner.loading import load_path
    from planner.mri.loading import load_mr_study
    from planner.mri.pipeline import analyse_mri
    from planner.vertebra import analyze_spine

    points = _parse_points(args.points) if args.points else None
    answers = []
    for a in args.answer:
        if "=" not in a:
            raise InputError(f"--answer takes ITEM=VALUE, got {a!r}")
        key, value = a.split("=", 1)
        answers.append((key.strip(), value.strip()))
    if args.points_only and points is None:
        raise InputError("--points-only needs --points")
    ct_res = load_path(args.ct_path)
    mr = load_mr_study(args.mri_path, args.t1)
    labels = load_nifti_labels(args.labels) if args.labels else None
    analysis = analyze_spine(ct_res.volume, labels=labels)
    stir, t1 = mr.get("stir"), mr.get("t1")
    result = analyse_mri(ct_res.volume, analysis, stir=None if stir is None else stir.volume,
                         t1=None if t1 is None else t1.volume, points=points,
                         refine_points=not args.points_only)
    warnings = [f"CT {w.code}: {w.message}" for w in ct_res.warnings]
    for name, r in mr.items():
        warnings += [f"MRI {name} {w.code}: {w.message}" for w in r.warnings]
    if stir is None:
        warnings.append("no STIR / fat-suppressed T2 found: oedema cannot be judged")
    out = result.to_json()
    loaded = None
    if args.plan:
        from planner.plan.file import load_case_plan

        loaded = load_case_plan(args.plan, volume=ct_res.volume)
        given = {k for k, _ in answers}
        answers = [a for a in loaded.plan.indication if a[0] not in given] + answers
    if args.levels:
        planned = [v.strip().upper() for v in args.levels.split(",") if v.strip()]
    elif loaded is not None and loaded.plan.levels:
        planned = list(loaded.plan.level_names())
    else:
        planned = [r.level for r in analysis.levels if r.morphometry.genant_grade > 0]
    try:
        check = evaluate(answers, findings_from(planned, analysis, result))
    except (KeyError, ValueError) as exc:
        raise InputError(f"--answer: {exc}") from exc
    if args.plan_out:
        if loaded is None:
            raise InputError("--plan-out needs --plan (the plan to update)")
        out["plan_out"] = _write_plan(loaded, answers, result, args.plan_out)
    return {
        "ct_series_uid": ct_res.volume.series_uid,
        "mri": {n: {"series_uid": r.volume.series_uid, "contrast": r.contrast,
                    "description": r.volume.identity.description} for n, r in mr.items()},
        **out,
        "indication": {"levels": planned, **check.to_json()},
        "warnings": warnings + list(analysis.warnings),
    }


def _write_plan(loaded: Any, answers: list[tuple[str, str]], result: Any,
                path: str) -> dict[str, Any]:
    """Store the answers and the MRI acuity in the plan; returns where and the sources."""
    from planner.mri.case import answer, apply_mri_acuity
    from planner.plan.file import save_case_plan
    from planner.session import Case

    case = Case(loaded.series, loaded.plan)
    for key, value in answers:
        case = answer(case, key, value)
    case, choices = apply_mri_acuity(case, result)
    p = save_case_plan(case.series, case.plan, path, loaded.source_path or None)
    return {"path": str(p), "acuity": {n: {"acuity": c.acuity, "source": c.source}
                                       for n, c in choices.items()}}
