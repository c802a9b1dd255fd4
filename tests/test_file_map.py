"""Whole-file maps (``@mr_luigi.file_map``, mrjob's ``mapper_raw``): one call per input file, never split.

The inputs are JSON documents spread over many lines, which no line map can
read; the expected counts are summed here with ``collections.Counter``.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import (
    ConfigError,
    JobConfig,
    MapReduceScheduler,
    batch_map,
    file_map,
    map_with_record,
)
from mr_luigi.engine.plan import make_plan
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, read_tsv


def write_documents(folder: Path, count: int) -> tuple[list[Path], Counter]:
    folder.mkdir()
    expected: Counter = Counter()
    paths = []
    for i in range(count):
        tags = [f"tag{j % 7}" for j in range(i * 3, i * 3 + 40)] + ["東京"]
        expected.update(tags)
        path = folder / f"doc{i:02d}.json"
        path.write_text(json.dumps({"id": i, "tags": tags}, indent=2, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths, expected


def config(paths: list[Path], out: Path, **fields) -> JobConfig:
    base = dict(job_name="docs", map_function=jobs.json_document_tags, reduce_function=jobs.total,
                combine_function=jobs.total, input_files=[str(p) for p in paths], output_dir=str(out),
                num_reduce_tasks=2, split_size_mb=0.0002, max_retries=0)
    base.update(fields)
    return JobConfig(**base)


def run(job: JobConfig) -> dict:
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    return scheduler.last_result.manifest


def test_each_file_is_mapped_once_whole_even_when_larger_than_a_split(tmp_path):
    paths, expected = write_documents(tmp_path / "in", 6)
    job = config(paths, tmp_path / "out")
    plan = make_plan(job)
    assert all(p.stat().st_size > 0.0002 * 1024 * 1024 for p in paths)  # a line map's job would cut each file
    segments = [s for split in plan.splits for s in split.segments]
    assert sorted(s.path for s in segments) == sorted(str(p) for p in paths)
    assert all(s.start == 0 and s.end == Path(s.path).stat().st_size for s in segments)
    manifest = run(job)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected
    assert manifest["totals"]["input_records"] == len(paths)


def test_a_compressed_file_is_handed_over_as_it_is(tmp_path):
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "doc.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"tags": ["a", "b", "a"]}, fh)

    job = config([path], tmp_path / "out", map_function=jobs.gzipped_json_tags)
    run(job)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"a": 2, "b": 1})


def test_a_file_that_fails_is_a_bad_record_naming_it_when_allowed(tmp_path):
    paths, expected = write_documents(tmp_path / "in", 4)
    paths[2].write_text("{not json")
    job = config(paths, tmp_path / "out", skip_exceptions=["json.JSONDecodeError"], max_bad_records=1)
    run(job)
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [record["file"] for record in bad] == [str(paths[2])]
    good = Counter()
    for p in paths[:2] + paths[3:]:
        good.update(json.loads(p.read_text())["tags"])
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == good


def test_a_failing_file_map_fails_the_job_naming_the_file(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 2)
    paths[1].write_text("{not json")
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(paths, tmp_path / "out"))
    assert "map_function raised JSONDecodeError" in scheduler.last_result.describe_failure()
    assert str(paths[1]) in scheduler.last_result.describe_failure()


def test_a_map_only_file_map_writes_one_part_per_map(tmp_path):
    paths, expected = write_documents(tmp_path / "in", 3)
    job = config(paths, tmp_path / "out", reduce_function=None, combine_function=None, num_reduce_tasks=0)
    run(job)
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert Counter(key for key, _ in rows) == expected


def test_a_file_map_returning_no_pairs_is_a_record_error(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 1)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(paths, tmp_path / "out", map_function=jobs.file_map_not_pairs))
    assert f"map_function must return or yield (key, value) pairs with hashable keys ({paths[0]}): ValueError: too many " \
           "values to unpack (expected 2)" in scheduler.last_result.describe_failure()


def test_a_map_cannot_be_a_file_map_and_take_lines_in_another_way(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 1)

    def both(path):
        return ()

    for mark in (batch_map, map_with_record):
        with pytest.raises(ConfigError, match="cannot be both a"):
            make_plan(config(paths, tmp_path / "out", map_function=file_map(mark(both))))


def test_a_map_only_file_map_counts_files_and_sets_a_failing_file_aside(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 5)
    paths[3].write_text("{not json")
    job = config(paths, tmp_path / "out", reduce_function=None, combine_function=None, num_reduce_tasks=0,
                 skip_exceptions=["json.JSONDecodeError"], max_bad_records=1)
    manifest = run(job)
    good = [p for p in paths if p != paths[3]]
    expected = [tag for p in good for tag in json.loads(p.read_text())["tags"]]
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert rows == [(tag, 1) for tag in expected]  # files in order, each file's pairs in the order yielded
    totals = manifest["totals"]
    assert totals["input_records"] == len(paths) and totals["bad_records"] == 1
    assert totals["map_output_records"] == totals["output_records"] == len(expected)
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [(b["file"], b["reason"]) for b in bad] == [(str(paths[3]), "map_function raised JSONDecodeError")]


def test_a_map_only_file_map_that_gives_no_pairs_fails_naming_the_file(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 1)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(paths, tmp_path / "out", map_function=jobs.file_map_not_pairs,
                                            reduce_function=None, combine_function=None, num_reduce_tasks=0))
    failure = scheduler.last_result.describe_failure()
    assert f"map_function must return or yield (key, value) pairs ({paths[0]}): ValueError: too many values to unpack " \
           "(expected 2)" in failure, failure


def _bad(out: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((out / "_bad_records").glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_a_file_a_file_map_rejects_is_one_bad_record_and_every_file_is_one_input_record(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 6)
    paths[4].write_text(json.dumps({"id": 4, "tags": []}))
    manifest = run(config(paths, tmp_path / "out", map_function=jobs.json_tags_rejecting_empty, max_bad_records=1))
    assert _bad(tmp_path / "out") == [{"file": str(paths[4]), "reason": "no_tags", "error": "0 tags"}]
    expected = Counter(tag for p in paths for tag in json.loads(p.read_text())["tags"])
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected
    totals = manifest["totals"]
    assert totals["input_records"] == 6 and totals["bad_records"] == 1
    assert totals["map_output_records"] == sum(expected.values())


def _failure(job: JobConfig) -> str:
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(job)
    return scheduler.last_result.describe_failure()


def test_a_file_rejected_under_max_bad_records_0_fails_naming_it(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 2)
    paths[1].write_text(json.dumps({"id": 1, "tags": []}))
    failure = _failure(config(paths, tmp_path / "out", map_function=jobs.json_tags_rejecting_empty, max_bad_records=0))
    assert f"bad record at {paths[1]}: no_tags: 0 tags (max_bad_records = 0 fails on the first one; raise it to skip " \
           "bad records)" in failure, failure


def test_a_file_maps_exception_fails_the_job_naming_the_file_in_its_words(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 2)
    paths[1].write_text("{not json")
    failure = _failure(config(paths, tmp_path / "out"))
    assert f"map_function raised JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 " \
           f"(char 1) ({paths[1]})" in failure, failure


def test_a_file_map_returning_a_number_fails_naming_the_file(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 1)
    failure = _failure(config(paths, tmp_path / "out", map_function=jobs.file_map_not_iterable))
    assert f"map_function failed on {paths[0]}: TypeError: 'int' object is not iterable (map_function must return or " \
           "yield (key, value) pairs)" in failure, failure


def test_a_map_of_many_files_spills_within_its_budget(tmp_path):
    paths, _ = write_documents(tmp_path / "in", 12)
    manifest = run(config(paths, tmp_path / "out", map_function=jobs.file_map_many_keys, split_size_mb=1,
                          map_memory_mb=0.1))
    expected = Counter(f"key{n * 1000 + i}" for n in range(12) for i in range(2000))
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected
    assert manifest["task_counts"]["map"] == 1
    maps = [t for t in manifest["tasks"] if t["phase"] == "map"]
    assert maps[0]["input_records"] == 12
    assert maps[0]["spills"] >= 4, maps[0]  # 24,000 keys in 0.1 MB: the buffer was checked as files were mapped


def test_a_map_of_files_reports_its_progress_after_each_file(tmp_path):
    from mr_luigi.engine.phases.map import run_map

    paths, _ = write_documents(tmp_path / "in", 5)
    plan = make_plan(config(paths, tmp_path / "out", split_size_mb=1))
    assert plan.num_maps == 1
    reports = []
    out = tmp_path / "map"
    out.mkdir()
    run_map(plan, 0, out, progress=lambda done, detail: reports.append((done, detail)))
    expected, done = [], 0
    for n, path in enumerate(paths, 1):
        expected.append((done + path.stat().st_size, f"{n:,} lines, 0 spills, 0 bad records"))
        done += path.stat().st_size
    assert reports == expected


def test_a_key_a_file_map_gives_many_times_is_combined_in_the_map_and_every_pair_counted(tmp_path):
    """A file map's pairs come all at once: with a combiner, a key's values are folded every so often in the map
    (no test's document repeated a key enough before); the counts and the pair count must not change."""
    folder = tmp_path / "in"
    folder.mkdir()
    tags = ["hot"] * 1000 + ["warm"] * 64 + ["cold"] * 3 + ["hot"] * 7
    (folder / "doc.json").write_text(json.dumps({"id": 0, "tags": tags}))
    for combiner in (jobs.keyed_total, None):  # a combiner given its key; without one, the values are kept
        out = tmp_path / f"out-{combiner is None}"
        manifest = run(config([folder / "doc.json"], out, combine_function=combiner))
        assert counts_from_output(out / "final_output.txt") == Counter(tags)
        assert manifest["totals"]["map_output_records"] == len(tags)
