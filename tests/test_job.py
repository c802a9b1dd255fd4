"""The root tasks users subclass: their parameters never hide luigi.Task's own attributes."""

from __future__ import annotations

import datetime
import inspect
import json
from collections import Counter
from pathlib import Path

import luigi
import pytest

import mr_luigi
from mr_luigi.api.config_params import ConfigFileJob
from mr_luigi.api.job import Job, MapReduceJob
from mr_luigi.api.steps import MultiStepJob, StepTask
from mr_luigi.engine.tasks import MapBarrier, MapTask, ReduceTask, ShuffleTask
from pipelines.log_analysis import LogAnalysis
from pipelines.user_activity import UserActivity
from pipelines.word_count import WordCount
from tests import daily_pipeline as daily
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output
from tests.test_luigi_command import luigi_cmd

TASKS = [ConfigFileJob, MapReduceJob, Job, MultiStepJob, StepTask, MapTask, MapBarrier, ShuffleTask, ReduceTask,
         WordCount, LogAnalysis, UserActivity, jobs.FlakyCount, jobs.TopWords, jobs.CountThenPublish]
LUIGI_NAMES = set(dir(luigi.Task))


@pytest.mark.parametrize("task", TASKS, ids=[t.__name__ for t in TASKS])
def test_no_parameter_hides_an_attribute_of_luigi_task(task):
    names = {name for name, _ in task.get_params()}
    assert not names & LUIGI_NAMES, names & LUIGI_NAMES


@pytest.mark.parametrize("task", TASKS, ids=[t.__name__ for t in TASKS])
def test_no_method_of_ours_hides_one_of_luigi_task_unless_it_is_meant_to(task):
    meant = {"requires", "output", "run", "complete", "on_failure", "retry_count", "task_namespace",
             "_abc_impl", "_namespace_at_class_time",  # these two: set by luigi's metaclass on every class
             "bulk_complete",  # what Luigi's range tools ask
             "_requires"}  # Luigi's hook for a base class's own dependencies (MapReduceJob's phase tasks)
    ours = {name for cls in inspect.getmro(task) if cls.__module__.startswith(("mr_luigi", "pipelines", "tests"))
            for name in vars(cls) if not name.startswith("__")}
    assert not (ours & LUIGI_NAMES) - meant, (ours & LUIGI_NAMES) - meant


def test_input_of_a_job_is_luigis_input(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    task = WordCount(input_path=str(src), output_dir=str(tmp_path / "out"))
    assert task.input() == []  # luigi.Task.input(): the outputs of what the user's requires() names: nothing here
    reduces = [t for t in task.deps() if t.task_family == "mr_luigi.ReduceTask"]
    assert len(reduces) == task.plan.num_partitions == len(task.deps()), "Luigi sees the job's own tasks as its dependencies"


def test_the_public_api_lists_what_it_exports():
    assert all(hasattr(mr_luigi, name) for name in mr_luigi.__all__)


# -- a job as one node of a Luigi pipeline (tests/daily_pipeline.py) ------------------------------------------


def _expected_report(day: datetime.date) -> str:
    counts = Counter(word for line in daily.day_lines(day) for word in line.split())
    word, count = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return f"{word}\t{count}\n"


def _fetched(root: Path) -> list[str]:
    log = root / "fetched.log"
    return log.read_text().split() if log.exists() else []


def test_fetch_then_count_then_report_in_one_luigi_command(tmp_path):
    """The job's input does not exist when the command starts: an upstream task makes it."""
    day = datetime.date(2026, 11, 29)
    ran = luigi_cmd("--module", "tests.daily_pipeline", "Report", "--day", "2026-11-29", "--root", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "reports" / "2026-11-29.txt").read_text() == _expected_report(day)
    expected = Counter(word for line in daily.day_lines(day) for word in line.split())
    assert counts_from_output(tmp_path / "counts" / "2026-11-29" / "final_output.txt") == expected
    assert _fetched(tmp_path) == ["2026-11-29"]
    again = luigi_cmd("--module", "tests.daily_pipeline", "Report", "--day", "2026-11-29", "--root", str(tmp_path))
    assert again.returncode == 0 and _fetched(tmp_path) == ["2026-11-29"]
    assert "Started task" not in again.stderr, "everything was done"


def test_a_downstream_task_gets_the_jobs_results_as_its_input(tmp_path):
    job = daily.DailyCount(day=datetime.date(2026, 11, 28), root=str(tmp_path))
    assert not job.complete()  # its input does not exist yet: not complete, and no error
    assert luigi.build([job], local_scheduler=True, log_level="WARNING")
    target = job.output()
    assert target.path == str(tmp_path / "counts" / "2026-11-28" / "final_output.txt")
    assert target.folder == tmp_path / "counts" / "2026-11-28" and target.exists()
    assert sorted(target.outputs()) == ["final_output.txt", "part-00000", "part-00001"]
    with target.open("r") as fh:
        assert sum(1 for _ in fh) == len({w for line in daily.day_lines(datetime.date(2026, 11, 28)) for w in line.split()})


def test_a_wrapper_task_over_three_days(tmp_path):
    start = datetime.date(2026, 11, 20)
    assert luigi.build([daily.ThreeDays(start=start, root=str(tmp_path))], local_scheduler=True, workers=2, log_level="WARNING")
    days = [start + datetime.timedelta(days=i) for i in range(3)]
    for day in days:
        assert (tmp_path / "reports" / f"{day:%Y-%m-%d}.txt").read_text() == _expected_report(day)
    assert sorted(_fetched(tmp_path)) == [f"{d:%Y-%m-%d}" for d in days]


def test_range_daily_backfills_only_the_missing_days(tmp_path):
    days = [datetime.date(2026, 11, 1) + datetime.timedelta(days=i) for i in range(5)]
    assert luigi.build([daily.DailyCount(day=days[1], root=str(tmp_path)), daily.DailyCount(day=days[3], root=str(tmp_path))],
                       local_scheduler=True, log_level="WARNING")
    done_before = {d: (tmp_path / "counts" / f"{d:%Y-%m-%d}" / "_SUCCESS").read_bytes() for d in (days[1], days[3])}
    ran = luigi_cmd("--module", "tests.daily_pipeline", "RangeDaily", "--of", "DailyCount", "--of-params",
                    json.dumps({"root": str(tmp_path)}), "--start", "2026-11-01", "--stop", "2026-11-06", "--workers", "2")
    assert ran.returncode == 0, ran.stderr
    assert sorted(_fetched(tmp_path)) == sorted(f"{d:%Y-%m-%d}" for d in days)  # two before, three now
    for day in days:
        expected = Counter(word for line in daily.day_lines(day) for word in line.split())
        assert counts_from_output(tmp_path / "counts" / f"{day:%Y-%m-%d}" / "final_output.txt") == expected
    for day, manifest in done_before.items():
        assert (tmp_path / "counts" / f"{day:%Y-%m-%d}" / "_SUCCESS").read_bytes() == manifest, "a finished day is not redone"
