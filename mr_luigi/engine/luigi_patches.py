"""Changes to Luigi's worker that retries and error reports depend on.

**A dead task process is reported once.**

Luigi's ``Worker._purge_children`` looks for task processes that died (killed,
out of memory) and queues a FAILED result for each. It runs on every turn of
the worker's result loop, and nothing marks a process as reported, so when
another task's result is taken from the queue first, the dead process is
reported again. By the time the second report is read, the scheduler may
have started the task's next attempt, and that running attempt is marked
FAILED too: one kill costs two of the task's retries, and the task is started
a third time while the second attempt still runs. With ``max_retries = 1`` a
single killed task could fail the job. (Seen in the kill tests, luigi 3.8.1.)

:func:`purge_children_once` replaces the method with one that reports each
process once; everything else it does is Luigi's.

**A permanent failure is not retried.** Luigi's scheduler retries a failed
task until it has failed ``retry_count`` times, and applies the retry policy
that came with the task's *previous* report. When a task's error says that
retrying cannot help (see :mod:`mr_luigi.engine.failures`),
:func:`add_task_no_retry_if_permanent` first tells the scheduler, for the
running task, that it has one attempt in all, so the failure disables it at
once.

**A safe point in the worker's loop.** Each turn of Luigi's result loop
(``Worker._handle_next_task``) first calls the functions in
:data:`SAFE_POINT_CHECKS`. :mod:`mr_luigi.engine.interrupts` registers one that
raises a Ctrl-C Python could not raise when it came (see there).

**One report per failed attempt.** Luigi logs the whole traceback of each
failed attempt; mr_luigi's tasks log their own line (and the user's
traceback once), so :class:`SelfReportedFailures` drops Luigi's record for
them.

**Hidden parameters stay out of the execution summary.** A job's tasks
carry the job's config as a hidden parameter (see :mod:`mr_luigi.engine.spec`);
Luigi's end-of-run summary prints every parameter of a range of tasks
(``MapTask(job_id=..., spec={...}, index=0...7)``), which would spell out
the whole config on one line. :func:`ranging_without_hidden` leaves out the
hidden ones, as the UI and ``str(task)`` do.

:func:`apply` installs them all; it runs when mr_luigi is imported.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import luigi.execution_summary
from luigi.event import Event
from luigi.parameter import ParameterVisibility
from luigi.scheduler import FAILED, PENDING
from luigi.worker import Worker

from mr_luigi.engine.failures import is_permanent

logger = logging.getLogger("luigi-interface")
_REPORTED = "_mr_luigi_reported"
#: Luigi's own methods, kept for the tests that show why they are replaced.
LUIGI_PURGE_CHILDREN = Worker._purge_children
LUIGI_ADD_TASK = Worker._add_task
LUIGI_HANDLE_NEXT_TASK = Worker._handle_next_task
LUIGI_RANGING = luigi.execution_summary._get_str_ranging_multiple_parameters
#: Called, in order, at every turn of the worker's result loop; one may raise to stop the worker.
SAFE_POINT_CHECKS: list[Callable[[], None]] = []
#: A task class attribute: the task logs its own failures (Luigi's traceback is dropped).
REPORTS_OWN_FAILURES = "mr_luigi_reports_own_failures"


def purge_children_once(self: Any) -> None:
    """Queue a FAILED result for each task process that died or timed out, once per process."""
    for task_id, process in list(self._running_tasks.items()):
        if getattr(process, _REPORTED, False):
            continue
        if not process.is_alive() and process.exitcode:
            error_msg = f"Task {task_id} died unexpectedly with exit code {process.exitcode}"
            process.task.trigger_event(Event.PROCESS_FAILURE, process.task, error_msg)
        elif process.timeout_time is not None and time.time() > float(process.timeout_time) and process.is_alive():
            process.terminate()
            error_msg = f"Task {task_id} timed out after {process.worker_timeout} seconds and was terminated."
            process.task.trigger_event(Event.TIMEOUT, process.task, error_msg)
        else:
            continue
        setattr(process, _REPORTED, True)
        logger.info(error_msg)
        self._task_result_queue.put((task_id, FAILED, error_msg, [], []))


def add_task_no_retry_if_permanent(self: Any, *args: Any, **kwargs: Any) -> None:
    """Luigi's ``Worker._add_task``; a permanent failure first sets the task's retries to none."""
    if kwargs.get("status") == FAILED and is_permanent(kwargs.get("expl") or ""):
        policy = dict(kwargs.get("retry_policy_dict") or {}, retry_count=1)
        # While the task is RUNNING, a PENDING report changes nothing but its retry policy.
        self._scheduler.add_task(worker=kwargs["worker"], task_id=kwargs["task_id"], status=PENDING, runnable=False,
                                 retry_policy_dict=policy)
        kwargs["retry_policy_dict"] = policy
    LUIGI_ADD_TASK(self, *args, **kwargs)


def handle_next_task_after_checks(self: Any) -> None:
    """Luigi's ``Worker._handle_next_task``, after the :data:`SAFE_POINT_CHECKS`."""
    for check in SAFE_POINT_CHECKS:
        check()
    LUIGI_HANDLE_NEXT_TASK(self)


def ranging_without_hidden(first: Any, last: Any, tasks: list[Any], unique_param: Any) -> str:
    """Luigi's ``name=value, ..., index=0...7)`` text for a range of tasks, without their hidden parameters."""
    shown = [(name, param) for name, param in tasks[0].get_params() if param.visibility == ParameterVisibility.PUBLIC]
    parts = [f"{name}={param.serialize(first)}...{param.serialize(last)}" if name == unique_param[0]
             else f"{name}={param.serialize(getattr(tasks[0], name))}" for name, param in shown]
    return ", ".join(parts) + ")"


class SelfReportedFailures(logging.Filter):
    """Drops Luigi's "Worker ... failed" record (with its traceback) for tasks that report their own failures."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("[pid %s] Worker %s failed"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) == 3 and getattr(args[2], REPORTS_OWN_FAILURES, False))


def apply() -> None:
    """Install the changes on Luigi's Worker and logger (once)."""
    if getattr(Worker, "_purge_children", None) is not purge_children_once:
        Worker._purge_children = purge_children_once
    if getattr(Worker, "_add_task", None) is not add_task_no_retry_if_permanent:
        Worker._add_task = add_task_no_retry_if_permanent
    if getattr(Worker, "_handle_next_task", None) is not handle_next_task_after_checks:
        Worker._handle_next_task = handle_next_task_after_checks
    luigi.execution_summary._get_str_ranging_multiple_parameters = ranging_without_hidden
    luigi_logger = logging.getLogger("luigi-interface")
    if not any(isinstance(f, SelfReportedFailures) for f in luigi_logger.filters):
        luigi_logger.addFilter(SelfReportedFailures())
