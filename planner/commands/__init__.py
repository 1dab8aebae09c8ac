"""Sub-commands of ``python -m planner``; one module per command (see planner.cli)."""
