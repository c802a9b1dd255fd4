"""Dask bag word count: frequencies() on the process scheduler with 2 workers.
argv: output path, input paths."""

import re
import sys

import dask.bag as db

WORD = re.compile(r"[a-z0-9']+")


def words(line):
    return WORD.findall(line.lower())


if __name__ == "__main__":
    bag = db.read_text(sys.argv[2:], blocksize="32MiB", encoding="utf-8", errors="replace")
    counts = dict(bag.map(words).flatten().frequencies().compute(scheduler="processes", num_workers=2))
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        out.writelines(f"{k}\t{counts[k]}\n" for k in sorted(counts))
