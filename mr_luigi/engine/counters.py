"""Counters: named tallies that user functions and the framework increment.

Like Hadoop's and mrjob's counters, a counter has a group and a name::

    from mr_luigi import increment_counter

    def parse_map(line):
        if not line.strip():
            increment_counter("parse", "blank lines")
            return []
        ...

Each task collects its counters in memory and stores them with its other
statistics in the task's output folder, which is renamed into place only when
the task succeeds: a retried task's counters are therefore counted once, from
the attempt that succeeded. The job sums them into the ``_SUCCESS`` manifest.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

#: The group of the framework's own counters.
FRAMEWORK_GROUP = "mr_luigi"
#: The group of bad records, one counter per reason.
BAD_RECORDS_GROUP = "bad_records"

CounterDict = dict[str, dict[str, int]]

_current: dict[tuple[str, str], int] | None = None


def increment_counter(group: str, name: str, amount: int = 1) -> None:
    """Add ``amount`` to counter ``name`` of ``group`` for the running task.

    Outside a task (e.g. a unit test calling a map function directly) the call
    does nothing, so user functions stay plain functions.
    """
    if _current is not None:
        key = (str(group), str(name))
        _current[key] = _current.get(key, 0) + amount


@contextmanager
def collecting() -> Iterator[dict[tuple[str, str], int]]:
    """Collect the counters incremented inside the block, starting from zero."""
    global _current
    previous, _current = _current, {}
    try:
        yield _current
    finally:
        _current = previous


def snapshot() -> dict[tuple[str, str], int] | None:
    """The running task's counters now, to undo a user call that failed (see :func:`restore`)."""
    return None if _current is None else dict(_current)


def restore(saved: dict[tuple[str, str], int] | None) -> None:
    """Put the counters back as they were at :func:`snapshot`.

    A batch map that raises is called again line by line: what it counted
    in the failed call must not be counted twice.
    """
    if _current is not None and saved is not None:
        _current.clear()
        _current.update(saved)


#: Task statistics that are also the framework's counters.
FRAMEWORK_COUNTERS = (
    "input_records",
    "input_bytes",
    "bad_records",
    "decode_errors",
    "map_output_records",
    "combine_input_records",
    "combine_output_records",
    "spills",
    "merge_passes",
    "shuffle_output_records",
    "reduce_input_groups",
    "output_records",
)


def task_counters(stats: Mapping[str, Any], user: Mapping[tuple[str, str], int]) -> CounterDict:
    """A task's counters: the user's, and the framework's own from its statistics."""
    flat = dict(user)
    for name in FRAMEWORK_COUNTERS:
        if stats.get(name):
            flat[(FRAMEWORK_GROUP, name)] = stats[name]
    return as_nested(flat)


def as_nested(flat: Mapping[tuple[str, str], int]) -> CounterDict:
    nested: CounterDict = {}
    for (group, name), value in sorted(flat.items()):
        nested.setdefault(group, {})[name] = value
    return nested


def sum_counters(all_counters: Iterable[Mapping[str, Mapping[str, Any]]]) -> CounterDict:
    """Sum nested ``{group: {name: n}}`` dicts, sorted by group and name."""
    total: dict[tuple[str, str], int] = {}
    for counters in all_counters:
        for group, names in counters.items():
            for name, value in names.items():
                total[(group, name)] = total.get((group, name), 0) + value
    return as_nested(total)


def format_counters(counters: Mapping[str, Mapping[str, int]]) -> str:
    """The counters as an indented table, for the end-of-job summary."""
    lines = []
    for group in sorted(counters):
        lines.append(f"  {group}:")
        width = max(map(len, counters[group]), default=0)
        lines += [f"    {name:<{width}}  {value:>12,}" for name, value in sorted(counters[group].items())]
    return "\n".join(lines)
