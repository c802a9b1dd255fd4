"""The work of each phase: map, shuffle, reduce and the final merge.

Each function reads its inputs, writes its outputs into a folder that the
calling task renames into place when it returns, and returns statistics for
the job manifest. Scheduling lives in :mod:`mr_luigi.tasks`; the per-record
loops here are the hot paths, so they keep per-record work to a minimum.
"""

from __future__ import annotations

import json
import re
import shutil
import zlib
from contextlib import closing
from itertools import groupby, islice
from pathlib import Path
from typing import Any, Callable, Iterator

from mr_luigi import atomic, counters, keys
from mr_luigi.counters import BAD_RECORDS_GROUP, sum_counters
from mr_luigi.decoding import UNDECODABLE
from mr_luigi.errors import InputChanged, InputError, MrLuigiError, RecordError, TooManyBadRecords, UnreadableInput, UserCodeError
from mr_luigi.mapping import is_batch_map
from mr_luigi.merge import checked_merge, combine_sorted, first, group_by_key, group_lists_by_key
from mr_luigi.partition import hash_partition
from mr_luigi.plan import JobPlan, describe_change, file_identity, part_name
from mr_luigi.progress import Progress, counted
from mr_luigi.publish import Journal
from mr_luigi.quarantine import folder_of as quarantine_folder
from mr_luigi.quarantine import BadRecord, BadRecordLimit, Quarantine, raw_fields, reason_of, too_many_message
from mr_luigi.records import BUFFER_SIZE, MERGE_BUFFER, read_run, write_records, write_run
from mr_luigi.spill import MapOutput, checked_partitioner
from mr_luigi.splits import Block, LineNumbers, Segment, Undecodable, file_line, read_blocks, read_lines
from mr_luigi.textformat import render_json_line, render_line

STATS_FILE = "stats.json"
SHUFFLE_DATA = "data"
KEYS_FILE = "keys"
_PART_NAME = re.compile(r"part-(\d{5})")
#: In-mapper combining folds a key's buffered values once this many are held.
COMBINE_EVERY = 64


def write_stats(folder: Path, stats: dict[str, Any]) -> None:
    (folder / STATS_FILE).write_text(json.dumps(stats, sort_keys=True))


def read_stats(folder: Path) -> dict[str, Any]:
    return json.loads((folder / STATS_FILE).read_text())


# -- map ---------------------------------------------------------------------


def run_map(plan: JobPlan, index: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Map one split into sorted runs in ``out``, spilling when over the memory budget."""
    split = plan.splits[index]
    combiner = _combiner(plan)
    stats: dict[str, Any] = {"input_records": 0, "input_bytes": split.size, "map_output_records": 0}
    errors = MapErrors(plan, Quarantine(plan.job_dir, "map", index, BadRecordLimit.from_config(plan.config.max_bad_records)))

    def report(lines: int, done: int) -> None:
        assert progress is not None
        progress(done, f"{lines:,} lines, {len(output.index)} spills, {errors.quarantine.total:,} bad records")

    output = MapOutput(out, plan.num_partitions, plan.resolved.config.map_memory_mb, combiner, _partition_function(plan),
                       report if progress is not None else None)
    # Values are grouped by key as they arrive; with a combiner, long groups
    # are folded as they grow (in-mapper combining). The partition is
    # computed once per distinct key, when a run is written.
    buffer: dict[Any, list[Any]] = {}
    try:
        for segment in split.segments:
            try:
                check_unchanged(plan, segment.path)
                if is_batch_map(plan.resolved.map_function):
                    _map_segment_batches(plan, segment, buffer, stats, output, errors)
                elif combiner:
                    _map_segment_combining(plan, segment, buffer, stats, output, errors)
                else:
                    _map_segment(plan, segment, buffer, stats, output, errors)
            except MrLuigiError:
                raise
            except (OSError, EOFError, zlib.error) as exc:
                raise UnreadableInput(f"cannot read input {segment.path!r}: {exc}") from exc
            check_unchanged(plan, segment.path)  # not changed while it was read either
            output.bytes_done += segment.end - segment.start
    finally:
        errors.close()
        errors.quarantine.close()
    stats["bad_records"] = errors.quarantine.total
    stats.update(errors.decode_stats())
    output.spill(buffer)
    stats["map_output_records"] += output.spilled_values
    if combiner:
        stats["combine_input_records"] = stats["map_output_records"]
        stats["combine_output_records"] = output.output_records
    stats["spills"] = len(output.index)
    stats["runs"] = output.index
    return stats


def check_unchanged(plan: JobPlan, path: str) -> None:
    """Fail if an input is not what was planned: its splits would cut it wrongly, or its content is another."""
    planned = plan.input_stats.get(path)
    try:
        now = file_identity(path)
    except OSError as exc:
        raise InputError(f"cannot read input {path!r}: {exc}") from exc
    if planned is not None and now != planned:
        raise InputChanged(f"input {path!r} changed after the job was planned ({describe_change(planned, now)}): "
                           "run the job again to plan it anew")


def _combiner(plan: JobPlan) -> Callable[[Any, Iterator[Any]], Any] | None:
    combiner = plan.resolved.combine_function
    return None if combiner is None else checked_combiner(combiner)


def _partition_function(plan: JobPlan) -> Callable[[Any, int], int]:
    user = plan.resolved.partitioner
    return hash_partition if user is None else checked_partitioner(user, plan.num_partitions)


class MapErrors:
    """What a map task does with a line that fails: quarantine it as a bad record, or fail the task.

    A :class:`BadRecord`, an exception listed in ``skip_exceptions`` and (with
    ``decode_errors = "strict"``) a line that does not decode are bad records.
    Any other exception from the map function fails the task attempt, naming
    the file and line; one raised by the map loop itself means the map's
    output is malformed (not pairs, an unhashable or NaN key), a permanent
    :class:`RecordError`.
    """

    def __init__(self, plan: JobPlan, quarantine: Quarantine) -> None:
        self.quarantine = quarantine
        self.skip = (BadRecord, *plan.resolved.skip_types)
        self.decoding = plan.resolved.decoding
        self.check_key = keys.checker(default_partitioner=plan.resolved.partitioner is None)
        self.replaced = 0
        self.first_replaced: str | None = None
        #: the highest line number skipped as undecodable in the current segment
        self.skipped_upto = 0
        self._numbers: dict[str, LineNumbers] = {}

    def where(self, segment: Segment, number: int, offset: int) -> str:
        numbers = None if segment.start == 0 else self._numbers.setdefault(segment.path, LineNumbers(segment.path))
        return f"{segment.path}:{file_line(segment, number, offset, numbers)}"

    def line_failed(self, segment: Segment, number: int, offset: int, line: str, exc: Exception, function: str = "map_function") -> None:
        """Quarantine the line, or raise the task's error."""
        if isinstance(exc, keys.InvalidKey):
            raise keys.InvalidKey(f"{exc} (emitted by {function} for {self.where(segment, number, offset)})") from None
        if isinstance(exc, MrLuigiError):
            raise exc
        tb = exc.__traceback__
        if tb is not None and tb.tb_next is None:
            raise _malformed_output(function, self.where(segment, number, offset), exc) from exc
        if isinstance(exc, self.skip):
            reason, error = reason_of(exc, function)
            self.quarantine.add(self.where(segment, number, offset), reason, error, self._fields(segment, number, offset, line))
            return
        raise UserCodeError(function, self.where(segment, number, offset), exc) from exc

    def _fields(self, segment: Segment, number: int, offset: int, line: str) -> dict[str, Any]:
        return {"file": segment.path, "line": file_line(segment, number, offset, self._numbers.get(segment.path)),
                "offset": offset, **raw_fields(line)}

    def undecodable(self, segment: Segment) -> Undecodable:
        """The reader's handler for lines that do not decode, per ``decode_errors``."""
        encoding = self.decoding.encoding
        self.skipped_upto = 0

        def skip(number: int, offset: int, raw: bytes) -> None:
            self.skipped_upto = number
            text = raw.decode(encoding, "replace")
            self.quarantine.add(self.where(segment, number, offset), UNDECODABLE,
                                f"not valid {encoding} (set encoding, or decode_errors = \"replace\")",
                                self._fields(segment, number, offset, text))
            return None

        def replace(number: int, offset: int, raw: bytes) -> str:
            self.replaced += 1
            if self.first_replaced is None:
                self.first_replaced = self.where(segment, number, offset)
            return raw.decode(encoding, "replace")

        return skip if self.decoding.strict else replace

    def decode_stats(self) -> dict[str, Any]:
        if not self.replaced:
            return {}
        return {"decode_errors": self.replaced, "first_decode_error": self.first_replaced}

    def close(self) -> None:
        for numbers in self._numbers.values():
            numbers.close()


def _malformed_output(function: str, where: str, exc: Exception) -> RecordError:
    hint = ""
    if isinstance(exc, (TypeError, ValueError)) and ("unpack" in str(exc) or "iterable" in str(exc)):
        hint = f" ({function} must return or yield (key, value) pairs)"
    elif isinstance(exc, TypeError) and "unhashable" in str(exc):
        hint = " (keys must be hashable: use a tuple, not a list, dict or set)"
    return RecordError(f"{function} failed on {where}: {type(exc).__name__}: {exc}{hint}")


def _map_segment(plan: JobPlan, segment: Segment, buffer: dict[Any, list[Any]], stats: dict[str, Any], output: MapOutput, errors: MapErrors) -> None:
    """The map hot loop without a combiner: call the user's map, group values by key.

    This and :func:`_map_segment_combining` are two loops on purpose: one loop
    with a branch would pay for the branch on every pair. The buffer's size is
    checked once per line, and only compared with a number; a new key that is
    not a ``str`` is checked (see :mod:`mr_luigi.keys`).
    """
    mapper = plan.resolved.map_function
    get = buffer.get
    check_key = errors.check_key
    number = 0
    offset = segment.start
    base = output.lines  # lines read in earlier segments of the split
    check_at = output.check_at - base
    try:
        for number, offset, line in read_lines(segment, errors.decoding, errors.undecodable(segment)):  # noqa: B007
            try:
                for key, value in mapper(line):
                    values = get(key)
                    if values is None:
                        if key.__class__ is not str:
                            check_key(key)
                        buffer[key] = [value]
                    else:
                        values.append(value)
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
            if number >= check_at:
                check_at = output.check(buffer, base + number, offset - segment.start) - base
    finally:
        number = max(number, errors.skipped_upto)
        stats["input_records"] += number
        output.lines += number


def _map_segment_combining(plan: JobPlan, segment: Segment, buffer: dict[Any, list[Any]], stats: dict[str, Any], output: MapOutput, errors: MapErrors) -> None:
    """The map hot loop with a combiner: group values by key, folding long groups."""
    mapper = plan.resolved.map_function
    combiner = _combiner(plan)
    get = buffer.get
    check_key = errors.check_key
    number = folds = 0
    offset = segment.start
    base = output.lines  # lines read in earlier segments of the split
    check_at = output.check_at - base
    try:
        for number, offset, line in read_lines(segment, errors.decoding, errors.undecodable(segment)):  # noqa: B007
            try:
                for key, value in mapper(line):
                    values = get(key)
                    if values is None:
                        if key.__class__ is not str:
                            check_key(key)
                        buffer[key] = [value]
                    else:
                        values.append(value)
                        if len(values) >= COMBINE_EVERY:
                            buffer[key] = [combiner(key, iter(values))]
                            folds += 1
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
            if number >= check_at:
                check_at = output.check(buffer, base + number, offset - segment.start) - base
    finally:
        number = max(number, errors.skipped_upto)
        stats["input_records"] += number
        output.lines += number
        # each fold turned COMBINE_EVERY values into one; run_map adds the
        # values the buffer held when spilled
        stats["map_output_records"] += folds * (COMBINE_EVERY - 1)


def _map_segment_batches(plan: JobPlan, segment: Segment, buffer: dict[Any, list[Any]], stats: dict[str, Any], output: MapOutput, errors: MapErrors) -> None:
    """The map loop for a :func:`~mr_luigi.batch_map` function: lines go to it a block (64 KiB) at a time.

    Blocks are read, decoded and split into lines in C (:func:`read_blocks`),
    so no Python code runs per line.
    """
    records = 0
    base = output.lines
    check_at = output.check_at - base
    try:
        for block in read_blocks(segment, errors.decoding, errors.undecodable(segment)):
            _map_batch(plan, segment, block, buffer, stats, errors)
            records = max(records, block.last_number, errors.skipped_upto)
            if records >= check_at:
                check_at = output.check(buffer, base + records, block.offset + len(block.raw) - segment.start) - base
    finally:
        records = max(records, errors.skipped_upto)
        stats["input_records"] += records
        output.lines += records


def _map_batch(plan: JobPlan, segment: Segment, block: Block, buffer: dict[Any, list[Any]], stats: dict[str, Any],
               errors: MapErrors) -> None:
    """Map one block of lines into the buffer; if the function fails, call it on each line alone.

    The lines that fail alone are then bad records, or fail the task, as in
    a per-line map. Counters the failed call incremented are rolled back, so
    each line counts once.
    """
    mapper = plan.resolved.map_function
    saved = counters.snapshot()
    try:
        pairs = list(mapper(block.lines))
    except MrLuigiError:
        raise
    except Exception:
        counters.restore(saved)
        pairs = []
        for (number, offset), line in zip(block.positions(), block.lines):
            try:
                pairs.extend(mapper([line]))
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
    combiner = _combiner(plan)
    check_key = errors.check_key
    get = buffer.get
    folds = 0
    try:
        for key, value in pairs:
            values = get(key)
            if values is None:
                if key.__class__ is not str:
                    check_key(key)
                buffer[key] = [value]
            else:
                values.append(value)
                if combiner is not None and len(values) >= COMBINE_EVERY:
                    buffer[key] = [combiner(key, iter(values))]
                    folds += 1
    except keys.InvalidKey as exc:
        raise keys.InvalidKey(f"{exc} (emitted by map_function for lines from {segment.path} at byte {block.offset})") from None
    except (TypeError, ValueError) as exc:
        raise RecordError(f"map_function (a batch_map) must return (key, value) pairs: {type(exc).__name__}: {exc} "
                          f"(lines from {segment.path} at byte {block.offset})") from exc
    stats["map_output_records"] += folds * (COMBINE_EVERY - 1)


def checked_combiner(combiner: Callable[[Any, Iterator[Any]], Any]) -> Callable[[Any, Iterator[Any]], Any]:
    """The user's combiner, with its errors reported as such and naming the key.

    A combiner cannot skip a record: it sees part of a key's values, and
    dropping them would change the key's result without a trace.
    """

    def combine(key: Any, values: Iterator[Any]) -> Any:
        try:
            return combiner(key, values)
        except MrLuigiError:
            raise
        except BadRecord as exc:
            raise RecordError(f"combine_function raised BadRecord on key {_shown(key)}: a combiner sees part of a key's "
                              "values and cannot skip them; raise BadRecord in the map or reduce function") from exc
        except Exception as exc:
            raise UserCodeError("combine_function", f"key {_shown(key)}", exc) from exc

    return combine


def _shown(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 200 else text[:200] + "..."


# -- shuffle -----------------------------------------------------------------


def run_shuffle(plan: JobPlan, partition: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Merge one partition's sorted runs from every map into one sorted file.

    At most ``merge_fan_in`` runs are open at once: with more, groups of them
    are first merged into bigger runs (combining when there is a combiner),
    pass after pass, so memory stays bounded whatever the number of runs.
    """
    map_stats = [read_stats(plan.map_dir(index)) for index in range(plan.num_maps)]
    pieces: list[Piece] = []
    total = 0
    for index, stats in enumerate(map_stats):
        folder = plan.map_dir(index)
        for run in stats["runs"]:
            start, end, count = run["partitions"][partition]
            if count:
                pieces.append((folder / run["file"], start, end))
                total += count
    combiner = _combiner(plan)
    fan_in = plan.resolved.config.merge_fan_in
    passes = 0
    map_pieces = len(pieces)
    while len(pieces) > fan_in:
        passes += 1
        pieces = _merge_pass(pieces, fan_in, combiner, out, passes)
    merged = _merge_pieces(pieces, combiner)
    if progress is not None:
        progress.total, progress.unit = total, "records merged"
        merged = counted(merged, lambda n: progress(n, f"{map_pieces} runs, {passes} earlier merge passes"))
    count = write_run(out / SHUFFLE_DATA, merged)
    for path in out.glob(f"{_MERGE_PREFIX}*"):
        path.unlink()
    return {
        "map_pieces": map_pieces,
        "merge_passes": passes,
        "shuffle_output_records": count,
        "shuffle_output_bytes": (out / SHUFFLE_DATA).stat().st_size,
    }


def check_bad_records(plan: JobPlan, task_stats: list[dict[str, Any]]) -> dict[str, int]:
    """Fail the job if its tasks rejected more records than ``max_bad_records`` allows.

    The barrier checks the maps' bad records before any merging; the final
    step checks them with the reduces' before publishing anything.
    """
    limit = BadRecordLimit.from_config(plan.config.max_bad_records)
    bad = sum(s.get("bad_records", 0) for s in task_stats)
    total = sum(s.get("input_records", 0) for s in task_stats)
    if bad and limit.exceeded(bad, total):
        by_reason = sum_counters(s["counters"] for s in task_stats).get(BAD_RECORDS_GROUP, {})
        raise TooManyBadRecords(too_many_message(by_reason, total, limit, plan.quarantine_dir))
    return {"bad_records": bad, "input_records": total}


Piece = tuple[Path, int, int | None]  # a byte range of a run file; None: to the end
_MERGE_PREFIX = "merge-"


def _merge_pass(pieces: list[Piece], fan_in: int, combiner: Any, out: Path, number: int) -> list[Piece]:
    """Merge groups of ``fan_in`` pieces into new runs, deleting merged runs of earlier passes."""
    merged: list[Piece] = []
    for i in range(0, len(pieces), fan_in):
        group = pieces[i : i + fan_in]
        if len(group) == 1:
            merged.append(group[0])
            continue
        path = out / f"{_MERGE_PREFIX}{number:03d}-{i // fan_in:05d}"
        write_run(path, _merge_pieces(group, combiner))
        merged.append((path, 0, None))
        for source, _, _ in group:
            if source.parent == out and source.name.startswith(_MERGE_PREFIX):
                source.unlink()
    return merged


def _merge_pieces(pieces: list[Piece], combiner: Any) -> Iterator[tuple[Any, Any]]:
    """Stream the k-way merge of sorted pieces, combined when there is a combiner."""
    streams = [read_run(path, start, end, MERGE_BUFFER) for path, start, end in pieces]

    def heads() -> list[Any]:
        return [next(map(first, read_run(path, start, end)), None) for path, start, end in pieces]

    merged = checked_merge(streams, heads)
    return merged if combiner is None else combine_sorted(merged, combiner)


# -- reduce ------------------------------------------------------------------


def run_reduce(plan: JobPlan, partition: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Call the user's reduce once per key; write text lines and the keys in order."""
    reducer = plan.resolved.reduce_function
    grouped = group_by_key if plan.resolved.combine_function else group_lists_by_key
    render = line_renderer(plan)
    source = plan.reduce_input_dir(partition) / SHUFFLE_DATA
    records: Iterator[Any] = read_run(source)
    if progress is not None:
        progress.total = read_stats(plan.reduce_input_dir(partition))["shuffle_output_records"]
        progress.unit = "records reduced"
        records = counted(records, progress)
    name = part_name(partition)
    groups = written = 0
    skip = (BadRecord, *plan.resolved.skip_types)
    quarantine = Quarantine(plan.job_dir, "reduce", partition, BadRecordLimit.from_config(plan.config.max_bad_records))
    with open(out / name, "w", encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as text, \
            open(out / KEYS_FILE, "wb", buffering=BUFFER_SIZE) as keys_fh, closing(quarantine):
        done: list[Any] = []
        for key, values in grouped(records):
            groups += 1
            try:
                value = reducer(key, values)
            except MrLuigiError:
                raise
            except Exception as exc:
                if not isinstance(exc, skip):
                    raise UserCodeError("reduce_function", f"key {_shown(key)}, partition {partition}", exc) from exc
                reason, error = reason_of(exc, "reduce_function")
                quarantine.add(f"key {_shown(key)} (partition {partition})", reason, error, {"partition": partition, "key": _shown(key)})
                continue
            text.write(render(key, value))
            done.append(key)
            written += 1
            if len(done) >= 4096:
                write_records(keys_fh, done)
                done = []
        write_records(keys_fh, done)
    return {"reduce_input_groups": groups, "output_records": written, "output_bytes": (out / name).stat().st_size,
            "bad_records": quarantine.total}


_OUTPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def line_renderer(plan: JobPlan) -> Callable[[Any, Any], str]:
    """How one reduced key and value become an output line, per the config.

    ``tsv`` writes ``key<TAB>value``; ``jsonl`` writes the value as one JSON
    line. With ``named_outputs`` the key's first item names the output file
    and is left out of the line.
    """
    value_only = plan.config.output_format == "jsonl"
    if not plan.config.named_outputs:
        return render_json_line_of if value_only else render_line

    def render_named(key: Any, value: Any) -> str:
        if type(key) is not tuple or len(key) < 2 or type(key[0]) is not str or not _OUTPUT_NAME.fullmatch(key[0]):
            raise RecordError(
                f"with named_outputs = true every key must be a (name, key) tuple whose name can be a file name "
                f"(letters, digits, '_', '.', '-'), got {key!r}"
            )
        if value_only:
            return render_json_line(value, key)
        return render_line(key[1] if len(key) == 2 else key[1:], value)

    return render_named


def render_json_line_of(key: Any, value: Any) -> str:
    return render_json_line(value, key)


# -- final merge -------------------------------------------------------------


def write_final_outputs(plan: JobPlan, journal: Journal, inject: Callable[[str], None] = lambda point: None) -> tuple[int, list[str]]:
    """Publish the job's results, in key order; return the line count and output names.

    By default: the part files and final_output.txt, every key once. With
    named outputs: one ``<name>.txt`` per name, each in key order. Each name
    goes to the ``journal`` before its file is written (see
    :mod:`mr_luigi.publish`). ``inject`` is the fault hook (see
    :mod:`mr_luigi.faults`), called half way.
    """
    out = plan.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_outputs(out, plan.num_partitions)
    parts = [plan.reduce_output_dir(p) for p in range(plan.num_partitions)]
    streams = [_keyed_lines(folder, p) for p, folder in enumerate(parts)]

    def heads() -> list[Any]:
        return [next(read_run(folder / KEYS_FILE), None) for folder in parts]

    merged = checked_merge(streams, heads)
    if plan.config.named_outputs:
        return _write_named_outputs(out, merged, journal, inject)
    for p, folder in enumerate(parts):
        if p == 1:
            inject("parts")
        journal.add(part_name(p))
        atomic.publish_file(folder / part_name(p), out / part_name(p))
    inject("middle")
    journal.add(FINAL_OUTPUT)
    lines = _write_lines(out / FINAL_OUTPUT, merged, inject)
    return lines, [part_name(p) for p in range(plan.num_partitions)] + [FINAL_OUTPUT]


def _write_lines(path: Path, keyed_lines: Iterator[tuple[Any, str]], inject: Callable[[str], None]) -> int:
    """Write the lines to ``path`` atomically; return their count.

    The fault hook's ``writing`` point comes after the first line, with the
    file half written under its temporary name.
    """
    lines = 0
    with atomic.atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as fh:
        for _, line in islice(keyed_lines, 1):
            fh.write(line)
            lines += 1
        fh.flush()
        inject("writing")
        for _, line in keyed_lines:
            fh.write(line)
            lines += 1
    return lines


def _no_fault(point: str) -> None:
    """The fault hook once its point has passed."""


FINAL_OUTPUT = "final_output.txt"


def _write_named_outputs(out: Path, merged: Iterator[tuple[Any, str]], journal: Journal, inject: Callable[[str], None]) -> tuple[int, list[str]]:
    """Write each name's lines (contiguous in the merged order) to ``<name>.txt``, atomically."""
    names: list[str] = []
    lines = 0
    for name, group in groupby(merged, key=lambda record: record[0][0]):
        path = out / f"{name}.txt"
        journal.add(path.name)
        lines += _write_lines(path, group, inject if not names else _no_fault)
        names.append(path.name)
        inject("middle")
    return lines, names


def publish_bad_records(plan: JobPlan, journal: Journal) -> None:
    """Publish the tasks' bad records to ``<output_dir>/_bad_records/``, as one folder (none if there were none)."""
    target = quarantine_folder(plan.output_dir)
    found = sorted(plan.quarantine_dir.glob("*.jsonl")) if plan.quarantine_dir.is_dir() else []
    journal.add(target.name)
    if target.exists():
        shutil.rmtree(target)
    if not found:
        return
    with atomic.atomic_directory(target) as tmp:
        for path in found:
            shutil.copyfile(path, tmp / path.name)


def _remove_stale_outputs(out: Path, num_partitions: int) -> None:
    """Remove part files beyond this job's partitions and leftovers of killed writes.

    An unfinished earlier run with more partitions may have left them; only
    names this engine writes are touched.
    """
    for path in out.iterdir():
        match = _PART_NAME.fullmatch(path.name)
        if (match and int(match.group(1)) >= num_partitions) or (path.is_file() and atomic.is_temporary(path.name)):
            path.unlink()
        elif path.is_dir() and atomic.is_temporary(path.name):
            shutil.rmtree(path, ignore_errors=True)


def _keyed_lines(folder: Path, partition: int) -> Iterator[tuple[Any, str]]:
    with open(folder / part_name(partition), encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as fh:
        yield from zip(read_run(folder / KEYS_FILE), fh, strict=True)
