"""The reduce phase: the user's reduce once per key of a partition, written as text lines, with the keys in order.

Beside each partition's text lines, a keys file holds the (input) key of
each line, so that the final step can merge the partitions in key order.
A :func:`~mr_luigi.pair_reducer` writes the pairs it yields under its own
keys, in the order it yields them, after the lines of earlier input keys.
The pairs of a ``reduce_final`` hook go to a file of their own, which the
final step puts after the partition's lines (they have no input key).
"""

from __future__ import annotations

import re
import shutil
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Iterator

from mr_luigi.engine import hooks
from mr_luigi.engine.mapping import emits_pairs
from mr_luigi.engine.phases.combining import shown_key
from mr_luigi.engine.phases.shuffle import SHUFFLE_DATA
from mr_luigi.engine.plan import STEP_RECORDS, JobPlan, part_name
from mr_luigi.engine.progress import Progress, counted
from mr_luigi.engine.quarantine import BadRecord, BadRecordLimit, Quarantine, reason_of
from mr_luigi.engine.stats import read_stats
from mr_luigi.errors import MrLuigiError, RecordError, UserCodeError
from mr_luigi.io.merge import group_by_key, group_lists_by_key
from mr_luigi.io.records import BATCH_SIZE, BUFFER_SIZE, read_run, write_records
from mr_luigi.io.seal import Seal
from mr_luigi.io.textformat import render_json_line, render_line, render_text_line

KEYS_FILE = "keys"
#: a pair reducer's lines per output name, while its partition is reduced (see _NamedPairOutput)
NAMED_FOLDER = "named"
#: lines a pair reducer with named outputs holds in memory before it appends them to their names' files
NAMED_FLUSH_LINES = 8192
#: the lines of a ``reduce_final`` hook's pairs, after the partition's own
FINAL_HOOK_LINES = "final_hook_lines"


def run_reduce(plan: JobPlan, partition: int, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Call the user's reduce once per key; write text lines and the keys in order (records, before the last step)."""
    reducer = plan.resolved.reduce_function
    pairs_of = _checked_pairs if emits_pairs(reducer) else None
    # one (key, value) record per value with a combiner or sort_values; (key, [values]) otherwise
    grouped = group_by_key if plan.resolved.combine_function or plan.config.sort_values else group_lists_by_key
    source = plan.reduce_input_dir(partition) / SHUFFLE_DATA
    records: Iterator[Any] = read_run(source, seal=plan.seal)
    if progress is not None:
        progress.total = read_stats(plan.reduce_input_dir(partition))["shuffle_output_records"]
        progress.unit = "records reduced"
        records = counted(records, progress)
    groups = 0
    skip = (BadRecord, *plan.resolved.skip_types)
    quarantine = Quarantine(plan.job_dir, "reduce", partition, BadRecordLimit.from_config(plan.config.max_bad_records))
    where = f"reduce {partition}"
    hooks.call_init(plan.resolved.reduce_init, "reduce_init", where)
    if plan.writes_records:
        output: _RecordOutput | _TextOutput | _NamedPairOutput = _RecordOutput(out, plan.seal)
    elif pairs_of is not None and plan.config.named_outputs:
        output = _NamedPairOutput(out, partition, line_renderer(plan), plan.seal)
    else:
        output = _TextOutput(out, partition, line_renderer(plan), plan.seal)
    with closing(output), closing(quarantine):
        add = output.add
        for key, values in grouped(records):
            groups += 1
            try:
                if pairs_of is None:
                    value = reducer(key, values)
                else:
                    pairs = pairs_of(reducer(key, values), key)
            except MrLuigiError:
                raise
            except Exception as exc:
                if not isinstance(exc, skip):
                    raise UserCodeError("reduce_function", f"key {shown_key(key)}, partition {partition}", exc) from exc
                reason, error = reason_of(exc, "reduce_function")
                quarantine.add(f"key {shown_key(key)} (partition {partition})", reason, error, {"partition": partition, "key": shown_key(key)})
                continue
            if pairs_of is None:
                add(key, key, value)
            else:
                for new_key, new_value in pairs:
                    add(key, new_key, new_value)
        output.add_final(hooks.final_pairs(plan.resolved.reduce_final, "reduce_final", where))
    return {"reduce_input_groups": groups, "output_records": output.count, "output_bytes": output.size(),
            "bad_records": quarantine.total}


class _TextOutput:
    """A reduce's output lines, and beside them the input key of each line (the final step merges by it).

    A ``reduce_final`` hook's lines go to a file of their own: they have no input key.
    """

    def __init__(self, out: Path, partition: int, render: Callable[[Any, Any], str], seal: Seal | None) -> None:
        self.out, self.path, self.render, self.seal = out, out / part_name(partition), render, seal
        self.text = open(self.path, "w", encoding="utf-8", newline="\n", buffering=BUFFER_SIZE)  # noqa: SIM115
        self.keys_fh = open(out / KEYS_FILE, "wb", buffering=BUFFER_SIZE)  # noqa: SIM115
        self.keys: list[Any] = []
        self.count = 0

    def add(self, input_key: Any, key: Any, value: Any) -> None:
        self.text.write(self.render(key, value))
        self.keys.append(input_key)
        self.count += 1
        if len(self.keys) >= 4096:
            write_records(self.keys_fh, self.keys, self.seal)
            self.keys = []

    def add_final(self, pairs: list[tuple[Any, Any]]) -> None:
        if pairs:
            with open(self.out / FINAL_HOOK_LINES, "w", encoding="utf-8", newline="\n") as fh:
                fh.writelines(self.render(key, value) for key, value in pairs)
            self.count += len(pairs)

    def size(self) -> int:
        return self.path.stat().st_size + _size(self.out / FINAL_HOOK_LINES)

    def close(self) -> None:
        try:
            write_records(self.keys_fh, self.keys, self.seal)
        finally:
            self.keys_fh.close()
            self.text.close()


class _NamedPairOutput:
    """A :func:`~mr_luigi.pair_reducer`'s lines with named outputs: each name's lines apart, then one after the other.

    The final step merges the partitions by the keys file and writes one
    file per name (see :mod:`mr_luigi.engine.phases.final`), so the lines of a
    partition must come in the order of their merge keys. A plain reducer's
    input keys are ``(name, key)`` already; a pair reducer names its own
    outputs, so each line's merge key is ``(its output name, the input key)``.
    Lines are kept per name (in memory up to :data:`NAMED_FLUSH_LINES` lines,
    then appended to a file per name) and put together, name by name, when
    the partition is done.
    """

    def __init__(self, out: Path, partition: int, render: Callable[[Any, Any], str], seal: Seal | None) -> None:
        self.out, self.render, self.seal = out, render, seal
        self.path = out / part_name(partition)
        self.folder = out / NAMED_FOLDER
        self.folder.mkdir(exist_ok=True)
        self.held_by_name: dict[str, tuple[list[str], list[Any]]] = {}  # name -> its lines and merge keys not yet appended
        self.held = 0
        self.count = 0

    def add(self, input_key: Any, key: Any, value: Any) -> None:
        line = self.render(key, value)  # checks that the key is (name, key) with a name that can be a file name
        name = key[0]
        held = self.held_by_name.get(name)
        if held is None:
            held = self.held_by_name[name] = ([], [])
        held[0].append(line)
        held[1].append((name, input_key))
        self.count += 1
        self.held += 1
        if self.held >= NAMED_FLUSH_LINES:
            self._flush()

    def add_final(self, pairs: list[tuple[Any, Any]]) -> None:
        assert not pairs, "reduce_final is refused with named_outputs (config.validate)"

    def _flush(self) -> None:
        for name, (lines, keys) in self.held_by_name.items():
            if lines:
                with open(self.folder / f"{name}.lines", "a", encoding="utf-8", newline="\n") as fh:
                    fh.writelines(lines)
                with open(self.folder / f"{name}.keys", "ab") as fh:
                    write_records(fh, keys, self.seal)
                lines.clear()
                keys.clear()
        self.held = 0

    def size(self) -> int:
        return self.path.stat().st_size

    def close(self) -> None:
        self._flush()
        with open(self.path, "wb") as text, open(self.out / KEYS_FILE, "wb", buffering=BUFFER_SIZE) as keys_fh:
            for name in sorted(self.held_by_name):
                with open(self.folder / f"{name}.lines", "rb") as fh:
                    shutil.copyfileobj(fh, text)
                write_records(keys_fh, read_run(self.folder / f"{name}.keys", seal=self.seal), self.seal)
        shutil.rmtree(self.folder)


class _RecordOutput:
    """A step's reduced ``(key, value)`` records, with their Python types, for the next step's maps."""

    def __init__(self, out: Path, seal: Seal | None) -> None:
        self.path, self.seal = out / STEP_RECORDS, seal
        self.fh = open(self.path, "wb", buffering=BUFFER_SIZE)  # noqa: SIM115
        self.batch: list[tuple[Any, Any]] = []
        self.count = 0

    def add(self, input_key: Any, key: Any, value: Any) -> None:
        self.batch.append((key, value))
        if len(self.batch) >= BATCH_SIZE:
            self.count += write_records(self.fh, self.batch, self.seal)
            self.batch = []

    def add_final(self, pairs: list[tuple[Any, Any]]) -> None:
        self.batch.extend(pairs)

    def size(self) -> int:
        return self.path.stat().st_size

    def close(self) -> None:
        try:
            self.count += write_records(self.fh, self.batch, self.seal)
            self.batch = []
        finally:
            self.fh.close()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _checked_pairs(result: Any, key: Any) -> list[tuple[Any, Any]]:
    """All the pairs a pair reducer gives for a key (before any is written: a key that fails writes none)."""
    try:
        items = iter(result)
    except TypeError:
        raise RecordError(f"reduce_function (a pair_reducer) must yield (key, value) tuples, but returned "
                          f"{shown_key(result)} for key {shown_key(key)}") from None
    pairs = list(items)
    for item in pairs:
        if type(item) is not tuple or len(item) != 2:
            raise RecordError(f"reduce_function (a pair_reducer) must yield (key, value) tuples, got {shown_key(item)} "
                              f"for key {shown_key(key)}")
    return pairs


_OUTPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def line_renderer(plan: JobPlan) -> Callable[[Any, Any], str]:
    """How one reduced key and value become an output line, per the config.

    ``tsv`` writes ``key<TAB>value``; ``jsonl`` writes the value as one JSON
    line; ``lines`` writes the value, a line of text, as it is. With ``named_outputs`` the key's first item names the output file
    and is left out of the line.
    """
    value_only = plan.config.output_format == "jsonl"
    if plan.config.output_format == "lines":
        return render_text_line_of
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
        try:
            return render_line(key[1] if len(key) == 2 else key[1:], value)
        except RecordError as exc:  # the line's key alone would not say which output
            raise RecordError(f"{exc} (named output {key[0]!r})") from None

    return render_named


def render_json_line_of(key: Any, value: Any) -> str:
    return render_json_line(value, key)


def render_text_line_of(key: Any, value: Any) -> str:
    return render_text_line(value, key)
