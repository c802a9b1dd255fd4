"""Transient faults: tasks that fail on chosen attempts (MR_LUIGI_FAULTS), retried within one run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mr_luigi import ConfigError, MapReduceScheduler
from mr_luigi.engine.faults import ENV, InjectedFault, Injector, parse_rules
from mr_luigi.engine.report import summary
from tests.conftest import counts_from_output, reference_word_count
from tests.test_runner import make_config

REPO = Path(__file__).resolve().parent.parent
R = 2


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_text("".join(f"w{(i * 7 + n) % 23} common line{n % 5}\n" for n in range(400)))
    return sorted(folder.iterdir())


def run_job(tmp_path, inputs, monkeypatch, faults: str, max_retries: int, **changes):
    monkeypatch.setenv(ENV, faults)
    scheduler = MapReduceScheduler(2)
    config = make_config(inputs, tmp_path / "out", num_reduce_tasks=R, max_retries=max_retries, split_size_mb=0.01, **changes)
    ok = scheduler.execute_job(config)
    return ok, scheduler.last_result


def task_names(maps: int) -> set[str]:
    return ({f"map-{i:05d}" for i in range(maps)} | {f"shuffle-{p:05d}" for p in range(R)}
            | {f"reduce-{p:05d}" for p in range(R)} | {"barrier", "final"})


@pytest.mark.parametrize("retries", [1, 2])
def test_every_task_failing_its_first_n_attempts_still_succeeds_in_one_run(tmp_path, inputs, monkeypatch, retries):
    ok, result = run_job(tmp_path, inputs, monkeypatch, f"*:*:1-{retries}:raise", max_retries=retries)
    assert ok, result.describe_failure()
    assert result.status == "SUCCESS_WITH_RETRY"
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    manifest = result.manifest
    maps = manifest["task_counts"]["map"]
    assert maps == 3
    per_task = manifest["attempts"]["per_task"]
    assert set(per_task) == task_names(maps)
    assert set(per_task.values()) == {retries + 1}
    failures = manifest["attempts"]["unsuccessful"]
    assert len(failures) == retries * len(per_task)
    assert all(f["attempt"] <= retries and "InjectedFault" in f["error"] for f in failures)
    assert {t["attempt"] for t in manifest["tasks"]} == {retries + 1}


def test_failing_one_attempt_more_than_allowed_fails_naming_task_and_error(tmp_path, inputs, monkeypatch):
    ok, result = run_job(tmp_path, inputs, monkeypatch, "reduce:1:1-3:raise", max_retries=2)
    assert not ok
    assert list(result.failures) == ["test_job reduce 1/2"]
    assert "InjectedFault: injected fault (MR_LUIGI_FAULTS) in reduce 1, attempt 3, at start" in result.failures["test_job reduce 1/2"]
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    assert not (tmp_path / "out" / "final_output.txt").exists()
    # the attempt log says what happened, for whoever looks into the work folder
    (log,) = (tmp_path / "out" / "_work").glob("*/attempts/reduce-00001.jsonl")
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events == ["start", "failed"] * 3


def test_a_task_process_killed_on_its_first_attempt_is_retried(tmp_path, inputs, monkeypatch):
    ok, result = run_job(tmp_path, inputs, monkeypatch, "map:1:1:kill:middle,shuffle:0:1:kill:commit", max_retries=1)
    assert ok, result.describe_failure()
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    attempts = result.manifest["attempts"]
    assert attempts["per_task"]["map-00001"] == 2 and attempts["per_task"]["shuffle-00000"] == 2
    assert attempts["per_task"]["map-00000"] == 1
    assert {(f["task"], f["attempt"]) for f in attempts["unsuccessful"]} == {("map-00001", 1), ("shuffle-00000", 1)}
    assert all(f["error"].startswith("interrupted") for f in attempts["unsuccessful"])


def test_the_barrier_and_the_final_step_are_retried_too(tmp_path, inputs, monkeypatch):
    ok, result = run_job(tmp_path, inputs, monkeypatch, "barrier:0:1:raise:commit,final:0:1:raise:middle", max_retries=1)
    assert ok, result.describe_failure()
    per_task = result.manifest["attempts"]["per_task"]
    assert per_task["barrier"] == 2 and per_task["final"] == 2
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)


def test_the_luigi_command_exits_30_when_retries_run_out(tmp_path, inputs):
    env = dict(os.environ, PYTHONPATH=str(REPO), **{ENV: "map:0:*:raise"})
    cmd = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--local-scheduler", "--no-lock",
           "--input", str(inputs[0].parent), "--output-dir", str(tmp_path / "out"), "--max-retries", "1"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 30, proc.stderr[-2000:]
    assert "ERROR: word_count map-00000 failed on attempt 2: InjectedFault: injected fault (MR_LUIGI_FAULTS) in map 0, attempt 2, at start\n" in proc.stderr
    assert not (tmp_path / "out" / "_SUCCESS").exists()


@pytest.mark.parametrize("rule, field", [
    ("map:0:1", "phase:task:attempts:action"),
    ("merge:0:1:raise", "'merge' is not one of"),
    ("map:x:1:raise", "must be numbers"),
    ("map:0:1:explode", "'explode' is not one of"),
    ("map:0:1:raise:end", "'end' is not one of"),
])
def test_malformed_rules_are_config_errors_naming_the_rule(rule, field):
    with pytest.raises(ConfigError, match=field) as info:
        parse_rules(rule)
    assert ENV in str(info.value) and rule in str(info.value)


def test_rules_match_phase_task_and_attempt_ranges():
    (rule,) = parse_rules("shuffle:*:2-3:hang:middle")
    hits = [(p, t, a) for p in ("map", "shuffle") for t in (0, 5) for a in (1, 2, 3, 4) if rule.matches(p, t, a)]
    assert hits == [("shuffle", 0, 2), ("shuffle", 0, 3), ("shuffle", 5, 2), ("shuffle", 5, 3)]
    assert rule.point == "middle" and rule.action == "hang"


def test_an_injector_acts_at_its_point_and_half_way_only_once(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "reduce:2:1:raise:middle,reduce:2:2:raise:commit")
    first = Injector.for_attempt("reduce", 2, 1, tmp_path)
    first("start")
    first("commit")
    with pytest.raises(InjectedFault, match="reduce 2, attempt 1, at middle"):
        first.middle()
    first.middle()  # later progress reports of the same attempt go on
    second = Injector.for_attempt("reduce", 2, 2, tmp_path)
    second.middle()
    with pytest.raises(InjectedFault, match="attempt 2, at commit"):
        second("commit")
    Injector.for_attempt("reduce", 1, 1, tmp_path)("commit")  # another task: no rule


def test_the_summary_and_the_html_report_list_the_attempts_that_failed(tmp_path, inputs, monkeypatch):
    ok, result = run_job(tmp_path, inputs, monkeypatch, "shuffle:1:1:raise:commit", max_retries=1)
    assert ok, result.describe_failure()
    text = summary(result.manifest, tmp_path / "out")
    assert "1 attempt(s) of 1 task(s) did not succeed and were retried:\n" in text
    assert "  shuffle-00001 attempt 1: InjectedFault: injected fault (MR_LUIGI_FAULTS) in shuffle 1, attempt 1, at commit\n" in text
    page = (tmp_path / "out" / "_report.html").read_text()
    rows = re.findall(r"<tr><td>(shuffle-\d+)</td><td>(\d+)</td><td>[^<]*</td><td>([^<]*)</td></tr>", page)
    assert rows == [("shuffle-00001", "1", "InjectedFault: injected fault (MR_LUIGI_FAULTS) in shuffle 1, attempt 1, at commit")]


def test_no_retry_note_when_every_attempt_succeeded(tmp_path, inputs, monkeypatch):
    ok, result = run_job(tmp_path, inputs, monkeypatch, "", max_retries=1)
    assert ok
    assert "did not succeed" not in summary(result.manifest, tmp_path / "out")
    assert "Retried attempts" not in (tmp_path / "out" / "_report.html").read_text()


def test_every_task_killed_once_costs_one_retry_each(tmp_path, inputs, monkeypatch):
    """Each killed process is one failed attempt, not two (see mr_luigi.engine.luigi_patches)."""
    ok, result = run_job(tmp_path, inputs, monkeypatch, "map:*:1:kill:middle,shuffle:*:1:kill:start,reduce:*:1:kill:commit",
                         max_retries=1)
    assert ok, result.describe_failure()
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    per_task = result.manifest["attempts"]["per_task"]
    assert {name: n for name, n in per_task.items() if name not in ("barrier", "final")} == dict.fromkeys(
        [f"map-{i:05d}" for i in range(3)] + [f"{p}-{i:05d}" for p in ("shuffle", "reduce") for i in range(R)], 2)


def test_a_malformed_rule_stops_the_job_before_any_task_runs(tmp_path, inputs, monkeypatch):
    monkeypatch.setenv(ENV, "map:0:first:raise")
    config = make_config(inputs, tmp_path / "out")
    with pytest.raises(ConfigError, match=r"MR_LUIGI_FAULTS: rule 'map:0:first:raise': task and attempts must be numbers"):
        MapReduceScheduler(1).execute_job(config)
    assert not (tmp_path / "out").exists()


def test_the_attempts_of_a_job_with_steps_are_named_with_their_step(tmp_path, inputs, monkeypatch):
    """Each step's map 0 fails once: both failures are listed, under their step; the final task, running while the
    manifest is written, is not taken for an interrupted one."""
    from mr_luigi import JobConfig, Step
    from tests import jobs_for_tests as jobs

    monkeypatch.setenv(ENV, "map:0:1:raise")
    config = JobConfig(job_name="two", input_files=[str(p) for p in inputs], output_dir=str(tmp_path / "out"),
                       max_retries=1, split_size_mb=0.01, num_reduce_tasks=R,
                       steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total),
                              Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words)])
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(config), scheduler.last_result.describe_failure()
    attempts = scheduler.last_result.manifest["attempts"]
    per_task = attempts["per_task"]
    assert per_task["step1/map-00000"] == per_task["step2/map-00000"] == 2
    assert per_task["step2/final"] == 1 and "step1/final" not in per_task  # only the last step publishes
    assert {name.split("/")[0] for name in per_task} == {"step1", "step2"}
    assert sorted((f["task"], f["attempt"]) for f in attempts["unsuccessful"]) == [("step1/map-00000", 1),
                                                                                   ("step2/map-00000", 1)]
    assert all(set(f) == {"task", "attempt", "host", "pid", "error"} and "InjectedFault" in f["error"]
               for f in attempts["unsuccessful"])
