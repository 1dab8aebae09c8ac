"""The OR sheet as a DICOM Encapsulated PDF (PS3.3 A.45.1).

highdicom has no Encapsulated PDF class; :class:`highdicom.SOPClass` gives the Patient, General
Study, General Series, General Equipment and SOP Common modules (patient and study copied from
the CT), and the Encapsulated Document module is added here (PS3.3 C.24.2).
"""

from __future__ import annotations

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, TM

from planner.dicom_export import FIXED_DATE, FIXED_TIME, derived_uid
from planner.dicom_objects.seg import MANUFACTURER
from planner.dicom_objects.sources import CTSource

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"


def make_encapsulated_pdf(pdf: bytes, ct: CTSource, series_number: int = 903) -> Dataset:
    """Encapsulated PDF instance in the CT's study, referencing the CT series."""
    from planner import __version__

    ref = ct.datasets[0]
    root = ct.series_uid
    ds = hd.SOPClass(
        study_instance_uid=ct.study_uid,
        series_instance_uid=derived_uid(root, "plan-pdf-series"),
        series_number=series_number,
        sop_instance_uid=derived_uid(root, "plan-pdf"),
        sop_class_uid=ENCAPSULATED_PDF,
        instance_number=1,
        modality="DOC",
        manufacturer=MANUFACTURER,
        software_versions=str(__version__),
        patient_id=getattr(ref, "PatientID", None),
        patient_name=getattr(ref, "PatientName", None),
        patient_birth_date=getattr(ref, "PatientBirthDate", None),
        patient_sex=getattr(ref, "PatientSex", None) or None,
        accession_number=getattr(ref, "AccessionNumber", None),
        study_id=getattr(ref, "StudyID", None),
        study_date=getattr(ref, "StudyDate", None),
        study_time=getattr(ref, "StudyTime", None),
        referring_physician_name=getattr(ref, "ReferringPhysicianName", None),
    )
    ds.SeriesDescription = "OR sheet"
    ds.FrameOfReferenceUID = ct.frame_of_reference_uid
    ds.ContentDate = DA(FIXED_DATE)
    ds.ContentTime = TM(FIXED_TIME)
    ds.AcquisitionDateTime = FIXED_DATE + FIXED_TIME
    ds.ConversionType = "SYN"
    ds.BurnedInAnnotation = "NO"
    ds.DocumentTitle = "Vertebral augmentation OR sheet"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf if len(pdf) % 2 == 0 else pdf + b"\0"
    ds.EncapsulatedDocumentLength = len(pdf)
    src = Dataset()
    src.ReferencedSOPClassUID = ref.SOPClassUID
    src.ReferencedSOPInstanceUID = ref.SOPInstanceUID
    ds.SourceInstanceSequence = [src]
    return ds
