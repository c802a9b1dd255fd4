"""The map side's memory budget: buffered output, sorted and spilled as runs.

A map task keeps its output in one in-memory buffer, a dict of each key's
values. Every so often the map loop asks :meth:`MapOutput.check` whether the
buffer has outgrown ``map_memory_mb``. When it has, the keys are sorted,
dealt into partitions and written as one *run* file, every partition's
records back to back: ``(key, combined value)`` records with a combiner,
``(key, [values])`` without (see :mod:`mr_luigi.io.merge`). Grouping by key before sorting means a run is sorted
and merged per distinct key, not per value. The task ends by spilling what is left, so it leaves a
few sorted runs per partition; the shuffle merges them.

The size of the buffer is an estimate, from ``sys.getsizeof`` of a sample of
entries plus the overhead of the containers, sorting and partitioning, not a
reading of the process's memory, which Python does not give back promptly.
Checks happen after a number of input lines that quadruples while the
buffer stays under budget, so they cost one comparison per line.
"""

from __future__ import annotations

from itertools import groupby, islice
from pathlib import Path
from sys import getsizeof
from typing import Any, Callable, Iterator

from mr_luigi.errors import RecordError, StorageError
from mr_luigi.io.merge import first, sort_records
from mr_luigi.io.partition import hash_partition
from mr_luigi.io.records import BUFFER_SIZE, write_records
from mr_luigi.io.seal import Seal

Combiner = Callable[[Any, Iterator[Any]], Any]
Partitioner = Callable[[Any, int], int]

#: Input lines read before the first check of the buffer's size (and after a spill).
FIRST_CHECK = 16
#: Entries sampled to estimate the size of one.
SAMPLE = 256
# Bytes per key of the buffer beyond key and values: the dict slot and index,
# the values list, the (key, values) tuple and list slot of the spill, sort
# keys and a partition list's slot.
_KEY_OVERHEAD = 104 + getsizeof((None, None)) + 8 * 4

#: Bytes a value costs when spilled as its own (key, value) record: the tuple and its list slot.
_PAIR_BYTES = getsizeof((None, None)) + 8

#: With a progress report to make, a map checks in at least every this many lines.
EVERY_LINES = 20_000


class MapOutput:
    """The runs a map task writes into its output folder, and when to spill.

    ``index`` lists every run as ``{"file": name, "partitions": [[start,
    end, count], ...]}``; the shuffle reads a partition's byte range of each.
    """

    def __init__(self, folder: Path, num_partitions: int, memory_mb: float,
                 combiner: Combiner | None = None, partitioner: Partitioner | None = None,
                 report: Callable[[int, int], None] | None = None, sort_values: bool = False,
                 seal: Seal | None = None) -> None:
        self.folder = folder
        self.num_partitions = num_partitions
        self.budget = int(memory_mb * 1024 * 1024)
        self.combiner = combiner
        self.partition = partitioner or hash_partition
        self.index: list[dict[str, Any]] = []
        self.output_records = 0
        #: values a combining buffer held when spilled (its map output pairs)
        self.spilled_values = 0
        #: input lines read so far by this task, and at the last spill
        self.lines = 0
        self._lines_at_spill = 0
        #: the line count at which the map loop calls :meth:`check` next
        self.check_at = FIRST_CHECK
        self._estimate_at = FIRST_CHECK
        #: input bytes of the segments already read, and the progress callback (lines, bytes)
        self.bytes_done = 0
        self.report = report
        #: runs of one ``(key, value)`` record per value, sorted by key and value (see :mod:`mr_luigi.io.merge`)
        self.sort_values = sort_values
        #: tags each batch of the runs (see :mod:`mr_luigi.io.seal`)
        self.seal = seal
        #: held outside the buffer, counted against the budget: a dict of running totals (see MapRun in the map phase)
        self.totals: dict[Any, Any] | None = None
        #: what spills when over budget, instead of :meth:`spill` of the buffer (set along with ``totals``)
        self.spiller: Callable[[], None] | None = None

    def check(self, buffer: dict[Any, list[Any]], lines: int, segment_bytes: int = 0, estimate: bool = False) -> int:
        """Report progress, spill the buffer if it is over budget; return the line count of the next check.

        The buffer's size is estimated when it should reach the budget at the
        rate it grew per line (and at the latest when its lines have
        quadrupled), so a map whose lines each emit thousands of values is
        checked every line or two, and an ordinary one a handful of times per
        spill. With a progress callback, checks also come every
        :data:`EVERY_LINES` lines. ``estimate`` forces an estimate now: a
        whole-file map's record is a file, which may emit any number of pairs.
        """
        if self.report is not None:
            self.report(lines, self.bytes_done + segment_bytes)
        if estimate or lines >= self._estimate_at:
            self._estimate_at = lines + max(1, int(self._next_estimate(buffer, lines)))
        self.check_at = self._estimate_at if self.report is None else min(self._estimate_at, lines + EVERY_LINES)
        return self.check_at

    def _next_estimate(self, buffer: dict[Any, list[Any]], lines: int) -> float:
        """Estimate the buffer, spill it if over budget, and return the lines until the next estimate."""
        # sorting values spills a (key, value) tuple per value (and a list slot): counted from the start
        extra = _PAIR_BYTES if self.sort_values and self.combiner is None else 0
        estimate = len(buffer) * estimate_entry_bytes(buffer, extra) if buffer else 0.0
        if self.totals:
            estimate += len(self.totals) * estimate_total_bytes(self.totals)
        grown = max(1, lines - self._lines_at_spill)
        per_line = max(estimate / grown, 1.0)
        if estimate >= self.budget:
            if self.spiller is not None:
                self.spiller()
            else:
                self.spill(buffer)
            self._lines_at_spill = lines
            return self.budget / per_line
        return min(3 * grown, (self.budget - estimate) / per_line)

    def spill(self, buffer: dict[Any, list[Any]]) -> None:
        """Write the buffer as one sorted run and empty it (in place)."""
        if not buffer:
            return
        self.spilled_values += sum(map(len, buffer.values()))
        if self.combiner is not None:
            records = combine_buffer(buffer, self.combiner)
        elif self.sort_values:
            records = [(k, v) for k, vs in buffer.items() for v in vs]
        else:
            records = list(buffer.items())
        self.write_run(records)
        buffer.clear()

    def write_run(self, records: list[tuple[Any, Any]]) -> None:
        """Write records, one per key (or per value, sorting values), as the next sorted run."""
        sort_records(records, self.sort_values)
        name = f"run-{len(self.index):05d}"
        partitions = split_partitions(records, self.num_partitions, self.partition)
        try:
            written = write_partitions(self.folder / name, partitions, self.seal)
        except OSError as exc:
            raise StorageError(f"cannot write map output {self.folder / name}: {exc} (is the work folder's disk full?)") from exc
        self.index.append({"file": name, "partitions": written})
        self.output_records += len(records)


def estimate_entry_bytes(buffer: dict[Any, list[Any]], extra_per_value: int = 0) -> float:
    """Estimated bytes per key of the buffer, from a sample of keys and of their values."""
    sample = _sample(buffer)
    total = sum(getsizeof(k) + getsizeof(vs) + (len(vs) * (value_bytes(vs[0]) + extra_per_value) if vs else 0)
                for k, vs in sample)
    return total / max(1, len(sample)) + _KEY_OVERHEAD


def estimate_total_bytes(totals: dict[Any, Any]) -> float:
    """Estimated bytes per key of a dict of running totals (one value per key, no list), from a sample."""
    sample = _sample(totals)
    return sum(getsizeof(k) + value_bytes(v) for k, v in sample) / max(1, len(sample)) + _KEY_OVERHEAD


def _sample(entries: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """About :data:`SAMPLE` of a dict's items, spread over it."""
    return list(islice(entries.items(), 0, None, max(1, len(entries) // SAMPLE)))


def value_bytes(value: Any) -> int:
    """``getsizeof`` of a value, one level into tuples and lists."""
    size = getsizeof(value)
    if type(value) in (tuple, list):
        size += sum(map(getsizeof, value))
    return size


def combine_buffer(buffer: dict[Any, list[Any]], combiner: Combiner | None) -> list[tuple[Any, Any]]:
    """One ``(key, combined value)`` record per key of the buffer."""
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


def write_partitions(path: Path, partitions: list[list[Any]], seal: Seal | None = None) -> list[list[int]]:
    """Write sorted partitions back to back; return [start, end, count] per partition."""
    index = []
    with open(path, "wb", buffering=BUFFER_SIZE) as fh:
        for records in partitions:
            start = fh.tell()
            count = write_records(fh, records, seal)
            index.append([start, fh.tell(), count])
    return index
