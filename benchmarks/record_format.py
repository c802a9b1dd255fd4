"""Intermediate record formats, compared on word-count-like records.

    python benchmarks/record_format.py --records 1000000 --repeat 5

Writes and reads the same (word, count) records with each candidate format
and prints median write and read times and file size. mr_luigi's format
(:mod:`mr_luigi.io.records`: length-prefixed pickled batches) is the first row;
msgpack is tried when installed. Run by hand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import marshal
import pickle
import random
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mr_luigi.io.records import read_run, write_run  # noqa: E402

LENGTH = struct.Struct("<I")
BATCH = 2048


def batched_writer(dumps):
    def write(path: Path, records: list) -> None:
        with open(path, "wb", buffering=1 << 20) as fh:
            for i in range(0, len(records), BATCH):
                blob = dumps(records[i : i + BATCH])
                fh.write(LENGTH.pack(len(blob)))
                fh.write(blob)

    return write


def batched_reader(loads):
    def read(path: Path) -> int:
        n = 0
        with open(path, "rb", buffering=1 << 20) as fh:
            while header := fh.read(4):
                for _ in loads(fh.read(LENGTH.unpack(header)[0])):
                    n += 1
        return n

    return read


def json_lines_write(path: Path, records: list) -> None:
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")


def json_lines_read(path: Path) -> int:
    with open(path, encoding="utf-8", buffering=1 << 20) as fh:
        return sum(1 for line in fh if json.loads(line))


def candidates() -> dict[str, tuple]:
    found = {
        "mr_luigi.io.records": (lambda p, r: write_run(p, r), lambda p: sum(1 for _ in read_run(p))),
        "pickle batches": (batched_writer(lambda b: pickle.dumps(b, pickle.HIGHEST_PROTOCOL)), batched_reader(pickle.loads)),
        "marshal batches": (batched_writer(marshal.dumps), batched_reader(marshal.loads)),
        "JSON lines": (json_lines_write, json_lines_read),
    }
    try:
        import msgpack
    except ImportError:
        print("(msgpack not installed: skipped)")
    else:
        found["msgpack batches"] = (batched_writer(msgpack.packb), batched_reader(lambda b: msgpack.unpackb(b, use_list=False)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10))) for _ in range(50_000)]
    records = sorted((rng.choice(vocabulary), rng.randint(1, 50)) for _ in range(args.records))
    print(f"{args.records} (str, int) records, median of {args.repeat}")
    print(f"{'format':28} {'write s':>8} {'read s':>8} {'MB':>7} {'x first (w+r)':>15}")
    base = None
    with tempfile.TemporaryDirectory() as folder:
        for name, (write, read) in candidates().items():
            path = Path(folder) / "run"
            writes, reads = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                write(path, records)
                writes.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert read(path) == len(records)
                reads.append(time.perf_counter() - t)
            w, r = statistics.median(writes), statistics.median(reads)
            base = base or (w + r)
            print(f"{name:28} {w:8.3f} {r:8.3f} {path.stat().st_size / 1e6:7.1f} {(w + r) / base:15.2f}")


if __name__ == "__main__":
    main()
