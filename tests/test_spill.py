"""The map side's memory budget: spilled runs, multi-pass merges, hot keys."""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, map_with_record
from mr_luigi.engine.config import validate
from mr_luigi.io.records import read_run
from mr_luigi.io.spill import MapOutput, estimate_entry_bytes, estimate_total_bytes
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output


def write_text(folder: Path, files: int, lines: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(3000)]
    folder.mkdir(parents=True)
    paths = []
    for f in range(files):
        path = folder / f"part{f}.txt"
        path.write_text("".join(" ".join(rng.choices(vocabulary, k=rng.randint(0, 12))) + "\n" for _ in range(lines)))
        paths.append(path)
    return paths


def word_counts(paths: list[Path]) -> Counter:
    counts: Counter = Counter()
    for path in paths:
        counts.update(re.findall(r"[a-z0-9']+", path.read_text().lower()))
    return counts


def run_job(inputs: list[Path], out: Path, **changes) -> dict:
    values = dict(
        job_name="spill_test",
        map_function=jobs.count_words,
        reduce_function=jobs.total,
        combine_function=jobs.total,
        input_files=[str(p) for p in inputs],
        output_dir=str(out),
        num_reduce_tasks=3,
        max_retries=0,
        split_size_mb=0.05,
    )
    values.update(changes)
    scheduler = MapReduceScheduler(max_concurrent_tasks=1)
    assert scheduler.execute_job(JobConfig(**values)), scheduler.last_result.failures
    return json.loads((out / "_SUCCESS").read_text())


def map_tasks(manifest: dict) -> list[dict]:
    return [t for t in manifest["tasks"] if t["phase"] == "map"]


# -- MapOutput ---------------------------------------------------------------


def test_map_output_spills_sorted_runs_holding_every_value(tmp_path):
    rng = random.Random(3)
    pairs = [(rng.choice("abcdefghij") * rng.randint(1, 4), i) for i in range(20000)]
    output = MapOutput(tmp_path, num_partitions=3, memory_mb=0.05)
    buffer: dict = {}
    for lines, (key, value) in enumerate(pairs, 1):
        buffer.setdefault(key, []).append(value)
        if lines >= output.check_at:
            output.check(buffer, lines)
    output.spill(buffer)
    assert buffer == {}
    assert len(output.index) > 5, "a 50 KB budget must spill 20,000 values several times"
    seen = []
    for run in output.index:
        for start, end, count in run["partitions"]:
            records = list(read_run(tmp_path / run["file"], start, end))
            assert len(records) == count
            keys = [k for k, _ in records]
            assert keys == sorted(keys) and len(set(keys)) == len(keys), "one record per key in a run"
            seen += [(k, v) for k, values in records for v in values]
    assert sorted(seen) == sorted(pairs)
    assert output.spilled_values == len(pairs)


def _drive(output: MapOutput, lines: int) -> list[int]:
    """The map loop's calls of ``check`` over ``lines`` lines of one small key: the line of each call."""
    buffer: dict = {"k": [1]}
    calls = []
    for line in range(1, lines + 1):
        if line >= output.check_at:
            calls.append(line)
            output.check(buffer, line)
    return calls


def test_a_map_with_a_progress_report_checks_in_every_so_many_lines_and_no_more(tmp_path):
    """With a progress callback the map reports at least every EVERY_LINES lines (20,000), however far
    off the next estimate is; without one it checks only when an estimate is due, a few times in all."""
    every = 20_000
    reports: list[int] = []
    with_report = MapOutput(tmp_path / "a", num_partitions=1, memory_mb=100,
                            report=lambda lines, done: reports.append(lines))
    calls = _drive(with_report, 200_000)
    assert calls == reports
    gaps = [b - a for a, b in zip([0] + reports, reports + [200_000])]
    assert max(gaps) <= every, f"a report came {max(gaps):,} lines after the one before"
    assert len(reports) <= 200_000 // every + 20, f"{len(reports):,} reports: the map checked nearly every line"
    quiet = _drive(MapOutput(tmp_path / "b", num_partitions=1, memory_mb=100), 200_000)
    assert len(quiet) < 200_000 // every, f"without a report the map still checked at {quiet}"


def test_a_buffer_far_under_budget_is_estimated_again_at_the_latest_when_its_lines_quadruple(tmp_path):
    """However slowly it grows, the buffer is estimated again by four times the lines of the last
    estimate: a map whose lines start emitting thousands of values is caught before it is too late."""
    calls = _drive(MapOutput(tmp_path, num_partitions=1, memory_mb=100), 100_000)
    assert len(calls) >= 4
    assert all(later <= 4 * earlier for earlier, later in zip(calls, calls[1:])), calls


@pytest.mark.parametrize("sort_values, combiner, spills", [(True, None, True), (False, None, False),
                                                           (True, max, False), (False, max, False)])
def test_sorted_values_without_a_combiner_count_a_pair_per_value_against_the_budget(tmp_path, sort_values, combiner, spills):
    """Sorting values spills a (key, value) tuple and a list slot per value, and the budget counts them
    from the start: a buffer just under budget as lists is over it when its values are sorted, unless a
    combiner folds them first."""
    buffer = {"k": list(range(10**6, 10**6 + 5_000))}
    as_lists = estimate_entry_bytes(buffer)
    as_pairs = 5_000 * (sys.getsizeof((None, None)) + 8)
    budget = as_lists + as_pairs / 2
    output = MapOutput(tmp_path, num_partitions=1, memory_mb=budget / 1024 / 1024, combiner=combiner,
                       sort_values=sort_values)
    output.check(buffer, 1, estimate=True)
    assert (len(output.index) == 1) is spills
    assert (buffer == {}) is spills


def test_a_growing_buffer_spills_each_time_it_reaches_the_budget_not_only_the_first(tmp_path):
    """Each line adds a key: the buffer is estimated again at the rate it grew since the last spill, so
    it never holds much more than its budget, after the first spill as before it."""
    budget_mb = 0.25
    output = MapOutput(tmp_path, num_partitions=1, memory_mb=budget_mb)
    per_key = estimate_entry_bytes({"key0099999": [1]})
    buffer: dict = {}
    largest = 0
    for line in range(1, 60_001):
        buffer[f"key{line:07d}"] = [1]
        if line >= output.check_at:
            largest = max(largest, len(buffer))
            output.check(buffer, line)
    assert len(output.index) >= 0.8 * 60_000 * per_key / (budget_mb * 1024 * 1024)
    assert largest * per_key <= 2 * budget_mb * 1024 * 1024, f"the buffer reached {largest:,} keys"


def test_the_budget_counts_the_buffer_and_the_running_totals_together(tmp_path):
    """A batch map summed by name holds running totals beside its buffer (pairs it emitted as pairs):
    each under the budget, together over it, they are spilled."""
    buffer = {f"pair{i}": [i] for i in range(2_000)}
    totals = {f"total{i}": i for i in range(2_000)}
    as_buffer = len(buffer) * estimate_entry_bytes(buffer)
    as_totals = len(totals) * estimate_total_bytes(totals)
    spilled = []
    output = MapOutput(tmp_path, num_partitions=1, memory_mb=(max(as_buffer, as_totals) + min(as_buffer, as_totals) / 2) / 1024 / 1024)
    output.totals, output.spiller = totals, lambda: spilled.append(True)
    output.check(buffer, 1, estimate=True)
    assert spilled == [True]


def test_a_key_lands_in_one_partition_in_every_run(tmp_path):
    output = MapOutput(tmp_path, num_partitions=4, memory_mb=0.01)
    for chunk in range(5):
        output.spill({f"k{i}": [chunk] for i in range(300)})
    where: dict[str, set[int]] = {}
    for run in output.index:
        for p, (start, end, _) in enumerate(run["partitions"]):
            for key, _ in read_run(tmp_path / run["file"], start, end):
                where.setdefault(key, set()).add(p)
    assert len(where) == 300 and all(len(ps) == 1 for ps in where.values())


def test_estimate_counts_keys_and_values():
    small = {f"k{i}": [1] for i in range(1000)}
    big = {f"k{i}" + "a" * 1000: ["b" * 1000] for i in range(1000)}
    assert estimate_entry_bytes(big) - estimate_entry_bytes(small) > 1900
    grouped = {f"key{i}": [1] * 50 for i in range(1000)}
    assert estimate_entry_bytes(grouped) > 50 * 8 + estimate_entry_bytes(small)


def test_estimate_of_running_totals_counts_keys_and_values():
    """A "sum" combiner's totals (one value per key) against the budget: 1,000 more bytes of key, 50 more slots of value."""
    small = {f"k{i}": 1 for i in range(1000)}
    big_keys = {f"k{i}" + "a" * 1000: 1 for i in range(1000)}
    big_values = {f"k{i}": tuple(range(1000 + i, 1050 + i)) for i in range(1000)}
    assert estimate_total_bytes(big_keys) - estimate_total_bytes(small) > 990
    # a pointer per slot and an int object (28 bytes; these ints are not the interpreter's cached small ones) in each
    assert estimate_total_bytes(big_values) - estimate_total_bytes(small) > 50 * (8 + 28) - 28
    assert estimate_total_bytes({"k" * 1000: 1}) > 1000  # a single key is not averaged with anything
    # the sample is spread over the keys, not the first ones or every other one
    mixed = {f"k{i}" + ("a" * 1000 if i % 2 else ""): 1 for i in range(100)}
    assert estimate_total_bytes(mixed) - estimate_total_bytes(small) > 450


def test_estimate_of_grouped_values_counts_the_lists_and_each_value():
    """The buffer without a combiner: a key's list holds a pointer per value, and each (distinct) value is an object."""
    one = {f"key{i}": [10**6 + i] for i in range(100)}
    many = {f"key{i}": list(range(10**6 + 1000 * i, 10**6 + 1000 * i + 1000)) for i in range(100)}
    assert estimate_entry_bytes(many) - estimate_entry_bytes(one) > 0.99 * 999 * (8 + 28)
    assert estimate_entry_bytes({"k": ["x" * 1000]}) > 1000  # a single key is not averaged with anything


# -- whole jobs under a tiny budget ----------------------------------------


@pytest.mark.parametrize("combiner", [jobs.total, None])
def test_spilling_gives_the_same_output_as_no_spill(tmp_path, combiner):
    inputs = write_text(tmp_path / "in", files=3, lines=3000)
    roomy = run_job(inputs, tmp_path / "roomy", combine_function=combiner)
    tight = run_job(inputs, tmp_path / "tight", combine_function=combiner, map_memory_mb=0.02)
    assert all(t["spills"] == 1 for t in map_tasks(roomy))
    assert roomy["totals"]["map_output_records"] == tight["totals"]["map_output_records"]
    assert all(t["spills"] > 3 for t in map_tasks(tight))
    assert (tmp_path / "tight" / "final_output.txt").read_bytes() == (tmp_path / "roomy" / "final_output.txt").read_bytes()
    assert counts_from_output(tmp_path / "tight" / "final_output.txt") == word_counts(inputs)
    assert tight["totals"]["map_output_records"] == sum(word_counts(inputs).values())


def test_more_runs_than_the_fan_in_merge_in_several_passes(tmp_path):
    inputs = write_text(tmp_path / "in", files=2, lines=3000)
    manifest = run_job(inputs, tmp_path / "out", combine_function=None, map_memory_mb=0.01, merge_fan_in=2)
    shuffles = [t for t in manifest["tasks"] if t["phase"] == "shuffle"]
    assert all(t["map_pieces"] > 4 and t["merge_passes"] >= 2 for t in shuffles)
    for task in shuffles:  # each pass merges groups of two: halving (rounding up) until two pieces are left
        pieces, passes = task["map_pieces"], 0
        while pieces > 2:
            pieces, passes = (pieces + 1) // 2, passes + 1
        assert task["merge_passes"] == passes, task
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == word_counts(inputs)
    assert not list((tmp_path / "out").rglob("merge-*")), "merge passes leave no files behind"


def hot_key_map(line):
    for _ in range(int(line)):
        yield "hot", 1
    yield f"cold{line}", 1


def count_values_not_holding_them(key, values):
    if isinstance(values, (list, tuple)):
        raise TypeError("values must arrive as an iterator, not a list")
    return sum(1 for _ in values)


def test_a_hot_key_with_a_million_values_streams_through_a_small_budget(tmp_path):
    inputs = tmp_path / "in.txt"
    inputs.write_text("\n".join(["25000"] * 40 + ["3"]) + "\n")
    manifest = run_job([inputs], tmp_path / "out", map_function=hot_key_map, reduce_function=count_values_not_holding_them,
                       combine_function=None, map_memory_mb=2, num_reduce_tasks=2, split_size_mb=1)
    counts = counts_from_output(tmp_path / "out" / "final_output.txt")
    assert counts["hot"] == 40 * 25000 + 3
    assert counts["cold25000"] == 40 and counts["cold3"] == 1
    assert sum(t["spills"] for t in map_tasks(manifest)) > 3


def test_with_a_combiner_a_hot_keys_values_are_folded_as_they_come_not_held_until_a_spill(tmp_path):
    """400,000 values of one key in a 0.25 MiB budget (held, they would fill it many times over): folded
    every few dozen values, the buffer holds three keys and never fills, so the map writes one run,
    of one record per key."""
    inputs = tmp_path / "in.txt"
    inputs.write_text("\n".join(["1000"] * 400 + ["3"]) + "\n")
    manifest = run_job([inputs], tmp_path / "out", map_function=hot_key_map, combine_function=jobs.total,
                       map_memory_mb=0.25, num_reduce_tasks=2, split_size_mb=1)
    [task] = map_tasks(manifest)
    assert task["spills"] == 1, task
    assert task["combine_input_records"] == task["map_output_records"] == 400 * 1001 + 4
    assert task["combine_output_records"] == 3
    counts = counts_from_output(tmp_path / "out" / "final_output.txt")
    assert counts == Counter({"hot": 400 * 1000 + 3, "cold1000": 400, "cold3": 1})

def test_mixed_key_types_across_runs_name_both_keys(tmp_path):
    path = tmp_path / "in.txt"
    # str keys first, int keys later: with a tiny budget they land in different runs
    path.write_text("".join(f"s{i}\n" for i in range(3000)) + "".join(f"n{i}\n" for i in range(3000)))
    config = JobConfig(job_name="mixed", map_function=jobs.mixed_key_map, reduce_function=jobs.total,
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0,
                       num_reduce_tasks=1, map_memory_mb=0.01)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config)
    (failure,) = scheduler.last_result.failures.values()
    assert re.search(r"keys '?\w+'? \((int|str)\) and '?\w+'? \((str|int)\) cannot be ordered", failure), failure
    assert not (tmp_path / "out" / "_SUCCESS").exists()


@pytest.mark.parametrize("value", [0, -1, "big", True])
def test_map_memory_mb_must_be_a_positive_number(tmp_path, value):
    path = tmp_path / "in.txt"
    path.write_text("a\n")
    config = JobConfig(job_name="j", map_function=jobs.count_words, reduce_function=jobs.total,
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), map_memory_mb=value)
    with pytest.raises(ConfigError, match="map_memory_mb"):
        validate(config)


@map_with_record
def words_with_record(line, record):
    return [(word, 1) for word in line.split()]


@pytest.mark.parametrize("mapper, combiner", [(jobs.count_words, jobs.total), (jobs.count_words, None),
                                             (words_with_record, None), (words_with_record, jobs.total),
                                             (jobs.batch_split_words, None), (jobs.batch_split_words, jobs.total)])
def test_a_split_of_many_small_files_spills_in_every_file_not_only_its_first(tmp_path, mapper, combiner):
    """Small files are packed into one split, read one segment after the other: the buffer is
    checked against the budget by the lines of the whole split, so the later files spill too."""
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = []
    for f in range(40):
        path = folder / f"small{f:02d}.txt"
        path.write_text("".join(f"f{f}l{n}a f{f}l{n}b f{f}l{n}c\n" for n in range(60)))  # every word new
        inputs.append(path)
    manifest = run_job(inputs, tmp_path / "out", map_function=mapper, combine_function=combiner, split_size_mb=1,
                       map_memory_mb=0.02)
    [task] = map_tasks(manifest)
    keys = 40 * 60 * 3
    per_key = estimate_entry_bytes({"f39l59a": [1]})
    # the keys are many times the budget: spilling only while reading the first file would give a handful of runs.
    # A batch map's buffer is checked once per block, and each file is a block over the budget: a spill each
    least = 40 if mapper is jobs.batch_split_words else 0.5 * keys * per_key / (0.02 * 1024 * 1024)
    assert task["spills"] >= least, task["spills"]
    assert task["input_records"] == 40 * 60 and task["input_bytes"] == sum(p.stat().st_size for p in inputs)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter(
        word for p in inputs for line in p.read_text().splitlines() for word in line.split())


def test_a_buffer_exactly_at_its_budget_spills_and_one_byte_under_it_does_not(tmp_path):
    """``map_memory_mb`` is in MiB and a buffer that reaches it spills (keys of one size give a whole estimate)."""
    buffer = {f"k{i:04d}": [1] for i in range(1000)}
    estimate = len(buffer) * estimate_entry_bytes(buffer)
    assert estimate == int(estimate)
    for budget_bytes, spills in ((estimate, 1), (estimate + 1, 0)):
        output = MapOutput(tmp_path / str(budget_bytes), num_partitions=1, memory_mb=budget_bytes / (1024 * 1024))
        (tmp_path / str(budget_bytes)).mkdir()
        output.check(dict(buffer), 1, estimate=True)
        assert len(output.index) == spills, budget_bytes
