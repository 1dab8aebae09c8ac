"""Fluoroscopy display on real CTs, checked on the rendered pixels: window from the image's own
histogram, one radiological convention in AP and bull's-eye, boxed orientation letters, and a
pending suggestion drawn dashed before it is accepted."""

from __future__ import annotations

import json
import types
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from planner.plan.model import Trajectory

pytestmark = pytest.mark.gui


def _needle(side: str, c: np.ndarray) -> Trajectory:
    s = 1.0 if side == "left" else -1.0  # LPS: +x is the patient's left
    target = c + [s * 5.0, -8.0, 0.0]
    bone = c + [s * 20.0, 22.0, 0.0]
    d = (target - bone) / np.linalg.norm(target - bone)
    skin = bone - d * 55.0
    return Trajectory(side, "transpedicular", tuple(skin), tuple(bone), tuple(target), "11G")  # type: ignore[arg-type]


def _centre(shared_data: Any, rel: str) -> np.ndarray:
    if rel.endswith(".nii.gz"):
        nib = pytest.importorskip("nibabel")
        lab = nib.load(str(shared_data / "totalseg_example" / "vertebrae_labels.nii.gz"))
        ijk = np.argwhere(np.asarray(lab.dataobj) == 29).mean(axis=0)  # L3
        ras = lab.affine @ np.r_[ijk, 1.0]
        return np.array([-ras[0], -ras[1], ras[2]])
    truth = json.loads((shared_data / "cptac_chest_ct" / "levels_truth.json").read_text())
    return np.array(next(lv["centre_lps"] for lv in truth["levels"] if lv["level"] == "T8"))


def _grey(img: Any, x: int, y: int) -> float:
    c = img.pixelColor(x, y)
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()


@pytest.mark.parametrize("rel", ["totalseg_example/example_ct.nii.gz", "cptac_chest_ct/dicom"])
def test_fluoroscopy_pixels_convention_letters_and_suggestion(
    make_window, qtbot, shared_data, rel
) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.test_opening import open_and_wait
    from tests.ui.trajectory_helpers import choose_level

    win = make_window((1920, 1080))
    open_and_wait(win, qtbot, shared_data / rel)
    c = _centre(shared_data, rel)
    svc = win.trajectory.service
    left = _needle("left", c)
    svc.set_selected_side("left")
    choose_level(win, "L3" if rel.endswith(".nii.gz") else "T8")  # the user's explicit choice
    win.doc.push_plan(svc.base_plan().with_trajectory(left), "plan")
    # a pending suggestion as the panels read it (trajectory + its metrics)
    metrics = types.SimpleNamespace(
        min_cortical_clearance_mm=2.0, tip_depth_frac=0.7, medial_angle_deg=20.0
    )
    svc.suggestions["right"] = types.SimpleNamespace(
        trajectory=_needle("right", c),
        result=types.SimpleNamespace(metrics=metrics),
        transpedicular_feasible=True,
        reason="",
    )
    svc.suggestions_changed.emit()
    fl = win.trajectory.fluoro
    qtbot.waitUntil(
        lambda: fl.task is None and fl.views["bullseye"].image is not None, timeout=60000
    )
    QApplication.processEvents()
    for name in ("ap", "lateral", "bullseye"):
        view = fl.views[name]
        view.resize(360, 380)  # large enough to read the pixels
        img = view.grab().toImage()
        rect = view._image_rect()
        boxes = view.letter_boxes()
        # the image: grey levels from its own histogram, neither solid white nor washed out
        xs = np.linspace(rect.left() + 0.2 * rect.width(), rect.right() - 0.2 * rect.width(), 40)
        ys = np.linspace(rect.top() + 0.2 * rect.height(), rect.bottom() - 0.2 * rect.height(), 40)
        g = np.array([[_grey(img, int(x), int(y)) for x in xs] for y in ys])
        assert (g >= 250).mean() < 0.05, (name, (g >= 250).mean())
        assert np.percentile(g, 95) - np.percentile(g, 5) > 100, name
        # letters on a dark box: readable over white bone and black air alike
        for edge, (text, box) in boxes.items():
            px = [
                _grey(img, int(x), int(y))
                for x in np.linspace(box.left() + 1, box.right() - 1, 12)
                for y in np.linspace(box.top() + 1, box.bottom() - 1, 6)
            ]
            assert np.median(px) < 70 and max(px) > 170, (name, edge, text)
        if name == "lateral":
            assert "A" in boxes["left"][0] and "P" in boxes["right"][0]
            continue
        # one radiological convention: the patient's left on the image right in AP and
        # bull's-eye alike, so the left needle stays on the same side
        assert boxes["right"][0].startswith("L") and boxes["left"][0].startswith("R"), name
        cols = view.image.lps_to_pixel([c, c + [30.0, 0.0, 0.0]])[:, 0]
        assert cols[1] > cols[0], name
    # the pending right suggestion is drawn (dashed) in the AP image before it is accepted
    ap = fl.views["ap"]
    img = ap.grab().toImage()
    rect = ap._image_rect()
    scale = rect.width() / ap.image.pixels.shape[1]
    s = _needle("right", c)
    a, b = ap.image.lps_to_pixel([s.skin_entry_lps, s.target_lps]) * scale + [
        rect.left(),
        rect.top(),
    ]
    hits = 0
    for t in np.linspace(0.05, 0.95, 60):
        q = a + t * (b - a)
        col = img.pixelColor(int(q[0]), int(q[1]))
        hits += abs(col.red() - 204) < 40 and abs(col.green() - 140) < 40 and col.blue() > 200
    assert 10 < hits < 55, hits  # drawn, and dashed (gaps along the line)
    svc.dismiss_suggestion("right")
    QApplication.processEvents()
    img = ap.grab().toImage()
    hits = sum(
        abs(img.pixelColor(*(a + t * (b - a)).astype(int)).red() - 204) < 40
        and img.pixelColor(*(a + t * (b - a)).astype(int)).blue() > 200
        and abs(img.pixelColor(*(a + t * (b - a)).astype(int)).green() - 140) < 40
        for t in np.linspace(0.05, 0.95, 60)
    )
    assert hits == 0


@pytest.mark.parametrize("size", [(130, 150), (150, 170), (360, 380)])
def test_angle_box_never_covers_an_orientation_letter(qtbot, size) -> None:  # type: ignore[no-untyped-def]
    """At 1280×800 the radiographs are ~130 px: the C-arm angle box used to hide the bottom
    letter ("I"); every letter stays visible, inside the image, at any size."""
    from PySide6.QtWidgets import QWidget

    from ui.panels.fluoro_panel import DRRView

    parent = QWidget()
    qtbot.addWidget(parent)
    view = DRRView("ap", parent)  # type: ignore[arg-type]
    view.resize(*size)
    view.image = types.SimpleNamespace(
        col_dir_lps=np.array([1.0, 0.0, 0.0]),
        row_dir_lps=np.array([0.0, 0.0, -1.0]),
        angles=types.SimpleNamespace(lao_deg=-12.3, cranial_deg=-4.5),
    )
    rect = view._image_rect()
    lines, angles = view.angle_box()
    assert lines == "RAO 12.3°\nCAUD 4.5°"
    boxes = view.letter_boxes()
    assert {t for t, _ in boxes.values()} == {"L", "R", "S", "I"}
    for edge, (_text, box) in boxes.items():
        assert not box.intersects(angles), (size, edge)
        assert rect.contains(box), (size, edge)
    assert rect.contains(angles)
    if size[0] >= 300:  # room enough: the bottom letter stays centred
        assert boxes["bottom"][1].center().x() == pytest.approx(rect.center().x())


def test_needles_are_clipped_to_the_radiograph(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A needle running out of the field (cptac L1 bull's-eye) ended over the panel beside
    the image; it now stops at the image's edge."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QPen
    from PySide6.QtWidgets import QWidget

    from ui.panels.fluoro_panel import DRRView

    parent = QWidget()
    parent.service = types.SimpleNamespace(selected_side="left")  # type: ignore[attr-defined]
    qtbot.addWidget(parent)
    view = DRRView("lateral", parent)  # type: ignore[arg-type]
    view.resize(300, 200)
    view.image = types.SimpleNamespace(
        pixels=np.zeros((64, 64)),
        col_dir_lps=np.array([0.0, 1.0, 0.0]),
        row_dir_lps=np.array([0.0, 0.0, -1.0]),
        angles=types.SimpleNamespace(lao_deg=90.0, cranial_deg=0.0),
    )
    view._qimage = QImage(64, 64, QImage.Format.Format_Grayscale8)
    view._qimage.fill(0)

    def across(p, rect, _scale):  # type: ignore[no-untyped-def]
        p.setPen(QPen(QColor(0, 255, 0), 4.0))
        p.drawLine(QPointF(0, rect.center().y()), QPointF(view.width(), rect.center().y()))

    monkeypatch.setattr(view, "_draw_needles", across)
    img = view.grab().toImage()
    rect = view._image_rect()
    y = int(rect.center().y())
    assert img.pixelColor(int(rect.center().x()), y).green() > 200  # drawn on the image
    for x in (int(rect.left()) - 10, int(rect.right()) + 10):  # not beside it
        assert img.pixelColor(x, y).green() < 50, x
