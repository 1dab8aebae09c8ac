"""Domain constants of the planner: each value once, with its meaning and source.

Values that look alike but mean different things have different names (a 150 HU bone crossing
on a search ray is not the 250 HU bone entry without segmentation). Modules import these
instead of repeating the numbers. HU are Hounsfield units, lengths mm.
"""

from __future__ import annotations

# --- Hounsfield thresholds --------------------------------------------------------------------
#: Air/lung below this (air −1000 HU, aerated lung about −700 to −900 HU). [tool assumption]
AIR_HU = -400.0
#: Bone crossing on an auto-suggest ray (skin search from the bone entry outward): low enough
#: to catch osteoporotic cortex. [tool assumption]
SUGGEST_BONE_HU = 150.0
#: Bone entry without a segmentation: above soft tissue and the young-adult trabecular mean
#: (about 230 HU, Pickhardt 2013 Ann Intern Med), so the cortex the needle meets first is
#: found. [tool assumption]
ENTRY_BONE_HU = 250.0
#: Window of dense soft tissue outside bone (contrast blood pool, bone outside the level's
#: masks) flagged along a needle. [tool assumption]
DENSE_TISSUE_HU = (150.0, 700.0)
#: HU written inside a label map turned into a pseudo-CT.
#: [tool assumption]
LABEL_MASK_BONE_HU = 300
#: Bone followed when a rib is traced from its vertebra: above contrast-enhanced kidney and
#: vessels (measured 150-300 HU on ../shared/data/cptac_chest_ct), below a rib's cortex on a
#: 3 mm scan also when a soft kernel or a coarser pixel lowers its peak (at 350 HU the T3 and
#: T1 ribs of that CT broke apart with 0.85 mm pixels or a 0.45 mm Gaussian blur; at 300 HU
#: all of T1-T12 trace on every variant and L1's transverse processes stay < 30 mm).
#: [tool assumption]
RIB_TRACE_HU = 300.0
#: A rib is at least this long, arising at the vertebra (Yun et al., Korean J Radiol 2018);
#: the transverse process of L1 is shorter.
RIB_MIN_LENGTH_MM = 38.0

#: L1 trabecular HU screening thresholds for osteoporosis (Pickhardt PJ et al. 2013, Ann Intern
#: Med 158:588-595): ≤ 110 HU > 90 % specific, ≤ 160 HU sensitive, > 200 HU NPV 99 %.
TRABECULAR_OSTEOPOROSIS_HU = 110.0
TRABECULAR_SENSITIVE_HU = 160.0
TRABECULAR_NPV_HU = 200.0
#: Bone iso-surface of the 3D view and bone seen first by the initial view placement; display
#: choices, not measurements. [tool assumption]
DISPLAY_BONE_ISO_HU = 200.0
DISPLAY_BONE_HU = 250.0

# --- lengths ----------------------------------------------------------------------------------
#: Shortest needle (skin entry to tip) a plan accepts: shorter is a click, not a path.
#: [tool assumption]
MIN_NEEDLE_LENGTH_MM = 1.0
#: While dragging an end, a needle shorter than this is not previewed (the drag is ignored
#: until the end moves away). [tool assumption]
DRAG_MIN_NEEDLE_MM = 2.0
#: Placing a needle by two clicks: the skin click must be this far from the target click.
#: [tool assumption]
CLICK_MIN_NEEDLE_MM = 5.0
#: A tip within this distance of the mid-sagittal plane "reaches the midline". [tool assumption]
MIDLINE_TOL_MM = 2.0

#: Share of the body's depth in front of the posterior wall that the cement front should not
#: reach: a caution, after the technique of stopping injection before cement reaches the
#: posterior quarter of the body on the lateral view. [tool assumption: no source with this
#: figure is recorded; the simulated front it is applied to is qualitative]
SPREAD_POSTERIOR_CAUTION_FRAC = 0.25

# --- plan files -------------------------------------------------------------------------------
#: Plan coordinates may lie at most this far outside the volume's bounding box. [tool assumption]
PLAN_VOLUME_MARGIN_MM = 1000.0
#: Without a volume, plan coordinates must lie within ± this bound (10 m). [tool assumption]
PLAN_ABSOLUTE_LIMIT_MM = 10000.0
#: Largest plan file read (bytes) and most measurements accepted. [tool assumption]
PLAN_MAX_BYTES = 20 * 1024 * 1024
PLAN_MAX_MEASUREMENTS = 10_000
#: Deepest JSON nesting accepted in a plan file (the format needs 5). [tool assumption]
PLAN_MAX_DEPTH = 32

# --- the surgeon's corrections of the anatomy (issue 11 item 8) -------------------------------
#: Brush radius accepted when correcting a body outline (mm, in the view's slice plane); the
#: default radius of the brush tool. [tool assumption]
BRUSH_RADIUS_RANGE_MM = (0.5, 15.0)
BRUSH_RADIUS_DEFAULT_MM = 3.0
#: A corrected mid-sagittal plane may be moved at most this far (mm, along the body's left
#: axis) and turned at most this much (degrees, about its superior axis) from the automatic
#: plane: a larger change is a misplaced handle, not a correction. [tool assumption]
PLANE_MAX_SHIFT_MM = 20.0
PLANE_MAX_TURN_DEG = 35.0
#: A pedicle axis set by two clicks: the clicks must be this far apart (mm), at most this far.
#: [tool assumption]
PEDICLE_AXIS_LENGTH_RANGE_MM = (5.0, 80.0)
