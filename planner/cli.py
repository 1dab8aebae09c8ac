"""Command line: ``python -m planner COMMAND ...``; JSON on stdout, LPS millimetres.

Each sub-command lives in its own module under :mod:`planner.commands` and defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> dict``. Exit codes: 0 on
success; 2 on bad input, with one line on stderr naming the file or series and what is wrong;
1 on an unexpected internal error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
from types import ModuleType
from typing import Any

import numpy as np

from planner.errors import PlannerError

log = logging.getLogger(__name__)


def _command_modules() -> list[ModuleType]:
    import planner.commands as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"planner.commands.{info.name}"))
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="python -m planner",
        description="Vertebral augmentation planner: data, analysis, estimates as JSON (LPS mm).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, ModuleType] = {}
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        commands[mod.NAME] = mod
    return parser, commands


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


#: Options whose value is a comma-separated point that may start with a minus sign.
POINT_OPTIONS = ("--seed",)


def join_negative_points(argv: list[str]) -> list[str]:
    """``--seed -11,230,-566`` → ``--seed=-11,230,-566``.

    argparse takes a value that starts with ``-`` for an option and refuses it; a point in
    LPS mm often has a negative first coordinate.
    """
    out: list[str] = []
    n = 0
    while n < len(argv):
        arg = argv[n]
        nxt = argv[n + 1] if n + 1 < len(argv) else None
        if arg in POINT_OPTIONS and nxt is not None and nxt.startswith("-") and "," in nxt:
            out.append(f"{arg}={nxt}")
            n += 2
            continue
        out.append(arg)
        n += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(join_negative_points(list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        result = commands[args.command].run(args)
    except PlannerError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so, keep the traceback in the log
        log.exception("internal error")
        print(f"internal error: {type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    json.dump(_clean(result), sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")
    return 0
