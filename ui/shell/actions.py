"""A small registry of the main window's actions and menus, by id.

Features add their actions with :meth:`ActionRegistry.register` (id, text, slot, shortcut,
menu path, optional anchor) and find others with :meth:`ActionRegistry.action`; menus are
looked up by a path of ids (``"file"``, ``"view/3d"``), never by position or by their
translated label.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu


class ActionRegistry:
    """Actions and menus of one main window, by id."""

    def __init__(self, win: QMainWindow) -> None:
        self.win = win
        self.actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}

    # --- menus ------------------------------------------------------------------------------
    def add_menu(self, path: str, menu: QMenu) -> QMenu:
        """Record an existing menu under ``path`` (``"file"``, ``"view/3d"``)."""
        self.menus[path] = menu
        return menu

    def menu(self, path: str, title: str | None = None) -> QMenu:
        """The menu at ``path``; created (with ``title``) under its parent if missing."""
        found = self.menus.get(path)
        if found is not None:
            return found
        parent, _, leaf = path.rpartition("/")
        label = title or leaf.capitalize()
        m = self.menu(parent).addMenu(label) if parent else self._top_menu(label)
        return self.add_menu(path, m)

    def _top_menu(self, label: str) -> QMenu:
        mb = self.win.menuBar()
        help_menu = self.menus.get("help")
        if help_menu is not None:  # new top-level menus go before Help
            m = QMenu(label, mb)
            mb.insertMenu(help_menu.menuAction(), m)
            return m
        return mb.addMenu(label)

    # --- actions ----------------------------------------------------------------------------
    def register(
        self,
        action_id: str,
        text: str,
        slot: Callable[[], object] | None = None,
        shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
        menu: str | None = None,
        *,
        tip: str = "",
        before: str | None = None,
        separator: bool = False,
        action: QAction | None = None,
    ) -> QAction:
        """Create (or adopt ``action``) and record the action ``action_id``.

        ``menu`` is a menu path; ``before`` the id of an action it goes before in that menu
        (appended when absent); ``separator`` puts a separator between it and that action
        (or before it when appended). Raises
        ``ValueError`` for an id already registered.
        """
        if action_id in self.actions:
            raise ValueError(f"action {action_id!r} is already registered")
        a = action if action is not None else QAction(text, self.win)
        if action is None:
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setToolTip(tip)
                a.setStatusTip(tip)
            if slot is not None:
                a.triggered.connect(lambda *_: slot())
            self.win.addAction(a)
        self.actions[action_id] = a
        if menu is not None:
            self.place(action_id, menu, before, separator)
        return a

    def place(
        self, action_id: str, menu: str, before: str | None = None, separator: bool = False
    ) -> None:
        """Put a registered action into ``menu`` (before ``before`` when that is there)."""
        m = self.menu(menu)
        a = self.actions[action_id]
        anchor = self.actions.get(before) if before else None
        if anchor is not None and anchor not in m.actions():
            anchor = None
        if anchor is None:
            if separator:
                m.addSeparator()
            m.addAction(a)
            return
        m.insertAction(anchor, a)
        if separator:
            m.insertSeparator(anchor)

    def action(self, action_id: str) -> QAction:
        """The action ``action_id`` (``KeyError`` naming it when not registered)."""
        try:
            return self.actions[action_id]
        except KeyError:
            raise KeyError(f"no action {action_id!r} is registered") from None

    def get(self, action_id: str) -> QAction | None:
        return self.actions.get(action_id)
