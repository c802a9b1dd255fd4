"""Baseline: two processes over line-aligned byte ranges, collections.Counter.

The practical limit of a hand-written pure-Python word count on 2 cores.
argv: output path, input paths.
"""

import os
import re
import sys
from collections import Counter
from multiprocessing import Pool

WORD = re.compile(rb"[a-z0-9']+")


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
            counts.update(WORD.findall(line.lower()))
    return counts


if __name__ == "__main__":
    jobs = []
    for path in sys.argv[2:]:
        size = os.path.getsize(path)
        step = max(1, -(-size // 2))
        jobs += [(path, s, min(size, s + step)) for s in range(0, size, step)]
    total: Counter = Counter()
    with Pool(2) as pool:
        for part in pool.imap_unordered(count_range, jobs, chunksize=max(1, len(jobs) // 64)):
            total.update(part)
    decoded = {k.decode("utf-8", "replace"): v for k, v in total.items()}
    del total
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        out.writelines(f"{k}\t{decoded[k]}\n" for k in sorted(decoded))
