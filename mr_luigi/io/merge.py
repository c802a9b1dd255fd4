"""Sorting, merging and grouping of intermediate records.

A map task groups its output by key before it writes a run, so a run holds
one record per distinct key. With a combiner a record is ``(key, value)``,
the key's values combined; without one it is ``(key, [values])``, so a merge
moves a few records per key instead of one per value. Several records may
share a key in a merged stream; a reducer sees their values as one iterator.

Records are ordered by key alone (values need not be comparable), except
with ``sort_values``: then a record is one ``(key, value)`` and records are
ordered by key, then value, so that a reducer sees each key's values sorted
by the same streaming merge. Every helper streams: a merge holds one record per input, a group hands its
values to the user's function as an iterator, so a key with millions of
values never has to fit in memory at once.
"""

from __future__ import annotations

import heapq
from itertools import chain, groupby
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator, Sequence

from mr_luigi.errors import RecordError

first = itemgetter(0)
second = itemgetter(1)

Record = tuple  # (key, value)
Combiner = Callable[[Any, Iterator[Any]], Any]


def sort_records(records: list[Record], by_value: bool = False) -> None:
    """Sort records in place by key (and value, with ``by_value``), with a clear error for incomparable ones."""
    try:
        if by_value:
            records.sort()
        else:
            records.sort(key=first)
    except TypeError:
        raise _order_error(records, by_value) from None


def merge_sorted(streams: Sequence[Iterable[Record]], by_value: bool = False) -> Iterator[Record]:
    """Merge streams that are each sorted by key (and value) into one sorted stream."""
    if len(streams) == 1:
        return iter(streams[0])
    return heapq.merge(*streams) if by_value else heapq.merge(*streams, key=first)


def group_by_key(records: Iterable[Record]) -> Iterator[tuple[Any, Iterator[Any]]]:
    """Yield ``(key, values)`` for each run of equal keys in sorted ``(key, value)`` records."""
    for key, group in groupby(records, key=first):
        yield key, map(second, group)


def group_lists_by_key(records: Iterable[Record]) -> Iterator[tuple[Any, Iterator[Any]]]:
    """Yield ``(key, values)`` for sorted ``(key, [values])`` records: their lists, chained."""
    for key, group in groupby(records, key=first):
        yield key, chain.from_iterable(map(second, group))


def combine_sorted(records: Iterable[Record], combiner: Combiner) -> Iterator[Record]:
    """Apply a combiner to each key of sorted records; a lone value passes as is."""
    for key, group in groupby(records, key=first):
        head = next(group)
        nxt = next(group, None)
        if nxt is None:
            yield head
            continue
        values = _chain_values(head[1], nxt[1], group)
        yield key, combiner(key, values)


def _chain_values(a: Any, b: Any, rest: Iterator[Record]) -> Iterator[Any]:
    yield a
    yield b
    for record in rest:
        yield record[1]


def unorderable_keys_error(keys: Iterable[Any]) -> RecordError:
    """Build the error for keys of types that cannot be ordered, naming two of them."""
    seen: dict[type, Any] = {}
    for key in keys:
        kind = type(key)
        if kind not in seen:
            for other in seen.values():
                try:
                    _ = (other < key) or (key < other)
                except TypeError:
                    return _pair_error(other, key)
            seen[kind] = key
    return RecordError("keys cannot be ordered against each other; every key of a job must be mutually comparable")


def _pair_error(a: Any, b: Any) -> RecordError:
    return RecordError(
        f"keys {a!r} ({type(a).__name__}) and {b!r} ({type(b).__name__}) cannot be ordered against each other: "
        "all keys of a job must be mutually comparable (e.g. all str, or all numbers)"
    )


def checked_merge(streams: Sequence[Iterable[Record]], heads: Callable[[], list[Any]], by_value: bool = False) -> Iterator[Record]:
    """:func:`merge_sorted`, turning a comparison TypeError into a clear error.

    ``heads`` returns a few keys of each input, read again only on failure.
    """
    try:
        yield from merge_sorted(streams, by_value)
    except TypeError as exc:
        error = unorderable_keys_error(heads())
        raise (_values_error(exc) if by_value and error.args[0].startswith("keys cannot") else error) from None


def _order_error(records: list[Record], by_value: bool) -> RecordError:
    """Why records cannot be sorted: two keys of incomparable types, or (``by_value``) two values of one key."""
    error = unorderable_keys_error(map(first, records))
    if not by_value or not error.args[0].startswith("keys cannot"):
        return error
    for key, group in groupby(sorted(records, key=first), key=first):
        values = list(map(second, group))
        try:
            values.sort()
        except TypeError as exc:
            return _values_error(exc, key)
    return error


def _values_error(exc: TypeError, key: Any = None) -> RecordError:
    where = "" if key is None else f" (key {key!r})"
    return RecordError(f"with sort_values = true the values of a key must be comparable with each other{where}: {exc}")
