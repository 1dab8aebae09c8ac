"""OR sheet PDF and DICOM export on a two-level demo plan (L1 vertebroplasty, T12 kyphoplasty)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from planner.cli import main


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from planner.orsheet.build import load_case, sheet_content
    from planner.orsheet.pdf import make_sheet, write_pdf

    d = tmp_path_factory.mktemp("orsheet")
    assert main(["demo", str(d / "demo")]) == 0
    dicom = str(d / "demo" / "dicom")
    plan = str(d / "plan.json")
    assert main(["plan", dicom, "--level", "L1:vp", "--level", "T12:kp", "--auto", "--balloon",
                 "kyphon-xpander-ii-15-3", "--inflation-ml", "2.5", "--out", plan]) == 0
    plans = [plan]
    case = load_case(dicom, plans)
    content = sheet_content(case)
    sheet = make_sheet(content, case.volume, stamp="test")
    pdf = write_pdf(sheet, d / "sheet.pdf")
    return {
        "dir": d,
        "dicom": dicom,
        "plans": plans,
        "case": case,
        "content": content,
        "sheet": sheet,
        "pdf": pdf,
    }


def _pdf_text(pdf: Path, sheet) -> str:  # type: ignore[no-untyped-def]
    """Text of the PDF by pdftotext when installed, else the text the layout drew."""
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        return out.stdout
    return "\n".join(sheet.texts())


def test_pages_and_images(demo_case: dict) -> None:
    sheet = demo_case["sheet"]
    pdf = demo_case["pdf"]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # one page per level + the summary page; the PDF has as many /Type /Page objects
    assert len(sheet.pages) == 3
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 3
    for lv in demo_case["content"].levels:
        n_img = sum(1 for (lvl, _side), ims in sheet.images.items() if lvl == lv.level for _ in ims)
        assert n_img >= 4
        assert len(lv.needles) == 2
    assert data.count(b"/Subtype /Image") >= 16
    # print resolution: 600 px over 45 mm
    im = next(iter(sheet.images.values()))[0]
    assert im.rgb.shape[1] / (45 / 25.4) >= 200


def test_sheet_takes_the_session_numbers(demo_case: dict) -> None:
    """Metrics, findings and estimates on the sheet are the planning session's."""
    from planner.session import level_check, level_estimates

    case, volume = demo_case["case"].case, demo_case["case"].volume
    for lv in demo_case["content"].levels:
        chk = level_check(volume, case, lv.level)
        est = level_estimates(volume, case, lv.level)
        assert chk is not None and est is not None
        want = {t.side: r.metrics for t, r in chk.results}
        assert {n.side: n.metrics for n in lv.needles} == want
        assert lv.cement_ml == est.cement.recommended_ml
    procedures = {lv.level: lv.plan.procedure for lv in demo_case["content"].levels}
    assert procedures == {"L1": "vertebroplasty", "T12": "kyphoplasty"}


def test_numbers_in_pdf_equal_planner(demo_case: dict) -> None:
    text = _pdf_text(demo_case["pdf"], demo_case["sheet"])
    flat = " ".join(text.split())
    content = demo_case["content"]
    for lv in content.levels:
        assert f"Cement {lv.level}: {lv.cement_ml:.1f} mL" in flat
        for n in lv.needles:
            m = n.metrics
            assert (
                f"Medial angle {m.medial_angle_deg:.1f}° to body, "
                f"{m.medial_angle_table_deg:.1f}° to table" in flat
            )
            assert (
                f"Skin to tip {m.length_skin_to_tip_mm:.1f} mm; bone to tip "
                f"{m.length_bone_to_tip_mm:.1f} mm" in flat
            )
            assert f"Isthmus width {m.isthmus_width_mm:.1f} mm" in flat
            assert f"Breach grade {m.breach_grade}" in flat
            assert f"Entry on AP: {n.clock_label} o'clock" in flat
        for b in lv.balloons:
            assert f"inflate to {b.inflation_ml:.1f} mL" in flat
    assert f"Total cement {content.total_cement_ml:.1f} mL" in flat
    assert "DOMAIN.md" not in flat
    # no patient identifiers unless asked
    assert "DEMO^SPINE" not in flat and "DEMO-0" not in flat


def test_entry_clock_face_sides(demo_case: dict) -> None:
    """Lateral entries: left pedicle on the image right (clock 12-6), right on the left."""
    from planner.orsheet.content import clock_label

    lv = demo_case["content"].levels[0]
    by_side = {n.side: n for n in lv.needles}
    assert 0 < by_side["left"].entry_clock < 6
    assert 6 < by_side["right"].entry_clock < 12
    assert clock_label(0.0) == "12:00" and clock_label(10.5) == "10:30"


def test_cli_report_with_patient(demo_case: dict, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    d = demo_case["dir"]
    out = d / "cli.pdf"
    capsys.readouterr()
    assert (
        main(
            [
                "report",
                demo_case["dicom"],
                demo_case["plans"][0],
                "--pdf",
                str(out),
                "--include-patient",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["pages"] == 3 and res["images"] == 16
    assert sorted(lv["level"] for lv in res["levels"]) == ["L1", "T12"]
    text = _pdf_text(out, None) if shutil.which("pdftotext") else ""
    if text:
        assert "DEMO-0" in text


def test_export_dicom_round_trip(demo_case: dict) -> None:
    import highdicom as hd

    from planner.dicom_objects.export import export_dicom
    from planner.dicom_objects.seg import seg_volumes_ml
    from planner.dicom_objects.sources import load_ct_source
    from planner.orsheet.pdf import pdf_bytes

    case, content = demo_case["case"], demo_case["content"]
    out = demo_case["dir"] / "export"
    pdf = pdf_bytes(demo_case["sheet"])
    res = export_dicom(case, content, pdf, demo_case["dicom"], out)
    ct = pydicom.dcmread(next(Path(demo_case["dicom"]).glob("*.dcm")), stop_before_pixels=True)
    assert res["generated_uids"] is False
    for key in ("seg", "sr", "pdf"):
        ds = pydicom.dcmread(res["files"][key])
        assert ds.StudyInstanceUID == ct.StudyInstanceUID
        assert ds.PatientID == ct.PatientID
    seg = hd.seg.segread(res["files"]["seg"])
    assert seg.FrameOfReferenceUID == ct.FrameOfReferenceUID
    src = load_ct_source(case.volume, demo_case["dicom"], out)
    vols = seg_volumes_ml(seg, src, case.volume.grid.voxel_volume_mm3)
    for lv in case.levels:
        want = lv.anatomy.body_volume_ml
        got = vols[f"{lv.level} vertebral body"]
        assert abs(got - want) / want < 0.01
        assert f"{lv.level} planned cement" in vols
        assert vols[f"{lv.level} planned cement"] > 0.5
    sr = hd.sr.srread(res["files"]["sr"])
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert {str(g.tracking_identifier) for g in groups} == {"L1 body", "T12 body"}
    needle_groups = sr.content.get_image_measurement_groups()
    assert len(needle_groups) == 4
    lengths = sorted(
        round(m.value, 2)
        for g in needle_groups
        for m in g.get_measurements()
        if m.name.value == "111467"
    )
    want_len = sorted(
        round(n.metrics.length_skin_to_tip_mm, 2) for lv in content.levels for n in lv.needles
    )
    assert lengths == pytest.approx(want_len, abs=0.01)
    doc = pydicom.dcmread(res["files"]["pdf"])
    assert doc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
    assert bytes(doc.EncapsulatedDocument)[: doc.EncapsulatedDocumentLength] == pdf
    assert doc.FrameOfReferenceUID == ct.FrameOfReferenceUID


def test_export_nifti_generates_uids(tmp_path: Path, shared_data: Path) -> None:
    """A NIfTI CT has no DICOM identity: the CT is written with derived UIDs, consistently."""
    from planner.dicom_objects.sources import load_ct_source
    from planner.loading import load_path

    nii = shared_data / "totalseg_example" / "example_ct.nii.gz"
    vol = load_path(str(nii)).volume
    a = load_ct_source(vol, nii, tmp_path / "a")
    b = load_ct_source(vol, nii, tmp_path / "b")
    assert a.generated_uids and a.study_uid == b.study_uid
    assert a.frame_of_reference_uid == b.frame_of_reference_uid
    assert len(a.datasets) == vol.grid.shape_kji[0]
    assert np.all(np.diff(a.k_index) == 1)
