"""Every ```python block of every docs page and of README.md runs.

Blocks of one page run in order in one namespace, in a temporary working folder, after
`mg.manual_seed(0)`; one test per page, so a failure names the page and the block.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import textwrap
import sys
from pathlib import Path

import pytest

import minigrad as mg

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, source) of each ```python block of `page`."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]


def test_block_finder_sees_only_python_fences():
    sample = "text\n```python\nx = 1\n```\n```text\nnot run\n```\n```python\ny = 2\n```\n"
    page = Path(__file__).parent / "_sample_page.md"
    try:
        page.write_text(sample)
        assert python_blocks(page) == [(2, "x = 1\n"), (8, "y = 2\n")]
    finally:
        page.unlink()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mg.manual_seed(0)
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, source in python_blocks(page):
        code = compile(source, f"{page.relative_to(ROOT)}:{line}", "exec")
        try:
            exec(code, namespace)
        except Exception as error:
            pytest.fail(f"{page.relative_to(ROOT)}, block at line {line}: {error!r}")


def _generated(tool: str) -> str:
    """What `tools/<tool> --stdout` prints: the page as its generator would write it now."""
    command = [sys.executable, str(ROOT / "tools" / tool), "--stdout"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def test_api_reference_is_up_to_date():
    current = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == _generated("gen_api_docs.py"), (
        "docs/api.md is out of date with the docstrings; regenerate it with "
        "`python tools/gen_api_docs.py`"
    )


def test_cost_table_is_read_from_the_op_table():
    current = (ROOT / "docs" / "trace.md").read_text(encoding="utf-8")
    assert current == _generated("gen_cost_table.py"), (
        "the cost table in docs/trace.md differs from the ops' own costs; regenerate it with "
        "`python tools/gen_cost_table.py`"
    )


def _text_blocks(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return [textwrap.dedent(block) for block in re.findall(r"```text\n(.*?)\n *```", text, re.S)]


def test_the_architecture_page_shows_the_walk_and_an_op_as_they_are():
    from minigrad import autograd, ops

    walk, sin = _text_blocks("architecture.md")[:2]
    source = textwrap.dedent(inspect.getsource(autograd._propagate))
    assert textwrap.indent(walk, "    ") in source, "docs/architecture.md: the walk has changed"
    assert sin.strip() == inspect.getsource(ops.Sin).strip(), "docs/architecture.md: Sin changed"


def test_the_architecture_page_counts_the_core_files_lines():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path, stated in re.findall(r"^\| `minigrad/([\w/.]+)` \| .* \| (\d+) \|$", text, re.M):
        files = (
            sorted((ROOT / "minigrad" / path).glob("*.py"))
            if path.endswith("/")
            else [ROOT / "minigrad" / path]
        )
        lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)
        assert abs(lines - int(stated)) <= 0.1 * lines, f"{path} has {lines} lines, not {stated}"


def _public_definitions():
    """(qualified name, object) of every public function, class and method of the package:
    a module's `__all__` (or its names without a leading underscore) defined in that module,
    and the public methods and properties of its classes."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(mg.__path__, "minigrad."):
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for name in names:
            value = getattr(module, name, None)
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value) or inspect.isclass(value):
                yield f"{module.__name__}.{name}", value
            if inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if attribute[0] != "_" and (
                        inspect.isfunction(member)
                        or isinstance(member, (staticmethod, classmethod, property))
                    ):
                        yield f"{module.__name__}.{name}.{attribute}", getattr(value, attribute)


def test_every_public_name_has_a_docstring():
    """help() says what each public function, class and method does; a method may inherit its
    docstring from the one it overrides (every op's `vjp` from `Op.vjp`)."""
    definitions = list(_public_definitions())
    assert len(definitions) > 500
    missing = [name for name, value in definitions if not inspect.getdoc(value)]
    assert missing == [], f"no docstring: {missing}"


def test_index_links_every_page():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_to_other_pages_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if "://" not in target:
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
