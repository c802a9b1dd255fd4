"""Secondary sort (``sort_values = true``): a reducer sees each key's values in sorted order, through the external merge.

Expectations are the inputs' values per key, sorted here with ``sorted()``.
The inputs hold each key's values in descending and shuffled order across
several files, small splits and a small memory budget, so the values reach
the reducer from many spilled runs and merge passes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler
from mr_luigi.engine.plan import make_plan
from tests import jobs_for_tests as jobs
from tests.conftest import read_tsv


def write_inputs(folder: Path, rows: list[tuple[str, int]], files: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = [folder / f"in{i}.txt" for i in range(files)]
    for i, path in enumerate(paths):
        path.write_text("".join(f"{k},{v}\n" for k, v in rows[i::files]))
    return paths


def config(paths: list[Path], out: Path, **fields) -> JobConfig:
    base = dict(job_name="sorted", map_function=jobs.key_comma_value, reduce_function=jobs.values_as_seen,
                input_files=[str(p) for p in paths], output_dir=str(out), num_reduce_tasks=3, sort_values=True,
                max_retries=0)
    base.update(fields)
    return JobConfig(**base)


def run(job: JobConfig) -> dict:
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    return scheduler.last_result.manifest


@pytest.fixture
def rows() -> list[tuple[str, int]]:
    rng = random.Random(7)
    rows = [(key, v) for key in ("apple", "Äpfel", "東京", "z", "") for v in range(300, -300, -3)]
    rng.shuffle(rows)
    return rows


def expected_sorted(rows) -> dict:
    values = defaultdict(list)
    for key, value in rows:
        values[key].append(value)
    return {key: sorted(vs) for key, vs in values.items()}


def test_each_key_sees_its_values_sorted(rows, tmp_path):
    paths = write_inputs(tmp_path / "in", rows, 4)
    run(config(paths, tmp_path / "out", split_size_mb=0.002, map_memory_mb=0.01, merge_fan_in=2))
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == expected_sorted(rows)


def test_without_sort_values_the_same_job_sees_them_unsorted(rows, tmp_path):
    """The check above can fail: these inputs do not arrive sorted by themselves."""
    paths = write_inputs(tmp_path / "in", rows, 4)
    run(config(paths, tmp_path / "out", sort_values=False, split_size_mb=0.002))
    seen = dict(read_tsv(tmp_path / "out" / "final_output.txt"))
    assert {k: sorted(v) for k, v in seen.items()} == expected_sorted(rows)
    assert seen != expected_sorted(rows)


def test_a_hot_key_with_more_values_than_the_memory_budget_streams_sorted(tmp_path):
    """200,000 values of one key (about 6 MB as a Python list) with a 0.5 MB map budget: many runs, merge passes."""
    rng = random.Random(3)
    values = [rng.randrange(-10**9, 10**9) for _ in range(200_000)]
    paths = write_inputs(tmp_path / "in", [("hot", v) for v in values] + [("cold", 1)], 2)
    manifest = run(config(paths, tmp_path / "out", reduce_function=jobs.values_checked_as_streamed,
                          map_memory_mb=0.5, merge_fan_in=4, num_reduce_tasks=1))
    result = dict(read_tsv(tmp_path / "out" / "final_output.txt"))
    assert result["hot"] == [len(values), min(values), max(values), True, True]
    assert result["cold"] == [1, 1, 1, True, True]
    totals = manifest["totals"]
    assert totals["spills"] > 4 and totals["merge_passes"] >= 1, totals


def test_with_a_combiner_the_combined_values_arrive_sorted(tmp_path):
    rows = [(k, v) for k in "abc" for v in range(50, 0, -1)]
    paths = write_inputs(tmp_path / "in", rows, 3)
    run(config(paths, tmp_path / "out", reduce_function=jobs.values_as_seen, combine_function=jobs.total,
               split_size_mb=0.0002))
    for key, seen in read_tsv(tmp_path / "out" / "final_output.txt"):
        assert seen == sorted(seen) and sum(seen) == sum(range(1, 51)), (key, seen)


def test_values_that_cannot_be_compared_fail_naming_sort_values(tmp_path):
    paths = write_inputs(tmp_path / "in", [("k", 1), ("k", "text"), ("j", 2)], 1)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(paths, tmp_path / "out"))
    failure = scheduler.last_result.describe_failure()
    assert "with sort_values = true the values of a key must be comparable with each other (key 'k')" in failure


def test_sort_values_is_part_of_the_job_id_and_refused_without_a_reduce(rows, tmp_path):
    paths = write_inputs(tmp_path / "in", rows, 1)
    assert make_plan(config(paths, tmp_path / "out")).job_id != make_plan(config(paths, tmp_path / "out", sort_values=False)).job_id
    with pytest.raises(ConfigError, match="map-only") as caught:
        make_plan(config(paths, tmp_path / "out", reduce_function=None, num_reduce_tasks=0))
    assert caught.value.field == "sort_values"
    with pytest.raises(ConfigError, match="expected bool"):
        make_plan(config(paths, tmp_path / "out", sort_values="yes"))
