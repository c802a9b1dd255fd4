"""mr_luigi against a hand-written baseline and its peers, on the same data, in one run.

    python benchmarks/compare.py combiner --size-mb 500 --repeat 3
    python benchmarks/compare.py no-combiner --size-mb 500 --peer-repeat 1
    python benchmarks/compare.py high-cardinality --size-mb 1000
    python benchmarks/compare.py small-files --size-mb 100
    python benchmarks/compare.py mrjob --size-mb 200 --peer-repeat 1
    python benchmarks/compare.py combiner --input /path/to/books/

Workloads (every one a word count with the tokenizer ``[a-z0-9']+`` on the
lower-cased line; on the generated data, ASCII with apostrophes only inside
words, that gives exactly WordCount's Unicode-aware words, so outputs can be
compared byte for byte; on other text given with ``--input`` they may not):

- ``combiner``: Zipf-distributed prose; mr_luigi's WordCount (its per-line
  map and combiner) and the same with its batch map, mrjob with an in-mapper
  combiner, Dask bag ``frequencies()``, PySpark ``reduceByKey``.
- ``no-combiner``: the same text, every (word, 1) pair of the per-line map
  through the shuffle; mr_luigi and mrjob without combiners.
- ``high-cardinality``: random tokens, tens of millions of distinct keys;
  shows peak memory against ``map_memory_mb``.
- ``small-files``: text in 10,000 files, against the same bytes in 8 files.
- ``mrjob``: mrjob's own example ``mr_word_freq_count.py`` (from the
  installed mrjob package, unedited), run by mrjob's local runner and by
  ``mr-luigi mrjob`` with 2 workers.

The baseline is a hand-written 2-process ``multiprocessing`` + ``Counter``
word count over byte ranges, the practical limit of pure Python on 2 cores.
Peers run when installed (``pip install -e '.[bench]'``). Each contender is
its own process tree; its output is normalised to sorted ``word<TAB>count``
lines and must be byte-identical to the baseline's. The table gives the
median wall time, MB/s, the peak resident memory of the largest single
process and of the whole process tree, and the ratio to the baseline. Generated data is kept in
``--data`` (default: a temporary folder) so later runs can reuse it.
Run by hand on a quiet machine; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "data"))
SCRIPTS = Path(__file__).resolve().parent / "contenders"


@dataclass
class Contender:
    name: str
    command: Callable[[Path], list[str]]  # output folder -> argv
    result: Callable[[Path], Path]  # output folder -> its result file
    slow: bool = False  # a peer run --peer-repeat times


def python_script(script: str, inputs: list[Path], extra: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    return lambda out: [sys.executable, str(SCRIPTS / script), str(out / "result.txt"), *extra, *map(str, inputs)]


def mr_luigi(inputs: list[Path], combiner: bool, workers: int = 2, memory_mb: float | None = None,
             batch: bool = False) -> Callable[[Path], list[str]]:
    """WordCount with its per-line map (the pipeline's default), or with its batch map."""
    def command(out: Path) -> list[str]:
        config = out / "job.toml"
        lines = [f"input_files = {json.dumps([str(p) for p in _as_inputs(inputs)])}", f'output_dir = "{out / "result"}"']
        lines.append(f'map_function = "pipelines.word_count:word_count_{"batch_map" if batch else "map"}"')
        if not combiner:
            lines.append('combine_function = ""')
        if memory_mb is not None:
            lines.append(f"map_memory_mb = {memory_mb}")
        config.write_text("\n".join(lines) + "\n")
        return [str(Path(sys.executable).parent / "luigi"), "--module", "pipelines.word_count", "WordCount", "--config", str(config),
                "--local-scheduler", "--no-lock", "--workers", str(workers), "--log-level", "WARNING"]

    return command


def _as_inputs(inputs: list[Path]) -> list[Path]:
    """One folder instead of thousands of file names, when they share one."""
    folders = {p.parent for p in inputs}
    return [folders.pop()] if len(inputs) > 8 and len(folders) == 1 else inputs


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def contenders(workload: str, inputs: list[Path], same_bytes: list[Path] | None, peers: set[str]) -> list[Contender]:
    own = lambda out: out / "result.txt"  # noqa: E731
    luigi_result = lambda out: out / "result" / "final_output.txt"  # noqa: E731
    mrjob_result = lambda out: normalise_mrjob(out / "mrjob")  # noqa: E731
    rows = [Contender("Counter, 2 processes", python_script("counter_2proc.py", inputs), own)]
    if workload == "combiner":
        rows.append(Contender("Counter, 1 process", python_script("counter_1proc.py", inputs), own))
        rows.append(Contender("mr_luigi --workers 2", mr_luigi(inputs, combiner=True), luigi_result))
        rows.append(Contender("mr_luigi --workers 2, batch map", mr_luigi(inputs, combiner=True, batch=True), luigi_result))
        if "mrjob" in peers:
            rows.append(Contender("mrjob -r local (in-mapper comb.)", _mrjob(inputs, "in-mapper"), mrjob_result, slow=True))
        if "dask" in peers:
            rows.append(Contender("Dask bag, 2 processes", python_script("dask_bag.py", inputs), own, slow=True))
        if "spark" in peers:
            rows.append(Contender("PySpark RDD local[2]", python_script("spark_rdd.py", inputs), own, slow=True))
    elif workload == "no-combiner":
        rows.append(Contender("mr_luigi --workers 2, no combiner", mr_luigi(inputs, combiner=False), luigi_result))
        if "mrjob" in peers:
            rows.append(Contender("mrjob -r local, no combiner", _mrjob(inputs, "plain"), mrjob_result, slow=True))
    elif workload == "high-cardinality":
        rows.append(Contender("mr_luigi --workers 2 (256 MB budget)", mr_luigi(inputs, combiner=True, memory_mb=256), luigi_result))
        rows.append(Contender("mr_luigi --workers 2 (64 MB budget)", mr_luigi(inputs, combiner=True, memory_mb=64), luigi_result))
    elif workload == "mrjob":
        example = str(Path(__import__("mrjob").__file__).parent / "examples" / "mr_word_freq_count.py")
        rows.append(Contender("mr-luigi mrjob mr_word_freq_count", _mr_luigi_mrjob(example, inputs), mrjob_result))
        rows.append(Contender("mrjob -r local mr_word_freq_count", _mrjob_example(example, inputs), mrjob_result, slow=True))
    elif workload == "small-files":
        rows.append(Contender(f"mr_luigi --workers 2, {len(inputs)} files", mr_luigi(inputs, combiner=True), luigi_result))
        assert same_bytes is not None
        rows.append(Contender(f"mr_luigi --workers 2, {len(same_bytes)} files", mr_luigi(same_bytes, combiner=True), luigi_result))
    return rows


def _mrjob(inputs: list[Path], variant: str) -> Callable[[Path], list[str]]:
    def command(out: Path) -> list[str]:
        return [sys.executable, str(SCRIPTS / "mrjob_wc.py"), "--variant", variant, "-r", "local", "--num-cores", "2",
                "--output-dir", str(out / "mrjob"), "--no-cat-output", *map(str, inputs)]

    return command


def _mr_luigi_mrjob(example: str, inputs: list[Path]) -> Callable[[Path], list[str]]:
    def command(out: Path) -> list[str]:
        return [str(Path(sys.executable).parent / "mr-luigi"), "mrjob", example, *map(str, inputs),
                "--output-dir", str(out / "mrjob"), "--workers", "2"]

    return command


def _mrjob_example(example: str, inputs: list[Path]) -> Callable[[Path], list[str]]:
    def command(out: Path) -> list[str]:
        return [sys.executable, example, "-r", "local", "--num-cores", "2", "--output-dir", str(out / "mrjob"),
                "--no-cat-output", *map(str, inputs)]

    return command


def normalise_mrjob(folder: Path) -> Path:
    """mrjob writes JSON-encoded ``"word"\\tcount`` lines in several parts: sort them."""
    counts = {}
    for part in sorted(folder.glob("part-*")):
        with open(part, encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.rstrip("\n").partition("\t")
                counts[json.loads(key)] = json.loads(value)
    path = folder.parent / "result.txt"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(f"{k}\t{counts[k]}\n" for k in sorted(counts))
    return path


def run_measured(cmd: list[str]) -> tuple[float, float, float]:
    """Run a command; return wall seconds and peak RSS in MB of its largest process and of its whole tree.

    The tree is sampled from /proc every 50 ms (a JVM started by a Python
    driver is not always reaped by it, so ``wait4`` alone can miss it).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    peaks = [0.0, 0.0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, peaks, done), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{proc.stderr.read().decode()[-3000:]}")
    return elapsed, max(usage.ru_maxrss / 1024, peaks[0]), peaks[1]


def _sample_tree(root: int, peaks: list[float], done: threading.Event) -> None:
    page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
    while not done.wait(0.05):
        parents: dict[int, int] = {}
        rss: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(fields[1])
                rss[int(entry)] = int(fields[21]) * page_mb
        tree = {root}
        for _ in range(6):  # a few levels of descendants
            tree |= {pid for pid, ppid in parents.items() if ppid in tree}
        sizes = [rss.get(pid, 0.0) for pid in tree]
        peaks[0] = max(peaks[0], max(sizes))
        peaks[1] = max(peaks[1], sum(sizes))


def digest(path: Path) -> tuple[str, int]:
    """A digest of an output's key<TAB>count lines, keys as words.

    mr_luigi JSON-quotes a key that would otherwise read back as a number
    (``"2024"``); the other contenders write every word as it is. Quoted keys
    are unquoted here, so outputs compare by what they say.
    """
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b'"'):
                key, _, rest = line.partition(b"\t")
                line = json.loads(key).encode() + b"\t" + rest
            h.update(line)
            lines += 1
    return h.hexdigest(), lines


def make_data(workload: str, size_mb: float, data: Path, given: Path | None) -> tuple[list[Path], list[Path] | None]:
    from generate import generate_keys, generate_text

    if given is not None:
        return (sorted(p for p in given.iterdir() if p.is_file()) if given.is_dir() else [given]), None
    kind = "keys" if workload == "high-cardinality" else "text"
    files = 10_000 if workload == "small-files" else 8
    folder = data / f"{kind}-{size_mb:g}MB-{files}files"
    if not folder.exists():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (generate_keys if kind == "keys" else generate_text)(tmp, size_mb, files)
        tmp.rename(folder)
    inputs = sorted(folder.iterdir())
    if workload != "small-files":
        return inputs, None
    packed = data / f"{folder.name}-as-8"
    if not packed.exists():
        tmp = packed.with_name(packed.name + ".tmp")
        tmp.mkdir(parents=True)
        for i in range(8):
            with open(tmp / f"text_{i:03d}.txt", "wb") as out:
                for path in inputs[i::8]:
                    out.write(path.read_bytes())
        tmp.rename(packed)
    return inputs, sorted(packed.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["combiner", "no-combiner", "high-cardinality", "small-files", "mrjob"])
    parser.add_argument("--size-mb", type=float, default=100, help="size of generated data")
    parser.add_argument("--input", type=Path, help="a file or folder to use instead of generated data")
    parser.add_argument("--repeat", type=int, default=3, help="runs of mr_luigi and the Counter baselines")
    parser.add_argument("--peer-repeat", type=int, default=None, help="runs of each peer (default: --repeat)")
    parser.add_argument("--peers", default="mrjob,dask,spark", help="comma-separated peers to run, or 'none'")
    parser.add_argument("--data", type=Path, help="where generated data is kept (default: a temporary folder)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mr_luigi_bench_"))
    wanted = set(args.peers.split(",")) - {"none", ""}
    modules = {"mrjob": "mrjob", "dask": "dask.bag", "spark": "pyspark"}
    peers = {p for p in wanted if available(modules.get(p, p))}
    try:
        inputs, same_bytes = make_data(args.workload, args.size_mb, args.data or scratch / "data", args.input)
        size_mb = sum(p.stat().st_size for p in inputs) / 1e6
        print(f"{args.workload}: {len(inputs)} file(s), {size_mb:.1f} MB; python {sys.version.split()[0]}, {os.cpu_count()} cores")
        if wanted - peers:
            print(f"not installed, skipped: {', '.join(sorted(wanted - peers))} (pip install -e '.[bench]')")
        rows = []
        reference = None
        for contender in contenders(args.workload, inputs, same_bytes, peers):
            repeat = (args.peer_repeat or args.repeat) if contender.slow else args.repeat
            times, peaks, trees = [], [], []
            for i in range(repeat):
                out = scratch / f"out_{len(rows)}_{i}"
                out.mkdir()
                elapsed, peak, tree = run_measured(contender.command(out))
                result = digest(contender.result(out))
                reference = reference or result
                if result != reference:
                    raise SystemExit(f"{contender.name}: output differs from the baseline's ({result[1]} lines vs {reference[1]})")
                times.append(elapsed)
                peaks.append(peak)
                trees.append(tree)
                shutil.rmtree(out)
            rows.append((contender.name, statistics.median(times), max(peaks), max(trees), repeat))
            print(f"  {contender.name}: {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
        base = rows[0][1]
        print(f"\n{'contender':38} {'runs':>4} {'median s':>9} {'MB/s':>7} {'peak MB':>8} {'tree MB':>8} {'x baseline':>10}")
        for name, median, peak, tree, runs in rows:
            print(f"{name:38} {runs:4} {median:9.2f} {size_mb / median:7.1f} {peak:8.0f} {tree:8.0f} {median / base:10.2f}")
        print(f"all outputs identical: {reference[1]} distinct words")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
