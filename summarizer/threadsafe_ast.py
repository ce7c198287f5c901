"""Make `ast.parse` safe on CPython versions whose AST conversion shares its depth counter.

Before 3.11.8 (and in 3.12.0) the depth counter of the AST-to-object conversion is one per
interpreter, not per call (CPython gh-106905). A garbage collection during a conversion runs
finalizers, which may parse again on the same thread (a finalizer's warning turned into an
unraisable error: 3.11's traceback formatting parses the failing line) or let another
thread in that parses; either way one parse fails with "SystemError: AST constructor
recursion depth mismatch". Parsing happens behind our back in every process: numpy reads
each `.npz` array header (the meeting model) with `ast.literal_eval`, `inspect.signature`
parses builtins' text signatures, pytest rewrites imported test modules. So on those
versions `install()` makes `ast.parse` run one at a time with the collector paused (the
conversion itself runs no Python code, so nothing else can then interleave).
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()  # re-entrant, should anything still parse while a parse runs


def affected(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    """Whether this CPython's AST conversion shares its depth counter between threads."""
    return version < (3, 11, 8) or (3, 12, 0) <= version < (3, 12, 1)


def serialized(parse: Callable[..., Any]) -> Callable[..., Any]:
    """`parse` behind the process-wide lock, with no garbage collection while it runs."""

    def parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            collecting = gc.isenabled()
            gc.disable()
            try:
                return parse(*args, **kwargs)
            finally:
                if collecting:
                    gc.enable()

    parse_one_at_a_time.__wrapped__ = parse  # type: ignore[attr-defined]
    parse_one_at_a_time.__doc__ = parse.__doc__
    return parse_one_at_a_time


def install() -> None:
    """On affected versions, replace `ast.parse` (which `ast.literal_eval`, `inspect` and
    pytest call) by a serialised one; once per process, harmless to repeat."""
    if affected() and not hasattr(ast.parse, "__wrapped__"):
        ast.parse = serialized(ast.parse)


__all__ = ["affected", "install", "serialized"]
