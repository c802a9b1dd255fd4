"""The Luigi tasks of a job: map, a barrier, shuffle and reduce.

The graph of a job with M splits and R partitions::

    MapTask x M  ->  MapBarrier  ->  ShuffleTask x R  ->  ReduceTask x R  ->  job

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
import time
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import luigi

from mr_luigi import atomic, attempts, context, counters, failures, faults, interrupts, phases
from mr_luigi.errors import PermanentError, StorageError
from mr_luigi.plan import JobPlan, plan_of_task, record_identity
from mr_luigi.progress import Progress

logger = logging.getLogger("luigi-interface.mr_luigi")


class JobTask(luigi.Task):
    """A task of one MapReduce job, rebuildable from its parameters on any process or host.

    ``job_id`` names the job (``word_count-3f2a9c1b0d4e``): with the task's
    own index it makes the Luigi task id, readable in the web UI. ``spec`` is
    the job's config as plain JSON (see :mod:`mr_luigi.spec`), sent along
    with the task but hidden in the UI and left out of the task id, which
    the job id already stands for. The plan is made from them when first
    needed, once per process (see :func:`mr_luigi.plan.plan_of_task`).
    """

    task_namespace = "mr_luigi"
    job_id: str = luigi.Parameter(description="the job's id: its name and a digest of its config, code and inputs")
    spec: str = luigi.Parameter(significant=False, visibility=luigi.parameter.ParameterVisibility.HIDDEN,
                                description="the job's config as JSON")
    mr_luigi_reports_own_failures = True  # see attempt_of

    @classmethod
    def of(cls, plan: JobPlan, **params: Any) -> Any:
        """This task of ``plan``'s job (the plan is handed over, not made again)."""
        task = cls(job_id=plan.job_id, spec=plan.spec, **params)
        task.__dict__["plan"] = plan
        return task

    @cached_property
    def plan(self) -> JobPlan:
        return plan_of_task(self.job_id, self.spec)

    @property
    def retry_count(self) -> int:  # read by Luigi's worker: total attempts
        return self.plan.config.max_retries + 1

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

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.output_dir()))

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        raise NotImplementedError

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
        with interrupts.stoppable(), attempt_of(self.plan, self.attempt_name, self.phase, self.index_in_phase) as (attempt, inject):
            with context.running(self.plan.config.params) as user_counters, atomic.atomic_directory(self.output_dir()) as out:
                try:
                    stats = self.work(out, Progress(self, self.label, 0, "records", hook=inject.middle))
                except OSError as exc:
                    raise StorageError(f"{self.label}: file error in {out.parent}: {exc}") from exc
                inject.middle()  # a task too short to report progress
                stats["counters"] = counters.task_counters(stats, user_counters)
                stats.update(task=self.label, phase=self.phase, start=started, end=time.time(), pid=os.getpid(), attempt=attempt)
                phases.write_stats(out, stats)
                inject("commit")
        self._report_done(stats, time.time() - started)
        logger.info("Finished task %s in %.2fs", self.label, time.time() - started)

    def _report_done(self, stats: dict[str, Any], seconds: float) -> None:
        """The last status in the web UI: 100% and what the task did."""
        shown = ", ".join(f"{stats[k]:,} {k.replace('_', ' ')}" for k in _DONE_STATS if stats.get(k))
        percentage = getattr(self, "set_progress_percentage", None)  # attached by Luigi's worker
        message = getattr(self, "set_status_message", None)
        if percentage is not None and message is not None:
            percentage(100)
            message(f"{self.label}: done in {seconds:.1f}s; {shown}")


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

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        progress.total, progress.unit = self.plan.splits[self.index].size, "MB"
        return phases.run_map(self.plan, self.index, out, progress)


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

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.plan.job_dir / BARRIER_FILE))

    def run(self) -> None:
        if self.complete():
            return
        with interrupts.stoppable(), attempt_of(self.plan, "barrier", "barrier", 0) as (_, inject):
            map_stats = [phases.read_stats(self.plan.map_dir(i)) for i in range(self.plan.num_maps)]
            summary = phases.check_bad_records(self.plan, map_stats)
            inject.middle()
            with atomic.atomic_file(Path(self.output().path)) as tmp:
                tmp.write_text(json.dumps(summary) + "\n")
                inject("commit")


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
        return phases.run_shuffle(self.plan, self.partition, out, progress)


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

    def work(self, out: Path, progress: Progress) -> dict[str, Any]:
        return phases.run_reduce(self.plan, self.partition, out, progress)


@contextmanager
def attempt_of(plan: JobPlan, name: str, phase: str, index: int) -> Iterator[tuple[int, faults.Injector]]:
    """Log one attempt at a task (see :mod:`mr_luigi.attempts`), give it its fault hooks, report its failure.

    A failed attempt that will be retried is one WARNING line; the last one
    (retries used up, or a permanent error) is one ERROR line and, if the
    user's code raised, its traceback. Luigi's own report is dropped for
    these tasks (:mod:`mr_luigi.luigi_patches`).
    """
    attempt, in_this_worker = attempts.start(plan.job_dir, name)
    record_identity(plan)
    inject = faults.Injector.for_attempt(phase, index, attempt, plan.job_dir)
    try:
        inject("start")
        yield attempt, inject
    except Exception as exc:
        attempts.failed(plan.job_dir, name, attempt, failures.describe(exc))
        report_failure(plan, name, attempt, exc, last=isinstance(exc, PermanentError) or in_this_worker > plan.config.max_retries)
        raise
    except BaseException as exc:  # KeyboardInterrupt, SystemExit: the run itself is ending
        attempts.failed(plan.job_dir, name, attempt, f"interrupted ({type(exc).__name__})")
        raise
    attempts.done(plan.job_dir, name, attempt)


def report_failure(plan: JobPlan, name: str, attempt: int, exc: Exception, last: bool) -> None:
    """Log a failed attempt: a line, and on the last attempt the user's traceback."""
    if not last:
        logger.warning("%s %s failed on attempt %d, will retry: %s", plan.name, name, attempt, failures.describe(exc))
        return
    why = " (not retried: it would fail the same way)" if isinstance(exc, PermanentError) else ""
    shown = failures.user_traceback(exc)
    logger.error("%s %s failed on attempt %d%s: %s%s", plan.name, name, attempt, why, failures.describe(exc),
                 f"\n{shown.rstrip()}" if shown else "")


def reduce_tasks(plan: JobPlan) -> list[ReduceTask]:
    return [ReduceTask.of(plan, partition=p) for p in range(plan.num_partitions)]

