"""What a key may be, so that equal keys meet and different keys stay apart.

Keys are sorted, compared and hashed to a partition. Two kinds of key would
break that silently, so a map that emits one fails, naming the file and line:

- **NaN** (``float('nan')``, also inside a tuple): it is not equal to itself,
  so every NaN would be a key of its own, and it makes sorting meaningless
  for every other key it is compared with.
- **Types the default partitioner cannot place**: it sends a key to a
  partition by its bytes (see :mod:`mr_luigi.io.partition`), which are the same
  for equal keys only for ``str``, ``bytes``, ``int``, ``float``, ``bool``,
  ``None`` and tuples of them (``Decimal('1')`` equals ``1`` but would land
  elsewhere). Other types need a ``partitioner`` of the job's own.

The check runs once per new key of a map's buffer, not per record, and costs
nothing for ``str`` keys, which the map loop does not pass here.
"""

from __future__ import annotations

from typing import Any, Callable

from mr_luigi.errors import RecordError

PLAIN_TYPES = (str, bytes, int, float, type(None))


class InvalidKey(RecordError):
    """A map emitted a key the engine cannot group correctly."""


def checker(default_partitioner: bool) -> Callable[[Any], None]:
    """The check for a job's keys (stricter with the default partitioner)."""
    return check_key if default_partitioner else check_not_nan


def check_key(key: Any) -> None:
    """Raise InvalidKey for a NaN, or a type the default partitioner cannot place."""
    problem = _problem(key, True)
    if problem:
        raise InvalidKey(f"key {key!r}: {problem}")


def check_not_nan(key: Any) -> None:
    """Raise InvalidKey for a NaN key (with the job's own partitioner, any other type may do)."""
    problem = _problem(key, False)
    if problem:
        raise InvalidKey(f"key {key!r}: {problem}")


def _problem(key: Any, placeable: bool) -> str | None:
    if isinstance(key, float):
        if key != key:
            return ("NaN is not equal to itself, so NaN keys cannot be grouped or sorted; map it to another key "
                    "(None, or a string) before emitting it")
    elif isinstance(key, tuple):
        for part in key:
            if part.__class__ is str:  # the common part, with nothing to check
                continue
            problem = _problem(part, placeable)
            if problem:
                return problem
    elif placeable and not isinstance(key, PLAIN_TYPES):
        return (f"a {type(key).__name__} cannot be placed by the default partitioner, which places only str, bytes, "
                "int, float, bool, None and tuples of them (equal keys must land in one partition); convert the key, "
                "or give the job a partitioner")
    return None
