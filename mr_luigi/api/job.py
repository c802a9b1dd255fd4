"""The root task of a job, which users subclass: :class:`MapReduceJob`.

A subclass says what to compute by returning a :class:`JobConfig` from
:meth:`MapReduceJob.job_config`; it is a normal Luigi task otherwise, with
parameters, ``requires`` and ``output``, so it can be run with ``luigi
--module ...``, required by other tasks, or watched in Luigi's web UI.
:class:`ConfigFileJob` adds the usual command-line parameters (``--config``,
``--input-path``, ``--output-dir``, ``--num-reduce-tasks``, ``--max-retries``).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import luigi
import luigi.interface

from mr_luigi.engine import failures, interrupts, luigi_command, report
from mr_luigi.engine.attempts import RetriesOfJob
from mr_luigi.engine.config import JobConfig
from mr_luigi.engine.luigi_setup import RootTask
from mr_luigi.engine.phases.final import (
    FINAL_OUTPUT,
    check_previous_results,
    run_final_step,
)
from mr_luigi.engine.plan import JobPlan, make_plan, plan_of_task
from mr_luigi.engine.tasks import last_tasks
from mr_luigi.errors import ConfigError

logger = logging.getLogger("luigi-interface.mr_luigi")
_announced: set[str] = set()


class JobOutput(luigi.LocalTarget):
    """What a job gives the tasks that require it: its results, complete only when its ``_SUCCESS`` manifest is.

    ``path`` is ``final_output.txt`` (a job with named outputs: the output
    folder), so ``self.input().open()`` in a downstream task reads the
    results. ``folder`` is the output folder, ``success_path`` the manifest,
    :meth:`outputs` the published files by name. A manifest left by a
    different job (other config or inputs) does not count.
    """

    def __init__(self, plan: JobPlan) -> None:
        self.folder = plan.output_dir
        self.success_path = plan.success_path
        self.job_id = plan.job_id
        #: where the results are: the output folder, or the ``s3://`` output_dir (read it with s3fs)
        self.location = plan.output_location
        self._plan = plan
        super().__init__(str(self.folder if plan.config.named_outputs else self.folder / FINAL_OUTPUT))

    def exists(self) -> bool:
        return report.finished_manifest(self._plan) is not None

    def outputs(self) -> dict[str, luigi.LocalTarget]:
        """Each published file (``final_output.txt``, ``part-00000``, ``errors.txt``...) by its name, once the job is done."""
        manifest = report.published_manifest(self._plan) or {}
        return {name: luigi.LocalTarget(str(self.folder / name)) for name in manifest.get("outputs", [])}


class MapReduceJob(RootTask, RetriesOfJob, luigi.Task):
    """A whole MapReduce job as one Luigi task; subclass and define job_config().

    Like any Luigi task it may ``requires()`` upstream tasks and read their
    outputs (``self.input()``) in :meth:`job_config`: the job plans itself
    (expands its inputs, fingerprints its code) only once they are complete,
    and its map, shuffle and reduce tasks follow. Its ``output()`` is a
    :class:`JobOutput`.
    """

    mr_luigi_reports_own_failures = True  # its run() is the final step's attempt (see tasks.attempt_of)

    def job_config(self) -> JobConfig:
        """The config of this job, built from the task's parameters."""
        raise NotImplementedError(f"{type(self).__name__} must define job_config()")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plan: JobPlan | None = None
        self._planned_when_scheduled: bool | None = None
        #: the earlier run's results this job may replace: those in its output folder when it was planned
        self.replaces: str | None = None

    @property
    def plan(self) -> JobPlan:
        """The job's plan, made when first needed (raises ConfigError)."""
        if self._plan is None:
            plan = self._make_plan()
            self.replaces = check_previous_results(plan)
            self._plan = plan
        return self._plan

    def _make_plan(self) -> JobPlan:
        return make_plan(self.job_config())

    def plans_so_far(self) -> list[JobPlan]:
        return [self._plan] if self._plan is not None else []

    def job_max_retries(self) -> int:  # of the final step
        return self._plan.config.max_retries if self._plan is not None else JobConfig.max_retries

    def on_failure(self, exception: BaseException) -> str:
        return failures.task_error(f"{self._name()} final step", exception)

    def _name(self) -> str:
        return self._plan.name if self._plan is not None else type(self).__name__

    def _upstream(self) -> list[luigi.Task]:
        return luigi.task.flatten(self.requires())

    def _requires(self) -> list[luigi.Task]:
        """The user's ``requires()`` and, if those were complete when Luigi first asked, the job's reduce tasks.

        (Luigi's hook for a base class's own dependencies.) Planned here, the
        job's whole graph is known when it is scheduled, so every worker of a
        central scheduler can take its tasks. A job whose input an upstream
        task makes plans in :meth:`run` instead, and the answer stays the
        same afterwards: Luigi checks again before ``run()`` that every
        dependency is complete.
        """
        upstream = self._upstream()
        if self._planned_when_scheduled is None:
            self._planned_when_scheduled = all(task.complete() for task in upstream)
        if self._planned_when_scheduled:
            try:
                self._announce()
                return upstream + last_tasks(self.plan)
            except ConfigError:
                self._planned_when_scheduled = False  # run() fails with it
        return upstream

    def complete(self) -> bool:
        if not all(task.complete() for task in self._upstream()):
            return False
        try:
            return self.output().exists()
        except ConfigError as exc:
            if not luigi_command.under_luigi_command():
                raise
            luigi_command.exit_for_config_error(exc)

    @classmethod
    def bulk_complete(cls, parameter_tuples: Any) -> list[Any]:
        """Those of ``parameter_tuples`` whose job is complete: what Luigi's range tools (``RangeDaily``) ask.

        Luigi's fallback guesses from the files of ``output()``, which would
        plan every day's job, inputs missing or not.
        """
        return [params for params in parameter_tuples
                if (cls(*params) if isinstance(params, tuple) else cls(params)).complete()]

    def _announce(self) -> None:
        """Log the job's shape once per process (requires() runs after Luigi set up logging)."""
        plan = self.plan
        if plan.job_id in _announced:
            return
        _announced.add(plan.job_id)
        logger.info("Starting MapReduce job: %s", plan.describe())
        logger.info("Created %d map tasks", plan.num_maps)
        logger.info("Created %d shuffle tasks depending on %d map tasks", plan.num_partitions, plan.num_maps)
        logger.info("Created %d reduce tasks", plan.num_partitions)

    def output(self) -> JobOutput:
        return JobOutput(self.plan)

    def run(self) -> Iterator[list[luigi.Task]]:
        self._announce()
        yield last_tasks(self.plan)  # done already unless an upstream task made the input
        with interrupts.stoppable():
            run_final_step(self.plan, self.replaces)
        tracking = getattr(self, "set_tracking_url", None)  # attached by Luigi's worker
        if tracking is not None:
            tracking((self.plan.output_dir / report.HTML_REPORT).as_uri())


class Job(MapReduceJob):
    """The root task of a job run by ``mr-luigi run`` or :class:`~mr_luigi.MapReduceScheduler`.

    Its parameters are those of the job's other tasks (see
    :class:`~mr_luigi.engine.tasks.JobTask`): Luigi's web UI shows it as
    ``mr_luigi.Job(job_id=word_count-3f2a9c1b0d4e)``, and any worker can
    rebuild it. (Its family is not the job's name: a worker that is handed
    a task loads its class by family, and a class per job name would exist
    only in the process that made it.)
    """

    task_namespace = "mr_luigi"
    job_id: str = luigi.Parameter(description="the job's id: its name and a digest of its config, code and inputs")
    spec: str = luigi.Parameter(significant=False, visibility=luigi.parameter.ParameterVisibility.HIDDEN,
                                description="the job's config as JSON")

    @classmethod
    def of(cls, plan: JobPlan, force: bool = False) -> Job:
        """The root task of ``plan``'s job, started now.

        Raises ConfigError if another job's results are in its output folder,
        unless ``force``: then this job replaces them when it publishes.
        """
        job = cls(job_id=plan.job_id, spec=plan.spec)
        job._plan = job._plan or plan
        job.replaces = check_previous_results(plan, force)
        return job

    def _make_plan(self) -> JobPlan:
        return plan_of_task(self.job_id, self.spec)

    def job_config(self) -> JobConfig:
        return self.plan.config
