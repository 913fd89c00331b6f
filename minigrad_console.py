"""The `minigrad` console script's entry point.

It lives outside the `minigrad` package on purpose: importing anything inside the package runs
`minigrad/__init__.py` first (NumPy and the whole engine), and a Ctrl-C while that loads would
print a traceback before `minigrad.__main__.main` could catch it. Here the import itself is
inside the `try`, so an interrupt at any moment ends in one line and status 130, as it does once
a command runs.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130  # the shell's status for a program stopped by SIGINT (128 + 2)


def main() -> int:
    """Load the command line and run it; a Ctrl-C while either happens is one line, status 130."""
    try:
        from minigrad.__main__ import main as run_command

        return run_command()
    except KeyboardInterrupt:
        print("minigrad: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
