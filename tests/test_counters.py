"""Counters: user and framework counters summed once per task into the manifest."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from mr_luigi import JobConfig, MapReduceScheduler, increment_counter
from mr_luigi.engine.counters import collecting, format_counters, sum_counters
from tests import jobs_for_tests as jobs
from tests.conftest import reference_words


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def run(inputs, out, workers=1, **changes):
    values = dict(job_name="counters", map_function=jobs.counting_map, reduce_function=jobs.total,
                  combine_function=jobs.total, input_files=[str(p) for p in inputs], output_dir=str(out),
                  num_reduce_tasks=2, max_retries=0, split_size_mb=0.001)
    values.update(changes)
    scheduler = MapReduceScheduler(max_concurrent_tasks=workers)
    ok = scheduler.execute_job(JobConfig(**values))
    return ok, scheduler.last_result


def sample(tmp_path):
    lines = [f"line {i} has words {'x ' * (i % 5)}" for i in range(400)]
    return [write_lines(tmp_path / "in" / "a.txt", lines[:250]), write_lines(tmp_path / "in" / "b.txt", lines[250:])], lines


def test_user_and_framework_counters_are_summed_over_tasks(tmp_path):
    inputs, lines = sample(tmp_path)
    ok, result = run(inputs, tmp_path / "out", workers=2)
    assert ok
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["task_counts"]["map"] > 2, "the counts must come from several map tasks"
    counters = manifest["counters"]
    words = sum(len(reference_words(line)) for line in lines)
    assert counters["parse"] == {"lines": len(lines), "words": words}
    assert counters["mr_luigi"]["input_records"] == len(lines)
    assert counters["mr_luigi"]["map_output_records"] == words
    distinct = len({w for line in lines for w in reference_words(line)})
    assert counters["mr_luigi"]["reduce_input_groups"] == distinct
    assert result.manifest["counters"] == counters


def test_a_retried_task_counts_once(tmp_path, monkeypatch):
    inputs, lines = sample(tmp_path)
    monkeypatch.setenv("FAIL_ONCE_MARKER", str(tmp_path / "failed-once"))
    ok, result = run(inputs, tmp_path / "out", max_retries=1, max_bad_records=0)
    assert ok and (tmp_path / "failed-once").exists()
    assert result.manifest["counters"]["parse"]["lines"] == len(lines)


def test_the_end_of_job_summary_prints_the_counters(tmp_path, caplog):
    inputs, lines = sample(tmp_path)
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert run(inputs, tmp_path / "out")[0]
    text = caplog.text
    assert "Counters:" in text
    assert re.search(rf"lines\s+{len(lines)}\b", text.replace(",", ""))


def test_increment_outside_a_task_does_nothing():
    increment_counter("g", "n")
    with collecting() as inside:
        increment_counter("g", "n", 3)
        increment_counter("g", "n")
    assert inside == {("g", "n"): 4}
    increment_counter("g", "n")
    assert inside == {("g", "n"): 4}


def test_sum_and_format():
    total = sum_counters([{"a": {"x": 1}}, {"a": {"x": 2, "y": 5}, "b": {"z": 1000}}])
    assert total == {"a": {"x": 3, "y": 5}, "b": {"z": 1000}}
    assert format_counters(total).splitlines() == ["  a:", "    x             3", "    y             5", "  b:", "    z         1,000"]
