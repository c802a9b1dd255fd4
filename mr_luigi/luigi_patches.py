"""A fix to Luigi's worker that retries depend on: a dead task process is reported once.

Luigi's ``Worker._purge_children`` looks for task processes that died (killed,
out of memory) and queues a FAILED result for each. It runs on every turn of
the worker's result loop, and nothing marks a process as reported, so when
another task's result is taken from the queue first, the dead process is
reported again. By the time the second report is read, the scheduler may
have started the task's next attempt, and that running attempt is marked
FAILED too: one kill costs two of the task's retries, and the task is started
a third time while the second attempt still runs. With ``max_retries = 1`` a
single killed task could fail the job. (Seen in the kill tests, luigi 3.8.1.)

:func:`apply` replaces the method with one that reports each process once;
everything else it does is Luigi's. It is applied when mr_luigi is imported.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from luigi.event import Event
from luigi.scheduler import FAILED
from luigi.worker import Worker

logger = logging.getLogger("luigi-interface")
_REPORTED = "_mr_luigi_reported"
#: Luigi's own method, kept for the test that shows why it is replaced.
LUIGI_PURGE_CHILDREN = Worker._purge_children


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


def apply() -> None:
    """Install :func:`purge_children_once` on Luigi's Worker (once)."""
    if getattr(Worker, "_purge_children", None) is not purge_children_once:
        Worker._purge_children = purge_children_once
