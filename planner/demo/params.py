"""Anatomy and tissue parameters of the built-in demo spine.

Every dimension is a plausible adult value, chosen inside the ranges of DOMAIN.md §1 (a
petite elderly woman with an osteoporotic L1 wedge fracture); the tissue HU values come from
DOMAIN.md §7.1 where the source gives them, otherwise they are the usual textbook CT numbers
(marked "typical CT value"; DOMAIN.md holds no soft-tissue table).

Notes
-----
Lengths in mm, angles in degrees. "Wedge" is the physiological ventral wedging of the body
(+ = anterior lower), Masharawi et al. 2010 (DOMAIN.md §1.2 table; the demo uses values
between the women's and men's means, as the issue asks: T11 ~5°, T12 ~4°, L1 ~3°, L2 ~2°,
L3 ~0°).
"""

from __future__ import annotations

from dataclasses import dataclass

#: VerSe label ids (T1 = 8 ... T12 = 19, L1 = 20 ...), as in planner.io_nifti.VERSE_NAMES.
VERSE_IDS = {"T10": 17, "T11": 18, "T12": 19, "L1": 20, "L2": 21, "L3": 22, "L4": 23,
             "T5": 12, "T6": 13, "T7": 14, "T8": 15, "T9": 16, "L5": 24, "S1": 26}

#: Levels drawn, cranial to caudal; the first and last are cut by the scan edges.
LEVEL_NAMES = ("T10", "T11", "T12", "L1", "L2", "L3", "L4")
#: Levels that lie completely inside the scan and get ground truth.
COMPLETE_LEVELS = ("T11", "T12", "L1", "L2", "L3")
FRACTURED_LEVEL = "L1"
#: Anterior height loss of the fractured level vs its own pre-fracture shape: 30 % lies in
#: Genant grade 2 (25-40 %, DOMAIN.md §2.1).
FRACTURE_ANTERIOR_LOSS = 0.30


@dataclass(frozen=True, slots=True)
class LevelParams:
    """Shape parameters of one vertebra (mm, degrees).

    Body: ``width`` (transverse), ``depth`` (AP, mid-sagittal), ``height_post`` (posterior
    height at the 90 % position), ``wedge_deg`` (ventral wedging). Pedicle: outer transverse
    width and height at the isthmus, transverse (medial convergence) angle. Canal: width and AP
    diameter. Processes: transverse-process length, spinous length and caudal slope.
    """

    name: str
    width: float
    depth: float
    height_post: float
    wedge_deg: float
    pedicle_width: float
    pedicle_height: float
    pedicle_angle_deg: float
    canal_width: float
    canal_ap: float
    tp_length: float
    tp_sweep_deg: float
    spinous_length: float
    spinous_slope_deg: float
    trabecular_hu: float


# Sources for the numbers below (DOMAIN.md §1.2):
# - body heights grow caudally; T12 anterior height 27.1 (Chughtai), L5 Ha/Hp 30.3/26.3 and
#   depth ~35 (Cook & Baker 2021); a petite woman sits at the lower end -> Hp 24-28.5.
# - pedicle width T12 7.9-8.3 (Cureus 2020; Kaur 2016), T11 external sagittal 17.0
#   (Christodoulou 2005), T12 pedicle height 15.5 (Cureus 2020), lumbar widths rising to
#   16.1 at L5 (Cook & Baker 2021); transverse angle small at T12 (4.0°, Chughtai) and rising
#   L1 -> L5 (Lien 2007).
# - canal: thoracic AP ~17-21 (Chughtai, Kaur), lumbar canal width up to 28 at L5 (Cook &
#   Baker 2021).
# - trabecular HU: normal ~170 (British cohort mean 178 "normal", DOMAIN.md §7.1); fractured L1
#   110 HU (≤ 110 HU is > 90 % specific for osteoporosis, Pickhardt 2013, DOMAIN.md §7.1).
LEVELS: dict[str, LevelParams] = {
    p.name: p
    for p in (
        LevelParams("T10", 38.0, 29.0, 23.0, 3.2, 6.5, 15.5, 6.0, 18.0, 17.0, 19.0, 35.0,
                    30.0, 35.0, 175.0),
        LevelParams("T11", 40.0, 30.0, 24.0, 5.0, 7.5, 16.5, 5.0, 19.0, 17.5, 17.0, 30.0,
                    31.0, 25.0, 172.0),
        LevelParams("T12", 42.0, 31.0, 25.5, 4.0, 8.0, 16.0, 4.0, 20.5, 18.0, 13.0, 20.0,
                    32.0, 14.0, 168.0),
        LevelParams("L1", 44.0, 32.0, 26.5, 3.0, 8.0, 15.5, 7.0, 22.0, 18.5, 22.0, 8.0,
                    33.0, 8.0, 110.0),
        LevelParams("L2", 46.0, 33.0, 27.5, 2.0, 9.0, 15.0, 10.0, 22.5, 18.0, 28.0, 5.0,
                    33.0, 5.0, 165.0),
        LevelParams("L3", 48.0, 34.0, 28.0, 0.0, 10.5, 14.5, 13.0, 23.0, 17.5, 32.0, 3.0,
                    32.0, 3.0, 162.0),
        LevelParams("L4", 50.0, 35.0, 28.5, -1.5, 12.0, 14.0, 16.0, 24.0, 17.5, 28.0, 3.0,
                    30.0, 2.0, 160.0),
    )
}

# Levels outside the default demo (used by the training library, planner.demo.spec). Not drawn
# in the default case, so they do not change it. Sources:
# - thoracic pedicles are narrow: outer transverse width T5-T6 ~4.5 mm, T7 ~4.9, T8 ~5.4,
#   T9 ~5.9 (Panjabi MM et al., Spine 1991;16:888-901; Kaur K et al., J Clin Diagn Res 2016
#   (Indian cohort, the narrowest); Zindrick MR et al., Spine 1987;12:160-166); pedicle height
#   12-14 mm and transverse angle 7-9° at T5-T9 (Panjabi 1991);
# - thoracic bodies: width 30-35 mm, depth 25-28 mm, posterior height 19.5-22 mm, ventral
#   wedging ~4° (Panjabi 1991; Masharawi 2010); thoracic canal ~15-16 mm wide and deep
#   (Panjabi 1991); steep, long spinous processes;
# - L5: Ha/Hp 30.3/26.3 mm (dorsal wedging), pedicle width up to 16.1 mm, transverse angle
#   ~20-25°, canal width up to 28 mm (Cook & Baker 2021; Lien 2007); a petite woman sits lower;
# - S1 is only the cut lower edge of the L4-L5 scans (stylised as a body; not scored).
EXTRA_LEVELS: dict[str, LevelParams] = {
    p.name: p
    for p in (
        LevelParams("T5", 30.0, 25.0, 19.5, 4.0, 4.5, 12.0, 9.0, 15.5, 15.5, 20.0, 40.0,
                    30.0, 55.0, 180.0),
        LevelParams("T6", 31.0, 26.0, 20.0, 4.0, 4.6, 12.0, 8.0, 15.5, 15.5, 20.0, 40.0,
                    32.0, 55.0, 180.0),
        LevelParams("T7", 32.0, 26.5, 20.5, 4.0, 4.9, 12.5, 7.5, 16.0, 15.5, 20.0, 38.0,
                    33.0, 50.0, 178.0),
        LevelParams("T8", 33.5, 27.0, 21.0, 4.0, 5.4, 13.0, 7.0, 16.0, 16.0, 20.0, 37.0,
                    34.0, 48.0, 178.0),
        LevelParams("T9", 35.0, 28.0, 22.0, 3.5, 5.9, 14.0, 6.5, 17.0, 16.5, 19.5, 36.0,
                    35.0, 42.0, 176.0),
        LevelParams("L5", 52.0, 35.0, 27.0, -5.0, 14.5, 14.0, 22.0, 26.0, 17.5, 25.0, 3.0,
                    28.0, 2.0, 158.0),
        LevelParams("S1", 50.0, 36.0, 28.0, -6.0, 16.0, 15.0, 25.0, 28.0, 17.0, 20.0, 3.0,
                    22.0, 0.0, 200.0),
    )
}

#: Disc heights (mm, at the centre) below each level; lumbar discs 8-11 mm, lower thoracic
#: ~7 mm (typical anatomy; the issue asks for ~8-10 mm).
DISC_BELOW = {"T10": 7.0, "T11": 7.5, "T12": 9.0, "L1": 8.5, "L2": 9.5, "L3": 10.0}
#: Thoracic discs are thinner (~5-6 mm), L4/5 and L5/S1 ~10-11 mm (typical anatomy).
EXTRA_DISC_BELOW = {"T5": 5.0, "T6": 5.0, "T7": 5.5, "T8": 5.5, "T9": 6.0, "L4": 10.5,
                    "L5": 10.0}

#: Cortical shell thickness of the body and of the posterior elements, mm. The thin vertebral
#: body shell is ~0.5-1 mm thick in reality; 1 mm keeps it visible at 0.7 mm voxels.
CORTEX_BODY_MM = 1.0
CORTEX_POSTERIOR_MM = 1.3
#: Depth of the central endplate concavity (each endplate), mm.
ENDPLATE_BOWL_MM = 0.8


@dataclass(frozen=True, slots=True)
class Tissue:
    """HU of each material before noise and partial volume."""

    air: float = -1000.0
    lung: float = -850.0  # typical CT value
    fat: float = -100.0  # typical CT value (issue: retroperitoneal fat ~-100)
    muscle: float = 50.0  # typical CT value (issue: paraspinal muscle ~50)
    skin: float = 30.0
    viscera: float = 35.0  # unenhanced abdominal organs, typical CT value
    kidney: float = 32.0
    blood: float = 40.0  # unenhanced aorta (issue: ~40)
    csf: float = 8.0  # issue: CSF ~10
    cord: float = 35.0  # spinal cord / conus, typical CT value (faintly brighter than CSF)
    epidural_fat: float = -90.0
    ligament: float = 60.0
    disc_nucleus: float = 75.0  # issue: disc ~70-90
    disc_annulus: float = 95.0
    cortex: float = 1250.0  # issue: cortical shell ~1000-1500 before partial volume
    posterior_cancellous: float = 260.0  # dense cancellous bone of pedicles and laminae
    fracture_band: float = 90.0  # compacted trabeculae under the collapsed endplate (added)


TISSUE = Tissue()

#: Cancellous bone of the ribs (thin trabeculae, red marrow), HU.
RIB_MARROW_HU = 200.0
#: Image noise standard deviation, HU (issue: sigma ~15-25 HU).
NOISE_SIGMA_HU = 18.0
#: Amplitude of the trabecular texture in cancellous bone, HU (zero mean).
TRABECULAR_TEXTURE_HU = 25.0

#: Facet-joint orientation: angle (degrees) between the joint's normal and the lateral axis,
#: i.e. the joint plane's angle from the sagittal plane. Thoracic facets are near-coronal,
#: lumbar ones near-sagittal, turning towards 45° caudally; T12 is transitional (typical
#: anatomy; not in DOMAIN.md).
FACET_ANGLE_DEG = {"T10": 75.0, "T11": 70.0, "T12": 50.0, "L1": 32.0, "L2": 35.0, "L3": 40.0,
                   "L4": 45.0, "T5": 80.0, "T6": 80.0, "T7": 78.0, "T8": 78.0, "T9": 76.0,
                   "L5": 50.0, "S1": 50.0}
#: Width of the facet joint space, mm.
FACET_GAP_MM = 2.0
