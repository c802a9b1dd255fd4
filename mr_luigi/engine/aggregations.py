"""Aggregations the framework knows by name: ``combine_function = "sum"``.

A combiner or reducer given by name means exactly what the Python function
of that name here does (``"sum"``: the sum of the values), so results never
depend on which path ran. Knowing it, the map can merge a batch map's
mapping of partial sums (a ``Counter`` of a block) into its buffer once per
distinct key, in place, instead of queueing every value for the combiner:
work that stays in C until a key's subtotal is added.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

_NAME = "_mr_luigi_aggregation"


def sum_values(key: Any, values: Iterable[Any]) -> Any:
    """``"sum"``: the sum of a key's values, ``sum(values)``; tuples are summed element by element.

    Tuples make one key carry several totals at once (requests, errors and
    bytes of an IP) through one named aggregation: ``(1, 0, 512)`` and
    ``(1, 1, 0)`` give ``(2, 1, 512)``. A tuple of another length, or a
    tuple and a number under one key, is a TypeError.
    """
    values = values if isinstance(values, list) else list(values)
    if values[0].__class__ is tuple:
        return sum_tuples(values)
    return sum(values)


def sum_tuples(values: list[Any]) -> tuple[Any, ...]:
    """Tuples of one length summed element by element, each element as ``sum`` sums."""
    try:
        return tuple(map(sum, zip(*values, strict=True)))
    except (TypeError, ValueError) as exc:
        lengths = sorted({len(v) if v.__class__ is tuple else -1 for v in values})
        shown = ", ".join("a number" if n < 0 else f"{n}-tuples" for n in lengths)
        raise TypeError(f"\"sum\" adds tuples of one length element by element; got {shown} ({exc})") from None


setattr(sum_values, _NAME, "sum")

#: the aggregations a config may name, by name
NAMED: dict[str, Callable[[Any, Iterable[Any]], Any]] = {"sum": sum_values}


def name_of(fn: Callable[..., Any] | None) -> str | None:
    """The name of a known aggregation (``"sum"``), or None for any other function."""
    return getattr(fn, _NAME, None)
