"""Variants of the demo anatomy for the training library: which levels are drawn, which one is
fractured and how badly, bone density, pedicle width, axial rotation, soft-tissue depth.

The default :class:`CaseSpec` is the built-in demo exactly (same levels, fracture, HU, field of
view); :func:`planner.demo.case.generate_demo` uses it and its output is unchanged.

Notes
-----
Fracture grades as anterior height loss (Genant et al., J Bone Miner Res 1993: grade 1
20-25 %, grade 2 25-40 %, grade 3 > 40 %): 0 → none, 1 → 22 %, 2 → 30 % (the demo's), 3 → 45 %.
Trabecular HU: "osteoporotic" 100 HU at every level (≤ 110 HU is > 90 % specific for
osteoporosis, Pickhardt et al., Ann Intern Med 2013), "normal" 170 HU (the British cohort's
"normal" mean ~178 HU); the fractured body itself 90 / 150 HU (compacted, oedematous).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.demo import params as P

FRACTURE_LOSS = {0: 0.0, 1: 0.22, 2: P.FRACTURE_ANTERIOR_LOSS, 3: 0.45}
BONE_HU = {"osteoporotic": (100.0, 90.0), "normal": (170.0, 150.0)}
#: Levels drawn for a target level (the first and last are cut by the scan edges). Each window
#: holds T12 (the last rib-bearing vertebra) and a complete rib-free L1 below it, so the
#: planner can name the levels by itself.
WINDOWS = {
    "thoracic": ("T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2"),
    "thoracolumbar": P.LEVEL_NAMES,
    "lumbar": ("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"),
}


def window_for(level: str) -> str:
    if level in ("T6", "T7", "T8", "T9", "T10"):
        return "thoracic"
    if level in ("T11", "T12", "L1", "L2", "L3"):
        return "thoracolumbar"
    if level in ("L4", "L5"):
        return "lumbar"
    raise ValueError(f"the library covers T6-L5; got {level!r}")


def all_params(name: str) -> P.LevelParams:
    """Literature parameters of a level (the demo's table, then the extra levels)."""
    return P.LEVELS[name] if name in P.LEVELS else P.EXTRA_LEVELS[name]


def disc_below(name: str) -> float:
    return P.DISC_BELOW[name] if name in P.DISC_BELOW else P.EXTRA_DISC_BELOW[name]


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """How to draw a case (module notes). Lengths mm, angles degrees.

    Parameters
    ----------
    levels
        Levels drawn, cranial to caudal; must include L1 (the construction origin).
    fractured_level, fracture_grade
        The fractured body and its Genant grade (0 = no fracture).
    bone
        ``"default"`` (the demo's HU table), ``"normal"`` or ``"osteoporotic"``.
    pedicle_scale, scaled_level
        Pedicle width factor at ``scaled_level`` (None: every level).
    rotation_deg, rotated_level
        Axial rotation (about the superior axis through the canal, + = anterior body towards
        the patient's left) of ``rotated_level``; its neighbours get half.
    fat_extra_mm
        Extra subcutaneous fat all around the trunk (0 slim, ~25 average, ~45 obese).
    """

    levels: tuple[str, ...] = P.LEVEL_NAMES
    fractured_level: str = P.FRACTURED_LEVEL
    fracture_grade: int = 2
    bone: str = "default"
    pedicle_scale: float = 1.0
    scaled_level: str | None = None
    rotation_deg: float = 0.0
    rotated_level: str | None = None
    fat_extra_mm: float = 0.0

    def __post_init__(self) -> None:
        if "L1" not in self.levels or len(self.levels) < 3:
            raise ValueError("a case needs at least three levels including L1")
        for n in self.levels:
            all_params(n)
        if self.fracture_grade not in FRACTURE_LOSS:
            raise ValueError(f"fracture grade must be 0-3; got {self.fracture_grade!r}")
        if self.fractured_level not in self.levels[1:-1]:
            raise ValueError(f"{self.fractured_level} is not a complete level of the case")
        if self.bone not in ("default", *BONE_HU):
            raise ValueError(f"bone must be default, normal or osteoporotic; got {self.bone!r}")
        if not 0.3 <= self.pedicle_scale <= 2.0 or not abs(self.rotation_deg) <= 20.0:
            raise ValueError("pedicle_scale must be 0.3-2 and |rotation_deg| ≤ 20")
        if not 0.0 <= self.fat_extra_mm <= 80.0:
            raise ValueError("fat_extra_mm must be 0-80")

    @property
    def complete_levels(self) -> tuple[str, ...]:
        return self.levels[1:-1]

    @property
    def loss(self) -> float:
        return FRACTURE_LOSS[self.fracture_grade]

    def is_fractured(self, name: str) -> bool:
        return name == self.fractured_level and self.loss > 0.0

    def params(self, name: str) -> P.LevelParams:
        """The level's parameters with this case's bone and pedicle overrides."""
        p = all_params(name)
        if self.bone != "default" and name != "S1":
            normal, broken = BONE_HU[self.bone]
            p = replace(p, trabecular_hu=broken if self.is_fractured(name) else normal)
        if self.pedicle_scale != 1.0 and self.scaled_level in (None, name):
            p = replace(p, pedicle_width=round(p.pedicle_width * self.pedicle_scale, 3))
        return p

    def rotation(self, name: str) -> float:
        if self.rotation_deg == 0.0 or self.rotated_level is None:
            return 0.0
        i, j = self.levels.index(name), self.levels.index(self.rotated_level)
        return self.rotation_deg * {0: 1.0, 1: 0.5}.get(abs(i - j), 0.0)

    @property
    def field_ij(self) -> tuple[int, int]:
        """Axial matrix (i, j) at 0.7 mm: the demo's 380 × 290 grown with the extra fat."""
        grow = int(round(2.0 * self.fat_extra_mm / 0.7))
        return 380 + grow, 290 + grow
