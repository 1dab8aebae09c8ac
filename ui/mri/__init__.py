"""The MRI beside the CT: linked MRI views, oedema per level, the indication checklist."""
