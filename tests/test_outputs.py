"""Output shapes: named outputs, JSON lines, and params for user functions."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler, job_params
from tests import jobs_for_tests as jobs
from tests.conftest import read_tsv

WORD = re.compile(r"[a-z0-9']+")


def text(tmp_path: Path) -> Path:
    path = tmp_path / "in.txt"
    path.write_text("".join(f"Line {i} {'ab ' * (i % 4)}end\n" for i in range(300)))
    return path


def run(path, out, **changes):
    values = dict(job_name="outputs", map_function=jobs.count_words, reduce_function=jobs.total,
                  input_files=[str(path)], output_dir=str(out), num_reduce_tasks=3, max_retries=0,
                  max_bad_records=0, split_size_mb=0.002)
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(JobConfig(**values)), scheduler.last_result.failures
    return scheduler.last_result


def test_named_outputs_get_one_file_each_in_key_order(tmp_path):
    path = text(tmp_path)
    result = run(path, tmp_path / "out", map_function=jobs.named_map, combine_function=jobs.total, named_outputs=True)
    lines = path.read_text().splitlines()
    words = Counter(w for line in lines for w in WORD.findall(line.lower()))
    words["lines"] += len(lines)
    lengths = Counter(len(line) for line in lines)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.txt")) == ["lengths.txt", "words.txt"]
    assert read_tsv(out / "words.txt") == [(k, words[k]) for k in sorted(words)]
    assert read_tsv(out / "lengths.txt") == [(k, lengths[k]) for k in sorted(lengths)], "int keys in numeric order"
    assert sorted(result.manifest["outputs"]) == ["lengths.txt", "words.txt"]
    assert not list(out.glob("part-*")) and not (out / "final_output.txt").exists()
    assert result.manifest["final_output_records"] == len(words) + len(lengths)


@pytest.mark.parametrize("point", ["writing", "middle"])
def test_named_outputs_interrupted_while_published_come_out_whole_on_the_retry(tmp_path, monkeypatch, point):
    """The first named file half written (or written, the next not yet) when the final step fails: the retry's files
    are byte for byte those of an uninterrupted run, with no temporary file left."""
    from mr_luigi.engine.faults import ENV

    path = text(tmp_path)
    clean = run(path, tmp_path / "clean", map_function=jobs.named_map, named_outputs=True)
    monkeypatch.setenv(ENV, f"final:0:1:raise:{point}")
    retried = run(path, tmp_path / "out", map_function=jobs.named_map, named_outputs=True, max_retries=1)
    assert retried.manifest["attempts"]["per_task"]["final"] == 2
    for name in ("lengths.txt", "words.txt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in (tmp_path / "clean").iterdir())
    assert clean.manifest["final_output_records"] == retried.manifest["final_output_records"]


@pytest.mark.parametrize("map_function", [jobs.count_words, jobs.long_words_map, jobs.unsafe_name_map, jobs.one_item_tuple_map])
def test_a_key_that_is_not_a_named_pair_is_a_clear_error(tmp_path, map_function):
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name="bad_named", map_function=map_function, reduce_function=jobs.total,
                       input_files=[str(text(tmp_path))], output_dir=str(tmp_path / "out"), max_retries=0,
                       named_outputs=True)
    assert not scheduler.execute_job(config)
    assert "every key must be a (name, key) tuple" in " ".join(scheduler.last_result.failures.values())


def test_a_named_outputs_key_of_more_than_two_items_keeps_the_rest_as_its_key(tmp_path):
    path = text(tmp_path)
    run(path, tmp_path / "out", map_function=jobs.named_pair_keys_map, combine_function=jobs.total, named_outputs=True)
    shapes = Counter((w[0], len(w)) for line in path.read_text().splitlines() for w in WORD.findall(line.lower()))
    assert read_tsv(tmp_path / "out" / "shapes.txt") == [(k, shapes[k]) for k in sorted(shapes)]


def test_named_jsonl_outputs_hold_each_names_values_as_json_lines_in_key_order(tmp_path):
    path = text(tmp_path)
    run(path, tmp_path / "out", map_function=jobs.named_map, combine_function=jobs.total, named_outputs=True,
        output_format="jsonl")
    lines = path.read_text().splitlines()
    words = Counter(w for line in lines for w in WORD.findall(line.lower()))
    words["lines"] += len(lines)
    lengths = Counter(len(line) for line in lines)
    out = tmp_path / "out"
    assert [json.loads(v) for v in (out / "words.txt").read_text().splitlines()] == [words[k] for k in sorted(words)]
    assert [json.loads(v) for v in (out / "lengths.txt").read_text().splitlines()] == [lengths[k] for k in sorted(lengths)]


def test_jsonl_output_writes_each_value_as_a_json_line(tmp_path):
    path = text(tmp_path)
    run(path, tmp_path / "out", reduce_function=jobs.as_record, output_format="jsonl")
    records = [json.loads(line) for line in (tmp_path / "out" / "final_output.txt").read_text().splitlines()]
    expected = Counter(w for line in path.read_text().splitlines() for w in WORD.findall(line.lower()))
    assert records == [{"word": k, "count": expected[k]} for k in sorted(expected)]


def test_params_reach_the_user_functions_and_change_the_job_id(tmp_path):
    path = text(tmp_path)
    two = run(path, tmp_path / "two", map_function=jobs.param_map, params={"length": 2})
    three = run(path, tmp_path / "three", map_function=jobs.param_map, params={"length": 3})
    words = Counter(w for line in path.read_text().splitlines() for w in WORD.findall(line.lower()))
    for length, name in ((2, "two"), (3, "three")):
        expected = {(k, n) for k, n in words.items() if len(k) == length}
        assert set(read_tsv(tmp_path / name / "final_output.txt")) == expected
    assert two.manifest["job_id"].split("-")[-1] != three.manifest["job_id"].split("-")[-1]
    assert job_params() == {}, "outside a task there are no params"


@pytest.mark.parametrize("output_format, named", [("jsonl", False), ("tsv", False), ("jsonl", True), ("tsv", True)])
def test_a_nan_value_is_refused_naming_its_key(tmp_path, output_format, named):
    scheduler = MapReduceScheduler(1)
    functions = (dict(map_function=jobs.named_map, reduce_function=jobs.named_mean_or_nan, named_outputs=True) if named
                 else dict(map_function=jobs.count_words, reduce_function=jobs.mean_or_nan))
    config = JobConfig(job_name="nan", input_files=[str(text(tmp_path))], output_dir=str(tmp_path / "out"),
                       max_retries=0, output_format=output_format, **functions)
    assert not scheduler.execute_job(config)
    (error,) = scheduler.last_result.failures.values()
    key = {(False, "jsonl"): "'end'", (False, "tsv"): "'end'", (True, "jsonl"): re.escape("('words', 'end')"),
           (True, "tsv"): "'end'"}[named, output_format]
    assert re.search(rf"RecordError: cannot write the (result|value) for key {key}.*NaN or infinity", error), error
    if named and output_format == "tsv":  # the line's key alone: the output it was for is named too
        assert error.endswith("turn it into None or a string first (named output 'words')"), error
    assert not (tmp_path / "out" / "final_output.txt").exists()


def test_lines_output_is_each_reduced_value_as_it_is(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("b a b\nc b\n")
    scheduler = MapReduceScheduler(1)
    job = JobConfig(job_name="lines", map_function=jobs.count_words, reduce_function=jobs.word_and_count_line,
                    input_files=[str(path)], output_dir=str(tmp_path / "out"), num_reduce_tasks=1, output_format="lines")
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    assert (tmp_path / "out" / "final_output.txt").read_text() == "a occurs 1 times\nb occurs 3 times\nc occurs 1 times\n"
    bad = JobConfig(**{**job.__dict__, "reduce_function": jobs.count_as_number, "output_dir": str(tmp_path / "out2")})
    assert not scheduler.execute_job(bad)
    assert ("with output_format = \"lines\" every value must be one line of text (a str); the value for key 'a' is an "
            "int: 1") in scheduler.last_result.describe_failure()
