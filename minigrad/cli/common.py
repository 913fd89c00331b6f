"""What every subcommand shares: the usage error, argument checkers, and an all-or-nothing
output folder."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
from pathlib import Path

from ..serialization import fsync_directory


class UsageError(Exception):
    """Bad input from the command line: reported on stderr, exit status 2, nothing written."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _parse(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number >= 0."""
    value = _parse(float, text, "a number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def learning_rate(text: str) -> float:
    """argparse type: a finite number >= 0 (inf and nan would only fill the run with NaN)."""
    value = non_negative_float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def seed(text: str) -> int:
    """argparse type: an integer >= 0, what NumPy's generators take as a seed."""
    value = _parse(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def probability(text: str) -> float:
    """argparse type: a number in [0, 1), the range a dropout rate may take."""
    value = _parse(float, text, "a number")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated integers >= 1, e.g. '64,64'."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return [positive_int(part) for part in parts]


class StoreGiven(argparse.Action):
    """Store an option's value and add its name to `args.given`, so a command can tell an option
    typed on the command line from one left at its default."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = frozenset({*getattr(namespace, "given", ()), self.dest})


def _parse(kind, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


class OutputFolder:
    """A folder whose new files appear only once all of them are written.

    Files are written into a hidden staging folder beside the target; `commit()` renames them into
    place, one atomic rename each. If anything fails first, the staging folder is removed, so a
    failed command never leaves a half-written file behind. A crash during the renames can leave
    some files new and some old: files that must match say which other file they belong to (as
    `model.json` records the digest of its `model.npz`).
    """

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        self.staging = create_staging(self.target)

    def path(self, name: str) -> Path:
        """Where to write the file `name` now: in the staging folder, moved in place at the end."""
        return self.staging / name

    def commit(self, replaces: tuple[str, ...] = ()) -> Path:
        """Move every staged file into the target folder (created if missing), then remove the
        files named in `replaces` that were not staged: they belong to an earlier command."""
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            staged = sorted(self.staging.iterdir())
            for item in staged:
                os.replace(item, self.target / item.name)
            written = {item.name for item in staged}
            for name in replaces:
                if name not in written:
                    (self.target / name).unlink(missing_ok=True)
            fsync_directory(self.target)
        finally:
            self.discard()
        return self.target

    def discard(self) -> None:
        """Drop everything written so far (a failed or interrupted run leaves nothing behind)."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.discard()


def create_staging(target: Path) -> Path:
    """A fresh hidden folder inside the nearest existing ancestor of `target` (so nothing else is
    created before the commit), or a UsageError saying why it cannot be made."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"output folder {str(target)!r} exists and is not a folder")
    ancestor = _existing_ancestor(target.absolute())
    if not ancestor.is_dir():
        raise UsageError(
            f"cannot create output folder {str(target)!r}: {str(ancestor)!r} is a file"
        )
    try:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=ancestor))
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot write to output folder {str(target)!r}: {reason}") from None


def check_writable(target: str | os.PathLike) -> None:
    """Raise UsageError now, before any work, if `target` cannot be created and written."""
    shutil.rmtree(create_staging(Path(target)), ignore_errors=True)


def _existing_ancestor(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path
