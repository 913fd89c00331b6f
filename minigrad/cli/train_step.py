"""The training step `minigrad train` runs per minibatch, compiled with `mg.compile` unless
`--no-compile` asks for eager; `--show-code` prints the generated step once it is traced.

Compiled and eager steps give the same weights bit for bit for one seed (docs/compile.md), so
the option changes speed only. Under `--workers` the step is eager: it exchanges the gradients
between backward and the update (`distributed.allreduce_gradients`), which reads their values,
and a value read cannot be traced.
"""

from __future__ import annotations

from collections.abc import Callable

import minigrad as mg
from minigrad import distributed, nn


def add_options(add: Callable) -> None:
    """Add --no-compile and --show-code to the train parser (through its `add_argument`)."""
    add(
        "--no-compile",
        action="store_true",
        help="run the training step eagerly instead of as the code mg.compile generates from it "
        "(the same weights either way; compiled is faster)",
    )
    add(
        "--show-code",
        action="store_true",
        help="print the generated code of the compiled training step after its first call",
    )


def training_step(
    model: nn.Module, optimizer, compiled: bool = True, show_code: bool = False
) -> Callable:
    """`step(x, y) -> (loss, logits)`: forward, cross-entropy, zero_grad, backward, update;
    compiled by `mg.compile` if `compiled`, printing its code after the first call if
    `show_code`. With more than one worker, the data-parallel step (eager)."""
    if distributed.world_size() > 1:
        return data_parallel_step(model, optimizer)

    def step(x, y):
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits

    if not compiled:
        return step
    compiled_step = mg.compile(step)
    if not show_code:
        return compiled_step
    pending = [True]

    def showing(x, y):
        result = compiled_step(x, y)
        if pending:
            pending.clear()
            print(compiled_step.code)
        return result

    return showing


def data_parallel_step(model: nn.Module, optimizer) -> Callable:
    """The step of one worker of several: its shard's gradients, averaged with the others'
    (weighted by shard size) before every worker applies the same update. An empty shard
    computes nothing, returns (None, None), and still joins the exchange with zeros."""

    def step(x, y):
        optimizer.zero_grad()
        loss = logits = None
        count = len(getattr(y, "data", y))
        if count:
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            loss.backward()
        distributed.allreduce_gradients(model.parameters(), count)
        optimizer.step()
        return loss, logits

    return step
