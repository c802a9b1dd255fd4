"""Side files (``files`` in a config): their content is in the job id, and tasks read the job's own copy.

The expectations are computed here from the inputs and the stop words with
``collections.Counter``; the job reads the stop words through
``mr_luigi.job_file``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import luigi
import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, job_file
from mr_luigi.engine.plan import make_plan
from mr_luigi.engine.tasks import MapTask
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count

TEXT = "the cat and the dog\nA cat, a hat and THE bat\n"


def expected(inputs: list[Path], stop_words: str) -> Counter:
    counts = reference_word_count(inputs)
    for word in stop_words.split():
        counts.pop(word, None)
    return counts


@pytest.fixture
def job(tmp_path):
    (tmp_path / "in").mkdir()
    inputs = [tmp_path / "in" / "a.txt"]
    inputs[0].write_text(TEXT)
    stop = tmp_path / "stop.txt"
    stop.write_text("the\nand\n")
    config = JobConfig(job_name="stopped", map_function=jobs.count_words_but_stop_words, reduce_function=jobs.total,
                       input_files=[str(p) for p in inputs], output_dir=str(tmp_path / "out"), num_reduce_tasks=2,
                       files=[str(stop)])
    return config, inputs, stop


def run(config: JobConfig) -> MapReduceScheduler:
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config), scheduler.last_result.describe_failure()
    return scheduler


def test_the_functions_read_the_side_file_by_name(job):
    config, inputs, stop = job
    run(config)
    assert counts_from_output(Path(config.output_dir) / "final_output.txt") == expected(inputs, "the and")


def test_an_edited_side_file_makes_a_new_job_even_with_its_size_and_time_kept(job, tmp_path):
    config, inputs, stop = job
    run(config)
    first_id = make_plan(config).job_id
    stat = stop.stat()
    stop.write_text("cat\nhat\n")  # same size as "the\nand\n"
    os.utime(stop, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    plan = make_plan(config)
    assert plan.job_id != first_id
    assert plan.identity["files"]["stop.txt"][0] == str(stop)
    run(config.replace(output_dir=str(tmp_path / "out2")))
    assert counts_from_output(tmp_path / "out2" / "final_output.txt") == expected(inputs, "cat hat")


def test_a_side_file_edited_after_planning_fails_the_task_naming_it(job, caplog):
    """A worker that planned before the edit must not read the new content: its task fails, nothing is written."""
    config, inputs, stop = job
    plan = make_plan(config)
    stop.write_text("cat\n")
    result = luigi.build([MapTask.of(plan, index=0)], local_scheduler=True, detailed_summary=True, log_level="ERROR")
    assert result.status.name != "SUCCESS"
    assert f"side file {str(stop)!r} changed after the job was planned" in caplog.text
    assert not plan.map_dir(0).exists()
    assert not (plan.job_dir / "files" / "stop.txt").exists()


def test_the_copy_a_task_reads_is_the_planned_content(job):
    config, inputs, stop = job
    config = config.replace(keep_intermediate=True)
    plan = make_plan(config)
    run(config)
    copy = plan.side_file_copies["stop.txt"]
    assert copy.read_bytes() == stop.read_bytes()
    assert copy != stop


@pytest.mark.parametrize("files, words", [
    (["missing.txt"], "does not exist"),
    (["."], "is not a regular file"),
    ([["nested"]], "expected file paths"),
])
def test_a_bad_side_file_is_a_config_error_naming_files(job, tmp_path, files, words, monkeypatch):
    config, _, _ = job
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=words) as caught:
        make_plan(config.replace(files=files))
    assert caught.value.field == "files"


def test_two_side_files_of_one_name_are_refused(job, tmp_path):
    config, _, stop = job
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "stop.txt").write_text("x\n")
    with pytest.raises(ConfigError, match="two side files are named 'stop.txt'"):
        make_plan(config.replace(files=[str(stop), str(tmp_path / "other" / "stop.txt")]))


def test_a_file_the_job_does_not_declare_is_named(tmp_path):
    config = JobConfig(job_name="undeclared", map_function=jobs.count_words_but_stop_words, reduce_function=jobs.total,
                       input_files=[str(tmp_path / "a.txt")], output_dir=str(tmp_path / "out"), max_retries=0)
    (tmp_path / "a.txt").write_text(TEXT)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config)
    assert "declares no side file of that name" in scheduler.last_result.describe_failure()


def test_job_file_outside_a_task_says_so():
    with pytest.raises(ConfigError, match="outside a running job's task"):
        job_file("stop.txt")


def test_side_file_paths_in_a_toml_config_are_relative_to_it(tmp_path):
    from mr_luigi import load_config

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "stop.txt").write_text("the\n")
    (tmp_path / "conf" / "job.toml").write_text(
        'job_name = "t"\nmap_function = "tests.jobs_for_tests:count_words"\nreduce_function = "tests.jobs_for_tests:total"\n'
        'input_files = ["in.txt"]\noutput_dir = "out"\nfiles = ["stop.txt"]\n')
    config = load_config(tmp_path / "conf" / "job.toml")
    assert list(config.files) == [str(tmp_path / "conf" / "stop.txt")]
