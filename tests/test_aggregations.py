"""Aggregations known by name (mr_luigi/engine/aggregations.py): "sum" gives what a Python sum gives, faster.

Every test runs the same job with ``combine_function = "sum"`` and with an
ordinary Python function that sums, and compares both with a
``collections.Counter`` computed here. The batch maps return KeyCounts (each
word counts one) or a mapping of subtotals, the fast paths "sum" enables.
"""

from __future__ import annotations

import re

import json
from collections import Counter

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, read_output
from mr_luigi.engine.plan import make_plan
from tests import jobs_for_tests as jobs
from tests.conftest import reference_word_count, reference_words


def run(inputs, out, **changes) -> dict:
    values = dict(job_name="agg", map_function=jobs.key_counts_words, reduce_function="sum", combine_function="sum",
                  input_files=[str(p) for p in inputs], output_dir=str(out), num_reduce_tasks=3, max_retries=0,
                  split_size_mb=0.05)
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(JobConfig(**values)), scheduler.last_result.describe_failure()
    return scheduler.last_result.manifest


@pytest.mark.parametrize("combiner", ["sum", jobs.total])
def test_key_counts_summed_by_name_or_by_function_give_the_word_count(messy_inputs, tmp_path, combiner):
    manifest = run(messy_inputs, tmp_path / "out", combine_function=combiner)
    expected = reference_word_count(messy_inputs)
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(expected)
    totals = manifest["totals"]
    assert totals["map_output_records"] == sum(expected.values())  # every word, counted once
    assert totals["combine_input_records"] == sum(expected.values())


@pytest.mark.parametrize("combiner", ["sum", jobs.total])
def test_sums_spill_within_a_small_budget(tmp_path, combiner):
    """20,000 distinct words and a 0.05 MB budget: the subtotals are spilled many times and merged back."""
    path = tmp_path / "in.txt"
    path.write_text("".join(f"w{i % 20000} common w{(i * 7) % 20000}\n" for i in range(60_000)))
    manifest = run([path], tmp_path / "out", combine_function=combiner, map_memory_mb=0.05, split_size_mb=0.5)
    expected = reference_word_count([path])
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(expected)
    totals = manifest["totals"]
    assert totals["spills"] > 3 * manifest["task_counts"]["map"], totals
    assert totals["map_output_records"] == sum(expected.values()) == 180_000


@pytest.mark.parametrize("combiner", ["sum", jobs.total])
def test_a_mapping_of_subtotals_is_summed_per_key(messy_inputs, tmp_path, combiner):
    manifest = run(messy_inputs, tmp_path / "out", map_function=jobs.word_lengths_mapping, combine_function=combiner)
    expected = Counter()
    for word, count in reference_word_count(messy_inputs).items():
        expected[word] = count * len(word)
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(expected)
    assert manifest["totals"]["input_records"] == sum(len(p.read_bytes().splitlines()) for p in messy_inputs)


def test_a_failing_batch_falls_back_to_lines_and_still_sums(tmp_path):
    path = tmp_path / "in.txt"
    lines = [f"w{i % 7} x{i % 3}" if i % 500 != 250 else f"boom {i}" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    manifest = run([path], tmp_path / "out", skip_exceptions=["ValueError"], max_bad_records=10, split_size_mb=1)
    good = Counter(w for line in lines if "boom" not in line for w in reference_words(line))
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(good)
    assert manifest["totals"]["bad_records"] == 6
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert sorted(b["line"] for b in bad) == [i + 1 for i, line in enumerate(lines) if "boom" in line]


def test_a_nan_key_from_key_counts_is_refused(tmp_path):
    (tmp_path / "in.txt").write_text("a\nb\n")
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name="nan", map_function=jobs.nan_key_counts, reduce_function="sum", combine_function="sum",
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"), max_retries=0)
    assert not scheduler.execute_job(config)
    assert "NaN is not equal to itself" in scheduler.last_result.describe_failure()


def test_key_counts_without_a_named_sum_are_pairs_of_one(messy_inputs, tmp_path):
    run(messy_inputs, tmp_path / "out", combine_function=None, reduce_function=jobs.total)
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(reference_word_count(messy_inputs))


def test_sum_is_a_name_only_for_combiners_and_reducers(tmp_path):
    (tmp_path / "in.txt").write_text("a\n")
    base = dict(job_name="n", map_function=jobs.count_words, input_files=[str(tmp_path / "in.txt")],
                output_dir=str(tmp_path / "out"))
    with pytest.raises(ConfigError, match=r"^map_function: expected a function or 'module:function', got 'sum'"):
        make_plan(JobConfig(**{**base, "map_function": "sum", "reduce_function": "sum"}))
    with pytest.raises(ConfigError, match=r"^reduce_function: expected a function or 'module:function', or one of 'sum'"):
        make_plan(JobConfig(**base, reduce_function="average"))
    named = make_plan(JobConfig(**base, reduce_function="sum"))
    assert named.identity["functions"]["reduce_function"][0] == "mr_luigi.engine.aggregations:sum_values"


@pytest.mark.parametrize("map_function", [jobs.word_count_and_length, jobs.word_count_and_length_per_line],
                         ids=["batch mapping", "per-line pairs"])
@pytest.mark.parametrize("combiner", ["sum", jobs.add_pairs], ids=["by name", "python"])
def test_tuples_are_summed_element_by_element(tmp_path, map_function, combiner):
    """(count, length) per word through a small budget (many spills, merged back): what the Python function gives."""
    path = tmp_path / "in.txt"
    path.write_text("".join(f"w{i % 5000} Common café w{(i * 7) % 5000}\n" for i in range(30_000)), encoding="utf-8")
    manifest = run([path], tmp_path / "out", map_function=map_function, combine_function=combiner,
                   reduce_function=combiner, map_memory_mb=0.05, split_size_mb=0.3)
    counts = reference_word_count([path])
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == {w: [n, n * len(w)] for w, n in counts.items()}
    assert manifest["totals"]["spills"] > manifest["task_counts"]["map"]


@pytest.mark.parametrize("size", [2, 3, 4])
def test_tuples_from_a_batch_map_are_summed_element_by_element_across_blocks(tmp_path, size):
    """Three maps of several 64 KiB blocks each: a word's subtotals of each block are added to those before.

    Triples take an unrolled path, other lengths the general one: both are checked."""
    function = {2: jobs.word_count_and_length, 3: jobs.word_count_length_and_vowels,
                4: jobs.word_count_length_vowels_and_one}[size]
    path = tmp_path / "in.txt"
    path.write_text("".join(f"w{i % 5000} Common café aeiou{(i * 7) % 300}\n" for i in range(30_000)), encoding="utf-8")
    manifest = run([path], tmp_path / "out", map_function=function, combine_function="sum",
                   reduce_function="sum", split_size_mb=0.3)
    counts = reference_word_count([path])
    vowels = {w: sum(1 for ch in w if ch in "aeioué") for w in counts}
    expected = {w: [n, n * len(w), n * vowels[w], n][:size] for w, n in counts.items()}
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == expected
    assert manifest["task_counts"]["map"] == 3
    # each block's subtotals (about 1,800 words each) were added to those of the blocks before in the map
    assert manifest["counters"]["mr_luigi"]["combine_output_records"] < manifest["counters"]["mr_luigi"]["combine_input_records"] / 2


@pytest.mark.parametrize("first, then, message", [
    ("pair", "triple", '"sum" adds tuples of one length element by element; got 2-tuples, 3-tuples'),
    ("int", "pair", '"sum" adds tuples of one length element by element; got '),
    ("int", "text", 'map_function (a batch_map with combine_function = "sum") gave a key or value that cannot be summed: '),
])
def test_a_batch_maps_subtotals_that_cannot_be_added_across_blocks_fail_the_job_naming_them(tmp_path, first, then, message):
    """The first blocks give one shape of subtotal, a later block another: the job fails, saying what was mixed."""
    path = tmp_path / "in.txt"
    path.write_text(f"{first} line\n" * 15_000 + f"{then} line\n" * 15_000)  # 150 KB each: three blocks or more
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name="shapes", map_function=jobs.shape_by_first_line, reduce_function="sum",
                       combine_function="sum", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0)
    assert not scheduler.execute_job(config)
    failure = scheduler.last_result.describe_failure()
    assert message in failure, failure
    if then == "text":  # the block named starts with a text line
        at = re.search(rf"unsupported operand type\(s\) for \+: 'int' and 'str' \(lines from {re.escape(str(path))} at "
                       rf"byte ([\d,]+)\)", failure)
        assert at and path.read_bytes()[int(at[1].replace(",", "")):].startswith(b"text line\n"), failure
    assert not (tmp_path / "out" / "final_output.txt").exists()


def test_tuples_of_different_lengths_under_one_key_fail_the_job_naming_them(tmp_path):
    (tmp_path / "in.txt").write_text("a\nbb\n" * 40)
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name="mixed", map_function=jobs.mixed_tuple_lengths, reduce_function="sum",
                       combine_function="sum", input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"),
                       max_retries=0)
    assert not scheduler.execute_job(config)
    assert '"sum" adds tuples of one length element by element; got 2-tuples, 3-tuples' in \
        scheduler.last_result.describe_failure()
    assert not (tmp_path / "out" / "final_output.txt").exists()
