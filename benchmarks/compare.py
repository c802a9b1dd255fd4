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

- ``combiner``: Zipf-distributed prose; mr_luigi's WordCount (its batch map,
  summed by name) and the same with its per-line map, mrjob with an
  in-mapper combiner, Dask bag ``frequencies()``, PySpark ``reduceByKey``.
- ``no-combiner``: the same text, every (word, 1) pair of the per-line map
  through the shuffle; mr_luigi and mrjob without combiners.
- ``high-cardinality``: random tokens, tens of millions of distinct keys;
  shows peak memory against ``map_memory_mb``.
- ``small-files``: text in 10,000 files, against the same bytes in 8 files.
- ``mrjob``: mrjob's own example ``mr_word_freq_count.py`` (from the
  installed mrjob package, unedited), run by mrjob's local runner and by
  ``mr-luigi mrjob`` with 2 workers.
- ``scaling``: WordCount on the data and on a tenth of it (the first tenth
  of every file, cut at a line end); the ratio of the two times is printed.
- ``fixed-cost``: WordCount on a 1 KB file and on the bundled sample, next to
  the time Python takes to import Luigi (the floor of any ``luigi`` command).
- ``logs``: LogAnalysis (its batch map, and its per-line map) against a
  hand-written log analysis in 2 and in 1 processes and mrjob, on generated
  Apache logs; outputs normalised to per-IP, per-status and bad-line counts.

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
    data: str = ""  # contenders on the same data must agree; each data set has its own reference


def python_script(script: str, inputs: list[Path], extra: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    return lambda out: [sys.executable, str(SCRIPTS / script), str(out / "result.txt"), *extra, *map(str, inputs)]


def mr_luigi(inputs: list[Path], combiner: bool, workers: int = 2, memory_mb: float | None = None,
             batch: bool = True) -> Callable[[Path], list[str]]:
    """WordCount with its own map (a batch map, summed by name), or with its per-line map."""
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
    if workload == "logs":
        return log_contenders(inputs, peers)
    rows = [Contender("Counter, 2 processes", python_script("counter_2proc.py", inputs), own)]
    if workload == "combiner":
        rows.append(Contender("Counter, 1 process", python_script("counter_1proc.py", inputs), own))
        rows.append(Contender("WordCount --workers 2", mr_luigi(inputs, combiner=True), luigi_result))
        rows.append(Contender("WordCount --workers 2, per-line map", mr_luigi(inputs, combiner=True, batch=False), luigi_result))
        if "mrjob" in peers:
            rows.append(Contender("mrjob -r local (in-mapper comb.)", _mrjob(inputs, "in-mapper"), mrjob_result, slow=True))
        if "dask" in peers:
            rows.append(Contender("Dask bag, 2 processes", python_script("dask_bag.py", inputs), own, slow=True))
        if "spark" in peers:
            rows.append(Contender("PySpark RDD local[2]", python_script("spark_rdd.py", inputs), own, slow=True))
    elif workload == "no-combiner":
        rows.append(Contender("WordCount, per-line map, no combiner", mr_luigi(inputs, combiner=False, batch=False), luigi_result))
        if "mrjob" in peers:
            rows.append(Contender("mrjob -r local, no combiner", _mrjob(inputs, "plain"), mrjob_result, slow=True))
    elif workload == "high-cardinality":
        rows.append(Contender("Counter, 1 process", python_script("counter_1proc.py", inputs), own))
        rows.append(Contender("tr | sort --parallel=2 | uniq -c (C)", gnu_sort(inputs), own))
        rows.append(Contender("WordCount --workers 2 (256 MB budget)", mr_luigi(inputs, combiner=True, memory_mb=256), luigi_result))
        rows.append(Contender("WordCount --workers 2 (64 MB budget)", mr_luigi(inputs, combiner=True, memory_mb=64), luigi_result))
        rows.append(Contender("WordCount (256 MB), per-line map", mr_luigi(inputs, combiner=True, memory_mb=256, batch=False),
                              luigi_result))
    elif workload == "mrjob":
        example = str(Path(__import__("mrjob").__file__).parent / "examples" / "mr_word_freq_count.py")
        rows.append(Contender("mr-luigi mrjob mr_word_freq_count", _mr_luigi_mrjob(example, inputs), mrjob_result))
        rows.append(Contender("mrjob -r local mr_word_freq_count", _mrjob_example(example, inputs), mrjob_result, slow=True))
    elif workload == "scaling":
        assert same_bytes is not None  # a tenth of the data
        rows.append(Contender("WordCount --workers 2", mr_luigi(inputs, combiner=True), luigi_result))
        rows.append(Contender("Counter, 2 processes, 1/10 of the data", python_script("counter_2proc.py", same_bytes), own, data="tenth"))
        rows.append(Contender("WordCount --workers 2, 1/10 of the data", mr_luigi(same_bytes, combiner=True), luigi_result, data="tenth"))
    elif workload == "fixed-cost":
        rows.append(Contender("python -c 'import luigi.interface'", lambda out: [sys.executable, "-c", "import luigi.interface"],
                              lambda out: None, data="none"))
        rows.append(Contender("luigi, one task that does nothing", lambda out: [
            str(Path(sys.executable).parent / "luigi"), "--module", "benchmarks.contenders.noop_task", "Noop",
            "--local-scheduler", "--no-lock", "--log-level", "WARNING"], lambda out: None, data="none"))
        rows.append(Contender("WordCount --workers 1, 1 KB", mr_luigi(inputs, combiner=True, workers=1), luigi_result))
        assert same_bytes is not None  # the bundled sample (its words are not all ASCII: nothing else would agree)
        rows.append(Contender("WordCount --workers 1, bundled sample", mr_luigi(same_bytes, combiner=True, workers=1), luigi_result,
                              data="sample"))
    elif workload == "small-files":
        rows.append(Contender(f"WordCount --workers 2, {len(inputs)} files", mr_luigi(inputs, combiner=True), luigi_result))
        assert same_bytes is not None
        rows.append(Contender(f"WordCount --workers 2, {len(same_bytes)} files", mr_luigi(same_bytes, combiner=True), luigi_result))
    return rows


def gnu_sort(inputs: list[Path]) -> Callable[[Path], list[str]]:
    """Word count in C: tokenize with tr, sort with GNU sort (256 MB buffer, 2 threads), count with uniq -c."""
    def command(out: Path) -> list[str]:
        files = " ".join(f"'{p}'" for p in inputs)
        script = (f"cat {files} | tr 'A-Z' 'a-z' | tr -cs \"a-z0-9'\" '\\n' | LC_ALL=C sort -S 256M --parallel=2 "
                  f"| uniq -c | awk 'NF == 2 {{print $2 \"\\t\" $1}}' > '{out / 'result.txt'}'")
        return ["bash", "-o", "pipefail", "-c", script]

    return command


def log_contenders(inputs: list[Path], peers: set[str]) -> list[Contender]:
    own = lambda out: out / "result.txt"  # noqa: E731
    script = lambda procs: lambda out: [sys.executable, str(SCRIPTS / "logs_multiproc.py"), "--procs", str(procs),  # noqa: E731
                                        str(out / "result.txt"), *map(str, inputs)]
    rows = [Contender("hand-written, 2 processes", script(2), own), Contender("hand-written, 1 process", script(1), own),
            Contender("LogAnalysis --workers 2", log_analysis(inputs, per_line=False), normalise_log_analysis),
            Contender("LogAnalysis --workers 2, per-line map", log_analysis(inputs, per_line=True), normalise_log_analysis)]
    if "mrjob" in peers:
        rows.append(Contender("mrjob -r local", lambda out: [sys.executable, str(SCRIPTS / "mrjob_logs.py"), "-r", "local",
                                                              "--num-cores", "2", "--output-dir", str(out / "mrjob"),
                                                              "--no-cat-output", *map(str, inputs)],
                              normalise_mrjob_logs, slow=True))
    return rows


def log_analysis(inputs: list[Path], per_line: bool) -> Callable[[Path], list[str]]:
    """LogAnalysis with its default batch map summed by name, or with its per-line map and Python combiner."""
    def command(out: Path) -> list[str]:
        config = out / "job.toml"
        lines = [f"input_files = {json.dumps([str(p) for p in inputs])}", f'output_dir = "{out / "result"}"',
                 "max_bad_records = 0.05"]
        if per_line:
            lines += ['map_function = "pipelines.log_analysis:log_stats_map"',
                      'combine_function = "pipelines.log_analysis:log_stats_combine"']
        config.write_text("\n".join(lines) + "\n")
        return [str(Path(sys.executable).parent / "luigi"), "--module", "pipelines.log_analysis", "LogAnalysis", "--config",
                str(config), "--local-scheduler", "--no-lock", "--workers", "2", "--log-level", "WARNING"]

    return command


def _normal_log_lines(ips: dict, statuses: dict, bad: int) -> list[str]:
    """The normal form of logs_multiproc.py: per-IP, per-status and bad-line lines, sorted."""
    lines = [f"ip\t{ip}\t{r}\t{e}\t{b}\n" for ip, (r, e, b) in ips.items()]
    lines += [f"status\t{code}\t{n}\n" for code, n in statuses.items()]
    lines.append(f"bad\t{bad}\n")
    return sorted(lines)


def normalise_log_analysis(out: Path) -> Path:
    from mr_luigi import read_output

    folder = out / "result"
    ips = {ip: (v["requests"], v["errors"], v["bytes"]) for ip, v in read_output(folder / "ip_error_rates.txt")}
    statuses = dict(read_output(folder / "status_codes.txt"))
    bad = json.loads((folder / "_SUCCESS").read_text())["bad_records"]["total"]
    path = out / "result.txt"
    path.write_text("".join(_normal_log_lines(ips, statuses, bad)), encoding="utf-8")
    return path


def normalise_mrjob_logs(out: Path) -> Path:
    ips, statuses, bad = {}, {}, 0
    for part in sorted((out / "mrjob").glob("part-*")):
        for line in part.read_text(encoding="utf-8").splitlines():
            key, value = (json.loads(field) for field in line.split("\t"))
            if key[0] == "ip":
                ips[key[1]] = value
            elif key[0] == "status":
                statuses[key[1]] = value[0]
            else:
                bad = value[0]
    path = out / "result.txt"
    path.write_text("".join(_normal_log_lines(ips, statuses, bad)), encoding="utf-8")
    return path


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


def run_measured(cmd: list[str]) -> tuple[float, float, float, float]:
    """Run a command; return wall seconds, CPU seconds (user + sys, its reaped children included) and the
    peak RSS in MB of its largest process and of its whole tree.

    The tree is sampled from /proc every 50 ms (a JVM started by a Python
    driver is not always reaped by it, so ``wait4`` alone can miss it).
    Python may write bytecode caches, as on a user's machine: with
    ``PYTHONDONTWRITEBYTECODE`` every run would compile every module again.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**env, "PYTHONPATH": str(REPO)})
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
    return elapsed, usage.ru_utime + usage.ru_stime, max(usage.ru_maxrss / 1024, peaks[0]), peaks[1]


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
    """The workload's inputs, and a second data set for the workloads that compare two (else None)."""
    from generate import generate_keys, generate_logs, generate_text

    if workload == "fixed-cost":
        tiny = data / "one-kb.txt"
        data.mkdir(parents=True, exist_ok=True)
        tiny.write_text("".join(f"the quick brown fox {i} jumps over the lazy dog\n" for i in range(22)))
        return [tiny], sorted((REPO / "data" / "word_count").iterdir())
    if given is not None:
        inputs = sorted(p for p in given.iterdir() if p.is_file() and p.name != "manifest.json") if given.is_dir() else [given]
    else:
        kind = {"high-cardinality": "keys", "logs": "logs"}.get(workload, "text")
        files = 10_000 if workload == "small-files" else 4 if kind == "logs" else 8
        folder = data / f"{kind}-{size_mb:g}MB-{files}files"
        if not folder.exists():
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            if kind == "text":
                generate_text(tmp, size_mb, files)
            else:
                (generate_keys if kind == "keys" else generate_logs)(tmp, size_mb, files)
            tmp.rename(folder)
        inputs = sorted(folder.iterdir())
    if workload == "small-files":
        return inputs, _derived(data, "as-8", inputs, _pack_into_8)
    if workload == "scaling":
        return inputs, _derived(data, "tenth", inputs, _first_tenth)
    return inputs, None


def _derived(data: Path, name: str, inputs: list[Path], write: Callable[[list[Path], Path], None]) -> list[Path]:
    """A data set made from the inputs once, kept next to them under ``data``."""
    folder = data / f"{inputs[0].parent.name}-{name}"
    if not folder.exists():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write(inputs, tmp)
        tmp.rename(folder)
    return sorted(folder.iterdir())


def _pack_into_8(inputs: list[Path], out: Path) -> None:
    for i in range(8):
        with open(out / f"text_{i:03d}.txt", "wb") as fh:
            for path in inputs[i::8]:
                fh.write(path.read_bytes())


def _first_tenth(inputs: list[Path], out: Path) -> None:
    for path in inputs:
        with open(path, "rb") as src, open(out / path.name, "wb") as fh:
            fh.write(src.read(path.stat().st_size // 10) + src.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["combiner", "no-combiner", "high-cardinality", "small-files", "mrjob", "scaling",
                                             "fixed-cost", "logs"])
    parser.add_argument("--size-mb", type=float, default=100, help="size of generated data")
    parser.add_argument("--input", type=Path, help="a file or folder to use instead of generated data")
    parser.add_argument("--repeat", type=int, default=3, help="runs of mr_luigi and the Counter baselines")
    parser.add_argument("--peer-repeat", type=int, default=None, help="runs of each peer (default: --repeat)")
    parser.add_argument("--peers", default="mrjob,dask,spark", help="comma-separated peers to run, or 'none'")
    parser.add_argument("--data", type=Path, help="where generated data is kept (default: a temporary folder)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mr_luigi_bench_"))
    (scratch / "tmp").mkdir()
    os.environ["TMPDIR"] = str(scratch / "tmp")  # the contenders' temporary files go when the run ends
    locks = set(Path("/tmp").glob("wrapper.lock.*"))  # but mrjob's local runner locks these in /tmp whatever TMPDIR says
    wanted = set(args.peers.split(",")) - {"none", ""}
    modules = {"mrjob": "mrjob", "dask": "dask.bag", "spark": "pyspark"}
    peers = {p for p in wanted if available(modules.get(p, p))}
    try:
        inputs, same_bytes = make_data(args.workload, args.size_mb, args.data or scratch / "data", args.input)
        size_mb = sum(p.stat().st_size for p in inputs) / 1e6
        print(f"{args.workload}: {len(inputs)} file(s), {size_mb:.1f} MB; python {sys.version.split()[0]}, {os.cpu_count()} cores")
        if wanted - peers:
            print(f"not installed, skipped: {', '.join(sorted(wanted - peers))} (pip install -e '.[bench]')")
        sizes = {"": size_mb, "none": 0.0}
        if same_bytes is not None:
            sizes["tenth"] = sizes["sample"] = sum(p.stat().st_size for p in same_bytes) / 1e6
        rows = []
        references: dict[str, tuple[str, int]] = {}
        for contender in contenders(args.workload, inputs, same_bytes, peers):
            repeat = (args.peer_repeat or args.repeat) if contender.slow else args.repeat
            times, cpus, peaks, trees = [], [], [], []
            for i in range(repeat):
                out = scratch / f"out_{len(rows)}_{i}"
                out.mkdir()
                elapsed, cpu, peak, tree = run_measured(contender.command(out))
                if contender.data != "none":
                    result = digest(contender.result(out))
                    reference = references.setdefault(contender.data, result)
                    if result != reference:
                        raise SystemExit(f"{contender.name}: output differs from the baseline's "
                                         f"({result[1]} lines vs {reference[1]})")
                times.append(elapsed)
                cpus.append(cpu)
                peaks.append(peak)
                trees.append(tree)
                shutil.rmtree(out)
            rows.append((contender.name, statistics.median(times), statistics.median(cpus), max(peaks), max(trees), repeat,
                         sizes[contender.data]))
            print(f"  {contender.name}: {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
        base = rows[0][1]
        print(f"\n{'contender':40} {'runs':>4} {'median s':>9} {'CPU s':>7} {'MB/s':>7} {'peak MB':>8} {'tree MB':>8} "
              f"{'x baseline':>10}")
        for name, median, cpu, peak, tree, runs, mb in rows:
            print(f"{name:40} {runs:4} {median:9.2f} {cpu:7.2f} {mb / median:7.1f} {peak:8.0f} {tree:8.0f} {median / base:10.2f}")
        if args.workload == "scaling":
            print(f"10x the data took {rows[1][1] / rows[3][1]:.2f}x the time with mr_luigi, "
                  f"{rows[0][1] / rows[2][1]:.2f}x with the Counter baseline")
        print(f"all outputs identical: {references[''][1]} lines")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for lock in set(Path("/tmp").glob("wrapper.lock.*")) - locks:
            lock.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
