"""Two different jobs started together on one output folder, twenty times over: exactly one publishes.

Apart from the rest of the publishing tests (test_publish.py) because each
round starts two ``luigi`` processes: half a minute in all, and the engine
code they run is what test_publish.py checks in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mr_luigi.engine.faults import ENV
from tests.conftest import counts_from_output, reference_word_count
from tests.services import CLIENT_CFG, Luigid

REPO = Path(__file__).resolve().parent.parent

ROUNDS = 20


def make_job(root: Path, name: str, seed: int) -> tuple[Path, list[Path]]:
    folder = root / f"in_{name}"
    folder.mkdir(parents=True)
    words = [f"{name}{i}" for i in range(40)]
    paths = []
    for f in range(2):
        path = folder / f"t{f}.txt"
        path.write_text("".join(" ".join(words[(seed + f + i * j) % 40] for j in range(8)) + "\n" for i in range(1500)))
        paths.append(path)
    return folder, paths


def luigi_command(inputs: Path, out: Path, scheduler: list[str]) -> list[str]:
    """A word count named after its input folder: two jobs, not two runs of one."""
    config = inputs.parent / f"{inputs.name}.toml"
    config.write_text(f'job_name = "count_{inputs.name}"\n')
    return [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--no-lock", "--config", str(config),
            "--input", str(inputs), "--output-dir", str(out), "--num-reduce-tasks", "2", *scheduler]


def race(tmp_path: Path, scheduler: list[str], env: dict[str, str]) -> list[str]:
    jobs_ = [make_job(tmp_path, name, seed) for name, seed in (("a", 1), ("b", 2))]
    clean = {}
    for (inputs, paths), name in zip(jobs_, "ab"):
        proc = subprocess.run(luigi_command(inputs, tmp_path / f"clean_{name}", ["--local-scheduler"]), cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        clean[name] = (tmp_path / f"clean_{name}" / "final_output.txt").read_bytes()
        assert counts_from_output(tmp_path / f"clean_{name}" / "final_output.txt") == reference_word_count(paths)
    winners = []
    for round_ in range(ROUNDS):
        out = tmp_path / f"out{round_}"
        procs = {name: subprocess.Popen(luigi_command(inputs, out, scheduler), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                 for (inputs, _), name in zip(jobs_, "ab")}
        codes = {name: (proc.wait(timeout=120), proc.stderr.read()) for name, proc in procs.items()}
        for proc in procs.values():
            proc.stderr.close()
        won = [name for name, (code, _) in codes.items() if code == 0]
        assert len(won) == 1, {name: (code, err[-1500:]) for name, (code, err) in codes.items()}
        lost = "b" if won == ["a"] else "a"
        code, err = codes[lost]
        assert code in (2, 30), err[-2000:]
        assert f"{str(out)!r} holds the results of another job" in err, err[-2000:]
        assert (out / "final_output.txt").read_bytes() == clean[won[0]]
        manifest = json.loads((out / "_SUCCESS").read_text())
        assert sorted(manifest["outputs"]) == ["final_output.txt", "part-00000", "part-00001"]
        assert sorted(p.name for p in out.iterdir() if p.name != "_work") == ["_SUCCESS", "_report.html", "final_output.txt",
                                                                              "part-00000", "part-00001"]
        winners.append(f"{won[0]} won, {lost} exited {code}")
    print("rounds:", Counter(winners))
    return winners


def test_two_different_jobs_on_one_folder_exactly_one_wins_local_scheduler(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(ENV, None)
    race(tmp_path, ["--local-scheduler", "--workers", "2"], env)


def test_two_different_jobs_on_one_folder_exactly_one_wins_on_one_luigid(tmp_path):
    daemon = Luigid(tmp_path / "luigid")
    try:
        daemon.wait_ready()
        (tmp_path / "client.cfg").write_text(CLIENT_CFG)
        env = dict(os.environ, PYTHONPATH=str(REPO), LUIGI_CONFIG_PATH=str(tmp_path / "client.cfg"))
        env.pop(ENV, None)
        race(tmp_path, ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(daemon.port), "--workers", "2"], env)
    finally:
        daemon.stop()
