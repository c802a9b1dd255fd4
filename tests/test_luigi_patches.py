"""The fix to Luigi's worker: a dead task process is reported once, not on every turn of the loop."""

from __future__ import annotations

import queue
from types import SimpleNamespace

from luigi.scheduler import FAILED

from mr_luigi.engine import luigi_patches


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

    luigi_patches.apply()
    assert Worker._purge_children is luigi_patches.purge_children_once
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


def test_the_execution_summary_leaves_out_the_jobs_hidden_config(tmp_path):
    import luigi

    from mr_luigi import JobConfig
    from mr_luigi.api.job import Job
    from mr_luigi.engine.plan import make_plan
    from tests import jobs_for_tests as jobs

    (tmp_path / "in.txt").write_text("".join(f"w{i} x\n" for i in range(1000)))
    plan = make_plan(JobConfig(job_name="summary", map_function=jobs.count_words, reduce_function=jobs.total,
                               input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"), split_size_mb=0.001))
    assert plan.num_maps > 3
    result = luigi.build([Job.of(plan)], local_scheduler=True, detailed_summary=True, log_level="WARNING")
    assert f"- {plan.num_maps} mr_luigi.MapTask(job_id={plan.job_id}, index=0...{plan.num_maps - 1})" in result.summary_text
    assert "spec=" not in result.summary_text and '"map_function"' not in result.summary_text


#: In a fresh process: importing mr_luigi leaves Luigi alone; defining a job class prepares it.
FRESH = """
import logging, sys
import luigi, luigi.configuration
from luigi.worker import Worker
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(message)s")
luigis_own = Worker._purge_children
import mr_luigi
assert Worker._purge_children is luigis_own, "changed on import"
assert not luigi.configuration.get_config().has_option("worker", "keep_alive"), "set on import"
class Count(mr_luigi.MapReduceJob):  # what a pipeline module does, before the luigi command reads its settings
    pass
from mr_luigi.engine import luigi_patches
assert Worker._purge_children is luigi_patches.purge_children_once
assert luigi.configuration.get_config().get("worker", "keep_alive") == "true"
print("ok")
"""


def test_importing_mr_luigi_changes_nothing_in_luigi_until_a_job_is_defined(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import luigi

    repo = Path(__file__).resolve().parent.parent
    ran = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(repo)), timeout=120)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[-1] == "ok"
    applied = [line for line in lines if "worker fixes applied" in line]
    assert applied == [f"DEBUG mr_luigi: Luigi {luigi.__version__}: default settings and worker fixes applied"], lines
