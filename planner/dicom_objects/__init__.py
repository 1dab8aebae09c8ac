"""The plan as standard DICOM objects: TID 1500 SR, SEG, Encapsulated PDF (highdicom)."""
