"""`mg.compile`: trace a training step once, run it as straight-line NumPy code you can read.

The files, one idea each: `compiled` (the compiled function: its cache, guards and first-call
check), `recorder` (what one eager call did, as statements), `tracing` (the scope that watches
it), `draws` (the engine RNG's draws), `sources` (the modules, optimizers and tensors a function
reaches), `program` (code generation), `runtime` (the walk's steps the code calls), `state`
(the snapshot the first call is checked with), `errors`. docs/compile.md explains the code.
"""

from .compiled import CACHE_SIZE, CompiledFunction, compile
from .errors import CompileWarning, TraceError

__all__ = ["CACHE_SIZE", "CompiledFunction", "CompileWarning", "TraceError", "compile"]
