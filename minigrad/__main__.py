"""The `minigrad` command line: `train`, `graph`, `trace` and `gradcheck`.

Run `minigrad --help` (or `python -m minigrad --help`) for the list, `minigrad CMD --help` for
each command's options. Bad input exits with status 2 and a message on stderr, having written
nothing.
"""

from __future__ import annotations

import argparse
import sys

from .cli import gradcheck, graph, trace, train
from .cli.common import UsageError

SUBCOMMANDS = (train, graph, trace, gradcheck)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: a tape-based autograd engine over NumPy. Train a small network, "
        "draw a computation graph, trace the cost of backward, or check every op's gradient.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minigrad` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"minigrad {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
