"""How the user's map function is called: once per line, or once per batch of lines.

A map function is called with one line. A function marked with
:func:`batch_map` is called with a list of lines (a block of 64 KiB of input) and
returns the pairs for all of them, like Spark's ``mapPartitions``: work that
can run in C over many lines at once (one regex over the joined text, a
``Counter``) then costs nothing per line in Python. The pairs it returns are
grouped and combined like any others. If it raises on a batch, each line of
the batch is passed to it alone, so only the lines that fail are bad records.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

F = TypeVar("F", bound=Callable[[list[str]], Iterable[Any]])
_MARK = "_mr_luigi_batch_map"


def batch_map(fn: F) -> F:
    """Mark a map function as taking a list of lines instead of one line."""
    setattr(fn, _MARK, True)
    return fn


def is_batch_map(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, _MARK, False))
