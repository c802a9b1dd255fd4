"""The map phase: the user's map over one split, grouped by key, combined, spilled in sorted runs.

The per-line loops here are the hot path: they keep per-record work to a
minimum, so there is one loop per case (per line, combining, batches)
rather than one loop with branches.
"""

from __future__ import annotations

import zlib
from collections import _count_elements  # type: ignore[attr-defined]  # Counter.update's C loop
from operator import add
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from mr_luigi.engine import aggregations, counters, hooks
from mr_luigi.engine.mapping import BatchResult, KeyCounts, Record, is_batch_map, is_file_map, takes_record
from mr_luigi.engine.phases.combining import combiner_of, shown_key
from mr_luigi.engine.phases.reduce import line_renderer
from mr_luigi.engine.plan import JobPlan, describe_change, file_identity, part_name
from mr_luigi.engine.progress import Progress
from mr_luigi.engine.quarantine import (
    BadRecord,
    BadRecordLimit,
    Quarantine,
    raw_fields,
    reason_of,
)
from mr_luigi.errors import (
    InputChanged,
    InputError,
    MrLuigiError,
    RecordError,
    UnreadableInput,
    UserCodeError,
)
from mr_luigi.io import keys
from mr_luigi.io.decoding import UNDECODABLE
from mr_luigi.io.partition import hash_partition
from mr_luigi.io.records import BUFFER_SIZE, read_run
from mr_luigi.io.seal import Seal
from mr_luigi.io.spill import MapOutput, checked_partitioner
from mr_luigi.io.splits import (
    Block,
    LineNumbers,
    Segment,
    Undecodable,
    file_line,
    read_blocks,
    read_lines,
)

#: In-mapper combining folds a key's buffered values once this many are held.
COMBINE_EVERY = 64
#: Bytes of input a batch map gets per call. Larger blocks would merge fewer subtotals (a key repeated in
#: a block is merged once), but measured they are slower: a map's CPU for 25 MB of word count was 1.97 s
#: with 64 KiB blocks, 2.48 s with 256 KiB and 2.47 s with 1 MiB; of log analysis 0.80, 0.93 and 0.99 s.
#: A 64 KiB block and the structures built from it stay in the CPU's cache.
BATCH_BYTES = 1 << 16


def run_map(plan: JobPlan, index: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Map one split into sorted runs in ``out``, spilling when over the memory budget."""
    split = plan.splits[index]
    combiner = combiner_of(plan)
    stats: dict[str, Any] = {"input_records": 0, "input_bytes": split.size, "map_output_records": 0}
    errors = MapErrors(plan, Quarantine(plan.job_dir, "map", index, BadRecordLimit.from_config(plan.config.max_bad_records)))

    def report(lines: int, done: int) -> None:
        assert progress is not None
        progress(done, f"{lines:,} lines, {len(output.index)} spills, {errors.quarantine.total:,} bad records")

    output = MapOutput(out, plan.num_partitions, plan.config.map_memory_mb, combiner, _partition_function(plan),
                       report if progress is not None else None, plan.config.sort_values, plan.seal)
    run = MapRun(plan, combiner, stats, output, errors)
    where = f"map {index}"
    hooks.call_init(plan.resolved.map_init, "map_init", where)
    if combiner is not None:
        hooks.call_init(plan.resolved.combine_init, "combine_init", where)
    if plan.reads_records:
        loop = _map_step_records
    elif takes_record(run.mapper):
        loop = _map_segment_with_record
    elif is_file_map(run.mapper):
        loop = _map_whole_file
    else:
        loop = _map_segment_batches if is_batch_map(run.mapper) else _map_segment_combining if combiner else _map_segment
    try:
        for segment in split.segments:
            try:
                check_unchanged(plan, segment.path)
                loop(run, segment)
            except MrLuigiError:
                raise
            except (OSError, EOFError, zlib.error) as exc:
                raise UnreadableInput(f"cannot read input {segment.path!r}: {exc}") from exc
            check_unchanged(plan, segment.path)  # not changed while it was read either
            output.bytes_done += segment.end - segment.start
        _add_pairs(run, hooks.final_pairs(plan.resolved.map_final, "map_final", where), "map_final", where)
    finally:
        errors.close()
        errors.quarantine.close()
    stats["bad_records"] = errors.quarantine.total
    stats.update(errors.decode_stats())
    run.spill()
    stats["map_output_records"] += output.spilled_values
    if combiner:
        stats["combine_input_records"] = stats["map_output_records"]
        stats["combine_output_records"] = output.output_records
    stats["spills"] = len(output.index)
    stats["runs"] = output.index
    return stats


class MapRun:
    """What the map loops share while they map one split.

    Values are grouped by key in ``buffer`` as they arrive; with a
    combiner, long groups are folded as they grow (in-mapper combining). The
    partition is computed once per distinct key, when a run is written.
    """

    __slots__ = ("buffer", "combiner", "errors", "mapper", "output", "stats", "summing", "sums", "summed")

    def __init__(self, plan: JobPlan, combiner: Callable[[Any, Any], Any] | None, stats: dict[str, Any], output: MapOutput,
                 errors: MapErrors) -> None:
        self.mapper = plan.resolved.map_function
        self.combiner = combiner
        self.buffer: dict[Any, list[Any]] = {}
        self.stats = stats
        self.output = output
        self.errors = errors
        #: the combiner is the named "sum": a batch map's subtotals are added up in ``sums`` (see _sum_batch)
        self.summing = aggregations.name_of(plan.resolved.combine_function) == "sum"
        #: key -> subtotal of what batches gave since the last spill, and how many values that was (see :meth:`spill`)
        self.sums: dict[Any, Any] = {}
        self.summed = 0
        if self.summing:
            output.totals = self.sums
            output.spiller = self.spill

    def spill(self) -> None:
        """Write the buffer and the running totals as one run (the map output's ``spiller``).

        When only totals are held (a batch map summed by name), they are
        written as they are: no key is moved into the buffer or combined.
        """
        sums = self.sums
        if sums and not self.buffer:
            self._check_keys(sums)
            self.output.write_run(list(sums.items()))
            self.stats["map_output_records"] += self.summed
            self._reset_sums()
            return
        if sums:
            buffer = self.buffer
            self._check_keys(key for key in sums if key not in buffer)
            for key, total in sums.items():
                values = buffer.get(key)
                if values is None:
                    buffer[key] = [total]
                else:
                    values.append(total)
            # the spill counts each subtotal as one value; it stood for ``summed`` values in all
            self.stats["map_output_records"] += self.summed - len(sums)
            self._reset_sums()
        self.output.spill(self.buffer)

    def _reset_sums(self) -> None:
        self.sums = self.output.totals = {}
        self.summed = 0

    def _check_keys(self, new_keys: Any) -> None:
        check_key = self.errors.check_key
        try:
            for key in new_keys:
                if key.__class__ is not str:
                    check_key(key)
        except keys.InvalidKey as exc:
            raise keys.InvalidKey(f"{exc} (emitted by map_function, a batch_map summed by combine_function = \"sum\")") from None


def _add_pairs(run: MapRun, pairs: Any, function: str, where: str) -> None:
    """Buffer pairs that come all at once (a ``map_final`` hook's, a file map's) like a line's."""
    buffer, combiner = run.buffer, run.combiner
    try:
        for key, value in pairs:
            values = buffer.get(key)
            if values is None:
                run.errors.check_key(key)
                buffer[key] = [value]
            else:
                values.append(value)
                if combiner is not None and len(values) >= COMBINE_EVERY:
                    buffer[key] = [combiner(key, iter(values))]
                    run.stats["map_output_records"] += COMBINE_EVERY - 1
    except keys.InvalidKey as exc:
        raise keys.InvalidKey(f"{exc} (emitted by {function}, {where})") from None
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{function} must return or yield (key, value) pairs with hashable keys ({where}): "
                          f"{type(exc).__name__}: {exc}") from None


def _map_step_records(run: MapRun, segment: Segment) -> None:
    """The map of a later step of a multi-step job: ``map(key, value)`` on each record the step before reduced."""
    mapper, combiner, buffer, output, errors = run.mapper, run.combiner, run.buffer, run.output, run.errors
    get = buffer.get
    check_key = errors.check_key
    number = 0
    base = output.lines
    check_at = output.check_at - base
    folds = 0
    try:
        for number, (key, value) in enumerate(read_run(Path(segment.path), seal=run.output.seal), 1):
            try:
                for new_key, new_value in mapper(key, value):
                    values = get(new_key)
                    if values is None:
                        if new_key.__class__ is not str:
                            check_key(new_key)
                        buffer[new_key] = [new_value]
                    else:
                        values.append(new_value)
                        if combiner is not None and len(values) >= COMBINE_EVERY:
                            buffer[new_key] = [combiner(new_key, iter(values))]
                            folds += 1
            except Exception as exc:
                errors.record_failed(segment.path, number, key, value, exc)
            if number >= check_at:
                check_at = output.check(buffer, base + number) - base
    finally:
        run.stats["input_records"] += number
        output.lines += number
        run.stats["map_output_records"] += folds * (COMBINE_EVERY - 1)


def _map_whole_file(run: MapRun, segment: Segment) -> None:
    """The map of a :func:`~mr_luigi.file_map` function: called once with the file's path (the segment is the whole file)."""
    try:
        pairs = list(run.mapper(segment.path))
    except MrLuigiError:
        raise
    except Exception as exc:
        run.errors.file_failed(segment.path, exc)
        pairs = []
    _add_pairs(run, pairs, "map_function", segment.path)
    output = run.output
    run.stats["input_records"] += 1
    output.lines += 1
    output.check(run.buffer, output.lines, segment.end - segment.start, estimate=True)


def run_map_only(plan: JobPlan, index: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """A map-only job's map: its pairs written as text lines, in input order, to its own part file.

    No buffer, no sort, no spill: each pair is rendered as it comes. Bad
    records and undecodable lines are handled as in any map.
    """
    split = plan.splits[index]
    mapper = plan.resolved.map_function
    render = line_renderer(plan)
    errors = MapErrors(plan, Quarantine(plan.job_dir, "map", index, BadRecordLimit.from_config(plan.config.max_bad_records)))
    stats: dict[str, Any] = {"input_records": 0, "input_bytes": split.size, "map_output_records": 0}
    batch, with_record, whole_files = is_batch_map(mapper), takes_record(mapper), is_file_map(mapper)
    name = part_name(index)
    done_bytes = 0
    where = f"map {index}"
    hooks.call_init(plan.resolved.map_init, "map_init", where)
    try:
        with open(out / name, "w", encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as text:
            for segment in split.segments:
                check_unchanged(plan, segment.path)
                try:
                    if plan.reads_records:
                        lines, written = _map_only_records(mapper, segment, errors, text.write, render, plan.seal)
                    elif whole_files:
                        lines, written = _map_only_file(mapper, segment, errors, text.write, render)
                    elif batch:
                        lines, written = _map_only_batches(mapper, segment, errors, text.write, render)
                    else:
                        lines, written = _map_only_lines(mapper, segment, errors, text.write, render, with_record)
                except MrLuigiError:
                    raise
                except (OSError, EOFError, zlib.error) as exc:
                    raise UnreadableInput(f"cannot read input {segment.path!r}: {exc}") from exc
                check_unchanged(plan, segment.path)
                stats["input_records"] += lines
                stats["map_output_records"] += written
                done_bytes += segment.end - segment.start
                if progress is not None:
                    progress(done_bytes, f"{stats['input_records']:,} lines, {errors.quarantine.total:,} bad records")
            for key, value in hooks.final_pairs(plan.resolved.map_final, "map_final", where):
                text.write(render(key, value))
                stats["map_output_records"] += 1
    finally:
        errors.close()
        errors.quarantine.close()
    stats.update(errors.decode_stats(), bad_records=errors.quarantine.total, output_records=stats["map_output_records"],
                 output_bytes=(out / name).stat().st_size)
    return stats


def _map_only_lines(mapper: Callable[..., Any], segment: Segment, errors: MapErrors, write: Callable[[str], Any],
                    render: Callable[[Any, Any], str], with_record: bool) -> tuple[int, int]:
    """Map a segment's lines, writing each pair as a line; return lines read and pairs written."""
    number = written = 0
    lines = _lines_with_records(segment, errors) if with_record else (
        (number, offset, line, None) for number, offset, line in read_lines(segment, errors.decoding, errors.undecodable(segment)))
    try:
        for number, offset, line, record in lines:  # noqa: B007
            try:
                pairs = mapper(line) if record is None else mapper(line, record)
                rendered = []
                for key, value in pairs:  # unpacked here: a malformed output is told from a bug in the map
                    rendered.append(render(key, value))
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
                continue
            for text in rendered:
                write(text)
            written += len(rendered)
    finally:
        lines.close()  # a record reader's file of line numbers
    return max(number, errors.skipped_upto), written


def _map_only_records(mapper: Callable[..., Any], segment: Segment, errors: MapErrors, write: Callable[[str], Any],
                      render: Callable[[Any, Any], str], seal: Seal | None) -> tuple[int, int]:
    """A map-only last step: ``map(key, value)`` on the step before's records, each pair written as a line."""
    number = written = 0
    for number, (key, value) in enumerate(read_run(Path(segment.path), seal=seal), 1):
        try:
            rendered = []
            for new_key, new_value in mapper(key, value):  # unpacked here: a malformed output is told from a bug
                rendered.append(render(new_key, new_value))
        except Exception as exc:
            errors.record_failed(segment.path, number, key, value, exc)
            continue
        for text in rendered:
            write(text)
        written += len(rendered)
    return number, written


def _map_only_file(mapper: Callable[..., Any], segment: Segment, errors: MapErrors, write: Callable[[str], Any],
                   render: Callable[[Any, Any], str]) -> tuple[int, int]:
    """A file map's pairs for one whole file, written as lines; return (1 file read, pairs written)."""
    try:
        pairs = list(mapper(segment.path))
    except MrLuigiError:
        raise
    except Exception as exc:
        errors.file_failed(segment.path, exc)
        return 1, 0
    try:
        rendered = [render(key, value) for key, value in pairs]
    except (TypeError, ValueError) as exc:
        raise RecordError(f"map_function must return or yield (key, value) pairs ({segment.path}): "
                          f"{type(exc).__name__}: {exc}") from None
    for text in rendered:
        write(text)
    return 1, len(rendered)


def _map_only_batches(mapper: Callable[..., Any], segment: Segment, errors: MapErrors, write: Callable[[str], Any],
                      render: Callable[[Any, Any], str]) -> tuple[int, int]:
    """Map a segment a block of lines at a time (a batch_map); a failing block goes line by line."""
    records = written = 0
    for block in read_blocks(segment, errors.decoding, errors.undecodable(segment)):
        saved = counters.snapshot()
        rendered = []
        rejected = None
        try:
            result = mapper(block.lines)
            if result.__class__ is BatchResult:
                result, rejected = result.result, result.bad_lines
            for key, value in pairs_of(result):
                rendered.append(render(key, value))
        except MrLuigiError:
            raise
        except Exception:
            counters.restore(saved)
            rendered = []
            rejected = None
            for (number, offset), line in zip(block.positions(), block.lines):
                try:
                    for key, value in pairs_of(_one_line(mapper, errors, segment, number, offset, line)):
                        rendered.append(render(key, value))
                except Exception as exc:
                    errors.line_failed(segment, number, offset, line, exc)
        if rejected:
            _reject_lines(errors, segment, block, rejected)
        for text in rendered:
            write(text)
        written += len(rendered)
        records = max(records, block.last_number, errors.skipped_upto)
    return max(records, errors.skipped_upto), written


def check_unchanged(plan: JobPlan, path: str) -> None:
    """Fail if an input is not what was planned: its splits would cut it wrongly, or its content is another."""
    planned = plan.input_stats.get(path)
    try:
        now = file_identity(path, plan.resolved.store)
    except OSError as exc:
        raise InputError(f"cannot read input {path!r}: {exc}") from exc
    if planned is not None and now != planned:
        raise InputChanged(f"input {path!r} changed after the job was planned ({describe_change(planned, now)}): "
                           "run the job again to plan it anew")


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
        numbers = None if segment.start == 0 else self._numbers.setdefault(segment.path, LineNumbers(segment.path, segment.store))
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

    def record_failed(self, path: str, number: int, key: Any, value: Any, exc: Exception) -> None:
        """Quarantine a record of the step before that the map failed on, or raise the task's error."""
        where = f"{path} record {number} (key {shown_key(key)})"
        if isinstance(exc, keys.InvalidKey):
            raise keys.InvalidKey(f"{exc} (emitted by map_function for {where})") from None
        if isinstance(exc, MrLuigiError):
            raise exc
        tb = exc.__traceback__
        if tb is not None and tb.tb_next is None:
            raise _malformed_output("map_function", where, exc) from exc
        if isinstance(exc, self.skip):
            reason, error = reason_of(exc, "map_function")
            self.quarantine.add(where, reason, error, {"file": path, "record": number, "key": shown_key(key),
                                                       **raw_fields(repr(value))})
            return
        raise UserCodeError("map_function", where, exc) from exc

    def file_failed(self, path: str, exc: Exception) -> None:
        """Quarantine a whole file a :func:`~mr_luigi.file_map` failed on (a bad record), or raise the task's error."""
        tb = exc.__traceback__
        if isinstance(exc, (TypeError, ValueError)) and tb is not None and tb.tb_next is None:
            raise _malformed_output("map_function", path, exc) from exc
        if isinstance(exc, self.skip):
            reason, error = reason_of(exc, "map_function")
            self.quarantine.add(path, reason, error, {"file": path})
            return
        raise UserCodeError("map_function", path, exc) from exc

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

        latin1 = self.decoding.errors == "latin-1"

        def replace(number: int, offset: int, raw: bytes) -> str:
            self.replaced += 1
            if self.first_replaced is None:
                self.first_replaced = self.where(segment, number, offset)
            return raw.decode("latin-1") if latin1 else raw.decode(encoding, "replace")

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


def _map_segment(run: MapRun, segment: Segment) -> None:
    """The map hot loop without a combiner: call the user's map, group values by key.

    This and :func:`_map_segment_combining` are two loops on purpose: one loop
    with a branch would pay for the branch on every pair. The buffer's size is
    checked once per line, and only compared with a number; a new key that is
    not a ``str`` is checked (see :mod:`mr_luigi.io.keys`).
    """
    mapper, buffer, output, errors = run.mapper, run.buffer, run.output, run.errors
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
        run.stats["input_records"] += number
        output.lines += number


def _map_segment_combining(run: MapRun, segment: Segment) -> None:
    """The map hot loop with a combiner: group values by key, folding long groups."""
    mapper, combiner, buffer, output, errors = run.mapper, run.combiner, run.buffer, run.output, run.errors
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
        run.stats["input_records"] += number
        output.lines += number
        # each fold turned COMBINE_EVERY values into one; run_map adds the
        # values the buffer held when spilled
        run.stats["map_output_records"] += folds * (COMBINE_EVERY - 1)


def _map_segment_with_record(run: MapRun, segment: Segment) -> None:
    """The map loop for a :func:`~mr_luigi.map_with_record` function: each line with its :class:`Record`.

    See :func:`_lines_with_records` for the line numbers.
    """
    mapper, combiner, buffer, output, errors = run.mapper, run.combiner, run.buffer, run.output, run.errors
    get = buffer.get
    check_key = errors.check_key
    number = folds = 0
    offset = segment.start
    base = output.lines
    check_at = output.check_at - base
    try:
        for number, offset, line, record in _lines_with_records(segment, errors):  # noqa: B007
            try:
                for key, value in mapper(line, record):
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
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
            if number >= check_at:
                check_at = output.check(buffer, base + number, offset - segment.start) - base
    finally:
        number = max(number, errors.skipped_upto)
        run.stats["input_records"] += number
        output.lines += number
        run.stats["map_output_records"] += folds * (COMBINE_EVERY - 1)


def _lines_with_records(segment: Segment, errors: MapErrors) -> Iterator[tuple[int, int, str, Record]]:
    """The segment's ``(number, offset, line)``, each with its :class:`Record`.

    A segment that starts mid-file counts the file's lines before it once,
    from the start of the file (newlines counted in C), to number its lines
    as the file does.
    """
    path = segment.path
    numbers = LineNumbers(path, segment.store) if segment.start else None
    first_line = None if numbers is not None else 0
    try:
        for number, offset, line in read_lines(segment, errors.decoding, errors.undecodable(segment)):
            if first_line is None:
                first_line = numbers.number(offset) - number  # type: ignore[union-attr]
            yield number, offset, line, Record(path, first_line + number, offset)
    finally:
        if numbers is not None:
            numbers.close()


def _map_segment_batches(run: MapRun, segment: Segment) -> None:
    """The map loop for a :func:`~mr_luigi.batch_map` function: lines go to it a block (64 KiB) at a time.

    Blocks are read, decoded and split into lines in C (:func:`read_blocks`),
    so no Python code runs per line.
    """
    output, errors = run.output, run.errors
    records = 0
    base = output.lines
    check_at = output.check_at - base
    try:
        for block in read_blocks(segment, errors.decoding, errors.undecodable(segment), BATCH_BYTES):
            _map_batch(run, segment, block)
            records = max(records, block.last_number, errors.skipped_upto)
            if records >= check_at:
                check_at = output.check(run.buffer, base + records, block.offset + len(block.raw) - segment.start) - base
    finally:
        records = max(records, errors.skipped_upto)
        run.stats["input_records"] += records
        output.lines += records


def pairs_of(result: Any) -> Any:
    """A batch map's pairs: a mapping (key -> partial aggregate) gives its items, KeyCounts ``(key, 1)`` each."""
    return result.items() if isinstance(result, Mapping) else result


def _sum_batch(run: MapRun, result: Any, segment: Segment, block: Block) -> None:
    """Add a batch map's :class:`~mr_luigi.KeyCounts` or mapping of subtotals into ``run.sums`` (``combine_function = "sum"``).

    Keys are counted in C (``collections``' own counting loop); a mapping is
    added once per distinct key. Keys are checked when the sums are folded
    into the buffer or written (see :meth:`MapRun.spill`).
    """
    sums = run.sums
    try:
        if isinstance(result, KeyCounts):
            _count_elements(sums, result.counted)
            run.summed += len(result.counted)
        else:
            get = sums.get
            for key, value in result.items():
                if value.__class__ is tuple:
                    old = get(key)
                    if old is None:
                        sums[key] = value
                    elif old.__class__ is tuple and len(old) == len(value):
                        if len(value) == 3:  # unrolled for the usual (count, total, ...) triples: a third of the time
                            a, b, c = old
                            x, y, z = value
                            sums[key] = (a + x, b + y, c + z)
                        else:
                            sums[key] = tuple(map(add, old, value))
                    else:
                        sums[key] = aggregations.sum_tuples([old, value])  # raises, naming what was mixed
                else:
                    sums[key] = get(key, 0) + value
            run.summed += len(result)
    except TypeError as exc:
        raise RecordError(f"map_function (a batch_map with combine_function = \"sum\") gave a key or value that cannot "
                          f"be summed: {exc} (lines from {segment.path} at byte {block.offset})") from exc


def _one_line(mapper: Callable[..., Any], errors: MapErrors, segment: Segment, number: int, offset: int, line: str) -> Any:
    """A batch map called on one line (its batch failed): its result, the line handled if it rejected it."""
    result = mapper([line])
    if result.__class__ is BatchResult:
        if result.bad_lines:
            _reject_lines(errors, segment, Block(number, offset, b"", [line], 1), result.bad_lines)
        result = result.result
    return result


def _reject_lines(errors: MapErrors, segment: Segment, block: Block, rejected: Any) -> None:
    """The lines a batch map named in its :class:`~mr_luigi.BatchResult`, each handled as if it had raised alone."""
    lines = block.lines
    for index, exc in rejected.items():
        if index.__class__ is not int or not 0 <= index < len(lines) or not isinstance(exc, Exception):
            raise RecordError(f"map_function (a batch_map) returned a BatchResult whose bad_lines maps {index!r} to "
                              f"{exc!r}: expected a line's index in the batch (0 to {len(lines) - 1}) and an "
                              f"exception such as BadRecord (lines from {segment.path} at byte {block.offset})")
    indexes = sorted(rejected)
    for index, (number, offset) in zip(indexes, block.positions_of(indexes)):
        errors.line_failed(segment, number, offset, lines[index], rejected[index])


def _map_batch(run: MapRun, segment: Segment, block: Block) -> None:
    """Map one block of lines into the buffer; if the function fails, call it on each line alone.

    The lines that fail alone are then bad records, or fail the task, as in
    a per-line map. Counters the failed call incremented are rolled back, so
    each line counts once.
    """
    mapper, buffer, errors = run.mapper, run.buffer, run.errors
    saved = counters.snapshot()
    rejected = None
    try:
        result = mapper(block.lines)
        if result.__class__ is BatchResult:
            result, rejected = result.result, result.bad_lines
        pairs: Any = result if isinstance(result, (Mapping, KeyCounts)) else list(result)
    except MrLuigiError:
        raise
    except Exception:
        counters.restore(saved)
        rejected = None
        pairs = []
        for (number, offset), line in zip(block.positions(), block.lines):
            try:
                pairs.extend(pairs_of(_one_line(mapper, errors, segment, number, offset, line)))
            except Exception as exc:
                errors.line_failed(segment, number, offset, line, exc)
    if rejected:
        _reject_lines(errors, segment, block, rejected)
    if run.summing and isinstance(pairs, (Mapping, KeyCounts)):
        _sum_batch(run, pairs, segment, block)
        return
    pairs = pairs_of(pairs)
    combiner = run.combiner
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
    run.stats["map_output_records"] += folds * (COMBINE_EVERY - 1)
