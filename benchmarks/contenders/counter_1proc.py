"""Baseline: one process, collections.Counter. argv: output path, input paths."""

import re
import sys
from collections import Counter

WORD = re.compile(r"[a-z0-9']+")

counts: Counter = Counter()
for path in sys.argv[2:]:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for line in fh:
            counts.update(WORD.findall(line.lower()))
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.writelines(f"{k}\t{counts[k]}\n" for k in sorted(counts))
