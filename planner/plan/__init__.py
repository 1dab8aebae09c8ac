"""The plan: immutable values the UI edits only through undoable commands (DESIGN.md §3)."""
