"""Failures: a user's bug fails the job (after its retries), with one ERROR line and one traceback of the user's code.

Only ``BadRecord`` (and what ``skip_exceptions`` names) skips a record; any
other exception fails the task attempt. A failure that cannot change on
retry fails at once. Every kind of root task obeys ``max_retries``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler
from mr_luigi.engine.config import validate
from mr_luigi.engine.faults import ENV
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count

REPO = Path(__file__).resolve().parent.parent


def fruit_file(tmp_path: Path) -> Path:
    path = tmp_path / "fruit.txt"
    path.write_text("apple pear\napple\nplum apple\npear pear\nkiwi\n")  # lines 3 and 5 hold unknown fruit
    return path


def config(path: Path, out: Path, **changes) -> JobConfig:
    values = dict(job_name="fruit", map_function=jobs.buggy_map, reduce_function=jobs.total, input_files=[str(path)],
                  output_dir=str(out), num_reduce_tasks=2, max_retries=1)
    values.update(changes)
    return JobConfig(**values)


def our_records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == level and r.name.startswith("luigi-interface")]


def test_a_bug_in_the_map_fails_the_job_after_its_retries_with_one_error_and_the_users_traceback(tmp_path, caplog):
    path = fruit_file(tmp_path)
    scheduler = MapReduceScheduler(1)  # in this process, so that caplog sees every line
    with caplog.at_level(logging.INFO, logger="luigi-interface"):  # whatever level an earlier luigi.build left it at
        assert scheduler.execute_job(config(path, tmp_path / "out", max_retries=1)) is False
    assert not (tmp_path / "out" / "final_output.txt").exists() and not (tmp_path / "out" / "_SUCCESS").exists()
    assert scheduler.last_result.failures == {"fruit map 0/1": f"map_function raised KeyError: 'plum' ({path}:3)"}
    (warning,) = [r for r in our_records(caplog, logging.WARNING) if "failed on attempt" in r.getMessage()]
    assert warning.getMessage() == f"fruit map-00000 failed on attempt 1, will retry: map_function raised KeyError: 'plum' ({path}:3)"
    (error,) = our_records(caplog, logging.ERROR)
    text = error.getMessage()
    first, _, traceback = text.partition("\n")
    assert first == f"fruit map-00000 failed on attempt 2: map_function raised KeyError: 'plum' ({path}:3)"
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', traceback)
    assert [name for _, name in frames] == ["buggy_map", "<listcomp>", "price_of"], traceback
    assert all(file.endswith("jobs_for_tests.py") for file, _ in frames)
    assert traceback.rstrip().endswith("KeyError: 'plum'")
    assert not any("Traceback" in r.getMessage() for r in caplog.records if r is not error), "one traceback in all"


def test_a_transient_failure_is_retried_not_dropped(tmp_path, monkeypatch):
    """With the default max_bad_records a failing first call used to drop its line; now the task is retried."""
    inputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    inputs[0].write_text("one two three\nfour five\n")
    inputs[1].write_text("six seven\n")
    monkeypatch.setenv("FAIL_ONCE_MARKER", str(tmp_path / "marker"))
    scheduler = MapReduceScheduler(2)
    ok = scheduler.execute_job(JobConfig(job_name="flaky", map_function=jobs.fail_once_map, reduce_function=jobs.total,
                                         input_files=[str(p) for p in inputs], output_dir=str(tmp_path / "out"), max_retries=1))
    assert ok and scheduler.last_result.status == "SUCCESS_WITH_RETRY"
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    assert scheduler.last_result.manifest["bad_records"]["total"] == 0


def test_the_luigi_command_prints_one_error_line_and_one_traceback_and_exits_30(tmp_path):
    path = fruit_file(tmp_path)
    cmd = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--local-scheduler", "--no-lock",
           "--workers", "2", "--input", str(path), "--output-dir", str(tmp_path / "out"), "--max-retries", "2"]
    env = dict(os.environ, PYTHONPATH=str(REPO), **{ENV: "map:0:*:raise"})
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 30, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == ["ERROR: word_count map-00000 failed on attempt 3: InjectedFault: injected fault (MR_LUIGI_FAULTS) in "
                      "map 0, attempt 3, at start"], proc.stderr[-3000:]
    assert proc.stderr.count("failed on attempt") == 3
    assert "Traceback" not in proc.stderr, "an error mr_luigi raised on purpose needs no traceback"


def test_a_bug_under_the_luigi_command_shows_the_users_traceback_once(tmp_path):
    path = fruit_file(tmp_path)
    (tmp_path / "buggy.toml").write_text('map_function = "tests.jobs_for_tests:buggy_map"\ncombine_function = ""\n')
    cmd = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--local-scheduler", "--no-lock",
           "--workers", "2", "--config", str(tmp_path / "buggy.toml"), "--input", str(path), "--output-dir",
           str(tmp_path / "out"), "--max-retries", "1"]
    proc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 30, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [f"ERROR: word_count map-00000 failed on attempt 2: map_function raised KeyError: 'plum' ({path}:3)"]
    assert proc.stderr.count("Traceback (most recent call last)") == 1
    assert "in price_of" in proc.stderr and "luigi/worker.py" not in proc.stderr and "mr_luigi/engine/phases/" not in proc.stderr


@pytest.mark.parametrize("skip, reason", [(["KeyError"], "map_function raised KeyError"), (True, "map_function raised KeyError"),
                                          (["LookupError"], "map_function raised KeyError")])
def test_skip_exceptions_quarantines_the_named_exceptions(tmp_path, skip, reason):
    path = fruit_file(tmp_path)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(config(path, tmp_path / "out", skip_exceptions=skip, max_bad_records=2))
    good = Counter(w for n, line in enumerate(path.read_text().splitlines(), 1) if n not in (3, 5) for w in line.split())
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({w: jobs.PRICES[w] * n for w, n in good.items()})
    bad = [json.loads(line) for line in (tmp_path / "out" / "_bad_records" / "map-00000.jsonl").read_text().splitlines()]
    assert [(b["line"], b["reason"], b["error"]) for b in bad] == [(3, reason, "'plum'"), (5, reason, "'kiwi'")]


def test_an_exception_not_named_in_skip_exceptions_still_fails(tmp_path):
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(fruit_file(tmp_path), tmp_path / "out", skip_exceptions=["ValueError"]))


@pytest.mark.parametrize("value, message", [
    ("ValueError", "expected true, false or a list"),
    (["ValeuError"], "'ValeuError' is not an exception class \\(did you mean 'ValueError'\\?\\)"),
    (["json.NoSuchError"], "'json.NoSuchError' is not an exception class"),
    (["no_such_module.Error"],
     "'no_such_module.Error' is not an exception class \\(its module cannot be imported: No module named 'no_such_module'\\)$"),
    (["KeyboardInterrupt"], "'KeyboardInterrupt' is not an exception class"),
    ([3], "expected an exception name such as 'ValueError', got 3"),
    ([""], "expected an exception name such as 'ValueError', got ''"),
    (["NoSuchThing"], "'NoSuchThing' is not an exception class \\(a built-in exception, or 'module.ExceptionClass'\\)"),
])
def test_skip_exceptions_must_name_exception_classes(tmp_path, value, message):
    with pytest.raises(ConfigError, match=f"skip_exceptions: {message}"):
        validate(config(fruit_file(tmp_path), tmp_path / "out", skip_exceptions=value))


@pytest.mark.parametrize("value, expected", [(True, (Exception,)), (False, ()), (None, ()), ((), ()), ([], ()),
                                             (["ValueError", "json.JSONDecodeError"], (ValueError, json.JSONDecodeError))])
def test_skip_exceptions_true_is_every_exception_and_false_or_empty_none(value, expected):
    from mr_luigi.engine.config import resolve_skip_exceptions

    assert resolve_skip_exceptions(value) == expected


@pytest.mark.parametrize("value", ["ValueError", {"ValueError": 1}, 3])
def test_skip_exceptions_that_is_no_list_is_refused_word_for_word(value):
    from mr_luigi.engine.config import resolve_skip_exceptions

    with pytest.raises(ConfigError) as caught:
        resolve_skip_exceptions(value)
    assert str(caught.value) == f"skip_exceptions: expected true, false or a list of exception names, got {value!r}"


def test_a_dotted_exception_name_is_resolved(tmp_path):
    resolved = validate(config(fruit_file(tmp_path), tmp_path / "out", skip_exceptions=["json.JSONDecodeError"]))
    assert resolved.skip_types == (json.JSONDecodeError,)


def test_a_reduce_raising_bad_record_skips_the_key_and_quarantines_it(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("apple pear\npear plum\n")
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words, reduce_function=jobs.skip_key_reduce,
                                        max_bad_records=1))
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"apple": 1, "plum": 1})
    (kept,) = (tmp_path / "out" / "_bad_records").glob("reduce-*.jsonl")
    (record,) = [json.loads(line) for line in kept.read_text().splitlines()]
    assert record["key"] == "'pear'" and record["reason"] == "unwanted_key"
    assert scheduler.last_result.manifest["counters"]["bad_records"] == {"unwanted_key": 1}


def test_a_reduce_exception_named_in_skip_exceptions_is_quarantined_with_its_partition_and_reason(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("apple pear\npear plum\n")
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words, reduce_function=jobs.buggy_reduce,
                                        max_bad_records=1, skip_exceptions=["ZeroDivisionError"]))
    partition = zlib.crc32("pear".encode("utf-8")) % 2  # README: zlib.crc32 of a str key's UTF-8 bytes
    (kept,) = (tmp_path / "out" / "_bad_records").glob("*.jsonl")
    assert kept.name == f"reduce-{partition:05d}.jsonl"
    assert [json.loads(line) for line in kept.read_text().splitlines()] == [
        {"partition": partition, "key": "'pear'", "reason": "reduce_function raised ZeroDivisionError", "error": "reduce bug"}]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"apple": 1, "plum": 1})


def test_reduce_bad_records_count_against_the_limit(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("apple pear\npear plum\n")
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words,
                                            reduce_function=jobs.skip_key_reduce, max_bad_records=0))
    (error,) = scheduler.last_result.failures.values()
    assert error.startswith("RecordError: bad record at key 'pear' (partition ") and "unwanted_key" in error


@pytest.mark.parametrize("limit, succeeds", [(0.1, True), (0.09, False)])
def test_a_fraction_limit_counts_the_reduces_bad_records_against_the_input_lines(tmp_path, limit, succeeds):
    """One bad key of 10 input lines is 10 %: within max_bad_records = 0.1, over 0.09. The shuffle and
    reduce tasks read no input lines, so they add nothing to the lines the fraction is of."""
    path = tmp_path / "in.txt"
    path.write_text("apple plum\n" * 9 + "pear\n")
    scheduler = MapReduceScheduler(1)
    ran = scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words, num_reduce_tasks=4,
                                       reduce_function=jobs.skip_key_reduce, max_bad_records=limit))
    assert ran == succeeds, scheduler.last_result.failures
    if succeeds:
        assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"apple": 9, "plum": 9})
    else:
        (error,) = scheduler.last_result.failures.values()
        assert error.startswith("TooManyBadRecords: too many bad records: 1 of 10 input records (10.00%), over "
                                "max_bad_records = 0.09 (9% of input records); by reason: unwanted_key: 1."), error

def test_a_bug_in_the_reduce_names_the_key(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("apple pear\n")
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words, reduce_function=jobs.buggy_reduce))
    (error,) = scheduler.last_result.failures.values()
    assert re.fullmatch(r"reduce_function raised ZeroDivisionError: reduce bug \(key 'pear', partition \d\)", error), error


def test_a_combiner_cannot_skip_records(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("apple pear\n" * 100)
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.split_words, max_retries=2,
                                            combine_function=jobs.bad_record_combiner))
    (error,) = scheduler.last_result.failures.values()
    assert "combine_function raised BadRecord on key" in error and "cannot skip" in error
    attempts = attempt_events(tmp_path / "out", "map-00000")
    assert attempts == ["start", "failed"], "a permanent error is not retried"


# -- failures that cannot change on retry fail at once ---------------------------


def attempt_events(out: Path, task: str) -> list[str]:
    (log,) = (out / "_work").glob(f"*/attempts/{task}.jsonl")
    return [json.loads(line)["event"] for line in log.read_text().splitlines()]


def test_too_many_bad_records_fail_at_once(tmp_path, caplog):
    path = tmp_path / "in.txt"
    path.write_text("BAD line\n" * 5 + "good words\n")
    scheduler = MapReduceScheduler(1)
    with caplog.at_level(logging.INFO, logger="luigi-interface"):  # whatever level an earlier luigi.build left it at
        assert not scheduler.execute_job(config(path, tmp_path / "out", map_function=jobs.strict_map, max_retries=2,
                                                max_bad_records=2))
    assert attempt_events(tmp_path / "out", "map-00000") == ["start", "failed"]
    (error,) = our_records(caplog, logging.ERROR)
    assert "(not retried: it would fail the same way): TooManyBadRecords: too many bad records: 3" in error.getMessage()


def test_malformed_map_output_fails_at_once(tmp_path):
    scheduler = MapReduceScheduler(2)
    assert not scheduler.execute_job(config(fruit_file(tmp_path), tmp_path / "out", map_function=jobs.returns_int_map, max_retries=2))
    assert attempt_events(tmp_path / "out", "map-00000") == ["start", "failed"]


# -- every kind of root task obeys max_retries -----------------------------------


def run_command(cmd: list[str], env_extra: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    env.pop(ENV, None) if ENV not in (env_extra or {}) else None
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # a hang guard, not a timing
    return proc, time.monotonic() - started


def test_a_config_file_job_whose_final_step_fails_stops_after_its_retries(tmp_path):
    path = fruit_file(tmp_path)
    cmd = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--local-scheduler", "--no-lock",
           "--input", str(path), "--output-dir", str(tmp_path / "out"), "--max-retries", "2"]
    proc, _ = run_command(cmd, {ENV: "final:0:*:raise"})
    assert proc.returncode == 30, proc.stderr[-2000:]
    assert attempt_events(tmp_path / "out", "final") == ["start", "failed"] * 3


def test_mr_luigi_run_whose_final_step_fails_stops_after_its_retries(tmp_path):
    path = fruit_file(tmp_path)
    (tmp_path / "job.toml").write_text(f'job_name = "fruit"\nmap_function = "tests.jobs_for_tests:split_words"\n'
                                       f'reduce_function = "tests.jobs_for_tests:total"\ninput_files = ["{path}"]\n'
                                       f'output_dir = "{tmp_path / "out"}"\nmax_retries = 1\n')
    proc, _ = run_command([sys.executable, "-m", "mr_luigi.ops.cli", "run", str(tmp_path / "job.toml")], {ENV: "final:0:*:raise"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == ("mr-luigi: job fruit failed: fruit final step: InjectedFault: injected "
                                                    "fault (MR_LUIGI_FAULTS) in final 0, attempt 2, at start")
    assert attempt_events(tmp_path / "out", "final") == ["start", "failed"] * 2


def test_execute_job_whose_final_step_fails_returns_false_after_its_retries(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "final:0:*:raise")
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(config(fruit_file(tmp_path), tmp_path / "out", map_function=jobs.split_words, max_retries=2)) is False
    assert attempt_events(tmp_path / "out", "final") == ["start", "failed"] * 3


def test_a_multi_step_job_whose_publish_fails_stops_after_its_retries(tmp_path):
    path = fruit_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "luigi", "--module", "tests.jobs_for_tests", "CountThenPublish", "--local-scheduler",
           "--no-lock", "--input-path", str(path), "--output-dir", str(out), "--fail-publish", "--max-retries", "2"]
    proc, seconds = run_command(cmd)
    assert proc.returncode == 30, proc.stderr[-2000:]
    assert (out / "publish_attempts").read_text().count("attempt") == 3
    assert proc.stderr.count("RuntimeError: publish failed") <= 3 * 2, "bounded: no retry loop"


def test_a_multi_step_job_may_give_its_result_dir_as_a_str(tmp_path):
    path = fruit_file(tmp_path)
    cmd = [sys.executable, "-m", "luigi", "--module", "tests.jobs_for_tests", "CountThenPublish", "--local-scheduler",
           "--no-lock", "--input-path", str(path), "--output-dir", str(tmp_path / "out")]
    proc, _ = run_command(cmd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "_SUCCESS").read_text())["steps"][0]["job_name"] == "counts"
