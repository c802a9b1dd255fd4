"""The fix to Luigi's worker: a dead task process is reported once, not on every turn of the loop."""

from __future__ import annotations

import queue
from types import SimpleNamespace

from luigi.scheduler import FAILED

from mr_luigi import luigi_patches


class DeadProcess:
    """A task process that was killed: not alive, exit code -9."""

    exitcode = -9
    timeout_time = None
    worker_timeout = None

    def __init__(self) -> None:
        self.task = SimpleNamespace(trigger_event=lambda *args: None)

    def is_alive(self) -> bool:
        return False


def fake_worker(processes: dict) -> SimpleNamespace:
    return SimpleNamespace(_running_tasks=processes, _task_result_queue=queue.Queue())


def drain(q: queue.Queue) -> list:
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


def test_luigi_itself_reports_a_dead_process_on_every_call():
    """Why the patch exists: Luigi's own method queues the same death twice (if this fails, Luigi fixed it)."""
    from luigi.worker import Worker

    assert Worker._purge_children is luigi_patches.purge_children_once, "mr_luigi installs the fix on import"
    worker = fake_worker({"task_a": DeadProcess()})
    luigi_patches.LUIGI_PURGE_CHILDREN(worker)
    luigi_patches.LUIGI_PURGE_CHILDREN(worker)
    assert [item[:2] for item in drain(worker._task_result_queue)] == [("task_a", FAILED), ("task_a", FAILED)]


def test_the_fix_reports_each_dead_process_once():
    worker = fake_worker({"task_a": DeadProcess(), "task_b": DeadProcess()})
    luigi_patches.purge_children_once(worker)
    luigi_patches.purge_children_once(worker)
    results = drain(worker._task_result_queue)
    assert sorted(item[:2] for item in results) == [("task_a", FAILED), ("task_b", FAILED)]
    assert "died unexpectedly with exit code -9" in results[0][2]
    worker._running_tasks["task_a"] = DeadProcess()  # the task's next attempt, killed too: reported again
    luigi_patches.purge_children_once(worker)
    assert [item[:2] for item in drain(worker._task_result_queue)] == [("task_a", FAILED)]
