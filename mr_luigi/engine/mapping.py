"""How the user's functions are called: a map per line or per batch of lines, a reduce returning or yielding.

A map function is called with one line. A function marked with
:func:`batch_map` is called with a list of lines (a block of 64 KiB of input) and
returns the pairs for all of them, like Spark's ``mapPartitions``: work that
can run in C over many lines at once (one regex over the joined text, a
``Counter``) then costs nothing per line in Python. The pairs it returns are
grouped and combined like any others. If it raises on a batch, each line of
the batch is passed to it alone, so only the lines that fail are bad records.

A batch map may also return a mapping of keys to partial values (a
``Counter`` of the block), or :class:`KeyCounts` (keys that count one each:
the words of the block). With ``combine_function = "sum"`` the map then adds
them up without a Python call per value (see
:mod:`mr_luigi.engine.aggregations`); otherwise they are pairs like any others.
It may wrap any of these in :class:`BatchResult` to name the lines it
rejected, so that a few bad lines do not cost the batch its single call.

A function marked with :func:`map_with_record` is called with each line and
its :class:`Record`: the input file's path, the line's number in that file
and its byte offset. It is for maps that need to know where a line came
from (an inverted index, a count per file, a join on the file name); a map
without the mark pays nothing for it.

A function marked with :func:`file_map` is called once per input file, with
the file's path, and reads the file itself (mrjob's ``mapper_raw``): for
inputs that are not lines of text (a JSON document, an image, a zip). Such
a job's files are not split.

A reduce function returns the value of its key. One marked with
:func:`pair_reducer` instead yields (or returns an iterable of) ``(key,
value)`` pairs under keys of its own choosing: none, one or many per key.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple, TypeVar

F = TypeVar("F", bound=Callable[[list[str]], Iterable[Any]])
_MARK = "_mr_luigi_batch_map"
_RECORD_MARK = "_mr_luigi_map_with_record"
_PAIRS_MARK = "_mr_luigi_pair_reducer"
_FILE_MARK = "_mr_luigi_file_map"
M = TypeVar("M", bound=Callable[[str, "Record"], Iterable[Any]])
P = TypeVar("P", bound=Callable[[str], Iterable[Any]])


class Record(NamedTuple):
    """Where a line came from, as a :func:`map_with_record` function is told.

    ``line`` counts from 1 in the input file itself, whatever split the line
    is in (a split may start in the middle of a file; small files are packed
    into one split). ``offset`` is the line's first byte in the file (in the
    decompressed stream of a ``.gz`` or ``.bz2`` file; in characters for a
    UTF-16 or UTF-32 file).
    """

    path: str
    line: int
    offset: int


class KeyCounts:
    """A batch map's result: each key of ``keys`` (a list, repeats included) counts once, as ``(key, 1)``."""

    __slots__ = ("counted",)

    def __init__(self, keys: Iterable[Any]) -> None:
        self.counted = keys if isinstance(keys, list) else list(keys)

    def __iter__(self) -> Iterable[tuple[Any, int]]:
        return ((key, 1) for key in self.counted)

    def __repr__(self) -> str:
        return f"KeyCounts({len(self.counted)} keys)"


class BatchResult:
    """A batch map's result together with the lines of the batch it rejected.

    ``result`` is what the batch map would otherwise return (pairs, a
    mapping, :class:`KeyCounts`). ``bad_lines`` maps the index of a line in
    the batch to the exception that line stands for, usually a
    :class:`~mr_luigi.BadRecord`: each is handled exactly as if a per-line map
    had raised it on that line (quarantined, or failing the task), and the
    rest of the batch counts. Without it, a batch map that meets one bad line
    must raise, and the whole batch is mapped again line by line.
    """

    __slots__ = ("bad_lines", "result")

    def __init__(self, result: Any, bad_lines: dict[int, Exception] | None = None) -> None:
        self.result = result
        self.bad_lines = bad_lines or {}

    def __repr__(self) -> str:
        return f"BatchResult({self.result!r}, {len(self.bad_lines)} bad lines)"


def batch_map(fn: F) -> F:
    """Mark a map function as taking a list of lines instead of one line."""
    setattr(fn, _MARK, True)
    return fn


def is_batch_map(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, _MARK, False))


def pair_reducer(fn: F) -> F:
    """Mark a reduce function as yielding ``(key, value)`` pairs rather than returning its key's value."""
    setattr(fn, _PAIRS_MARK, True)
    return fn


def emits_pairs(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, _PAIRS_MARK, False))


def map_with_record(fn: M) -> M:
    """Mark a map function as taking ``(line, record)``: the line and its :class:`Record`."""
    setattr(fn, _RECORD_MARK, True)
    return fn


def takes_record(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, _RECORD_MARK, False))


def file_map(fn: P) -> P:
    """Mark a map function as taking the path of a whole input file instead of its lines."""
    setattr(fn, _FILE_MARK, True)
    return fn


def is_file_map(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, _FILE_MARK, False))


def pass_records(key: Any, value: Any) -> Iterable[tuple[Any, Any]]:
    """The map of a later step that has none: the step before's records, as they are."""
    yield key, value
