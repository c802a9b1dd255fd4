"""The map side's memory budget: buffered output, sorted and spilled as runs.

A map task keeps its output in one in-memory buffer: a list of pairs, or,
with a combiner, a dict of values per key. Every so often the map loop asks
:meth:`MapOutput.check` whether the buffer has outgrown ``map_memory_mb``.
When it has, the buffer is combined (if there is a combiner), sorted by key,
dealt into partitions and written as one *run* file, every partition's
records back to back. The task ends by spilling what is left, so it leaves a
few sorted runs per partition; the shuffle merges them.

The size of the buffer is an estimate, from ``sys.getsizeof`` of a sample of
entries plus the overhead of the containers, sorting and partitioning, not a
reading of the process's memory, which Python does not give back promptly.
Checks happen at doubling intervals, so they cost nothing per record.
"""

from __future__ import annotations

from itertools import groupby, islice
from pathlib import Path
from sys import getsizeof
from typing import Any, Callable, Iterator

from mr_luigi.errors import RecordError
from mr_luigi.merge import first, sort_records
from mr_luigi.partition import hash_partition
from mr_luigi.records import BUFFER_SIZE, write_records

Combiner = Callable[[Any, Iterator[Any]], Any]
Partitioner = Callable[[Any, int], int]

#: The map loop first checks the buffer's size when it holds this many entries.
FIRST_CHECK = 1024
#: Entries sampled to estimate the size of one.
SAMPLE = 256
# Bytes per buffered pair beyond its key and value: the tuple, the list slot
# (with over-allocation), the key list of ``sort(key=...)`` and its merge
# space, and the slot in a partition's list.
_PAIR_OVERHEAD = getsizeof((None, None)) + 8 * 5
# Bytes per key of a combining dict beyond key and values: the dict slot and
# index, the values list, and the (key, value) tuple of the spill.
_KEY_OVERHEAD = 104 + getsizeof((None, None)) + 8 * 4


class MapOutput:
    """The runs a map task writes into its output folder, and when to spill.

    ``index`` lists every run as ``{"file": name, "partitions": [[start,
    end, count], ...]}``; the shuffle reads a partition's byte range of each.
    """

    def __init__(self, folder: Path, num_partitions: int, memory_mb: float,
                 combiner: Combiner | None = None, partitioner: Partitioner | None = None) -> None:
        self.folder = folder
        self.num_partitions = num_partitions
        self.budget = int(memory_mb * 1024 * 1024)
        self.combiner = combiner
        self.partition = partitioner or hash_partition
        self.index: list[dict[str, Any]] = []
        self.output_records = 0
        #: values a combining buffer held when spilled (its map output pairs)
        self.spilled_values = 0
        #: the buffer size at which the map loop calls :meth:`check` next
        self.check_at = FIRST_CHECK

    def check(self, buffer: list[Any] | dict[Any, list[Any]]) -> int:
        """Spill the buffer if it is over budget; return (and keep) the size of the next check."""
        entries = len(buffer)
        per_entry = estimate_entry_bytes(buffer)
        if entries * per_entry >= self.budget:
            self.spill(buffer)
            self.check_at = FIRST_CHECK
        else:
            # check again when the estimate says the budget is reached, and at
            # the latest when the buffer has doubled (values may grow in size)
            self.check_at = max(entries + 1, min(2 * entries, int(self.budget / per_entry)))
        return self.check_at

    def spill(self, buffer: list[Any] | dict[Any, list[Any]]) -> None:
        """Write the buffer as one sorted run and empty it (in place)."""
        if not buffer:
            return
        if isinstance(buffer, dict):
            self.spilled_values += sum(map(len, buffer.values()))
            records = combine_buffer(buffer, self.combiner)
        else:
            records = buffer
        sort_records(records)
        name = f"run-{len(self.index):05d}"
        partitions = split_partitions(records, self.num_partitions, self.partition)
        self.index.append({"file": name, "partitions": write_partitions(self.folder / name, partitions)})
        self.output_records += len(records)
        buffer.clear()


def estimate_entry_bytes(buffer: list[Any] | dict[Any, list[Any]]) -> float:
    """Estimated bytes per buffer entry, from a sample of entries."""
    step = max(1, len(buffer) // SAMPLE)
    if isinstance(buffer, dict):
        sample = list(islice(buffer.items(), 0, None, step))
        total = sum(getsizeof(k) + getsizeof(vs) + sum(map(value_bytes, vs)) for k, vs in sample)
        return total / max(1, len(sample)) + _KEY_OVERHEAD
    sample = buffer[::step]
    total = sum(getsizeof(k) + value_bytes(v) for k, v in sample)
    return total / max(1, len(sample)) + _PAIR_OVERHEAD


def value_bytes(value: Any) -> int:
    """``getsizeof`` of a value, one level into tuples and lists."""
    size = getsizeof(value)
    if type(value) in (tuple, list):
        size += sum(map(getsizeof, value))
    return size


def combine_buffer(buffer: dict[Any, list[Any]], combiner: Combiner | None) -> list[tuple[Any, Any]]:
    """One (key, value) pair per key of a combining buffer."""
    assert combiner is not None
    return [(k, v[0] if len(v) == 1 else combiner(k, iter(v))) for k, v in buffer.items()]


def checked_partitioner(user: Partitioner, num_partitions: int) -> Partitioner:
    """The user's partitioner, checked to return a valid partition index."""

    def partition(key: Any, n: int) -> int:
        p = user(key, n)
        if type(p) is not int or not 0 <= p < num_partitions:
            raise RecordError(f"partitioner returned {p!r} for key {key!r}: expected an int in [0, {num_partitions})")
        return p

    return partition


def split_partitions(records: list[tuple[Any, Any]], n: int, partition: Partitioner) -> list[list[tuple[Any, Any]]]:
    """Deal sorted records into partitions (each stays sorted), one partitioner call per key."""
    if n == 1:
        return [records]
    parts: list[list[tuple[Any, Any]]] = [[] for _ in range(n)]
    for key, group in groupby(records, first):  # extend() walks each group in C
        parts[partition(key, n)].extend(group)
    return parts


def write_partitions(path: Path, partitions: list[list[Any]]) -> list[list[int]]:
    """Write sorted partitions back to back; return [start, end, count] per partition."""
    index = []
    with open(path, "wb", buffering=BUFFER_SIZE) as fh:
        for records in partitions:
            start = fh.tell()
            count = write_records(fh, records)
            index.append([start, fh.tell(), count])
    return index
