"""Start the planning workstation.

Usage: ``python main.py [STUDY_FOLDER | FILE | PLAN.json]``. With no argument the built-in
demo case opens.
"""

import sys


def main() -> int:
    from ui.shell.app import run

    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
