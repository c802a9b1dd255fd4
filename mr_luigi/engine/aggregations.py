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
    """``"sum"``: the sum of a key's values (numbers, or anything ``+`` adds up)."""
    return sum(values)


setattr(sum_values, _NAME, "sum")

#: the aggregations a config may name, by name
NAMED: dict[str, Callable[[Any, Iterable[Any]], Any]] = {"sum": sum_values}


def name_of(fn: Callable[..., Any] | None) -> str | None:
    """The name of a known aggregation (``"sum"``), or None for any other function."""
    return getattr(fn, _NAME, None)
