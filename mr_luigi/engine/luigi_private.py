"""The parts of Luigi that are not public API but that mr_luigi reads, in one place.

``luigi.build(..., detailed_summary=True)`` returns a status and a text
summary, but no public call says *which* tasks failed, which ones other
workers are running, or what error a task failed with. Luigi's execution
summary computes the first two from the worker (``_summary_dict``), and the
worker's scheduler (``worker._scheduler``, local or a luigid) answers the
third (``fetch_error``, the call the web UI makes). If a Luigi release
changes them, this module is what to update (tested with Luigi 3.8.1).
"""

from __future__ import annotations

import json
from typing import Any

from luigi.execution_summary import _summary_dict


def tasks_by_outcome(worker: Any) -> dict[str, set[Any]]:
    """The worker's tasks by outcome: ``failed``, ``run_by_other_worker``, ``upstream_run_by_other_worker``, ..."""
    return _summary_dict(worker)


def task_error(worker: Any, task_id: str) -> str:
    """The last error the scheduler recorded for a task (a traceback or the task's own message)."""
    error = worker._scheduler.fetch_error(task_id).get("error") or "unknown error"
    return json.loads(error) if error.startswith('"') else error  # the scheduler may keep it JSON-encoded
