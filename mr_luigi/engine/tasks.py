"""The Luigi tasks of a job: map, a barrier, shuffle and reduce.

The graph of a job with M splits and R partitions::

    MapTask x M  ->  MapBarrier  ->  ShuffleTask x R  ->  ReduceTask x R  ->  job

In a multi-step job, each later step's map ``i`` requires the step before's
reduce ``i`` (R maps, one edge each), and the job requires the last step's
reduces.

Each shuffle task needs every map's output, but requires only the barrier:
M + 3R edges instead of M x R, which keeps Luigi's scheduling cost linear.
Every task writes its outputs into a temporary folder renamed into place when
the task succeeds, so an interrupted task is simply incomplete, and a re-run
does exactly the tasks whose outputs are missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import luigi

from mr_luigi.engine import collector, context, counters, failures, interrupts, luigi_setup, workstore
from mr_luigi.engine.attempts import RetriesOfJob, attempt_of
from mr_luigi.engine.phases import map as map_phase
from mr_luigi.engine.phases import reduce as reduce_phase
from mr_luigi.engine.phases import shuffle as shuffle_phase
from mr_luigi.engine.plan import JobPlan, plan_of_task
from mr_luigi.engine.progress import Progress, status_message
from mr_luigi.engine.stats import check_bad_records, read_stats, write_stats
from mr_luigi.errors import StorageError
from mr_luigi.io import atomic

logger = logging.getLogger("luigi-interface.mr_luigi")


class JobTask(RetriesOfJob, luigi.Task):
    """A task of one MapReduce job, rebuildable from its parameters on any process or host.

    ``job_id`` names the job (``word_count-3f2a9c1b0d4e``): with the task's
    own index it makes the Luigi task id, readable in the web UI. ``spec`` is
    the job's config as plain JSON (see :mod:`mr_luigi.engine.spec`), sent along
    with the task but hidden in the UI and left out of the task id, which
    the job id already stands for. The plan is made from them when first
    needed, once per process (see :func:`mr_luigi.engine.plan.plan_of_task`).
    """

    task_namespace = "mr_luigi"
    job_id: str = luigi.Parameter(description="the job's id: its name and a digest of its config, code and inputs")
    spec: str = luigi.Parameter(significant=False, visibility=luigi.parameter.ParameterVisibility.HIDDEN,
                                description="the job's config as JSON")
    mr_luigi_reports_own_failures = True  # see attempt_of

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        luigi_setup.prepare()  # a worker that was handed this task may have built no other
        super().__init__(*args, **kwargs)

    @classmethod
    def of(cls, plan: JobPlan, **params: Any) -> Any:
        """This task of ``plan``'s job (the plan is handed over, not made again)."""
        task = cls(job_id=plan.job_id, spec=plan.spec, **params)
        task.__dict__["plan"] = plan
        return task

    @cached_property
    def plan(self) -> JobPlan:
        return plan_of_task(self.job_id, self.spec)

    @cached_property
    def work_store(self) -> workstore.WorkStore | None:
        """The job's work folder on an object store, or None when it is local (see :mod:`mr_luigi.engine.workstore`)."""
        return workstore.of(self.plan)

    def job_max_retries(self) -> int:
        return self.plan.config.max_retries

    def on_failure(self, exception: BaseException) -> str:
        return failures.task_error(self.label, exception)

    @property
    def label(self) -> str:
        raise NotImplementedError


class PhaseTask(JobTask):
    """Common behaviour of map, shuffle and reduce tasks."""

    phase = ""

    @property
    def label(self) -> str:
        return f"{self.plan.name} {self.phase}"

    def output_dir(self) -> Path:
        raise NotImplementedError

    def output(self) -> luigi.Target:
        if self.work_store is not None:
            return workstore.DoneTarget(self.work_store, self.output_dir())
        return luigi.LocalTarget(str(self.output_dir()))

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        raise NotImplementedError

    def get_inputs(self, store: workstore.WorkStore) -> None:
        """Get from the store what :meth:`work` reads that other hosts may have written."""

    @property
    def index_in_phase(self) -> int:
        return 0

    @property
    def attempt_name(self) -> str:
        """This task's name in the attempt logs: ``map-00003``."""
        return f"{self.phase}-{self.index_in_phase:05d}"

    def run(self) -> None:
        if self.complete():
            # Another worker finished it since the scheduler handed it out
            # (a luigid told by a slower worker that it is pending again).
            logger.info("Task %s: already done by another worker", self.label)
            return
        started = time.time()
        logger.info("Started task %s", self.label)
        store = self.work_store
        if store is None:
            stats = self._attempt(started)
        else:
            store.get_attempts(self.attempt_name)  # attempts on other hosts count
            try:
                stats = self._attempt(started, store)
            finally:  # the attempt log, with how this attempt ended (the task's own outcome matters more)
                try:
                    store.put_attempts(self.attempt_name)
                except Exception as exc:  # noqa: BLE001
                    logger.warning("Task %s: its attempt log is not on the store, attempts may be miscounted: %s",
                                   self.label, exc)
        self._report_done(stats, time.time() - started)
        logger.info("Finished task %s in %.2fs", self.label, time.time() - started)

    def _attempt(self, started: float, store: workstore.WorkStore | None = None) -> dict[str, Any]:
        """One attempt at the task, logged (see :mod:`mr_luigi.engine.attempts`); its statistics."""
        with interrupts.stoppable(), attempt_of(self.plan, self.attempt_name, self.phase, self.index_in_phase) as (attempt, inject):
            if store is not None:
                store.put_attempts(self.attempt_name)  # this attempt counts on every host, even if this one dies
                shutil.rmtree(self.output_dir(), ignore_errors=True)  # the store's copy is the one that counts
                self.get_inputs(store)
            with context.running(self.plan.config.params, self.plan.side_file_copies) as user_counters, \
                    atomic.atomic_directory(self.output_dir()) as out:
                try:
                    with collector.task_thresholds():
                        stats = self.work(out, Progress(self, self.label, 0, "records", hook=inject.middle))
                except OSError as exc:
                    raise StorageError(f"{self.label}: file error in {out.parent}: {exc}") from exc
                inject.middle()  # a task too short to report progress
                stats["counters"] = counters.task_counters(stats, user_counters)
                stats.update(task=self.label, phase=self.phase, start=started, end=time.time(), pid=os.getpid(),
                             attempt=attempt, job_id=self.job_id)
                write_stats(out, stats)
                inject("commit")
            if store is not None:  # the attempt is done when the store has its files and marker
                store.put_task(self.output_dir(), self.phase, self.index_in_phase, self.attempt_name, inject)
        return stats

    def _report_done(self, stats: dict[str, Any], seconds: float) -> None:
        """The last status in the web UI: 100% and what the task did."""
        shown = ", ".join(f"{stats[k]:,} {k.replace('_', ' ')}" for k in _DONE_STATS if stats.get(k))
        percentage = getattr(self, "set_progress_percentage", None)  # attached by Luigi's worker
        message = getattr(self, "set_status_message", None)
        if percentage is not None and message is not None:
            percentage(100)
            message(status_message(f"done in {seconds:.1f}s", self.label, shown))


class MapTask(PhaseTask):
    """Runs the user's map over one input split."""

    index: int = luigi.IntParameter()
    phase = "map"

    @property
    def label(self) -> str:
        return f"{self.plan.name} map {self.index}/{self.plan.num_maps}"

    @property
    def index_in_phase(self) -> int:
        return self.index

    def output_dir(self) -> Path:
        return self.plan.map_dir(self.index)

    def requires(self) -> list[ReduceTask]:
        """A later step's map reads one reduce output of the step before: one edge per map."""
        previous = self.plan.previous
        return [] if previous is None else [ReduceTask.of(previous, partition=self.index)]

    def get_inputs(self, store: workstore.WorkStore) -> None:
        if self.plan.previous is not None:  # a later step's map reads one reduce output of the step before
            store.get_folder(self.plan.previous.reduce_output_dir(self.index))

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        split = self.plan.splits[self.index]
        size = sum(os.path.getsize(s.path) for s in split.segments) if self.plan.reads_records else split.size
        progress.total, progress.unit = size, "MB"
        run = map_phase.run_map_only if self.plan.map_only else map_phase.run_map
        return run(self.plan, self.index, out, progress)


class MapBarrier(JobTask):
    """Complete when every map task is: the one edge between the phases.

    It also checks, once for the whole job, that the maps did not reject more
    records than ``max_bad_records`` allows; if they did, no shuffle starts.
    """

    @property
    def label(self) -> str:
        return f"{self.plan.name} barrier"

    def requires(self) -> list[MapTask]:
        return [MapTask.of(self.plan, index=i) for i in range(self.plan.num_maps)]

    def output(self) -> luigi.Target:
        if self.work_store is not None:
            return workstore.ObjectTarget(self.work_store, self.plan.job_dir / BARRIER_FILE)
        return luigi.LocalTarget(str(self.plan.job_dir / BARRIER_FILE))

    def run(self) -> None:
        if self.complete():
            return
        store = self.work_store
        path = self.plan.job_dir / BARRIER_FILE
        with interrupts.stoppable(), attempt_of(self.plan, "barrier", "barrier", 0) as (_, inject):
            if store is not None:
                store.get_stats([self.plan.map_dir(i) for i in range(self.plan.num_maps)])
            map_stats = [read_stats(self.plan.map_dir(i)) for i in range(self.plan.num_maps)]
            summary = check_bad_records(self.plan, map_stats)
            inject.middle()
            with atomic.atomic_file(path) as tmp:
                tmp.write_text(json.dumps(summary) + "\n")
                inject("commit")
            if store is not None:
                store.put_text(store.url_of(path), path.read_text())


BARRIER_FILE = "maps_checked.json"
#: Statistics shown in a finished task's status message.
_DONE_STATS = ("input_records", "bad_records", "spills", "map_output_records", "merge_passes",
               "shuffle_output_records", "reduce_input_groups")


class ShuffleTask(PhaseTask):
    """Merges one partition's pieces from all maps into one sorted reduce input."""

    partition: int = luigi.IntParameter()
    phase = "shuffle"

    @property
    def label(self) -> str:
        return f"{self.plan.name} shuffle {self.partition}/{self.plan.num_partitions}"

    def requires(self) -> MapBarrier:
        return MapBarrier.of(self.plan)

    @property
    def index_in_phase(self) -> int:
        return self.partition

    def output_dir(self) -> Path:
        return self.plan.reduce_input_dir(self.partition)

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        if self.work_store is None:
            return shuffle_phase.run_shuffle(self.plan, self.partition, out, progress)
        fetched = out.parent / f"{out.name}-fetched"  # beside the output: not put to the store with it
        try:
            folders = self.work_store.get_map_outputs(self.partition, fetched)
            return shuffle_phase.run_shuffle(self.plan, self.partition, out, progress, folders)
        except StorageError as exc:
            raise self.work_store.named(exc) from exc
        finally:
            shutil.rmtree(fetched, ignore_errors=True)


class ReduceTask(PhaseTask):
    """Calls the user's reduce on each key of one partition."""

    partition: int = luigi.IntParameter()
    phase = "reduce"

    @property
    def label(self) -> str:
        return f"{self.plan.name} reduce {self.partition}/{self.plan.num_partitions}"

    def requires(self) -> ShuffleTask:
        return ShuffleTask.of(self.plan, partition=self.partition)

    @property
    def index_in_phase(self) -> int:
        return self.partition

    def output_dir(self) -> Path:
        return self.plan.reduce_output_dir(self.partition)

    def get_inputs(self, store: workstore.WorkStore) -> None:
        store.get_folder(self.plan.reduce_input_dir(self.partition))

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        return reduce_phase.run_reduce(self.plan, self.partition, out, progress)


def last_tasks(plan: JobPlan) -> list[PhaseTask]:
    """What the job's final step needs: its reduce tasks, or its map tasks for a map-only job."""
    if plan.map_only:
        return [MapTask.of(plan, index=i) for i in range(plan.num_maps)]
    return [ReduceTask.of(plan, partition=p) for p in range(plan.num_partitions)]

