"""`mg.compile(fn)`: record a training step once per signature, replay it as generated code.

A call looks up the program for its signature (the guards below). The first call with a new
signature runs `fn` eagerly while a `Recorder` watches it, generates the program, and checks it:
the state before the call is put back, the program runs, and its results must equal the eager
ones bit for bit. Later calls with that signature run the program alone.

Guards, so a replay never runs on what it was not recorded for: each argument's kind, shape and
dtype (a number's value), grad mode and the train/eval mode of every module the function reaches
make a call's signature; each program then checks every module's parameters and submodules in
their places, the shape and dtype of every tensor it reads, and what its update branched on.
`CACHE_SIZE` programs are kept per compiled function, the least recently used dropped first.
Whether a gradient starts as None needs no guard: the program adds into `.grad` as backward
does, None or not.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd, structure
from ..tensor import Tensor
from .errors import CompileWarning
from .guards import guard
from .program import Program, build, generate, generate_guards
from .recorder import RESERVED, Recorder
from .sources import Sources, find_sources, visit
from .state import Snapshot
from .tracing import recording

CACHE_SIZE = 8
_EAGER = object()  # a cache entry for a signature the function runs eagerly under


class CompiledFunction:
    """`fn`, run as a generated straight-line NumPy program after its first call per signature.

    `code` is the source of the program the last call ran (or recorded); `programs` counts the
    cached ones. Results equal the eager function's exactly; returned tensors carry no graph.
    """

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise TypeError(f"mg.compile takes a function, got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._sources: Sources | None = None
        self._cache: OrderedDict = OrderedDict()
        self._warned: set = set()
        self._last: Program | None = None
        self._modes_now: tuple = ()
        self._modes_count = -1  # structure.changes when _modes_now was read

    @property
    def code(self) -> str:
        """The generated source of the most recent program."""
        if self._last is None:
            raise RuntimeError("nothing is compiled yet: call the compiled function once first")
        return self._last.code

    @property
    def kept_bytes(self) -> int:
        """The bytes of the arrays the most recent program keeps between calls for each thread
        that has run it (`out=` buffers, docs/compile.md): memory a step holds beyond its own."""
        if self._last is None or self._last.buffers is None:
            return 0
        return self._last.buffers.nbytes

    @property
    def programs(self) -> int:
        """How many programs (one per signature seen) are cached now."""
        return sum(len(entry) for entry in self._cache.values() if entry is not _EAGER)

    def __call__(self, *args: Any, **kwargs: Any):
        if kwargs:
            raise TypeError("a compiled function takes positional arguments only")
        if autograd.watchers():
            return self._eager(
                "an engine watcher is active (detect_anomaly, the cost tracer or viz frames), "
                "so the function runs eagerly for it to see every op",
                args,
            )
        key = (_arguments_key(args), autograd.grad_mode.enabled, self._modes())
        entry = self._cache.get(key)
        if entry is _EAGER:
            return self.fn(*args)
        for program in entry or ():
            if program.checks():
                self._cache.move_to_end(key)
                self._last = program
                return program.function(*args)
        return self._trace(key, args)

    def _modes(self) -> tuple:
        """Every module's train/eval mode, read again only after a change that may have set one
        (`structure`)."""
        count = structure.changes
        if self._modes_count != count:  # always at the first call: the count starts at -1 here
            if self._sources is None:
                self._sources = find_sources(self.fn)
            self._modes_now, self._modes_count = self._sources.modes(), count
        return self._modes_now

    def _eager(self, reason: str, args: tuple):
        self._warn(reason)
        return self.fn(*args)

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            name = getattr(self.fn, "__name__", "fn")
            warnings.warn(f"mg.compile({name}): {reason}", CompileWarning, stacklevel=3)

    def _trace(self, key, args: tuple):
        """Run `fn` eagerly while recording it; keep the program if its replay equals eager."""
        # Found afresh: a parameter replaced since the last trace is a new tensor to read.
        known = self._sources = find_sources(self.fn)
        self._modes_count = -1
        sources = Sources(
            list(known.modules), list(known.optimizers), dict(known.tensors), dict(known.arrays)
        )
        named = list(zip(_argument_names(self.fn, len(args)), args))
        for name, value in named:
            if not isinstance(value, Tensor):
                visit(sources, name, value)
        before = Snapshot([t for _, t in sources.tensors.values()], list(sources.optimizers))
        modes = sources.modes()
        recorder = Recorder(sources, named)
        with recording(recorder):
            result = self.fn(*args)
        output = "None" if recorder.failed else recorder.finish(result)
        reason = (
            recorder.failed
            or _unseen(recorder, before)
            or _settings_changed(sources, modes, before)
        )
        if reason:
            self._cache[key] = _EAGER
            self._warn(f"it runs eagerly for these inputs: {reason}")
            return result
        program = self._program(recorder, named, output)
        after = Snapshot([t for t, _, _ in before.tensors], [o for o, *_ in before.optimizers])
        before.restore()
        replayed = program.run(args)
        if not (after.matches_now() and _same_outputs(result, replayed)):
            after.restore()
            self._cache[key] = _EAGER
            self._warn(
                "its replay differed from the eager call (it changes values outside the ops "
                "and optimizers, such as .data by hand), so it runs eagerly for these inputs"
            )
            return result
        self._remember(key, program)
        return replayed

    def _program(self, recorder: Recorder, named: list, output: str) -> Program:
        name = getattr(self.fn, "__name__", "step")
        if not name.isidentifier() or name in recorder.namespace or name in RESERVED:
            name = "step"
        arguments = list(zip(recorder.argument_names, (value for _, value in named)))
        source, buffers = generate(
            name, arguments, recorder.statements, output, recorder.value_types()
        )
        function = build(name, source, dict(recorder.namespace, BUFFERS=buffers))
        guards = build("guards", generate_guards(recorder.guards), recorder.namespace)
        # What the program was recorded with: each module's parameters and submodules in their
        # places, each tensor's shape and dtype. (Whether a gradient starts as None needs no
        # guard: `store_grads` adds into it as backward does.)
        tensors = [t for _, t in recorder.sources.tensors.values()]
        checks = guard(recorder.sources.slots(), tensors, guards)
        return Program(source, function, checks, buffers)

    def _remember(self, key, program: Program) -> None:
        entry = self._cache.get(key)
        if not isinstance(entry, list):
            entry = self._cache[key] = []
        entry.append(program)
        self._cache.move_to_end(key)
        self._last = program
        while self.programs > CACHE_SIZE:
            oldest = next(iter(self._cache))
            if oldest is key:  # one signature's variants alone fill the cache
                entry.pop(0)
            else:
                del self._cache[oldest]


def compile(fn: Callable) -> CompiledFunction:
    """Compile `fn`, a training step of tensors (forward, loss, backward(), optimizer.step(),
    zero_grad()), into generated straight-line NumPy code; see docs/compile.md.

    The first call per signature runs `fn` eagerly while recording it; later calls run the
    recorded program, whose results equal eager's exactly. `compiled.code` is its source.
    """
    return CompiledFunction(fn)


def _arguments_key(args: tuple) -> tuple:
    key: list = []
    for value in args:
        if isinstance(value, Tensor):
            key.append(("tensor", value.shape, value.dtype, value.requires_grad))
        elif isinstance(value, np.ndarray):
            key.append(("array", value.shape, value.dtype))
        elif value is None or isinstance(value, (bool, int, float, str)):
            key.append(("value", type(value), value))
        else:
            key.append(("object", id(value)))
    return tuple(key)


def _argument_names(fn: Callable, count: int) -> list:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"arg{i}" for i in range(count)]


def _unseen(recorder: Recorder, before: Snapshot) -> str:
    """Why the recording cannot be checked: a tensor or optimizer it touched that was not found
    before the call, so its earlier state is unknown."""
    known = {id(t) for t, _, _ in before.tensors}
    for name, tensor in recorder.sources.tensors.values():
        if id(tensor) not in known:
            return f"{name} was reached only while running, not through the function's closure"
    optimizers = {id(o) for o, *_ in before.optimizers}
    if any(id(o) not in optimizers for o in recorder.namespace["OPT"]):
        return "an optimizer was reached only while running, not through the closure"
    return ""


def _settings_changed(sources: Sources, modes: tuple, before: Snapshot) -> str:
    """Why a replay would not repeat the call's Python: it set a module's mode or an optimizer's
    options, which the recorded program does not do again."""
    if sources.modes() != modes:
        return "it changes a module's train/eval mode; call model.train() or eval() outside it"
    if before.options_changed():
        return "it changes an optimizer's options; step a learning-rate schedule outside it"
    return ""


def _same_outputs(eager, replayed) -> bool:
    if isinstance(eager, Tensor):
        return (
            isinstance(replayed, Tensor)
            and eager.dtype == replayed.dtype
            and np.array_equal(eager.data, replayed.data, equal_nan=eager.dtype.kind == "f")
        )
    if isinstance(eager, (tuple, list)):
        return len(eager) == len(replayed) and all(map(_same_outputs, eager, replayed))
    return eager is None and replayed is None
