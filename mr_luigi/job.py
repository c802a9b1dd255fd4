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
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import luigi
import luigi.interface

from mr_luigi import atomic, attempts, failures, interrupts, luigi_command, phases, publish, quarantine, report
from mr_luigi.config import JobConfig
from mr_luigi.errors import ConfigError, OutputTaken, StorageError
from mr_luigi.plan import JobPlan, identity_difference, make_plan, plan_of_task
from mr_luigi.tasks import attempt_of, reduce_tasks

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
        super().__init__(str(self.folder if plan.config.named_outputs else self.folder / phases.FINAL_OUTPUT))

    def exists(self) -> bool:
        manifest = report.read_manifest(self.success_path)
        return manifest is not None and manifest.get("job_id") == self.job_id

    def outputs(self) -> dict[str, luigi.LocalTarget]:
        """Each published file (``final_output.txt``, ``part-00000``, ``errors.txt``...) by its name, once the job is done."""
        manifest = report.read_manifest(self.success_path) or {}
        return {name: luigi.LocalTarget(str(self.folder / name)) for name in manifest.get("outputs", [])}


class MapReduceJob(luigi.Task):
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
        if luigi_command.under_luigi_command():
            interrupts.install_for_luigi_command(self._plans_so_far, clean=luigi.interface.core().local_scheduler)

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

    def _plans_so_far(self) -> list[JobPlan]:
        return [self._plan] if self._plan is not None else []

    @property
    def retry_count(self) -> int:  # read by Luigi's worker: total attempts
        return (self._plan.config.max_retries if self._plan is not None else JobConfig.max_retries) + 1

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
                return upstream + reduce_tasks(self.plan)
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
        yield reduce_tasks(self.plan)  # done already unless an upstream task made the input
        with interrupts.stoppable():
            run_final_step(self.plan, self.replaces)
        tracking = getattr(self, "set_tracking_url", None)  # attached by Luigi's worker
        if tracking is not None:
            tracking((self.plan.output_dir / report.HTML_REPORT).as_uri())


def run_final_step(plan: JobPlan, replaces: str | None = None) -> dict[str, Any]:
    """The job's last task, as one logged attempt (with its fault hooks).

    ``replaces`` is the job id of the results in the output folder when the
    job was started (see :func:`check_previous_results`), which it replaces.

    Another worker may finish the same job first (two root tasks of one job,
    say ``mr-luigi run`` on one host and ``luigi --module`` on another): its
    manifest then stands, and this step succeeds without redoing it. (The
    output folder's lock makes that the usual case; a folder on a filesystem
    without working locks can still see the other worker's step remove the
    intermediates this one reads.)
    """
    finished = _finished_manifest(plan)
    if finished is None:
        with attempt_of(plan, FINAL_TASK, "final", 0) as (_, inject):
            try:
                return finish_job(plan, inject, replaces)
            except OSError as exc:
                finished = _finished_manifest(plan)  # it removed the intermediates this step was reading
                if finished is None:
                    raise StorageError(f"{plan.name} final step: file error: {exc}") from exc
    logger.info("%s: another worker finished this job", plan.name)
    return finished


def _finished_manifest(plan: JobPlan) -> dict[str, Any] | None:
    manifest = report.read_manifest(plan.success_path)
    return manifest if manifest is not None and manifest.get("job_id") == plan.job_id else None


FINAL_TASK = "final"


def finish_job(plan: JobPlan, inject: Callable[[str], None] = lambda point: None, replaces: str | None = None) -> dict[str, Any]:
    """The final step: publish outputs, write the manifest, remove intermediates.

    It holds the output folder's lock while it publishes (see
    :mod:`mr_luigi.publish`): a folder that another job's results took
    meanwhile fails this job; this job's own ``_SUCCESS`` means another
    worker finished it. The manifest is written last, after every output it
    lists: until it is there, the job is incomplete and a re-run does this
    step again.
    """
    started = time.time()
    with publish.output_lock(plan.output_dir):
        finished = _finished_manifest(plan)
        if finished is not None:
            return finished
        replaced = check_output_free(plan, replaces)
        tasks = report.collect_task_stats(plan)
        phases.check_bad_records(plan, tasks)
        journal = publish.Journal(plan.output_dir, plan.job_id)
        undone = journal.undo_interrupted()
        if undone:
            logger.info("%s: removed %d output(s) of an interrupted publish: %s", plan.name, len(undone), ", ".join(undone))
        if replaced is not None:
            _remove_replaced(plan, replaced, journal)
        final_lines, outputs = phases.write_final_outputs(plan, journal, inject)
        phases.publish_bad_records(plan, journal)
        manifest = report.build_manifest(plan, tasks, final_lines, outputs, started,
                                         attempts.summary(plan.job_dir, running=FINAL_TASK))
        journal.add(report.HTML_REPORT)
        report.write_html_report(plan.output_dir / report.HTML_REPORT, manifest)
        inject("commit")
        report.write_manifest(plan.success_path, manifest)
        journal.close()
    if plan.config.keep_intermediate:
        remove_leftovers(plan.job_dir)
    else:
        remove_intermediates(plan)
    logger.info(report.summary(manifest, plan.output_dir))
    return manifest


def remove_leftovers(folder: Path) -> None:
    """Delete what killed attempts left in a kept work folder (``*-luigi-tmp-*``)."""
    for path in sorted(folder.rglob(f"*{atomic.TMP_MARKER}*"), reverse=True):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_previous_results(plan: JobPlan) -> str | None:
    """Look at the results already in the output folder when the job is started; return the job id it replaces.

    Another job's (another ``job_name``) are refused. An earlier run of this
    job (the same name, other code, inputs or settings) is replaced when
    this one publishes: a re-run after an edit gives the new result.
    """
    manifest = report.read_manifest(plan.success_path)
    if manifest is None or manifest.get("job_id") == plan.job_id:
        return None
    if manifest.get("job_name") != plan.name:
        raise ConfigError("output_dir", _taken_message(plan, manifest))
    if plan.job_id not in _announced_replacements:
        _announced_replacements.add(plan.job_id)
        logger.warning("%s: %s holds an earlier run's results (%s; it differs in %s); this run replaces them when it "
                       "finishes", plan.name, plan.output_dir, manifest.get("job_id"), _difference(plan, manifest))
    return str(manifest.get("job_id"))


_announced_replacements: set[str] = set()


def check_output_free(plan: JobPlan, replaces: str | None) -> dict[str, Any] | None:
    """At the final step: the manifest of the earlier results this job replaces, if any.

    Only the results that were there when the job was started are replaced;
    results another job published since fail this one: two jobs aimed at one
    folder at once never both succeed.
    """
    manifest = report.read_manifest(plan.success_path)
    if manifest is None or manifest.get("job_id") == plan.job_id:
        return None
    if replaces is None or manifest.get("job_id") != replaces:
        raise OutputTaken(_taken_message(plan, manifest, since=True))
    return manifest


def _difference(plan: JobPlan, manifest: dict[str, Any]) -> str:
    differs = identity_difference(manifest.get("identity", {}), plan.identity) if "identity" in manifest else ""
    return differs or "config, code or inputs"


def _taken_message(plan: JobPlan, manifest: dict[str, Any], since: bool = False) -> str:
    when = ", published while this job ran" if since else ""
    return (f"{str(plan.output_dir)!r} holds the results of another job ({manifest.get('job_id')}{when}; they differ in "
            f"{_difference(plan, manifest)}), not of this one ({plan.job_id}): remove that folder or choose another output_dir")


def _remove_replaced(plan: JobPlan, manifest: dict[str, Any], journal: publish.Journal) -> None:
    """Remove an earlier run's results (listed in the journal first, so that an interruption is undone)."""
    names = [*manifest.get("outputs", []), quarantine.FOLDER, report.HTML_REPORT]
    for name in names:
        journal.add(name)
    plan.success_path.unlink(missing_ok=True)
    journal.undo_interrupted()
    logger.info("%s: replaced the results of the earlier run %s", plan.name, manifest.get("job_id"))


def remove_intermediates(plan: JobPlan) -> None:
    """Delete the job's work folder, and the work dir itself when it is left empty."""
    shutil.rmtree(plan.job_dir, ignore_errors=True)
    try:
        plan.resolved.work_dir.rmdir()
    except OSError:
        pass


class Job(MapReduceJob):
    """The root task of a job run by ``mr-luigi run`` or :class:`~mr_luigi.MapReduceScheduler`.

    Its parameters are those of the job's other tasks (see
    :class:`~mr_luigi.tasks.JobTask`): Luigi's web UI shows it as
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
    def of(cls, plan: JobPlan) -> Job:
        """The root task of ``plan``'s job, started now (raises ConfigError if another job's results are in its output folder)."""
        job = cls(job_id=plan.job_id, spec=plan.spec)
        job._plan = job._plan or plan
        job.replaces = check_previous_results(plan)
        return job

    def _make_plan(self) -> JobPlan:
        return plan_of_task(self.job_id, self.spec)

    def job_config(self) -> JobConfig:
        return self.plan.config
