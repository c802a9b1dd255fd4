"""Every attempt at every task, logged where all workers of a job can see it.

Luigi retries a failed task in a fresh process and does not tell the task
which attempt it is on; a task killed with its worker leaves no record at
all once that worker is gone. So each task appends to its own log in the
job's work folder: a ``start`` line when an attempt begins, then ``done`` or
``failed`` (with the error). A start with no end is an attempt that was
killed. The logs survive retries, re-runs and other hosts (the work folder is
shared), and the manifest sums them up as attempts per task.
:func:`attempt_of` wraps one attempt: it logs it, gives it its fault hooks
and reports its failure.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mr_luigi.engine import failures, faults
from mr_luigi.engine.plan import JobPlan, record_identity
from mr_luigi.errors import PermanentError

logger = logging.getLogger("luigi-interface.mr_luigi")

FOLDER = "attempts"
#: What the manifest says of an attempt that never recorded its end.
INTERRUPTED = "interrupted: the process ended without finishing or failing (killed?)"


def log_path(job_dir: Path, task: str) -> Path:
    return job_dir / FOLDER / f"{task}.jsonl"


def worker_id() -> str:
    """The Luigi worker this process belongs to: its host and the pid of the worker's main process.

    With ``--workers N`` a task runs in a child of the worker's process; its
    attempts count towards the same worker's retries.
    """
    parent = multiprocessing.parent_process()
    return f"{socket.gethostname()}:{parent.pid if parent is not None else os.getpid()}"


def start(job_dir: Path, task: str) -> tuple[int, int]:
    """Record that an attempt at ``task`` begins.

    Returns its number (from 1, counting every attempt ever logged) and its
    number among this worker's attempts (which decide whether it is the last).
    """
    path = log_path(job_dir, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    worker = worker_id()
    _append(path, {"event": "start", "time": time.time(), "host": socket.gethostname(), "pid": os.getpid(), "worker": worker})
    starts = [entry for entry in _entries(path) if entry["event"] == "start"]
    return len(starts), sum(1 for entry in starts if entry.get("worker") == worker)


def done(job_dir: Path, task: str, attempt: int) -> None:
    """Record a successful attempt (unless the job's last step already removed the work folder)."""
    try:
        _append(log_path(job_dir, task), {"event": "done", "attempt": attempt, "time": time.time()})
    except FileNotFoundError:
        pass


def failed(job_dir: Path, task: str, attempt: int, error: str) -> None:
    """Record a failed attempt; never raises (the task's own error matters more)."""
    try:
        _append(log_path(job_dir, task), {"event": "failed", "attempt": attempt, "time": time.time(), "error": error})
    except OSError:
        pass


def summary(job_dir: Path, running: str | None = None) -> dict[str, Any]:
    """Attempts per task, and what went wrong in each attempt that did not succeed.

    ``running`` names the task asking (the job's last step): its latest
    attempt is under way, not interrupted.
    """
    counts: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    folder = job_dir / FOLDER
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        task = path.name[: -len(".jsonl")]
        entries = list(_entries(path))
        starts = [e for e in entries if e["event"] == "start"]
        ends = {e["attempt"]: e for e in entries if e["event"] != "start"}
        counts[task] = len(starts)
        for number, begun in enumerate(starts, 1):
            end = ends.get(number)
            if task == running and number == len(starts):
                continue
            if end is None or end["event"] == "failed":
                problems.append({"task": task, "attempt": number, "host": begun["host"], "pid": begun["pid"],
                                 "error": INTERRUPTED if end is None else end["error"]})
    return {"per_task": counts, "unsuccessful": problems}


def _append(path: Path, entry: dict[str, Any]) -> None:
    # One write of one short line to a file opened for appending: lines of
    # concurrent writers never interleave.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def _entries(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n"):  # a line cut short by a kill is skipped
                yield json.loads(line)


class RetriesOfJob:
    """Luigi's ``retry_count`` for a task of a job: every attempt the job's ``max_retries`` allows.

    Luigi's worker reads ``retry_count`` as a task's total attempts (the
    scheduler disables the task after that many failures).
    """

    def job_max_retries(self) -> int:
        raise NotImplementedError

    @property
    def retry_count(self) -> int:
        return self.job_max_retries() + 1


@contextmanager
def attempt_of(plan: JobPlan, name: str, phase: str, index: int) -> Iterator[tuple[int, faults.Injector]]:
    """Log one attempt at a task (see :mod:`mr_luigi.engine.attempts`), give it its fault hooks, report its failure.

    A failed attempt that will be retried is one WARNING line; the last one
    (retries used up, or a permanent error) is one ERROR line and, if the
    user's code raised, its traceback. Luigi's own report is dropped for
    these tasks (:mod:`mr_luigi.engine.luigi_patches`).
    """
    attempt, in_this_worker = start(plan.job_dir, name)
    inject = faults.Injector.for_attempt(phase, index, attempt, plan.job_dir)
    try:
        record_identity(plan)
        inject("start")
        yield attempt, inject
    except Exception as exc:
        failed(plan.job_dir, name, attempt, failures.describe(exc))
        report_failure(plan, name, attempt, exc, last=isinstance(exc, PermanentError) or in_this_worker > plan.config.max_retries)
        raise
    except BaseException as exc:  # KeyboardInterrupt, SystemExit: the run itself is ending
        failed(plan.job_dir, name, attempt, f"interrupted ({type(exc).__name__})")
        raise
    done(plan.job_dir, name, attempt)


def report_failure(plan: JobPlan, name: str, attempt: int, exc: Exception, last: bool) -> None:
    """Log a failed attempt: a line, and on the last attempt the user's traceback."""
    if not last:
        logger.warning("%s %s failed on attempt %d, will retry: %s", plan.name, name, attempt, failures.describe(exc))
        return
    why = " (not retried: it would fail the same way)" if isinstance(exc, PermanentError) else ""
    shown = failures.user_traceback(exc)
    logger.error("%s %s failed on attempt %d%s: %s%s", plan.name, name, attempt, why, failures.describe(exc),
                 f"\n{shown.rstrip()}" if shown else "")
