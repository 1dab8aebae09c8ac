"""Undo commands. One gesture = one command; keyboard nudges merge (DESIGN.md §3).

Panels change the case with ``document.push_case(edit.place_needle(...), "Move left entry")``
(or the active level with ``document.push_plan``). For nudges (arrow keys moving a point),
pass a ``merge_key`` from :func:`merge_key_for`: consecutive commands with the same key
collapse into one undo step.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from planner.session import Case
    from ui.document.document import Document
    from ui.tools.measurement import Measurement


def merge_key_for(name: str) -> int:
    """A stable positive command id for mergeable commands named ``name``."""
    return 1000 + zlib.crc32(name.encode("utf-8")) % 1_000_000


class SetCaseCommand(QUndoCommand):
    """Replace the document's case ``old`` by ``new`` (one gesture; nudges merge by key)."""

    def __init__(self, doc: Document, old: Case, new: Case, text: str, merge_key: int = -1) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = old
        self.new = new
        self._merge_key = merge_key

    def redo(self) -> None:
        self.doc._apply_case(self.new)

    def undo(self) -> None:
        self.doc._apply_case(self.old)

    def id(self) -> int:
        return self._merge_key

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetCaseCommand) or other.id() != self.id() or self.id() < 0:
            return False
        self.new = other.new
        return True


SetPlanCommand = SetCaseCommand
"""Former name (the plan is part of the case)."""


class SetMeasurementsCommand(QUndoCommand):
    def __init__(
        self, doc: Document, old: tuple[Measurement, ...], new: tuple[Measurement, ...], text: str
    ) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = old
        self.new = new

    def redo(self) -> None:
        self.doc._apply_measurements(self.new)

    def undo(self) -> None:
        self.doc._apply_measurements(self.old)
