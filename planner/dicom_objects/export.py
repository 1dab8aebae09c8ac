"""Write the plan's SR, SEG and Encapsulated PDF (and, for NIfTI input, the CT) to a folder.

Files: ``OUTDIR/SEG_<level...>.dcm``, ``OUTDIR/SR.dcm``, ``OUTDIR/ORSHEET.dcm`` and
``OUTDIR/ct/CT*.dcm`` when the CT had to be written (NIfTI input, ``generated_uids``). Every
UID is derived from the CT series UID, so exporting twice overwrites the same objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.orsheet.build import LoadedCase
from planner.orsheet.content import SheetContent


def export_dicom(
    case: LoadedCase, content: SheetContent, pdf: bytes, path: str, outdir: str | Path
) -> dict[str, Any]:
    """Write the objects; returns their files and UIDs (JSON-able)."""
    from planner.dicom_objects.pdf_doc import make_encapsulated_pdf
    from planner.dicom_objects.seg import make_seg
    from planner.dicom_objects.sources import load_ct_source
    from planner.dicom_objects.sr import make_sr

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    ct = load_ct_source(case.volume, path, out)
    seg, numbers = make_seg(case.volume, case.levels, ct)
    sr = make_sr(content, ct, seg, numbers)
    doc = make_encapsulated_pdf(pdf, ct)
    files = {"seg": out / "SEG.dcm", "sr": out / "SR.dcm", "pdf": out / "ORSHEET.dcm"}
    try:
        seg.save_as(files["seg"], enforce_file_format=True)
        sr.save_as(files["sr"], enforce_file_format=True)
        doc.save_as(files["pdf"], enforce_file_format=True)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=out) from exc
    note = (
        "the CT had no DICOM identity (NIfTI): it was written as a CT series with UIDs "
        "derived from its identifier, and the objects reference that series"
        if ct.generated_uids
        else ""
    )
    return {
        "outdir": str(out),
        "files": {k: str(v) for k, v in files.items()},
        "ct_folder": None if ct.folder is None else str(ct.folder),
        "generated_uids": ct.generated_uids,
        "note": note,
        "study_uid": ct.study_uid,
        "frame_of_reference_uid": ct.frame_of_reference_uid,
        "ct_series_uid": ct.series_uid,
        "segments": {str(n): f"{lvl} {kind}" for n, (kind, lvl) in numbers.items()},
        "sop_instance_uids": {
            "seg": str(seg.SOPInstanceUID),
            "sr": str(sr.SOPInstanceUID),
            "pdf": str(doc.SOPInstanceUID),
        },
    }
