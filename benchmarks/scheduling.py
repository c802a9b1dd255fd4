"""What Luigi's central scheduler costs a job, by task count: tiny map tasks through the real job graph.

    python benchmarks/scheduling.py                      # 500, 1,000, 2,000 maps; 1 and 2 worker processes
    python benchmarks/scheduling.py --maps 250 500 --workers 2 --repeat 3

Each run is WordCount (its map, ``"sum"``, 2 partitions) over as many 40-byte
files as there are map tasks, with ``split_size_mb`` set so that every file is
a split of its own: the map, barrier, shuffle, reduce and final tasks are the
ones a real job has, but their work is nothing, so the wall time is what
scheduling and running that many tasks costs. Every run gets a fresh
``luigid`` on 127.0.0.1 (the settings of the README's several-machines
section) and runs ``luigi --module pipelines.word_count WordCount`` against
it, as a worker host would.

The last column puts the overhead beside a realistic job with the same
number of maps: each of ``--split-mb`` (512 MiB: a terabyte is about 2,000 of
them, the most the automatic split size plans), on ``--cores`` worker
processes mapping ``--mb-per-s`` each (10 MB/s: WordCount's 200 MB in about
10 s on 2 processes, see the README's Performance). Run by hand on a quiet machine; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEDULER_CFG = "[scheduler]\nretry_delay = 1\nstable_done_cooldown_secs = 0\nworker_disconnect_delay = 60\n" \
                "prune_on_get_work = true\n"
FILE_BYTES = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_luigid(folder: Path) -> tuple[subprocess.Popen, str]:
    folder.mkdir(parents=True)
    (folder / "luigi.cfg").write_text(SCHEDULER_CFG)
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "luigid"), "--address", "127.0.0.1", "--port", str(port),
                             "--state-path", str(folder / "state.pickle"), "--logdir", str(folder)],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/task_list?data=%7B%7D", timeout=5).read()
            return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("luigid did not start") from None
            time.sleep(0.2)


def write_job(folder: Path, maps: int) -> Path:
    inputs = folder / "in"
    inputs.mkdir(parents=True)
    for i in range(maps):
        (inputs / f"f{i:05d}.txt").write_text(f"alpha beta gamma {i:020d}\n"[:FILE_BYTES - 1] + "\n")
    config = folder / "job.toml"
    config.write_text(f'job_name = "sched{maps}"\ninput_files = ["{inputs}"]\noutput_dir = "{folder / "out"}"\n'
                      f'num_reduce_tasks = 2\nsplit_size_mb = {FILE_BYTES / (1 << 20)!r}\n')
    return config


def run_once(folder: Path, maps: int, workers: int) -> float:
    config = write_job(folder / "job", maps)
    luigid, url = start_luigid(folder / "luigid")
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        started = time.perf_counter()
        done = subprocess.run([str(Path(sys.executable).parent / "luigi"), "--module", "pipelines.word_count", "WordCount",
                               "--config", str(config), "--scheduler-url", url, "--workers", str(workers),
                               "--no-lock", "--log-level", "WARNING"], cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    finally:
        luigid.terminate()
        luigid.wait()
    success = folder / "job" / "out" / "_SUCCESS"
    if done.returncode != 0 or not success.exists():
        raise SystemExit(f"{maps} maps, {workers} workers failed:\n{done.stderr[-2000:]}")
    planned = json.loads(success.read_text())["task_counts"]["map"]
    if planned != maps:
        raise SystemExit(f"the job planned {planned} maps, not {maps}: the files no longer make one split each")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--split-mb", type=float, default=512, help="split size of the realistic job beside each row")
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--mb-per-s", type=float, default=10, help="map throughput of one worker process")
    args = parser.parse_args()
    print(f"realistic job: maps of {args.split_mb:,.0f} MiB, {args.cores} processes mapping {args.mb_per_s} MB/s each")
    print(f"{'maps':>6} {'tasks':>6} {'workers':>7} {'wall s':>8} {'ms/task':>8} {'its job':>9} {'share':>6}")
    for workers in args.workers:
        for maps in args.maps:
            times = []
            for _ in range(args.repeat):
                scratch = Path(tempfile.mkdtemp(prefix="mr_luigi_sched_"))
                try:
                    times.append(run_once(scratch, maps, workers))
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
            wall = statistics.median(times)
            tasks = maps + 1 + 2 + 2 + 1  # maps, barrier, shuffles, reduces, the job
            work = maps * args.split_mb * (1 << 20) / (args.mb_per_s * 1e6) / args.cores
            print(f"{maps:>6} {tasks:>6} {workers:>7} {wall:>8.1f} {1000 * wall / tasks:>8.1f} {work:>8,.0f}s "
                  f"{100 * wall / (wall + work):>5.1f}%", flush=True)


if __name__ == "__main__":
    main()
