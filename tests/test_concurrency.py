"""Several invocations at once against one luigid: the same job twice, and two different jobs."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import counts_from_output, reference_word_count
from tests.services import CLIENT_CFG, Luigid

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def luigid(tmp_path_factory):
    daemon = Luigid(tmp_path_factory.mktemp("luigid"))
    daemon.wait_ready()
    yield daemon
    daemon.stop()


def make_inputs(folder: Path, seed: int) -> list[Path]:
    rng = random.Random(seed)
    vocabulary = [f"{rng.choice('bcdfg')}{n}" for n in range(20_000)]
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"t{i}.txt").write_text("\n".join(" ".join(rng.choices(vocabulary, k=10)) for _ in range(15_000)) + "\n")
    return sorted(folder.iterdir())


def start(luigid: Luigid, root: Path, inputs: Path, out: Path, extra: str = "") -> subprocess.Popen:
    """``mr-luigi run`` of a word count against the test luigid."""
    (root / "job.toml").write_text(f"""job_name = "word_count"
map_function = "pipelines.word_count:word_count_map"
reduce_function = "pipelines.word_count:word_count_reduce"
combine_function = "pipelines.word_count:word_count_reduce"
input_files = ["{inputs}"]
output_dir = "{out}"
split_size_mb = 0.3
num_reduce_tasks = 3
{extra}""")
    (root / "client.cfg").write_text(CLIENT_CFG)
    env = dict(os.environ, PYTHONPATH=str(REPO), LUIGI_CONFIG_PATH=str(root / "client.cfg"))
    cmd = [sys.executable, "-m", "mr_luigi.ops.cli", "run", str(root / "job.toml"), "--workers", "2",
           "--scheduler-url", f"http://127.0.0.1:{luigid.port}"]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out + err


def test_the_same_job_started_twice_at_once_runs_each_task_once(luigid, tmp_path):
    inputs = make_inputs(tmp_path / "in", seed=1)
    out = tmp_path / "out"
    first = start(luigid, tmp_path, tmp_path / "in", out)
    second = start(luigid, tmp_path, tmp_path / "in", out)
    results = [finish(first), finish(second)]
    for code, text in results:
        assert code == 0, text[-3000:]
        assert "Job word_count succeeded" in text  # each reports the job's outcome, whoever ran the last step
    assert counts_from_output(out / "final_output.txt") == reference_word_count(inputs)
    attempts = json.loads((out / "_SUCCESS").read_text())["attempts"]
    maps = json.loads((out / "_SUCCESS").read_text())["task_counts"]["map"]
    assert maps >= 4
    assert len(attempts["per_task"]) == maps + 1 + 3 + 3 + 1
    assert set(attempts["per_task"].values()) == {1}, "a task ran twice"
    assert attempts["unsuccessful"] == []


def test_two_different_jobs_at_once_share_nothing(luigid, tmp_path):
    work = tmp_path / "shared_work"  # even one work folder for both: each job has its own subfolder
    jobs = []
    for name, seed in (("a", 2), ("b", 3)):
        root = tmp_path / name
        inputs = make_inputs(root / "in", seed)
        jobs.append((root, inputs, start(luigid, root, root / "in", root / "out", f'keep_intermediate = true\nwork_dir = "{work}"\n')))
    for root, inputs, proc in jobs:
        code, err = finish(proc)
        assert code == 0, err[-3000:]
        assert counts_from_output(root / "out" / "final_output.txt") == reference_word_count(inputs)
    manifests = [json.loads((root / "out" / "_SUCCESS").read_text()) for root, _, _ in jobs]
    assert manifests[0]["job_id"] != manifests[1]["job_id"]
    assert sorted(p.name for p in work.iterdir()) == sorted(m["job_id"] for m in manifests)
    for manifest, (root, inputs, _) in zip(manifests, jobs, strict=True):
        assert [i["path"] for i in manifest["inputs"]] == [str(p) for p in inputs]
        assert set(manifest["attempts"]["per_task"].values()) == {1}


def test_a_task_handed_out_again_after_it_finished_does_not_run_again(tmp_path):
    """What a stale report does: luigid (with no cool-down after DONE) is told by a slower worker that a task
    it has just finished is PENDING, and hands it out again. The task finds its output in place and does nothing."""
    from mr_luigi import JobConfig, MapReduceScheduler
    from mr_luigi.engine.plan import make_plan
    from mr_luigi.engine.tasks import MapBarrier, MapTask, ReduceTask, ShuffleTask

    inputs = make_inputs(tmp_path / "in", seed=4)
    config = JobConfig(job_name="twice", map_function="pipelines.word_count:word_count_map",
                       reduce_function="pipelines.word_count:word_count_reduce", input_files=[str(p) for p in inputs],
                       output_dir=str(tmp_path / "out"), num_reduce_tasks=2, keep_intermediate=True,
                       work_dir=str(tmp_path / "work"))
    assert MapReduceScheduler(1).execute_job(config)
    plan = make_plan(config)
    logs = sorted((plan.job_dir / "attempts").iterdir())
    before = {p.name: p.read_text() for p in logs}
    stats = (plan.map_dir(0) / "stats.json").read_text()
    for task in (MapTask.of(plan, index=0), MapBarrier.of(plan), ShuffleTask.of(plan, partition=1),
                 ReduceTask.of(plan, partition=0)):
        task.run()
    assert {p.name: p.read_text() for p in logs} == before, "no task ran a second attempt"
    assert (plan.map_dir(0) / "stats.json").read_text() == stats
