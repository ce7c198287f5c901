"""Serialise `ast.parse` on CPython versions whose AST conversion is not thread-safe.

Before 3.11.8 (and in 3.12.0) the depth counter of the AST-to-object conversion is one per
interpreter, not per call (CPython gh-106905). When a garbage collection during one thread's
parse runs a finalizer that lets another thread in, and that thread parses too, one of them
fails with "SystemError: AST constructor recursion depth mismatch". Parsing happens behind
our back in every process: numpy reads each `.npz` array header (the meeting model) with
`ast.literal_eval`, `inspect.signature` parses builtins' text signatures, pytest rewrites
imported test modules. Transcription, recaps and the web loop run on different threads, so
on those versions `install()` makes `ast.parse` take a lock.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()  # re-entrant: a finalizer run during a parse may parse again


def affected(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    """Whether this CPython's AST conversion shares its depth counter between threads."""
    return version < (3, 11, 8) or (3, 12, 0) <= version < (3, 12, 1)


def serialized(parse: Callable[..., Any]) -> Callable[..., Any]:
    """`parse` behind the process-wide lock."""

    def parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return parse(*args, **kwargs)

    parse_one_at_a_time.__wrapped__ = parse  # type: ignore[attr-defined]
    parse_one_at_a_time.__doc__ = parse.__doc__
    return parse_one_at_a_time


def install() -> None:
    """On affected versions, replace `ast.parse` (which `ast.literal_eval`, `inspect` and
    pytest call) by a serialised one; once per process, harmless to repeat."""
    if affected() and not hasattr(ast.parse, "__wrapped__"):
        ast.parse = serialized(ast.parse)


__all__ = ["affected", "install", "serialized"]
