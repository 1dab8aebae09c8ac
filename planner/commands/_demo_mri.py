"""``python -m planner demo OUTDIR --mri``: the synthetic MRI as two DICOM MR series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.demo.case import DemoCase, demo_uid
from planner.errors import InputError


def write_demo_mri(case: DemoCase, out: Path) -> dict[str, Any]:
    """Write ``OUTDIR/mri_stir`` and ``OUTDIR/mri_t1``; return the truth and a summary.

    Notes
    -----
    Same patient and StudyInstanceUID as the demo CT, own FrameOfReferenceUID (the MRI frame;
    its offset from the CT is the truth's ``transform_ct_to_mri``).
    """
    from planner.demo.mri import CONTRASTS, generate_demo_mri
    from planner.mri.export import write_mr_series

    mri = generate_demo_mri(case)
    study = demo_uid(case.seed, case.variant, "study")
    frame = demo_uid(case.seed, case.variant, "mri/frame-of-reference")
    summary: dict[str, Any] = {"frame_of_reference_uid": frame}
    for number, (name, vol) in enumerate((("stir", mri.stir), ("t1", mri.t1)), start=2):
        folder = out / f"mri_{name}"
        if folder.is_dir() and any(p.suffix.lower() != ".dcm" for p in folder.iterdir()):
            raise InputError("already holds files other than the demo's MR*.dcm; choose an "
                             "empty folder", path=folder)
        res = write_mr_series(vol, folder, study_uid=study, frame_uid=frame,
                              series_number=number, sequence=CONTRASTS[name].dicom,
                              study_description="Demo spine")
        summary[name] = {"dicom_dir": str(folder), "series_uid": res.series_uid,
                         "n_images": len(res.files)}
    truth = mri.to_json()
    truth["frame_of_reference_uid"] = frame
    truth["series_uid"] = {"stir": mri.stir.series_uid, "t1": mri.t1.series_uid}
    summary["transform_ct_to_mri"] = truth["transform_ct_to_mri"]
    return {"truth": truth, "summary": summary}
