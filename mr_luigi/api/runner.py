"""Running a job from Python: the seed-compatible :class:`MapReduceScheduler`.

``MapReduceScheduler(max_concurrent_tasks=2).execute_job(config)`` runs the
same Luigi graph as ``luigi --module ...`` with the embedded scheduler, and
returns True when the job succeeded, retries included.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import luigi
from luigi.execution_summary import LuigiStatusCode

from mr_luigi.api.job import Job, MapReduceJob
from mr_luigi.api.steps import MultiStepJob, StepTask
from mr_luigi.engine import failures, luigi_private, luigi_setup, report
from mr_luigi.engine.config import JobConfig
from mr_luigi.engine.luigi_patches import REPORTS_OWN_FAILURES
from mr_luigi.engine.plan import JobPlan, make_plan
from mr_luigi.errors import JobFailed

logger = logging.getLogger("luigi-interface.mr_luigi")



@dataclass
class JobResult:
    """What one ``execute_job`` call did.

    ``location`` is where the results are: ``output_dir`` as a string, or
    the ``s3://`` URL of a job that publishes to a store (``output_dir`` and
    ``manifest_path`` are then the local staging folder, gone once published).
    """

    success: bool
    status: str
    output_dir: Path
    manifest_path: Path
    manifest: dict[str, Any] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    location: str = ""

    @property
    def totals(self) -> dict[str, int]:
        return dict(self.manifest["totals"]) if self.manifest else {}

    def raise_for_failure(self) -> None:
        if not self.success:
            raise JobFailed(self.describe_failure())

    def describe_failure(self) -> str:
        if not self.failures:
            return f"job did not finish (status {self.status})"
        lines = [f"{task}: {error}" for task, error in self.failures.items()]
        return "job failed; failed tasks:\n" + "\n".join(lines)


class MapReduceScheduler:
    """Runs jobs with up to ``max_concurrent_tasks`` tasks at once (default: one per core).

    With more than one, each task runs in its own forked process.
    """

    def __init__(self, max_concurrent_tasks: int | None = None) -> None:
        if max_concurrent_tasks is None:
            max_concurrent_tasks = os.cpu_count() or 1
        if max_concurrent_tasks < 1:
            raise ValueError(f"max_concurrent_tasks must be at least 1, got {max_concurrent_tasks}")
        self.max_concurrent_tasks = max_concurrent_tasks
        self.last_result: JobResult | None = None

    def execute_job(self, job_config: JobConfig) -> bool:
        """Run a job to completion; True on success. Raises ConfigError on a bad config."""
        luigi_setup.prepare()
        plan = make_plan(job_config)
        run = build_job(Job.of(plan), workers=self.max_concurrent_tasks, local_scheduler=True)
        self.last_result = job_result(plan, run)
        if not self.last_result.success:  # the failed task logged the ERROR line; this sums up
            logger.info("Job %s failed: %s", plan.name, self.last_result.describe_failure())
        return self.last_result.success


def build_job(root: luigi.Task, **options: Any) -> Any:
    """``luigi.build`` the job's root task, until it is done here or by other workers.

    Against a central scheduler, a worker leaves when every task left is
    running on another worker, often another host's final step. To report
    the job's real outcome, it builds again a second later: by then the root
    is complete, or still running elsewhere, or (if that worker died) its
    tasks come back to this one.
    """
    unexplained = 0
    while True:
        run = luigi.build([root], detailed_summary=True, **options)
        if options.get("local_scheduler") or run.status in _FAILED or root.complete():
            return run
        waiting = luigi_private.tasks_by_outcome(run.worker)
        if not (waiting["run_by_other_worker"] or waiting["upstream_run_by_other_worker"]):
            unexplained += 1  # e.g. another worker finished a task while this one looked
            if unexplained > 3:
                return run
        logger.info("Waiting for the tasks other workers are running")
        time.sleep(WAIT_FOR_OTHERS_S)


#: Seconds between two looks at tasks other workers are running.
WAIT_FOR_OTHERS_S = 1.0
_FAILED = (LuigiStatusCode.FAILED, LuigiStatusCode.FAILED_AND_SCHEDULING_FAILED, LuigiStatusCode.SCHEDULING_FAILED,
           LuigiStatusCode.MISSING_EXT)


def job_result(plan: JobPlan, run: Any) -> JobResult:
    """What a ``luigi.build`` of a job's root task did."""
    # The job's manifest is the proof: another worker may have finished what this one left.
    manifest = report.finished_manifest(plan)
    success = manifest is not None
    return JobResult(
        success=success,
        status=run.status.name,
        output_dir=plan.output_dir,
        manifest_path=plan.success_path,
        manifest=manifest,
        failures={} if success else _failures(run.worker),
        location=plan.output_location,
    )


def _failures(worker: Any) -> dict[str, str]:
    """The last error of each failed task, as the scheduler recorded it."""
    failed = luigi_private.tasks_by_outcome(worker)["failed"]
    errors = {}
    for task in sorted(failed, key=lambda t: t.task_id):
        error = luigi_private.task_error(worker, task.task_id)
        own = getattr(task, REPORTS_OWN_FAILURES, False) or isinstance(task, (MultiStepJob, StepTask))
        label = f"{task.plan.name} final step" if isinstance(task, MapReduceJob) else getattr(task, "label", task.task_id)
        errors[label] = failures.first_line(error).removeprefix(f"{label}: ") if own else _last_line(error)
    return errors


def _last_line(traceback_text: str) -> str:
    """The last line of a traceback (Luigi's error for a task that is not mr_luigi's): the exception."""
    lines = [line for line in traceback_text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else traceback_text
