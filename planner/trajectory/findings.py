"""Findings: what the surgeon must look at, with severity, message and location.

Thresholds and their sources:

- Breach grades: Gertzbein & Robbins 1990, 2-mm bins; a medial breach > 2 mm is widely treated
  as significant (DOMAIN.md §6.1). Medial grade ≥ 1 is a danger (the canal lies there); other
  directions are warnings up to grade 2 and a danger at grade 3.
- Canal margin: warn below :data:`CANAL_MARGIN_MM` = 2 mm between needle surface and canal,
  the size of the intra-procedural motion/registration error (manipulation 1.55 ± 1.13 mm,
  respiration 1.96 ± 1.32 mm; PMC6686387, DOMAIN.md §6.2) and the first GR bin (§6.1).
- Pedicle too narrow: total clearance (isthmus width − needle OD) below 1.0 mm is a danger
  (screw rule of Kaur 2016: 4 mm screw needs a 5 mm pedicle); below 2.0 mm a warning, since
  ~1 mm per side is less than the ~2 mm error budget (DOMAIN.md §6.2, derived).
- Tip: the ideal tip lies in the anterior third of the body (openradiology.org survey,
  DOMAIN.md §6.3); a unipedicular tip should reach the midline (same; Clin J Pain 2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.plan.model import Point, Trajectory
from planner.trajectory.metrics import PathSamples, TrajectoryMetrics

SEVERITIES = ("info", "warning", "danger")
CANAL_MARGIN_MM = 2.0
NARROW_DANGER_MM = 1.0
NARROW_WARNING_MM = 2.0
ANTERIOR_THIRD_FRAC = 2.0 / 3.0
AIR_MIN_MM = 1.0
DENSE_MIN_MM = 4.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check result.

    Parameters
    ----------
    code
        Stable machine-readable id, e.g. ``"medial_breach"``.
    severity
        ``"info"``, ``"warning"`` or ``"danger"``.
    message
        One sentence for the user, with the numbers.
    location_lps
        Where to look (LPS mm), or None.
    """

    code: str
    severity: str
    message: str
    location_lps: Point | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.location_lps is not None:
            object.__setattr__(self, "location_lps", tuple(float(v) for v in self.location_lps))

    def as_dict(self) -> dict[str, object]:
        loc = None if self.location_lps is None else [round(v, 2) for v in self.location_lps]
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "location_lps": loc,
        }


def _pt(p: np.ndarray | None) -> Point | None:
    return None if p is None else (float(p[0]), float(p[1]), float(p[2]))


def derive_findings(
    traj: Trajectory, m: TrajectoryMetrics, s: PathSamples, *, unipedicular: bool = False
) -> tuple[Finding, ...]:
    """All findings for one trajectory, most severe first."""
    out: list[Finding] = []
    tip = _pt(np.asarray(traj.target_lps))
    side = traj.side
    if m.breach_grade > 0:
        sev = "danger" if m.breach_direction == "medial" or m.breach_grade >= 3 else "warning"
        out.append(
            Finding(
                f"{m.breach_direction}_breach",
                sev,
                f"{side} needle breaches the pedicle {m.breach_direction}ly by "
                f"{m.breach_mm:.1f} mm "
                f"(Gertzbein-Robbins grade {m.breach_grade})",
                _pt(s.breach_point),
            )
        )
    if m.canal_clearance_mm < 0:
        out.append(
            Finding(
                "canal_entered",
                "danger",
                f"{side} needle enters the spinal canal ({-m.canal_clearance_mm:.1f} mm deep)",
                _pt(s.canal_point),
            )
        )
    elif m.canal_clearance_mm < CANAL_MARGIN_MM:
        out.append(
            Finding(
                "canal_margin_low",
                "warning",
                f"{side} needle passes {m.canal_clearance_mm:.1f} mm from the spinal canal "
                f"(threshold {CANAL_MARGIN_MM:.0f} mm)",
                _pt(s.canal_point),
            )
        )
    if m.body_wall_clearance_mm < 0 and not s.tip_exit_dir:
        sev = "danger" if -m.body_wall_clearance_mm >= 2.0 else "warning"
        out.append(
            Finding(
                "body_wall_breach",
                sev,
                f"{side} needle leaves the vertebral body wall or endplate by "
                f"{-m.body_wall_clearance_mm:.1f} mm before the tip",
            )
        )
    out.extend(_bone_findings(traj, s))
    out.extend(_tip_findings(traj, m, s, tip, unipedicular))
    if math.isfinite(m.isthmus_width_mm):
        spare = m.isthmus_width_mm - m.needle_od_mm
        if spare < NARROW_WARNING_MM:
            sev = "danger" if spare < NARROW_DANGER_MM else "warning"
            out.append(
                Finding(
                    "pedicle_too_narrow",
                    sev,
                    f"{side} pedicle is {m.isthmus_width_mm:.1f} mm wide along the path: "
                    f"{spare:.1f} mm total clearance for a {m.needle_od_mm:.2f} mm needle; "
                    "consider a smaller needle or a parapedicular route",
                )
            )
    if not m.fluoro_rule_ok:
        out.append(
            Finding(
                "fluoro_medial_before_wall", "danger", _fluoro_message(side, m), _pt(s.fluoro_point)
            )
        )
    if m.air_path_mm >= AIR_MIN_MM:
        out.append(
            Finding(
                "path_crosses_air",
                "danger",
                f"{side} path crosses {m.air_path_mm:.1f} mm of air (lung/pleura?) "
                "outside the bone",
                _pt(s.air_point),
            )
        )
    if m.dense_path_mm >= DENSE_MIN_MM:
        out.append(
            Finding(
                "path_crosses_dense_tissue",
                "warning",
                f"{side} path crosses {m.dense_path_mm:.1f} mm of dense tissue outside "
                "the vertebra (enhanced vessel or other bone?)",
                _pt(s.dense_point),
            )
        )
    order = {"danger": 0, "warning": 1, "info": 2}
    return tuple(sorted(out, key=lambda f: order[f.severity]))


def _bone_findings(traj: Trajectory, s: PathSamples) -> list[Finding]:
    """Foreign bone crossed, and a transpedicular needle that misses its pedicle (danger:
    the corridor the plan relies on is not the one the needle takes)."""
    out: list[Finding] = []
    side = traj.side
    for c in s.crossings:
        out.append(
            Finding(
                "crosses_other_bone",
                "danger",
                f"{side} path crosses {c.length_mm:.1f} mm of {c.structure} "
                "(bone other than the target's pedicle and body)",
                _pt(c.start_lps),
            )
        )
    if s.pedicle_miss is not None:
        dist, direction = s.pedicle_miss
        where = (
            f"; it passes {dist:.1f} mm {direction} of the pedicle's axis at the isthmus"
            if math.isfinite(dist) and direction
            else ""
        )
        out.append(
            Finding(
                "transpedicular_misses_pedicle",
                "danger",
                f"{side} needle is labelled transpedicular but does not pass through the "
                f"{side} pedicle{where}",
            )
        )
    return out


def _fluoro_message(side: str, m: TrajectoryMetrics) -> str:
    """The AP/lateral rule violation in words (the margin is −inf when the wall is never
    passed, which must not read as "inf mm")."""
    head = f"{side} needle crosses the medial pedicle border on the AP view "
    if math.isfinite(m.fluoro_rule_margin_mm):
        return (
            head + f"{-m.fluoro_rule_margin_mm:.1f} mm before it passes the posterior wall "
            "on the lateral view"
        )
    return head + "while the tip never passes the posterior wall on the lateral view"


def _tip_findings(
    traj: Trajectory, m: TrajectoryMetrics, s: PathSamples, tip: Point | None, unipedicular: bool
) -> list[Finding]:
    out: list[Finding] = []
    side = traj.side
    if s.tip_exit_dir == "anterior":
        out.append(
            Finding(
                "tip_through_anterior_cortex",
                "danger",
                f"{side} tip is {-m.tip_to_anterior_cortex_mm:.1f} mm beyond the anterior cortex",
                tip,
            )
        )
    elif s.tip_exit_dir == "other":
        out.append(
            Finding(
                "tip_outside_body", "danger", f"{side} tip lies outside the vertebral body", tip
            )
        )
    elif m.tip_depth_frac < ANTERIOR_THIRD_FRAC:
        out.append(
            Finding(
                "tip_short_of_anterior_third",
                "info",
                f"{side} tip is at {100 * m.tip_depth_frac:.0f}% of the body depth; the "
                "usual target is the anterior third",
                tip,
            )
        )
    if unipedicular and not m.tip_reaches_midline:
        out.append(
            Finding(
                "tip_short_of_midline",
                "warning",
                f"unipedicular {side} tip stays {m.tip_midline_offset_mm:.1f} mm short of "
                "the midline; cement may not fill the other side",
                tip,
            )
        )
    return out
