"""One output folder, one job: the publishing lock and the journal of an interrupted publish."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from mr_luigi.engine.faults import ENV
from mr_luigi.io.publish import JOURNAL_NAME, LOCK_NAME, Journal, output_lock
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count
from tests.services import CLIENT_CFG, Luigid

REPO = Path(__file__).resolve().parent.parent


def _hold(folder: str, log: str, seconds: float) -> None:
    with output_lock(Path(folder)):
        with open(log, "a") as fh:
            fh.write(f"in {os.getpid()}\n")
        time.sleep(seconds)
        with open(log, "a") as fh:
            fh.write(f"out {os.getpid()}\n")


def test_the_lock_lets_one_process_in_at_a_time_and_leaves_no_file(tmp_path):
    log = tmp_path / "log"
    procs = [multiprocessing.Process(target=_hold, args=(str(tmp_path / "out"), str(log), 0.2)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
    events = log.read_text().split("\n")[:-1]
    assert len(events) == 8
    for i in range(0, 8, 2):  # every "in" is followed by the same process's "out"
        assert events[i].startswith("in ") and events[i + 1] == "out " + events[i][3:], events
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_the_journal_undoes_an_interrupted_publish(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n")
    first = Journal(out, "job-a")
    for name in ("part-00000", "words.txt"):
        first.add(name)
        (out / name).write_text("written by an interrupted publish\n")
    first.add("_bad_records")
    (out / "_bad_records").mkdir()
    (out / "_bad_records" / "map-00000.jsonl").write_text("{}\n")
    first.add("final_output.txt")  # listed, never written
    assert Journal(out, "job-b").undo_interrupted() == ["part-00000", "words.txt", "_bad_records"]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def config(inputs: list[Path], out: Path, **changes) -> JobConfig:
    values = dict(job_name="words", map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total,
                  input_files=[str(p) for p in inputs], output_dir=str(out), num_reduce_tasks=2, max_retries=0)
    values.update(changes)
    return JobConfig(**values)


def test_a_different_job_removes_what_an_interrupted_publish_left(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nbeta\n")
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:middle")  # the named job stops after writing its first output
    named = config([src], out, map_function=jobs.named_map, named_outputs=True, num_reduce_tasks=5)
    assert not MapReduceScheduler(1).execute_job(named)
    assert (out / "lengths.txt").exists() and (out / JOURNAL_NAME).exists() and not (out / "_SUCCESS").exists()
    monkeypatch.delenv(ENV)
    assert MapReduceScheduler(1).execute_job(config([src], out))
    published = sorted(p.name for p in out.iterdir() if p.name != "_work")  # _work: the failed job's intermediates
    assert published == ["_SUCCESS", "_report.html", "final_output.txt", "part-00000", "part-00001"]
    assert counts_from_output(out / "final_output.txt") == reference_word_count([src])


def test_a_job_whose_folder_another_job_took_meanwhile_fails_naming_it(tmp_path):
    from mr_luigi.engine.phases.final import run_final_step
    from mr_luigi.engine.plan import make_plan

    src = tmp_path / "in.txt"
    src.write_text("alpha beta\n")
    out = tmp_path / "out"
    kept = config([src], out, keep_intermediate=True, work_dir=str(tmp_path / "work"))
    assert MapReduceScheduler(1).execute_job(kept)
    plan = make_plan(kept)
    (out / "_SUCCESS").unlink()
    other = config([src], out, num_reduce_tasks=3)
    assert MapReduceScheduler(1).execute_job(other)
    before = (out / "final_output.txt").read_bytes()
    from mr_luigi.errors import OutputTaken

    with pytest.raises(OutputTaken, match=rf"'{out}' holds the results of another job \(words-\w+, published while this job ran; they differ in "
                                          r"num_reduce_tasks\), not of this one"):
        run_final_step(plan)
    assert (out / "final_output.txt").read_bytes() == before


def test_a_rerun_of_the_job_with_other_settings_replaces_its_earlier_results(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nBAD line\nbeta\n")
    out = tmp_path / "out"
    first = config([src], out, map_function=jobs.strict_map, num_reduce_tasks=3, max_bad_records=1)
    assert MapReduceScheduler(1).execute_job(first)
    assert (out / "part-00002").exists() and (out / "_bad_records").is_dir()
    (out / "notes.txt").write_text("the user's own file\n")
    second = config([src], out, num_reduce_tasks=2)
    assert MapReduceScheduler(1).execute_job(second)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "_report.html", "final_output.txt", "notes.txt",
                                                      "part-00000", "part-00001"]
    assert counts_from_output(out / "final_output.txt") == reference_word_count([src])


def test_a_job_of_another_name_is_refused_before_it_runs(tmp_path):
    from mr_luigi import ConfigError

    src = tmp_path / "in.txt"
    src.write_text("alpha beta\n")
    out = tmp_path / "out"
    assert MapReduceScheduler(1).execute_job(config([src], out))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ConfigError, match=rf"'{out}' holds the results of another job \(words-\w+; they differ in job_name\)"):
        MapReduceScheduler(1).execute_job(config([src], out, job_name="other"))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


# -- two different jobs started together on one folder -------------------------

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


def test_a_filesystem_without_locks_publishes_unlocked_with_a_warning(tmp_path, monkeypatch, caplog):
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with output_lock(tmp_path / "out"):
        inside = True
    assert inside and not (tmp_path / "out" / LOCK_NAME).exists()
    assert "cannot lock" in caplog.text and "would not be detected" in caplog.text
