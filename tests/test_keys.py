"""Keys the engine cannot group correctly are refused, naming the file and line."""

from __future__ import annotations

import json
import math
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from mr_luigi.io.keys import InvalidKey, check_key, check_not_nan
from tests import jobs_for_tests as jobs


@pytest.mark.parametrize("key", ["w", b"b", 1, 2.5, True, None, ("a", 1, (2.0, None)), -0.0, math.inf])
def test_keys_the_default_partitioner_places(key):
    check_key(key)
    check_not_nan(key)


@pytest.mark.parametrize("key", [math.nan, ("a", math.nan), (1, (2, float("nan")))])
def test_nan_keys_are_refused_whatever_the_partitioner(key):
    with pytest.raises(InvalidKey, match="NaN is not equal to itself"):
        check_key(key)
    with pytest.raises(InvalidKey, match="NaN is not equal to itself"):
        check_not_nan(key)


@pytest.mark.parametrize("key", [Decimal("1"), frozenset({1}), ("a", Decimal("2"))])
def test_other_types_need_a_partitioner_of_the_jobs_own(key):
    with pytest.raises(InvalidKey, match="cannot be placed by the default partitioner"):
        check_key(key)
    check_not_nan(key)


def run(tmp_path: Path, map_function, **changes):
    path = tmp_path / "in.txt"
    path.write_text("one\nnan here\ntwo\nnan again\n")
    values = dict(job_name="keys", map_function=map_function, reduce_function=jobs.total, input_files=[str(path)],
                  output_dir=str(tmp_path / "out"), num_reduce_tasks=2, max_retries=0)
    values.update(changes)
    scheduler = MapReduceScheduler(1)
    return scheduler.execute_job(JobConfig(**values)), scheduler.last_result, path


@pytest.mark.parametrize("combiner", [None, jobs.total])  # two map loops: with a combiner, values fold as they come
def test_a_map_emitting_nan_keys_fails_naming_the_first_line(tmp_path, combiner):
    ok, result, path = run(tmp_path, jobs.nan_or_length_map, combine_function=combiner)
    assert not ok
    (error,) = result.failures.values()
    assert error == (f"InvalidKey: key nan: NaN is not equal to itself, so NaN keys cannot be grouped or sorted; map it to "
                     f"another key (None, or a string) before emitting it (emitted by map_function for {path}:2)")
    assert not (tmp_path / "out" / "final_output.txt").exists()


def test_decimal_keys_work_with_a_partitioner_of_the_jobs_own(tmp_path):
    ok, result, path = run(tmp_path, jobs.decimal_length_map, partitioner=jobs.one_partition,
                           reduce_function=jobs.length_record, output_format="jsonl")
    assert ok, result.failures
    expected = Counter(len(line) for line in path.read_text().splitlines())
    records = [json.loads(line) for line in (tmp_path / "out" / "final_output.txt").read_text().splitlines()]
    assert records == [{"length": str(k), "count": n} for k, n in sorted(expected.items())]
