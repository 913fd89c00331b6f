"""`minigrad graph`: draw the computation graph of an expression or of a small MLP.

An expression sees small random tensors `x` (2, 3), `w` (3, 4), `b` (4,) and `y` (2, 4), all
requiring grad, plus `mg` (minigrad) and `F` (minigrad.functional); with `--model 4,3,2` the
graph is that of an MSE loss through Linear(4, 3) -> tanh -> Linear(3, 2) on two examples. A
scalar result is differentiated first, so the picture shows each tensor's gradient norm.
`--html PAGE` writes the interactive explorer (`viz.explore`) that walks that backward pass
step by step, instead of the picture unless `--out` is given too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import minigrad as mg

from minigrad import functional

from .artifacts import GRAPH_FORMATS, render_graph, write_explorer
from .common import UsageError, check_writable, int_list, seed

DEFAULT_EXPRESSION = "(x @ w + b).tanh().sum()"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw the computation graph of an expression or a small MLP",
        description="Build a small graph, run backward when the result is a scalar, and draw it "
        "with Graphviz. Variables for --expr: x (2,3), w (3,4), b (4,), y (2,4), random and "
        "requiring grad; mg is minigrad, F is minigrad.functional.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--expr", help=f"a minigrad expression (default: {DEFAULT_EXPRESSION!r})")
    source.add_argument(
        "--model", type=int_list, help="layer sizes of an MLP with tanh, e.g. 4,3,2"
    )
    parser.add_argument(
        "--out",
        help=f"picture to write; the suffix picks the format ({', '.join(GRAPH_FORMATS)}); "
        "default graph.svg, or none when --html is given",
    )
    parser.add_argument(
        "--html",
        metavar="PAGE",
        help="also write an interactive page (one self-contained HTML file) that walks the "
        "backward pass step by step",
    )
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="layout direction")
    parser.add_argument("--no-backward", action="store_true", help="draw before any backward")
    parser.add_argument("--seed", type=seed, default=0, help="seed for the random tensors")
    parser.set_defaults(run=run)


def expression_graph(expression: str):
    """(root tensor, names for the picture) of `expression` over the variables above."""
    variables = {
        "x": mg.randn(2, 3, requires_grad=True),
        "w": mg.randn(3, 4, requires_grad=True),
        "b": mg.randn(4, requires_grad=True),
        "y": mg.randn(2, 4, requires_grad=True),
    }
    scope = {"__builtins__": {}, "mg": mg, "F": functional, **variables}
    try:
        root = eval(expression, scope)  # noqa: S307 (the user's own expression, no builtins)
    except Exception as error:
        raise UsageError(f"cannot evaluate --expr {expression!r}: {error}") from None
    if not isinstance(root, mg.Tensor):
        raise UsageError(
            f"--expr {expression!r} gave a {type(root).__name__}, expected a minigrad Tensor"
        )
    return root, variables


def model_graph(sizes: list[int]):
    """(MSE loss of a tanh MLP with these layer sizes on two random examples, names)."""
    from minigrad import nn

    if len(sizes) < 2:
        raise UsageError(f"--model needs at least two sizes (inputs,outputs), got {sizes}")
    layers: list = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(nn.Tanh())
    model = nn.Sequential(*layers)
    x = mg.randn(2, sizes[0])
    target = mg.randn(2, sizes[-1])
    loss = nn.functional.mse_loss(model(x), target)
    return loss, {"model": model, "x": x, "target": target}


def checked_outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """(picture, page) to write, each None when not wanted; UsageError for a bad name or an
    unwritable folder, before any work."""
    if args.out is not None:
        out: Path | None = Path(args.out)
    else:
        out = Path("graph.svg") if args.html is None else None
    page = Path(args.html) if args.html is not None else None
    if out is not None and out.suffix.lstrip(".").lower() not in GRAPH_FORMATS:
        raise UsageError(
            f"--out {args.out!r}: unknown picture format; use a name ending in "
            + ", ".join(f".{fmt}" for fmt in GRAPH_FORMATS)
        )
    if page is not None and page.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html {args.html!r}: the page's name must end in .html")
    for path in (out, page):
        if path is not None:
            check_writable(path.parent if str(path.parent) else ".")
    return out, page


def run(args: argparse.Namespace) -> int:
    from minigrad import viz

    out, page = checked_outputs(args)
    mg.manual_seed(args.seed)
    if args.model is not None:
        root, names = model_graph(args.model)
    else:
        root, names = expression_graph(args.expr or DEFAULT_EXPRESSION)
    if root.grad_fn is None:
        raise UsageError("the expression records no op on a tensor that requires grad")
    differentiate = root.size == 1 and not args.no_backward
    written, notes = [], []
    if page is not None:  # the explorer runs the backward itself, recording it
        explorer = viz.explore(root, names=names, backward=differentiate, rankdir=args.rankdir)
        page.parent.mkdir(parents=True, exist_ok=True)
        note = write_explorer(explorer, page)
        written += [] if note else [page]
        notes += [note] if note else []
    elif differentiate:
        root.backward(retain_graph=True)
    if out is not None:
        digraph = viz.draw_graph(root, rankdir=args.rankdir, names=names)
        out.parent.mkdir(parents=True, exist_ok=True)
        picture, note = render_graph(digraph, out)
        written.append(picture)
        notes += [note] if note else []
    nodes = len(mg.autograd.graph_nodes(root.grad_fn))
    files = " and ".join(str(path) for path in written) or "nothing"
    print(f"graph of {nodes} ops, root shape {root.shape}: wrote {files}")
    for note in notes:
        print(f"note: {note}")
    return 0
