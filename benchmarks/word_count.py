"""Word count benchmark: mr_luigi against hand-written baselines, in one run.

    python benchmarks/word_count.py --size-mb 100 --repeat 3
    python benchmarks/word_count.py --input /path/to/book.txt --repeat 5

Every contender runs as its own process on the same files, with the same
tokenizer; its output is checked against the first baseline's Counter, and the
table gives the median wall time, throughput, peak memory (largest resident
set of the process tree) and the ratio to each baseline. Run it by hand on a
quiet machine; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "data"))

# The baselines, as standalone programs: argv = output path, input paths...
SINGLE_PROCESS = r'''
import re, sys
from collections import Counter
word = re.compile(r"[a-z0-9']+")
counts = Counter()
for path in sys.argv[2:]:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for line in fh:
            counts.update(word.findall(line.lower()))
with open(sys.argv[1], "w", encoding="utf-8") as out:
    for k in sorted(counts):
        out.write(f"{k}\t{counts[k]}\n")
'''

TWO_PROCESSES = r'''
import os, re, sys
from collections import Counter
from multiprocessing import Pool
word = re.compile(rb"[a-z0-9']+")

def count_range(job):
    path, start, end = job
    counts = Counter()
    with open(path, "rb") as fh:
        if start:
            fh.seek(start - 1)
            fh.readline()
        while fh.tell() < end:
            line = fh.readline()
            if not line:
                break
            counts.update(word.findall(line.lower()))
    return counts

if __name__ == "__main__":
    jobs = []
    for path in sys.argv[2:]:
        size = os.path.getsize(path)
        step = max(1, -(-size // 2))
        jobs += [(path, s, min(size, s + step)) for s in range(0, size, step)]
    total = Counter()
    with Pool(2) as pool:
        for part in pool.imap_unordered(count_range, jobs):
            total.update(part)
    total = Counter({k.decode("utf-8", "replace").lstrip("\ufeff"): v for k, v in total.items()})
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for k in sorted(total):
            out.write(f"{k}\t{total[k]}\n")
'''


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of its process tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{proc.stderr.read().decode()[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024


def read_counts(path: Path) -> Counter:
    counts: Counter = Counter()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.rstrip("\n").partition("\t")
            counts[key] = int(value)
    return counts


def contenders(inputs: list[Path], scratch: Path) -> dict[str, callable]:
    files = [str(p) for p in inputs]
    single = scratch / "single.py"
    single.write_text(SINGLE_PROCESS)
    double = scratch / "two.py"
    double.write_text(TWO_PROCESSES)
    luigi_script = Path(sys.executable).parent / "luigi"

    def baseline(script: Path):
        def run(out: Path) -> list[str]:
            return [sys.executable, str(script), str(out / "result.txt"), *files]
        return run

    def mr_luigi(workers: int):
        def run(out: Path) -> list[str]:
            return [str(luigi_script), "--module", "pipelines.word_count", "WordCount", "--input", *_input_arg(inputs),
                    "--output-dir", str(out), "--local-scheduler", "--no-lock", "--workers", str(workers), "--log-level", "WARNING"]
        return run

    return {
        "Counter, 1 process": baseline(single),
        "Counter, 2 processes": baseline(double),
        "mr_luigi --workers 1": mr_luigi(1),
        "mr_luigi --workers 2": mr_luigi(2),
    }


def _input_arg(inputs: list[Path]) -> list[str]:
    folders = {p.parent for p in inputs}
    if len(inputs) > 1 and len(folders) == 1:
        return [str(folders.pop())]
    if len(inputs) == 1:
        return [str(inputs[0])]
    raise SystemExit("give input files from one folder")


def result_path(out: Path) -> Path:
    return out / "final_output.txt" if (out / "final_output.txt").exists() else out / "result.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description="word count: mr_luigi vs baselines")
    parser.add_argument("--input", type=Path, help="a file or folder (default: generate text)")
    parser.add_argument("--size-mb", type=float, default=100, help="size of generated text")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mr_luigi_bench_"))
    try:
        if args.input is None:
            from generate import generate_text

            inputs = generate_text(scratch / "input", args.size_mb)
        elif args.input.is_dir():
            inputs = sorted(p for p in args.input.iterdir() if p.is_file())
        else:
            inputs = [args.input]
        size_mb = sum(p.stat().st_size for p in inputs) / 1e6
        print(f"input: {len(inputs)} file(s), {size_mb:.1f} MB; {args.repeat} runs each; python {sys.version.split()[0]}, {os.cpu_count()} cores")
        rows = []
        reference = None
        for name, make_cmd in contenders(inputs, scratch).items():
            times, peaks = [], []
            for i in range(args.repeat):
                out = scratch / f"out_{len(rows)}_{i}"
                out.mkdir()
                elapsed, peak = run_measured(make_cmd(out))
                counts = read_counts(result_path(out))
                reference = reference or counts
                if counts != reference:
                    raise SystemExit(f"{name}: result differs from the first baseline")
                times.append(elapsed)
                peaks.append(peak)
                shutil.rmtree(out)
            rows.append((name, statistics.median(times), max(peaks)))
        base1, base2 = rows[0][1], rows[1][1]
        print(f"{'contender':24} {'median s':>9} {'MB/s':>7} {'peak MB':>8} {'x 1-proc':>9} {'x 2-proc':>9}")
        for name, median, peak in rows:
            print(f"{name:24} {median:9.2f} {size_mb / median:7.1f} {peak:8.0f} {median / base1:9.2f} {median / base2:9.2f}")
        print(f"all outputs identical ({len(reference)} distinct words, {sum(reference.values())} words)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
