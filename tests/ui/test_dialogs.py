"""Dialogs: start folders, the discard prompt's Save, level names offered, plain-words
no-anchor message."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from ui.document import study_open
from ui.panels import level_dialogs
from ui.shell.dialog_paths import documents_folder, start_folder, start_path

pytestmark = pytest.mark.gui


def test_dialogs_start_in_the_study_folder_or_documents(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    study = tmp_path / "study"
    study.mkdir()
    (study / "ct.nii.gz").write_bytes(b"")
    assert start_folder(types.SimpleNamespace(source_path=str(study))) == study
    assert start_folder(types.SimpleNamespace(source_path=str(study / "ct.nii.gz"))) == study
    assert start_path(types.SimpleNamespace(source_path=str(study)), "a.png") == str(
        study / "a.png"
    )
    docs = documents_folder()
    assert start_folder(types.SimpleNamespace(source_path="")) == docs
    assert start_folder(None) == docs and docs.is_dir()


@pytest.mark.parametrize(("saved", "expected"), [("/x/plan.json", True), ("", False)])
def test_discard_prompt_offers_save(monkeypatch, qapp, saved, expected) -> None:  # type: ignore[no-untyped-def]
    seen = {}

    def question(parent, title, text, buttons, default):  # type: ignore[no-untyped-def]
        seen["buttons"], seen["default"] = buttons, default
        return QMessageBox.StandardButton.Save

    monkeypatch.setattr(QMessageBox, "question", question)
    calls = []
    plan_io = types.SimpleNamespace(save=lambda: calls.append(1) or saved)
    parent = types.SimpleNamespace(trajectory=types.SimpleNamespace(plan_io=plan_io))
    doc = types.SimpleNamespace(is_modified=True)
    # the real function (the conftest's `dialogs` fixture is not used here)
    assert study_open.confirm_discard(parent, doc) is expected
    assert seen["buttons"] & QMessageBox.StandardButton.Save
    assert seen["buttons"] & QMessageBox.StandardButton.Discard
    assert calls == [1]


def test_level_names_offered_fit_a_thoracolumbar_scan_without_a_default() -> None:
    names = level_dialogs.offered_names("")
    assert names[0] == "T1" and names[-1] == "S1"
    assert {"T12", "L1", "L5"} <= set(names) and not any(n.startswith("C") for n in names)
    # the numerical variants, in their place (a 13th rib-bearing, a 6th lumbar vertebra)
    assert names.index("T13") == names.index("T12") + 1 == names.index("L1") - 1
    assert names.index("L6") == names.index("L5") + 1 == names.index("S1") - 1
    assert level_dialogs.CHOOSE not in names  # the placeholder is not a name


def test_no_anchor_message_is_plain_words() -> None:
    from planner.errors import AnalysisError

    err = AnalysisError(
        "found 9 vertebral bodies (LPS centres [0, 1, 2]) but neither the sacrum nor the last "
        "rib-bearing vertebra to anchor their names; click inside a body and name its level "
        "(--seed X,Y,Z --level L1) or import a label map"
    )
    text = level_dialogs.plain_no_anchor_message(str(err))
    assert text is not None and "9 vertebral bodies" in text and "Name at crosshair" in text
    assert "--" not in text and "X,Y,Z" not in text and "LPS" not in text
    assert level_dialogs.plain_no_anchor_message("some other error") is None
