"""A task rebuilt from its parameters anywhere: the job spec (mr_luigi/engine/spec.py) and plan_of_task."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from mr_luigi.errors import ConfigError
from mr_luigi.engine.plan import make_plan
from mr_luigi.engine.spec import config_of, spec_of
from mr_luigi.engine.tasks import MapTask, ReduceTask
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count
from tests.services import CLIENT_CFG, Luigid

REPO = Path(__file__).resolve().parent.parent

#: Build one task from the JSON of its string parameters, in a process that planned nothing.
BUILD_ONE = """
import json, sys, luigi
import mr_luigi.engine.tasks
task_class = getattr(mr_luigi.engine.tasks, sys.argv[1])
task = task_class.from_str_params(json.loads(sys.argv[2]))
result = luigi.build([task], local_scheduler=True, detailed_summary=True, log_level="WARNING")
print(result.summary_text, file=sys.stderr)
sys.exit(0 if result.status.name == "SUCCESS" else 1)
"""


#: A Luigi worker with no task of its own that runs whatever the scheduler hands it (Luigi's "assistant").
ASSISTANT = """
import sys, luigi, luigi.configuration
luigi.configuration.get_config().set("worker", "keep_alive", "true")  # wait for work rather than leave at once
luigi.build([], assistant=True, scheduler_url=sys.argv[1], workers=1)
"""


def _inputs(folder: Path, files: int = 4) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(files):
        path = folder / f"in{i}.txt"
        path.write_text("".join(f"alpha w{(i * 7 + n) % 13} beta{n % 3}\n" for n in range(40)))
        paths.append(path)
    return paths


def _config(inputs: list[Path], out: Path, **changes) -> JobConfig:
    values = dict(job_name="ident", map_function=jobs.count_words, reduce_function=jobs.total,
                  input_files=[str(p) for p in inputs], output_dir=str(out), num_reduce_tasks=3, split_size_mb=0.001)
    values.update(changes)
    return JobConfig(**values)


def _build_alone(task, tmp_path: Path) -> subprocess.CompletedProcess:
    params = json.dumps(task.to_str_params())
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", BUILD_ONE, type(task).__name__, params], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def _attempts(plan) -> dict[str, int]:
    folder = plan.job_dir / "attempts"
    return {p.stem: sum(1 for line in p.read_text().splitlines() if '"start"' in line) for p in folder.iterdir()}


def test_a_spec_is_the_config_as_plain_json_that_gives_the_same_config_back(tmp_path):
    config = _config(_inputs(tmp_path / "in"), tmp_path / "out", combine_function="tests.jobs_for_tests:total",
                     params={"min": 2, "names": ["a", "b"]}, skip_exceptions=["ValueError"])
    spec = spec_of(config)
    values = json.loads(spec)
    assert values["map_function"] == "tests.jobs_for_tests:count_words"
    assert values["combine_function"] == "tests.jobs_for_tests:total"
    assert values["output_dir"] == str(tmp_path / "out") and values["params"] == {"min": 2, "names": ["a", "b"]}
    again = config_of(spec)
    assert make_plan(again).job_id == make_plan(config).job_id
    assert spec_of(again) == spec, "canonical: the same config gives the same text"


def test_a_relative_output_dir_is_absolute_in_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = json.loads(spec_of(_config([Path("in.txt")], Path("out"))))
    assert values["output_dir"] == str(tmp_path / "out") and values["input_files"] == [str(tmp_path / "in.txt")]


@pytest.mark.parametrize("change, named", [
    (dict(map_function=lambda line: [(line, 1)]), r"map_function tests\.test_spec:.*<lambda> cannot be imported"),
    (dict(params={"seen": {1, 2}}), r"params are not plain JSON values"),
])
def test_a_job_that_cannot_travel_says_why_when_rebuilt(tmp_path, change, named):
    config = _config(_inputs(tmp_path / "in"), tmp_path / "out", **change)
    with pytest.raises(ConfigError, match=rf"^spec: job 'ident' can only run in the process that planned it: {named}"):
        config_of(spec_of(config))


def test_a_reduce_task_rebuilt_from_its_parameters_runs_alone_in_a_fresh_process(tmp_path):
    """Luigi's own way of starting one task (luigi.build on it): its maps, barrier and shuffle run first."""
    inputs = _inputs(tmp_path / "in")
    plan = make_plan(_config(inputs, tmp_path / "out"))
    assert plan.num_maps > 1
    ran = _build_alone(ReduceTask.of(plan, partition=1), tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ReduceTask.of(plan, partition=1).complete()
    assert not ReduceTask.of(plan, partition=0).complete() and not ReduceTask.of(plan, partition=2).complete()
    assert sorted(_attempts(plan)) == sorted([f"map-{i:05d}" for i in range(plan.num_maps)] + ["barrier", "shuffle-00001", "reduce-00001"])

    # The whole job, from this process, does only what is left.
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(plan.config)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    per_task = scheduler.last_result.manifest["attempts"]["per_task"]
    assert per_task["reduce-00001"] == 1 and per_task["map-00000"] == 1 and per_task["reduce-00000"] == 1


def test_a_task_rebuilt_where_an_input_differs_names_the_change(tmp_path):
    inputs = _inputs(tmp_path / "in")
    plan = make_plan(_config(inputs, tmp_path / "out"))
    first = _build_alone(MapTask.of(plan, index=0), tmp_path)  # its attempt records what the job was
    assert first.returncode == 0, first.stderr
    with open(inputs[1], "a") as fh:
        fh.write("one more line\n")
    ran = _build_alone(MapTask.of(plan, index=1), tmp_path)
    assert ran.returncode == 1
    assert re.search(rf"JobChanged: job {plan.job_id} is planned here as ident-\w+: it differs in input "
                     rf"'{re.escape(str(inputs[1]))}' changed \(size 609 -> 623 bytes, modification time changed\)", ran.stderr), ran.stderr


def test_a_task_of_a_job_whose_code_differs_here_names_the_function(tmp_path):
    inputs = _inputs(tmp_path / "in")
    plan = make_plan(_config(inputs, tmp_path / "out", map_function="tests.jobs_for_tests:count_words"))
    assert _build_alone(MapTask.of(plan, index=0), tmp_path).returncode == 0
    other = MapTask.of(plan, index=1).to_str_params()
    # the same job id, but a spec whose map is another function: what a host with other code would plan
    other["spec"] = other["spec"].replace("tests.jobs_for_tests:count_words", "tests.jobs_for_tests:split_words")
    params = json.dumps(other)
    ran = subprocess.run([sys.executable, "-c", BUILD_ONE, "MapTask", params], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
    assert ran.returncode == 1
    assert re.search(rf"JobChanged: job {plan.job_id} is planned here as ident-\w+: it differs in functions: map_function", ran.stderr), ran.stderr


def test_a_second_worker_that_did_not_build_the_job_takes_its_tasks(tmp_path):
    """A luigid, the job started by one worker, and an assistant worker (which builds tasks only from what the
    scheduler sends it): both run map tasks. The maps sleep so that the second worker has time to join."""
    daemon = Luigid(tmp_path / "luigid")
    daemon.wait_ready()
    inputs = _inputs(tmp_path / "in", files=8)
    (tmp_path / "client.cfg").write_text(CLIENT_CFG)
    env = dict(os.environ, PYTHONPATH=str(REPO), LUIGI_CONFIG_PATH=str(tmp_path / "client.cfg"), SLOW_MAP_S="0.05")
    (tmp_path / "job.toml").write_text(f"""job_name = "ident"
map_function = "tests.jobs_for_tests:slow_count_words"
reduce_function = "tests.jobs_for_tests:total"
input_files = ["{tmp_path / 'in'}"]
output_dir = "{tmp_path / 'out'}"
split_size_mb = 0.001
num_reduce_tasks = 2
""")
    url = f"http://127.0.0.1:{daemon.port}"
    assistant = None
    try:
        first = subprocess.Popen([sys.executable, "-m", "mr_luigi.ops.cli", "run", str(tmp_path / "job.toml"), "--workers", "1",
                                  "--scheduler-url", url], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assistant = subprocess.Popen([sys.executable, "-c", ASSISTANT, url],
                                     cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "assistant.log", "w"),
                                     start_new_session=True)
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        if assistant is not None:
            os.killpg(assistant.pid, signal.SIGKILL)
            assistant.wait()
        daemon.stop()
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    pids = Counter(task["pid"] for task in manifest["tasks"] if task["phase"] == "map")
    assert assistant.pid in pids, f"the assistant ({assistant.pid}) ran no map: {pids}"
    assert len(pids) >= 2, pids
