"""``python -m planner measure PATH [--labels SEG] [--seed X,Y,Z --level L1] [--mask-out OUT]
[--plan PLAN]``.

Finds, names, segments and measures the vertebral bodies (issue 4). Output (JSON, LPS mm)::

    {"levels": [{"level", "source", "confirmed", "centroid_lps", "body_volume_ml",
                 "heights_mm": {"anterior", "middle", "posterior"}, "reference_heights_mm",
                 "height_loss_pct", "genant_grade", "morphology", "wedge_angle_deg",
                 "trabecular_hu", "posterior_wall", ...,
                 "morphometry_points_lps": {"anterior_superior": [x, y, z], ... six points},
                 "edited": {"morphometry_points": false, "mid_sagittal_plane": false,
                            "body_outline": false, "pedicle_axis": false}}],
     "warnings": [...]}

A seed may start with a minus sign: ``--seed -11,230,-566`` is accepted like
``--seed=-11,230,-566``. Imported label maps are checked per level (split, fragment,
overlapping, partial labels are reported in ``warnings`` and not graded).

Without ``--labels`` and ``--seed`` the levels are proposed automatically (unconfirmed).
``--from-mask`` treats PATH as a vertebra label map and measures it without a CT.
``--plan PLAN.json`` applies the anatomy corrections saved in a plan made on this series
(``planner.session.corrections``): the corrected levels' values and ``"edited"`` flags.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.errors import InputError

NAME = "measure"
HELP = "Find, label, segment and measure the vertebral bodies (heights, Genant grade, volume)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CT: DICOM folder/file or .nii/.nii.gz")
    parser.add_argument("--labels", metavar="SEG", default=None,
                        help="vertebra label map (.nii.gz): TotalSegmentator names or VerSe ids")
    parser.add_argument("--seed", metavar="X,Y,Z", default=None,
                        help="a point inside one vertebral body, LPS mm (needs --level)")
    parser.add_argument("--level", metavar="NAME", default=None,
                        help="name of the seeded level, e.g. L1")
    parser.add_argument("--mask-out", metavar="OUT", default=None,
                        help="write the body masks as one label map (VerSe ids) on the CT grid")
    parser.add_argument("--from-mask", action="store_true",
                        help="PATH is a vertebra label map: measure it without a CT")
    parser.add_argument("--plan", metavar="PLAN", default=None,
                        help="a plan file made on this series: its corrections of the anatomy "
                        "(points, plane, outline, pedicle axes) are applied and flagged "
                        "'edited'")


def _load_ct(path: str) -> tuple[Any, list[str]]:
    from planner.loading import load_path

    res = load_path(path)
    return res.volume, [f"{w.code}: {w.message}" for w in res.warnings]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from planner.commands._common import parse_seed
    from planner.io_nifti import load_nifti_labels, save_nifti
    from planner.vertebra import analyze_spine, body_label_map, level_index, measure_from_mask

    seed = parse_seed(args.seed)
    if (seed is None) != (args.level is None):
        raise InputError("--seed and --level go together (a point inside a body and its name)")
    if args.level is not None:
        try:
            level_index(args.level)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    if args.from_mask:
        return _json(measure_from_mask(load_nifti_labels(args.path)))
    volume, load_warnings = _load_ct(args.path)
    labels = load_nifti_labels(args.labels) if args.labels else None
    analysis = analyze_spine(volume, labels=labels, seed_lps=seed,
                             level=args.level.upper() if args.level else None)
    if args.mask_out:
        save_nifti(body_label_map(volume, analysis), volume.grid, args.mask_out)
    if args.plan:
        analysis = _corrected(analysis, args.plan, volume)
    out = _json(analysis)
    out["warnings"] = load_warnings + out["warnings"]
    return out


def _json(analysis: Any) -> dict[str, Any]:
    out: dict[str, Any] = analysis.to_json()
    for lv in out["levels"]:  # every correction kind has its flag (pedicle axes included)
        lv["edited"].setdefault("pedicle_axis", False)
    return out


def _corrected(analysis: Any, plan_path: str, volume: Any) -> Any:
    """``analysis`` with the anatomy corrections of the plan file (not applicable ones are
    named in the analysis' warnings, the automatic values kept)."""
    from dataclasses import replace

    from planner.plan.file import load_case_plan
    from planner.session.corrections import apply_corrections

    loaded = load_case_plan(plan_path, volume.series_uid, volume.grid.fingerprint(), volume)
    analysis, notes = _user_names(analysis, loaded.plan.corrections)
    out = apply_corrections(analysis, loaded.plan.corrections, strict=False)
    missing = sorted({c.level for c in loaded.plan.corrections} - set(analysis.names()))
    notes += [
        f"{r.level}: {n.split(':', 1)[1].strip()}"
        for r in out.levels
        for n in r.morphometry.notes
        if n.startswith("edited:") and "not applied" in n
    ] + [f"{lv}: corrected in the plan but not found by this analysis" for lv in missing]
    return replace(out, warnings=(*out.warnings, *notes)) if notes else out


def _user_names(analysis: Any, corrections: Any) -> tuple[Any, list[str]]:
    """``analysis`` under the level names the user gave in the plan (``level_name``
    corrections: automatic name → the user's), so the anatomy corrections recorded under the
    user's names find their vertebrae. Names that do not fit are left, with a warning."""
    from dataclasses import replace

    mapping = {str(c.automatic): str(c.value) for c in corrections if c.kind == "level_name"}
    if not mapping:
        return analysis, []
    names = analysis.names()
    new_names = [mapping.get(n, n) for n in names]
    if any(a not in names for a in mapping) or len(set(new_names)) != len(new_names):
        return analysis, [
            "the plan's level names ("
            + ", ".join(f"{a} -> {v}" for a, v in mapping.items())
            + ") do not fit this analysis; its corrections are matched by the automatic names"
        ]

    def renamed(r: Any, name: str) -> Any:
        return replace(
            r,
            candidate=r.candidate.renamed(name, r.candidate.confirmed),
            anatomy=replace(r.anatomy, level=name),
            morphometry=replace(r.morphometry, level=name),
        )

    levels = tuple(
        renamed(r, mapping[r.level]) if r.level in mapping else r for r in analysis.levels
    )
    return replace(analysis, levels=levels), []
