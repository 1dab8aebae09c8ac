"""MRI beside the CT: loading, CT -> MRI registration, bone-marrow oedema per level.

Public API (LPS mm, each scan in its own frame; transforms map CT points to MRI points)::

    load_mr_study(path)                          -> {"stir": MRLoadResult, "t1": ...}
    register_spine(ct, mri, {level: centroid})   -> Registration (global + per segment)
    rigid_from_points(ct_pts, mri_pts)           -> PointFit (Kabsch; 2-point fallback)
    classify_levels(bodies, registration, stir, t1) -> [LevelOedema]
    analyse_mri(ct, analysis, stir=..., t1=...)  -> MRIResult (the whole step)

Modules: :mod:`.loading`, :mod:`.rigid`, :mod:`.points`, :mod:`.register`, :mod:`.oedema`,
:mod:`.pipeline`, :mod:`.reslice` (view planes), :mod:`.export` (MR DICOM writer),
:mod:`.case` (the planning session's checklist and acuity).
"""
