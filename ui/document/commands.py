"""Undo commands. One gesture = one command; keyboard nudges merge (DESIGN.md §3).

Panels change the plan with ``document.push_plan(new_plan, "Move left entry")`` or push a
:class:`SetPlanCommand` themselves. For nudges (arrow keys moving a point), pass a ``merge_key``
from :func:`merge_key_for`: consecutive commands with the same key collapse into one undo step.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from ui.document.document import Document
    from ui.tools.measurement import Measurement


def merge_key_for(name: str) -> int:
    """A stable positive command id for mergeable commands named ``name``."""
    return 1000 + zlib.crc32(name.encode("utf-8")) % 1_000_000


class SetPlanCommand(QUndoCommand):
    """Replace the document's plan ``old_plan`` by ``new_plan``."""

    def __init__(
        self, doc: Document, old_plan: Any, new_plan: Any, text: str, merge_key: int = -1
    ) -> None:
        super().__init__(text)
        self.doc = doc
        self.old_plan = old_plan
        self.new_plan = new_plan
        self._merge_key = merge_key

    def redo(self) -> None:
        self.doc._apply_plan(self.new_plan)

    def undo(self) -> None:
        self.doc._apply_plan(self.old_plan)

    def id(self) -> int:
        return self._merge_key

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetPlanCommand) or other.id() != self.id() or self.id() < 0:
            return False
        self.new_plan = other.new_plan
        return True


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
