"""WordCount on local files against the same job on an S3-compatible server on loopback, in one run.

    python benchmarks/s3.py --size-mb 200 --repeat 3
    python benchmarks/s3.py --input /path/to/texts/ --repeat 3

Three contenders, run in turn (A B C A B C ...) so that a drift of the
machine's speed touches each alike, medians printed with their ratio to the
local run:

- ``local``: inputs, work folder and outputs on local disk;
- ``s3 in/out``: inputs and outputs on the server, intermediates local;
- ``s3 everything``: inputs, intermediates (``work_dir``) and outputs on the
  server, sealed with a secret (as every shared work folder must be).

The server is moto in server mode (``pip install -e '.[test]'``) on
127.0.0.1, holding everything in its memory: no network and no disk behind
it, so the table shows what the store's protocol costs (requests, copies,
the staging of outputs), not a real store's bandwidth. Every run's
``final_output.txt`` must be byte-identical to the local run's. The phase
columns come from each run's manifest (wall seconds of map, shuffle,
reduce; the rest is planning, the final step and the put of the outputs).
Run by hand on a quiet machine; nothing here is part of the test suite.
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
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "data"))
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1"}
SECRET = "benchmark-secret-0123456789abcdef"


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the S3 server did not start") from None
            time.sleep(0.2)


def store(endpoint: str):
    sys.path.insert(0, str(REPO))
    from mr_luigi.io.remote import Store

    return Store(endpoint_url=endpoint).filesystem()


def config(path: Path, inputs: list[str], output: str, work: str | None, endpoint: str | None) -> Path:
    lines = [f"input_files = {json.dumps(inputs)}", f"output_dir = {json.dumps(output)}"]
    if work:
        lines.append(f"work_dir = {json.dumps(work)}")
    if endpoint:
        lines += ["[s3]", f"endpoint_url = {json.dumps(endpoint)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(cfg: Path, scratch: Path, workers: int, secret: bool) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MR_LUIGI_SECRET")}
    env.update(CREDENTIALS, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(scratch / "cache"), TMPDIR=str(scratch))
    if secret:
        env["MR_LUIGI_SECRET"] = SECRET
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "luigi"), "--module", "pipelines.word_count", "WordCount",
                           "--config", str(cfg), "--local-scheduler", "--no-lock", "--workers", str(workers),
                           "--log-level", "WARNING"], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cfg.name} failed:\n{done.stderr[-3000:]}")
    return wall, {}


PHASES = ("map", "shuffle", "reduce")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--input", type=Path, help="a folder of text files (.txt, .log, .gz, .bz2) instead of generated text")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="mr_luigi_s3_bench_"))
    server = None
    try:
        if args.input:
            inputs = args.input
        else:
            from generate import generate_text

            inputs = scratch / "in"
            inputs.mkdir()
            generate_text(inputs, args.size_mb, args.files)
        server, endpoint = start_server(scratch)
        os.environ.update(CREDENTIALS)
        fs = store(endpoint)
        fs.mkdir("bench")
        files = sorted(p for p in inputs.iterdir() if p.is_file() and p.suffix in (".txt", ".log", ".gz", ".bz2"))
        started = time.perf_counter()
        for path in files:
            fs.put_file(str(path), f"bench/in/{path.name}")
        size = sum(p.stat().st_size for p in files)
        print(f"{len(files)} files, {size / 1e6:,.1f} MB; put to the server in {time.perf_counter() - started:.1f} s")
        contenders = {
            "local": (lambda n: config(scratch / "local.toml", [str(p) for p in files], str(scratch / f"out-local-{n}"),
                                       None, None), False),
            "s3 in/out": (lambda n: config(scratch / "inout.toml", ["s3://bench/in"], f"s3://bench/out-inout-{n}", None,
                                           endpoint), False),
            "s3 everything": (lambda n: config(scratch / "all.toml", ["s3://bench/in"], f"s3://bench/out-all-{n}",
                                               f"s3://bench/work-{n}", endpoint), True),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        phases: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        outputs: dict[str, bytes] = {}
        for n in range(args.repeat):
            for name, (make, secret) in contenders.items():
                cfg = make(n)
                wall, _ = run(cfg, scratch, args.workers, secret)
                times[name].append(wall)
                out = json.loads(cfg.read_text().split("output_dir = ")[1].split("\n")[0])
                read = (lambda name, out=out: (Path(out) / name).read_bytes() if not out.startswith("s3://")
                        else fs.cat_file(out.removeprefix("s3://") + "/" + name))
                data = read("final_output.txt")
                manifest = json.loads(read("_SUCCESS"))
                phases[name].append({k: manifest["phases"][k]["duration_s"] for k in PHASES if k in manifest["phases"]})
                if name == "local":
                    outputs[name] = data
                elif data != outputs["local"]:
                    raise SystemExit(f"{name}: final_output.txt differs from the local run's")
                print(f"  run {n + 1} {name}: {wall:.2f} s", flush=True)
        base = statistics.median(times["local"])
        print(f"\n{'contender':<16} {'median s':>9} {'runs':>22} {'x local':>8}"
              + "".join(f" {k:>8}" for k in PHASES) + f" {'rest':>8}")
        for name, walls in times.items():
            median = statistics.median(walls)
            spans = {k: statistics.median(p.get(k, 0.0) for p in phases[name]) for k in PHASES}
            print(f"{name:<16} {median:>9.2f} {' '.join(f'{w:.2f}' for w in walls):>22} {median / base:>8.2f}"
                  + "".join(f" {spans[k]:>8.2f}" for k in PHASES) + f" {median - sum(spans.values()):>8.2f}")
        print("all outputs identical to the local run's")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
