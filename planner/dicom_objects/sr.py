"""Comprehensive 3D SR, TID 1500 measurement report (highdicom) of the plan.

Groups (TID 1411 volumetric, referencing the SEG's body segment) per level: body volume,
anterior/middle/posterior heights, wedge angle, Genant grade, planned cement volume with its
band. Groups (TID 1501) per needle: needle length skin to tip (DCM 111467), bone to tip,
medial and craniocaudal angles to the body and to the table, isthmus width, minimum cortical
clearance, breach grade, tip depth. Concepts without a standard code use the local coding
scheme ``99VAP`` (PS3.16 private scheme rules: designator starting with "99").
"""

from __future__ import annotations

import math

import highdicom as hd
from highdicom.sr import CodedConcept as C
from pydicom.sr.codedict import codes

from planner.dicom_export import derived_uid
from planner.dicom_objects.seg import MANUFACTURER, level_code
from planner.dicom_objects.sources import CTSource
from planner.orsheet.content import LevelSheet, NeedleSheet, SheetContent

MM = C("mm", "UCUM", "millimeter")
ML = C("ml", "UCUM", "milliliter")
DEG = C("deg", "UCUM", "degree")
PCT = C("%", "UCUM", "percent")
ONE = C("1", "UCUM", "no units")
VOLUME = C("118565006", "SCT", "Volume")
WIDTH = C("103355008", "SCT", "Width")
NEEDLE_LENGTH = C("111467", "DCM", "Needle Length")


def local(value: str, meaning: str) -> C:
    return C(value, "99VAP", meaning)


HEIGHT = {
    w: local(f"H-{w[0].upper()}", f"{w.capitalize()} vertebral body height")
    for w in ("anterior", "middle", "posterior")
}
WEDGE = local("WEDGE", "Vertebral wedge angle")
GENANT = local("GENANT", "Genant semiquantitative fracture grade")
CEMENT = local("CEMENT", "Planned cement volume")
CEMENT_LO = local("CEMENT-LO", "Planned cement volume, band lower limit")
CEMENT_HI = local("CEMENT-HI", "Planned cement volume, band upper limit")
BONE_TO_TIP = local("BONE-TIP", "Needle length bone entry to tip")
MEDIAL_BODY = local("MED-BODY", "Needle medial angle to the vertebral body")
MEDIAL_TABLE = local("MED-TABLE", "Needle medial angle to the table")
CC_BODY = local("CC-BODY", "Needle craniocaudal angle to the vertebral body")
CC_TABLE = local("CC-TABLE", "Needle craniocaudal angle to the table")
CLEARANCE = local("CLEAR", "Minimum cortical clearance of the needle")
BREACH = local("GR", "Gertzbein-Robbins breach grade")
TIP_DEPTH = local("TIP-DEPTH", "Needle tip depth, fraction of body depth")
PLANNING = local("PLAN", "Vertebral augmentation planning")
NEEDLE_FINDING = local("NEEDLE", "Planned needle trajectory")


def _m(name: C, value: float, unit: C) -> hd.sr.Measurement | None:
    if value is None or not math.isfinite(value):
        return None
    return hd.sr.Measurement(name=name, value=float(value), unit=unit)


def _keep(items: list[hd.sr.Measurement | None]) -> list[hd.sr.Measurement]:
    return [m for m in items if m is not None]


def _level_group(
    lv: LevelSheet, seg: hd.seg.Segmentation, seg_no: int, root: str
) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    mo = lv.morphometry
    h = mo.heights_mm
    lo, hi = lv.cement_band_ml
    ms = _keep(
        [
            _m(VOLUME, lv.anatomy.body_volume_ml, ML),
            _m(HEIGHT["anterior"], h.anterior, MM),
            _m(HEIGHT["middle"], h.middle, MM),
            _m(HEIGHT["posterior"], h.posterior, MM),
            _m(WEDGE, mo.wedge_angle_deg, DEG),
            _m(GENANT, float(mo.genant_grade), ONE),
            _m(CEMENT, lv.cement_ml, ML),
            _m(CEMENT_LO, lo, ML),
            _m(CEMENT_HI, hi, ML),
        ]
    )
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=derived_uid(root, f"track-{lv.level}-body"), identifier=f"{lv.level} body"
        ),
        referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, seg_no),
        finding_type=level_code(lv.level),
        measurements=ms,
    )


def _needle_group(
    lv: LevelSheet, n: NeedleSheet, root: str
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    m = n.metrics
    ms = _keep(
        [
            _m(NEEDLE_LENGTH, m.length_skin_to_tip_mm, MM),
            _m(BONE_TO_TIP, m.length_bone_to_tip_mm, MM),
            _m(MEDIAL_BODY, m.medial_angle_deg, DEG),
            _m(MEDIAL_TABLE, m.medial_angle_table_deg, DEG),
            _m(CC_BODY, m.craniocaudal_angle_deg, DEG),
            _m(CC_TABLE, m.craniocaudal_angle_table_deg, DEG),
            _m(WIDTH, m.isthmus_width_mm, MM),
            _m(CLEARANCE, m.min_cortical_clearance_mm, MM),
            _m(BREACH, float(m.breach_grade), ONE),
            _m(TIP_DEPTH, 100.0 * m.tip_depth_frac, PCT),
        ]
    )
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=derived_uid(root, f"track-{lv.level}-{n.side}"),
            identifier=f"{lv.level} {n.side} needle ({n.gauge}, {n.trajectory.approach})",
        ),
        finding_type=NEEDLE_FINDING,
        finding_sites=[hd.sr.FindingSite(level_code(lv.level))],
        measurements=ms,
    )


def make_sr(
    content: SheetContent,
    ct: CTSource,
    seg: hd.seg.Segmentation,
    segment_numbers: dict[int, tuple[str, str]],
    series_number: int = 902,
) -> hd.sr.Comprehensive3DSR:
    """The measurement report (see module notes), with the CT and the SEG as evidence."""
    from planner import __version__

    root = ct.series_uid
    body_no = {lvl: n for n, (kind, lvl) in segment_numbers.items() if kind == "body"}
    groups: list[
        hd.sr.MeasurementsAndQualitativeEvaluations
        | hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations
    ] = []
    for lv in content.levels:
        groups.append(_level_group(lv, seg, body_no[lv.level], root))
        groups.extend(_needle_group(lv, n, root) for n in lv.needles)
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=derived_uid("vap", "device"), name=MANUFACTURER, model_name="planner"
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=PLANNING,
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    return hd.sr.Comprehensive3DSR(
        evidence=[*ct.datasets, seg],
        content=report,
        series_instance_uid=derived_uid(root, "plan-sr-series"),
        series_number=series_number,
        sop_instance_uid=derived_uid(root, "plan-sr"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        series_description="Vertebral augmentation plan measurements",
        is_complete=True,
        is_final=False,
        is_verified=False,
        software_versions=str(__version__),
    )
