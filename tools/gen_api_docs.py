"""Write docs/api.md, the API reference, from the public names' signatures and docstrings.

    python tools/gen_api_docs.py            # rewrite docs/api.md
    python tools/gen_api_docs.py --stdout   # print it instead (tests/test_docs.py compares)

A module listed below that cannot be imported is left out, so the reference always describes
what is installed. Public names are a module's `__all__` when it has one, else the names it
defines that do not start with an underscore.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SECTIONS = (
    ("minigrad", "Tensors, factories, autograd"),
    ("minigrad.functional", "Functional ops and losses"),
    ("minigrad.class_losses", "Classification losses"),
    ("minigrad.selection", "Selection: gather, topk, masked_fill, clamp"),
    ("minigrad.nn", "Modules and layers"),
    ("minigrad.nn.init", "Initialization"),
    ("minigrad.nn.functional", "nn.functional"),
    ("minigrad.nn.utils", "nn.utils"),
    ("minigrad.optim", "Optimizers"),
    ("minigrad.optim.lr_scheduler", "Learning-rate schedules"),
    ("minigrad.data", "Data loading"),
    ("minigrad.data.datasets", "Datasets"),
    ("minigrad.testing", "Property-test kit"),
    ("minigrad.viz", "Graph rendering"),
    ("minigrad.trace", "Backward-cost tracer"),
    ("minigrad.compile", "Compiled training steps"),
    ("minigrad.distributed", "Data-parallel training on MPI"),
    ("minigrad.cli.model", "Runs saved by `minigrad train`"),
)

HEADER = """# API reference

Generated from the docstrings by `tools/gen_api_docs.py`; do not edit by hand. After changing a
public name or its docstring, run `python tools/gen_api_docs.py` (the test suite checks that this
page is up to date). For how the pieces fit together, start at [index.md](index.md).
"""


def public_names(module) -> list[str]:
    """The names `module` offers: `__all__`, else what it defines or re-exports from its package."""
    names = getattr(module, "__all__", None)
    if names is None:
        package = module.__name__
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and not inspect.ismodule(value)
            and (inspect.isclass(value) or inspect.isfunction(value))
            and getattr(value, "__module__", "").startswith(package)
        ]
    return sorted(names, key=str.lower)


def signature(obj) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def docstring(obj) -> str:
    text = inspect.getdoc(obj) or "(no docstring)"
    return f"```text\n{text}\n```\n"


def document_class(qualified: str, cls) -> list[str]:
    lines = [f"### class `{qualified}{signature(cls)}`\n", docstring(cls)]
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            lines += [f"- property `{name}`: {_first_line(member)}\n"]
        elif isinstance(member, (staticmethod, classmethod)) or inspect.isfunction(member):
            function = member.__func__ if hasattr(member, "__func__") else member
            lines += [f"#### `{qualified}.{name}{signature(function)}`\n", docstring(function)]
    return lines


def _first_line(member) -> str:
    return (inspect.getdoc(member) or "").split("\n")[0]


def document_module(module_name: str, title: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    lines = [f"## {title}: `{module_name}`\n"]
    for name in public_names(module):
        obj = getattr(module, name)
        qualified = f"{module_name}.{name}"
        if inspect.isclass(obj):
            lines += document_class(qualified, obj)
        elif callable(obj):
            lines += [f"### `{qualified}{signature(obj)}`\n", docstring(obj)]
    return lines


def render() -> str:
    parts = [HEADER]
    for module_name, title in SECTIONS:
        parts += document_module(module_name, title)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
    else:
        (ROOT / "docs" / "api.md").write_text(text, encoding="utf-8")
        print(f"wrote {ROOT / 'docs' / 'api.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
