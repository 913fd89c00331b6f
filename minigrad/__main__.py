"""The `minigrad` command line: `train`, `graph`, `trace` and `gradcheck`.

Run `minigrad --help` (or `python -m minigrad --help`) for the list, `minigrad CMD --help` for
each command's options. No command ends in a traceback: bad input exits with status 2 and a
message on stderr, having written nothing; Ctrl-C exits with status 130 and one line on stderr
(while the package loads too: the console script's entry point is `minigrad_console.main`);
running out of memory or a failed write exits with status 1 and one line; and a reader that closes
the pipe early (`minigrad trace | head`) ends the command quietly with status 141, as `SIGPIPE`
would.
"""

from __future__ import annotations

import argparse
import os
import sys

from .cli import gradcheck, graph, trace, train
from .cli.common import UsageError

SUBCOMMANDS = (train, graph, trace, gradcheck)
INTERRUPTED = 130  # the shell's status for a program stopped by SIGINT (128 + 2)
BROKEN_PIPE = 141  # the shell's status for a program stopped by SIGPIPE (128 + 13)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line on stderr (and where to read more) instead of
    the whole usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The `minigrad` command line: its commands, their options and the help's epilog."""
    parser = Parser(
        prog="minigrad",
        description="minigrad: a tape-based autograd engine over NumPy. Train a small network, "
        "draw a computation graph, trace the cost of backward, or check every op's gradient.",
        epilog="Exit status: 0 done; 1 failed (a gradient check that fails, a run that "
        "diverged, a write that failed, out of memory); 2 bad input, nothing written; 130 "
        "interrupted (Ctrl-C, from start-up on); 141 the reader of the output went away "
        "(| head). In Python: `import minigrad as mg`, whose API follows PyTorch's (every "
        "difference is listed in docs/pytorch.md); a trained run reads back with "
        "mg.load_run(DIR).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minigrad` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # for `train --workers` to relaunch
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit, where it cannot be caught
        return status
    except UsageError as error:
        return fail(args.command, f"error: {error}", 2)
    except KeyboardInterrupt:
        return fail(args.command, "interrupted", INTERRUPTED)
    except BrokenPipeError:
        return broken_pipe()
    except MemoryError:
        return fail(args.command, "error: out of memory; try smaller sizes", 1)
    except OSError as error:
        return fail(args.command, f"error: {error.strerror or error}", 1)


def fail(command: str, message: str, status: int) -> int:
    """Print `minigrad COMMAND: message` on stderr and return `status`."""
    print(f"minigrad {command}: {message}", file=sys.stderr)
    return status


def broken_pipe() -> int:
    """The reader of stdout went away (`| head`): say nothing more, and point stdout at devnull
    so that the flush at interpreter exit does not fail again (the Python docs' recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
