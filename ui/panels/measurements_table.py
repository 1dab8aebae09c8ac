"""Morphometry table: one row per analysed level (mirrors ``doc.analysis``).

Heights are the three body heights in the body's mid-sagittal plane (anterior, middle,
posterior; HEIGHT_POSITIONS_FRAC), reference heights come from the nearest intact neighbours
(tool assumption), loss % per wall, Genant grade and type (Genant 1993), wedge angle
(+ = anterior lower), trabecular HU of an eroded core with the thresholds of Pickhardt et al.
2013, body volume and the posterior wall. Every cell has a tooltip saying what it is and where
the rule comes from.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from planner.constants import (
    TRABECULAR_NPV_HU,
    TRABECULAR_OSTEOPOROSIS_HU,
    TRABECULAR_SENSITIVE_HU,
)
from planner.vertebra.grading import grade_text, grading_notes
from ui.document.document import Document
from ui.panels.fitting_table import FittingTable, set_cell

COLUMNS = (
    "Level",
    "Heights A/M/P",
    "Reference A/M/P",
    "Loss A/M/P",
    "Genant",
    "Wedge",
    "Trabecular HU",
    "Body volume",
    "Posterior wall",
)
GRADE_COLOURS = {0: None, 1: QColor(230, 200, 90), 2: QColor(240, 150, 70), 3: QColor(235, 90, 80)}
PICKHARDT = "Pickhardt et al. 2013, Ann Intern Med (L1 trabecular ROI, 2,067 CT–DXA pairs)"


def hu_category(hu: float) -> tuple[str, str, QColor | None]:
    """Short label, explanation and colour of a trabecular HU value.

    Thresholds: Pickhardt et al. 2013, Ann Intern Med.
    """
    if hu <= TRABECULAR_OSTEOPOROSIS_HU:
        return (
            "≤ 110: osteoporosis likely",
            "≤ 110 HU: > 90 % specific for DXA osteoporosis; < 100 HU: PPV ≥ 68 %",
            QColor(235, 110, 90),
        )
    if hu <= TRABECULAR_SENSITIVE_HU:
        return (
            "≤ 160: possible osteoporosis",
            "≤ 160 HU: 90 % sensitive for DXA osteoporosis (not specific)",
            QColor(230, 190, 90),
        )
    if hu > TRABECULAR_NPV_HU:
        return (
            "> 200: osteoporosis unlikely",
            "> 200 HU: negative predictive value 99 %",
            QColor(130, 200, 130),
        )
    return (
        "160–200: indeterminate",
        "between the sensitive (160 HU) and the NPV (200 HU) thresholds",
        None,
    )


def _three(h: Any, digits: int = 1) -> str:
    return " / ".join(f"{h.get(w):.{digits}f}" for w in ("anterior", "middle", "posterior")) + " mm"


def row_texts(m: Any) -> list[tuple[str, str]]:
    """(text, tooltip) per column for one ``Morphometry``."""
    edited = [n for n in m.notes if n.startswith("edited:")]  # the user's corrections
    ref = m.reference_heights_mm
    loss = m.height_loss_pct
    hu_short, hu_tip, _ = hu_category(m.trabecular_hu)
    wall_tip = {
        "intact": "no bulging or retropulsion of the posterior wall detected",
        "bulging": "the posterior wall bulges into the canal: higher leakage and neurological "
        "risk; matters for the vertebroplasty indication",
        "retropulsion": "a posterior-wall fragment is displaced into the canal: check the "
        "indication (relative contraindication to augmentation)",
        "unknown": "could not be assessed: check it on the images",
    }
    return [
        (
            m.level,
            "Centre LPS ({:.1f}, {:.1f}, {:.1f}) mm".format(*m.centroid_lps),
        ),
        (
            _three(m.heights_mm) + (" — edited" if edited else ""),
            "Anterior / middle / posterior height between the outer endplate "
            "surfaces in the body's mid-sagittal plane, at 10 % / 50 % / 90 % of its depth "
            f"(6-point morphometry, Chou & Vokes 2015). Depth {m.depth_mm:.1f} mm, "
            f"width {m.width_mm:.1f} mm." + "".join(f"\n{n}" for n in edited),
        ),
        (
            "—" if ref is None else _three(ref),
            "Expected pre-fracture heights: mean of the same wall of the nearest intact levels "
            "above "
            "and below (tool assumption; cf. Kunkel et al. 2010)"
            if ref is not None
            else "No intact neighbour available: no reference height, no loss, "
            "no restoration estimate",
        ),
        (
            "—"
            if not loss
            else " / ".join(
                f"{loss.get(w, float('nan')):.0f}" for w in ("anterior", "middle", "posterior")
            )
            + " %",
            "Height loss against the reference per wall, % (Genant grades: < 20 % normal, 20–25 % "
            "mild, 25–40 % moderate, > 40 % severe)",
        ),
        (
            grade_text(m),
            "Genant semiquantitative grade from the worst wall, allowing for each level's normal "
            "physiological wedging; type wedge (anterior) / biconcave (middle) / "
            "crush (all walls). "
            "Genant et al. 1993, J Bone Miner Res 8:1137; Wáng 2019, Quant Imaging Med Surg. "
            "'short': all heights lower than the neighbours' alike with no endplate depression "
            "or wedge, a non-fracture deformity (Jiang et al. 2004, Osteoporos Int 15:887)"
            + "".join(f"\n{n}" for n in grading_notes(m)),
        ),
        (
            f"{m.wedge_angle_deg:.1f}°",
            "Angle between the endplates in the mid-sagittal plane, "
            "+ = anterior lower (ventral wedge)",
        ),
        (
            f"{m.trabecular_hu:.0f} HU — {hu_short}",
            f"Mean HU of the eroded trabecular core. {hu_tip} ({PICKHARDT}). Thresholds were "
            "established at L1, 120 kV; HU → BMD is scanner-specific; a fractured body's HU is "
            "raised by compaction. Pickhardt et al. 2013, Ann Intern Med",
        ),
        (
            f"{m.body_volume_ml:.1f} mL"
            + (
                ""
                if m.prefracture_volume_ml is None
                else f" (pre-fracture ≈ {m.prefracture_volume_ml:.1f})"
            ),
            "Vertebral body incl. cortex, cut from the pedicles at the posterior wall (V_VB, the "
            "cement estimate's input, tool assumption); pre-fracture volume interpolated from the "
            "neighbours' shapes",
        ),
        (m.posterior_wall, wall_tip.get(m.posterior_wall, "")),
    ]


#: The panel's columns (the report keeps :data:`COLUMNS`): three measures per column, one a
#: line, so the table fits the 390 px side column without scrolling sideways.
DISPLAY_COLUMNS = ("Level", "Heights A/M/P mm", "Genant", "Bone")
DISPLAY_TIPS = (
    "Vertebral level",
    "Measured heights (mm), the reference heights from the intact neighbours (ref, mm) and "
    "the height loss against them (loss, %), anterior / middle / posterior",
    "Genant grade and type; ∠ wedge angle between the endplates (+ = anterior lower)",
    "Trabecular HU with its osteoporosis band (Pickhardt et al. 2013, Ann Intern Med), body "
    "volume (mL) and the posterior wall",
)


def display_cells(m: Any) -> list[tuple[str, str]]:
    """(text, tooltip) per :data:`DISPLAY_COLUMNS` column for one ``Morphometry``: the cells
    of :func:`row_texts`, grouped one a line."""
    t = row_texts(m)

    def join(lines: list[str], tips: list[str]) -> tuple[str, str]:
        return "\n".join(lines), "\n\n".join(tip for tip in tips if tip)

    heights, edited = t[1][0], ""
    if heights.endswith(" — edited"):
        heights, edited = heights.removesuffix(" — edited"), "edited"
    ref = t[2][0].removesuffix(" mm")  # the header says mm
    return [
        t[0],
        join(
            [heights.removesuffix(" mm"), f"ref {ref}", f"loss {t[3][0]}"]
            + ([edited] if edited else []),
            [t[1][1], t[2][1], t[3][1]],
        ),
        join([t[4][0], f"∠ {t[5][0]}"], [t[4][1], t[5][1]]),
        join([t[6][0], t[7][0], f"wall {t[8][0]}"], [t[6][1], t[7][1], t[8][1]]),
    ]


class MeasurementsTable(QWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("measurements_table")
        self.doc = doc
        self.table = FittingTable(0, len(DISPLAY_COLUMNS))
        self.table.set_header(DISPLAY_COLUMNS, DISPLAY_TIPS)
        self.table.stretch_column = 3
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.note = QLabel(
            "Hover a cell for how it is measured and its source. Heights in mm, "
            "loss in % of the reference, angles in degrees."
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #9aa4b0;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.note)
        doc.analysis_changed.connect(self._on_document_analysis_changed)
        doc.plan_changed.connect(self._on_document_plan_changed)
        self.refresh()

    def refresh(self) -> None:
        a = self.doc.analysis
        levels = a.levels if a is not None else ()
        target = self.doc.plan.level if self.doc.plan is not None else None
        changed = self.table.rowCount() != len(levels)
        self.table.setRowCount(len(levels))
        for row, r in enumerate(levels):
            m = r.morphometry
            for col, (text, tip) in enumerate(display_cells(m)):
                colour = None
                if col == 2:
                    colour = GRADE_COLOURS.get(m.genant_grade)
                elif col == 3:
                    colour = hu_category(m.trabecular_hu)[2]
                # cells changed in place: a dragged point rewrites one row's numbers only
                changed |= set_cell(self.table, row, col, text, tip, colour, r.level == target)
        if changed:
            self.table.fit_columns()

    def _on_document_analysis_changed(self, old: Any, new: Any) -> None:
        if old is not new:
            self.refresh()

    def _on_document_plan_changed(self, old: Any, new: Any) -> None:
        if (old.level if old is not None else None) != (new.level if new is not None else None):
            self.refresh()
