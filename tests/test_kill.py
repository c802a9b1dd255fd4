"""The kill matrix: SIGKILL a task, or the whole luigi process group, in every phase, then re-run.

Each case runs the ``luigi`` command with ``--workers 2`` in its own process
group. A fault rule (see :mod:`mr_luigi.engine.faults`) stops one task half way
through its work, with part of its output written, and reports its pid; the
test then kills that task process, or every process of the run, from outside
with SIGKILL. Where the kill lands is set by the fault rule, not by the size
of the data, so these cases run on about 2 MB with a tiny memory budget (maps
still spill several runs, shuffles still merge in passes). The same command
is run again, and must:

- succeed, with outputs byte-identical to an uninterrupted run's;
- not redo any task that had finished (the manifest counts attempts);
- leave no ``*-luigi-tmp-*`` leftover behind (the kill left some), in the
  output folder or the kept work folder.

A last case kills the process group once a share of the tasks is done,
wherever the others are then: it needs tasks of some length, so it has about
8 MB (nine maps of 1 MB).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mr_luigi.io.atomic import TMP_MARKER
from mr_luigi.engine.faults import ENV
from tests.conftest import counts_from_output, reference_word_count

REPO = Path(__file__).resolve().parent.parent
#: Small budget and fan-in: maps spill several runs and shuffles merge in passes.
CONFIG = 'num_reduce_tasks = 3\nmerge_fan_in = 2\nkeep_intermediate = true\n'
SMALL = 'split_size_mb = 0.4\nmap_memory_mb = 0.3\n'
LARGE = 'split_size_mb = 1.0\nmap_memory_mb = 2\n'
OUTPUTS = ["_SUCCESS", "_report.html", "final_output.txt", "part-00000", "part-00001", "part-00002"]


def make_text(folder: Path, files: int, lines: int, seed: int = 11) -> list[Path]:
    """Text over a large vocabulary (60,000 words), so shuffles and reduces have real work."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    vocabulary = [f"w{n:x}{rng.choice('aeiou')}" for n in range(60_000)]
    for f in range(files):
        text = (" ".join(rng.choices(vocabulary, k=12)) for _ in range(lines))
        (folder / f"part{f}.txt").write_text("\n".join(text) + "\n")
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """About 2 MB of text: five maps, each spilling several runs."""
    folder = tmp_path_factory.mktemp("kill_small")
    make_text(folder, files=4, lines=7_000)
    return folder


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """About 8 MB of text: nine maps and seven more tasks, each long enough to be killed in its middle."""
    folder = tmp_path_factory.mktemp("kill_large")
    make_text(folder, files=10, lines=10_000)
    return folder


def command(data: Path, root: Path) -> list[str]:
    config = root / "job.toml"
    config.write_text(CONFIG + (LARGE if data.name.startswith("kill_large") else SMALL) + f'work_dir = "{root / "work"}"\n')
    return [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--local-scheduler",
            "--no-lock", "--workers", "2", "--input", str(data), "--output-dir", str(root / "out"),
            "--config", str(config), "--max-retries", "0"]


def environment(faults: str | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(ENV, None)
    if faults:
        env[ENV] = faults
    return env


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=environment(), capture_output=True, text=True, timeout=300)


def clean_run(data: Path, root: Path) -> dict:
    proc = run(command(data, root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = root / "out"
    assert counts_from_output(out / "final_output.txt") == reference_word_count(sorted(data.iterdir()))
    manifest = json.loads((out / "_SUCCESS").read_text())
    assert manifest["counters"]["mr_luigi"]["spills"] > manifest["task_counts"]["map"], "maps spill more than one run"
    assert manifest["counters"]["mr_luigi"]["merge_passes"] > 0, "shuffles merge in passes"
    return {"out": out, "maps": manifest["task_counts"]["map"]}


@pytest.fixture(scope="module")
def clean(small, tmp_path_factory) -> dict:
    return clean_run(small, tmp_path_factory.mktemp("clean_small"))


@pytest.fixture(scope="module")
def clean_large(large, tmp_path_factory) -> dict:
    return clean_run(large, tmp_path_factory.mktemp("clean_large"))


def finished_tasks(work: Path) -> set[str]:
    """The tasks whose outputs are in place, by their names in the attempt logs."""
    (job,) = [p for p in work.iterdir() if p.is_dir()]
    done = {f"map-{p.name[4:]}" for p in (job / "map_output").glob("map-?????")}
    done |= {f"shuffle-{p.name[5:]}" for p in (job / "reduce_input").glob("part-?????")}
    done |= {f"reduce-{p.name[5:]}" for p in (job / "reduce_output").glob("part-?????")}
    return done | ({"barrier"} if (job / "maps_checked.json").exists() else set())


def leftovers(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob(f"*{TMP_MARKER}*")]


def assert_same_outputs(out: Path, clean_out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    for name in OUTPUTS[2:]:
        assert (out / name).read_bytes() == (clean_out / name).read_bytes(), name


def wait_for_hang(root: Path, proc: subprocess.Popen, phase: str, task: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list((root / "work").glob(f"*/faults/hang-{phase}-{task}-1"))
        if found:
            return json.loads(found[0].read_text())
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {phase} {task} stopped: {proc.stderr.read()[-3000:]}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"{phase} {task} never reached its fault point")


CASES = [
    ("map", 1, "middle"),
    ("map", 0, "commit"),  # every file written, folder not yet renamed: the set must not count
    ("shuffle", 1, "middle"),
    ("reduce", 2, "middle"),
    ("final", 0, "parts"),  # part-00000 published, part-00001 not yet
    ("final", 0, "middle"),  # part files published, final_output.txt and _SUCCESS not yet
    ("final", 0, "writing"),  # final_output.txt half written
    ("final", 0, "commit"),  # everything but _SUCCESS
]
#: For each fault point of the final step, the outputs in place when it is reached.
PUBLISHED = {"parts": ["part-00000"], "middle": OUTPUTS[3:], "writing": OUTPUTS[3:], "commit": OUTPUTS[2:]}


@pytest.mark.parametrize("victim", ["task", "process_group"])
@pytest.mark.parametrize("phase, task, point", CASES)
def test_kill_then_rerun_gives_the_clean_result(small, clean, tmp_path, phase, task, point, victim):
    cmd = command(small, tmp_path)
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.Popen(cmd, cwd=REPO, env=environment(f"{phase}:{task}:1:hang:{point}"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        hung = wait_for_hang(tmp_path, proc, phase, task)
        if victim == "task":
            os.kill(hung["pid"], signal.SIGKILL)
            assert proc.wait(timeout=120) == 30  # Luigi saw its task die: a failed run
        else:
            os.killpg(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()

    assert not (out / "_SUCCESS").exists()
    if phase == "final":  # part of the outputs is in place, and must not count; none of them partial
        in_place = sorted(p.name for p in out.iterdir() if not p.name.startswith("_") and TMP_MARKER not in p.name)
        assert in_place == PUBLISHED[point]
        for name in in_place:
            assert (out / name).read_bytes() == (clean["out"] / name).read_bytes(), f"{name} is partial"
        if point == "writing":
            assert leftovers(out), "the kill should have left final_output.txt half written under a temporary name"
    else:
        assert not (out / "final_output.txt").exists()
        assert leftovers(work), "the kill should have left a temporary folder"
    finished = finished_tasks(work)
    name = "final" if phase == "final" else f"{phase}-{task:05d}"
    assert name not in finished

    rerun = run(cmd)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_same_outputs(out, clean["out"])
    assert leftovers(out, work) == []
    attempts = json.loads((out / "_SUCCESS").read_text())["attempts"]
    assert all(attempts["per_task"][t] == 1 for t in finished), "a finished task was run again"
    assert attempts["per_task"][name] == 2
    assert {"task": name, "attempt": 1} in [{"task": f["task"], "attempt": f["attempt"]} for f in attempts["unsuccessful"]]


def wait_until_done(root: Path, proc: subprocess.Popen, tasks: int) -> set[str]:
    """Wait until ``tasks`` tasks have finished (by their outputs); return them."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = finished_tasks(root / "work") if (root / "work").is_dir() and any((root / "work").iterdir()) else set()
        if len(found) >= tasks:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the run ended with {len(found)} tasks done, before {tasks}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"{tasks} tasks were not done in time")


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.85])
def test_kill_the_process_group_at_any_moment(large, clean_large, tmp_path, fraction):
    """Killed once a share of the tasks is done, wherever the others are then: the moment is set by progress, not by
    the clock, so a slow or busy machine moves it no more than a fast one does."""
    cmd = command(large, tmp_path)
    proc = subprocess.Popen(cmd, cwd=REPO, env=environment(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = clean_large["maps"] + 1 + 3 + 3
    try:
        wait_until_done(tmp_path, proc, max(1, int(total * fraction)))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert not (tmp_path / "out" / "_SUCCESS").exists(), "the kill should have interrupted the job"
    rerun = run(cmd)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_same_outputs(tmp_path / "out", clean_large["out"])
    assert leftovers(tmp_path / "out", tmp_path / "work") == []
