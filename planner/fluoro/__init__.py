"""Simulated C-arm fluoroscopy: cone-beam projection, display window, needle, markers.

Usage::

    projector = ConeBeamProjector(volume, level_centre_lps)    # once per study / level
    shot = take_shot(projector, CArmPose(iso_lps, lao_deg=0, cranial_deg=0),
                     needle=(skin_entry_lps, tip_lps, outer_radius_mm))
    shot.display          # uint8 C-arm image, 512 × 512
    shot.orientation      # edge letters + C-arm label for the marker
    shot.project(points)  # (col, row) of LPS points on the image
"""

from planner.fluoro.geometry import CArmPose, Detector
from planner.fluoro.projector import ConeBeamProjector
from planner.fluoro.shot import FluoroShot, Window, take_shot

__all__ = ["CArmPose", "ConeBeamProjector", "Detector", "FluoroShot", "Window", "take_shot"]
