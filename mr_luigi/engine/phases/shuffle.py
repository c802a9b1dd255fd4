"""The shuffle phase: one partition's sorted runs from every map, merged (in passes of ``merge_fan_in``) into one sorted file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from mr_luigi.engine import collector, hooks
from mr_luigi.engine.phases.combining import combiner_of
from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.progress import Progress, counted
from mr_luigi.engine.stats import read_stats
from mr_luigi.io.merge import checked_merge, combine_sorted, first
from mr_luigi.io.records import MERGE_BUFFER, read_run, write_run
from mr_luigi.io.seal import Seal

SHUFFLE_DATA = "data"
#: Bytes in memory per byte of pickled records, at most (a (word, 1) record: 14; LogAnalysis's per-IP triple: 9).
EXPANSION = 16


def run_shuffle(plan: JobPlan, partition: int, out: Path, progress: Progress | None = None,
                map_folders: list[Path] | None = None) -> dict[str, Any]:
    """Merge one partition's sorted runs from every map into one sorted file.

    At most ``merge_fan_in`` runs are open at once: with more, groups of them
    are first merged into bigger runs (combining when there is a combiner),
    pass after pass, so memory stays bounded whatever the number of runs.
    Runs that fit in half the memory budget are read whole and sorted instead
    (see :func:`_sorted_pieces`), with the same result.
    ``map_folders`` are where the maps' outputs are read (by default their
    own folders; copies got from the store, see :mod:`mr_luigi.engine.workstore`).
    """
    folders = map_folders or [plan.map_dir(index) for index in range(plan.num_maps)]
    pieces: list[Piece] = []
    total = 0
    for folder in folders:
        for run in read_stats(folder)["runs"]:
            start, end, count = run["partitions"][partition]
            if count:
                pieces.append((folder / run["file"], start, end))
                total += count
    combiner = combiner_of(plan)
    if combiner is not None:
        hooks.call_init(plan.resolved.combine_init, "combine_init", f"shuffle {partition}")
    fan_in = plan.config.merge_fan_in
    by_value = plan.config.sort_values
    passes = pass_records = 0
    map_pieces = len(pieces)
    while len(pieces) > fan_in:
        passes += 1
        pieces, written = _merge_pass(pieces, fan_in, combiner, by_value, out, passes, plan.seal)
        pass_records += written
    sorted_records = _sorted_pieces(pieces, by_value, plan.seal) \
        if passes == 0 and _fits_in_memory(pieces, plan.config.map_memory_mb) else None
    in_memory = sorted_records is not None
    if sorted_records is None:
        merged = _merge_pieces(pieces, combiner, by_value, plan.seal)
    else:
        merged = iter(sorted_records) if combiner is None else combine_sorted(sorted_records, combiner)
    if progress is not None:
        progress.total, progress.unit = total, "records merged"
        merged = counted(merged, lambda n: progress(n, f"{map_pieces} runs, {passes} earlier merge passes"))
    count = write_run(out / SHUFFLE_DATA, merged, plan.seal)
    for path in out.glob(f"{_MERGE_PREFIX}*"):
        path.unlink()
    return {
        "map_pieces": map_pieces,
        "merge_passes": passes,
        "merge_pass_records": pass_records,
        "merged_in_memory": in_memory,
        "shuffle_output_records": count,
        "shuffle_output_bytes": (out / SHUFFLE_DATA).stat().st_size,
    }


Piece = tuple[Path, int, int | None]  # a byte range of a run file; None: to the end


_MERGE_PREFIX = "merge-"


def _merge_pass(pieces: list[Piece], fan_in: int, combiner: Any, by_value: bool, out: Path, number: int,
                seal: Seal | None) -> tuple[list[Piece], int]:
    """Merge groups of ``fan_in`` pieces into new runs, deleting merged runs of earlier passes; and the records written
    (combined, with a combiner: each run holds each of its keys once)."""
    merged: list[Piece] = []
    written = 0
    for i in range(0, len(pieces), fan_in):
        group = pieces[i : i + fan_in]
        if len(group) == 1:
            merged.append(group[0])
            continue
        path = out / f"{_MERGE_PREFIX}{number:03d}-{i // fan_in:05d}"
        written += write_run(path, _merge_pieces(group, combiner, by_value, seal), seal)
        merged.append((path, 0, None))
        for source, _, _ in group:
            if source.parent == out and source.name.startswith(_MERGE_PREFIX):
                source.unlink()
    return merged, written


def _merge_pieces(pieces: list[Piece], combiner: Any, by_value: bool, seal: Seal | None) -> Iterator[tuple[Any, Any]]:
    """Stream the k-way merge of sorted pieces (by key and value with ``sort_values``), combined when there is a combiner."""
    streams = [read_run(path, start, end, MERGE_BUFFER, seal) for path, start, end in pieces]

    def heads() -> list[Any]:
        return [next(map(first, read_run(path, start, end, seal=seal)), None) for path, start, end in pieces]

    merged = checked_merge(streams, heads, by_value)
    return merged if combiner is None else combine_sorted(merged, combiner)


def _fits_in_memory(pieces: list[Piece], memory_mb: float) -> bool:
    """Whether the pieces, read whole, take at most half the task's memory budget (``map_memory_mb``)."""
    size = sum((path.stat().st_size if end is None else end) - start for path, start, end in pieces)
    return size * EXPANSION <= memory_mb * (1 << 20) / 2


def _sorted_pieces(pieces: list[Piece], by_value: bool, seal: Seal | None) -> list[tuple[Any, Any]] | None:
    """The pieces' records read whole and sorted, as :func:`_merge_pieces` would merge them; None if a sort cannot.

    Python's sort finds the pieces' sorted runs and merges them in C, where
    a heap merges record by record in Python; being stable, it gives equal
    keys (or records, with ``sort_values``) in the order of the pieces, as
    the merge does. Keys the sort cannot order but a merge can (equal ones,
    which a merge never compares, such as None) give None: merge them then.
    """
    records: list[tuple[Any, Any]] = []
    with collector.paused():  # only records are allocated, and kept: a collection would walk them all again
        for path, start, end in pieces:
            records.extend(read_run(path, start, end, MERGE_BUFFER, seal))
        try:
            records.sort() if by_value else records.sort(key=first)
        except TypeError:
            return None
    return records
