"""The root tasks users subclass: their parameters never hide luigi.Task's own attributes."""

from __future__ import annotations

import inspect

import luigi
import pytest

import mr_luigi
from mr_luigi.job import ConfigFileJob, MapReduceJob, PlannedJob
from mr_luigi.steps import MultiStepJob, StepTask
from mr_luigi.tasks import MapBarrier, MapTask, ReduceTask, ShuffleTask
from pipelines.log_analysis import LogAnalysis
from pipelines.user_activity import UserActivity
from pipelines.word_count import WordCount
from tests import jobs_for_tests as jobs

TASKS = [ConfigFileJob, MapReduceJob, PlannedJob, MultiStepJob, StepTask, MapTask, MapBarrier, ShuffleTask, ReduceTask,
         WordCount, LogAnalysis, UserActivity, jobs.FlakyCount, jobs.TopWords, jobs.CountThenPublish]
LUIGI_NAMES = set(dir(luigi.Task))


@pytest.mark.parametrize("task", TASKS, ids=[t.__name__ for t in TASKS])
def test_no_parameter_hides_an_attribute_of_luigi_task(task):
    names = {name for name, _ in task.get_params()}
    assert not names & LUIGI_NAMES, names & LUIGI_NAMES


@pytest.mark.parametrize("task", TASKS, ids=[t.__name__ for t in TASKS])
def test_no_method_of_ours_hides_one_of_luigi_task_unless_it_is_meant_to(task):
    meant = {"requires", "output", "run", "complete", "on_failure", "retry_count", "task_namespace",
             "_abc_impl", "_namespace_at_class_time"}  # the last two: set by luigi's metaclass on every class
    ours = {name for cls in inspect.getmro(task) if cls.__module__.startswith(("mr_luigi", "pipelines", "tests"))
            for name in vars(cls) if not name.startswith("__")}
    assert not (ours & LUIGI_NAMES) - meant, (ours & LUIGI_NAMES) - meant


def test_input_of_a_job_is_luigis_input(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    task = WordCount(input_path=str(src), output_dir=str(tmp_path / "out"))
    outputs = task.input()  # luigi.Task.input(): the outputs of what the job requires
    assert len(outputs) == task.plan.num_partitions and all(isinstance(o, luigi.LocalTarget) for o in outputs)


def test_the_public_api_lists_what_it_exports():
    assert all(hasattr(mr_luigi, name) for name in mr_luigi.__all__)
