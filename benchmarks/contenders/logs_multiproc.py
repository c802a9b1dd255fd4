"""Baseline: log analysis over line-aligned byte ranges in N processes, with plain dicts.

The practical limit of a hand-written pure-Python log analysis. It computes
what pipelines.log_analysis does, with the same regex (written here again):
per IP the requests, the errors (status 400 and up) and the bytes; per status
the requests; and how many lines do not parse.
argv: --procs N, the output path, input paths. The output is normalised
(see ``normal_lines``) so that every contender's can be compared byte for byte.
"""

import os
import re
import sys
from multiprocessing import Pool

_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
LOG_LINE = re.compile(rf"(\S+) \S+ \S+ \[[^\]]+\] {_QUOTED} (\d{{3}}) (\d+|-)(?: {_QUOTED} {_QUOTED})?\s*")


def analyse(job):
    path, start, end = job
    ips, statuses, bad = {}, {}, 0
    match = LOG_LINE.fullmatch
    with open(path, "rb") as fh:
        if start:
            fh.seek(start - 1)
            fh.readline()
        position = fh.tell()
        for raw in fh:
            if position >= end:
                break
            position += len(raw)
            found = match(raw.decode("utf-8").rstrip("\n").removesuffix("\r"))
            if found is None:
                bad += 1
                continue
            ip, status, size = found.groups()
            totals = ips.get(ip)
            if totals is None:
                totals = ips[ip] = [0, 0, 0]
            totals[0] += 1
            if int(status) >= 400:
                totals[1] += 1
            if size != "-":
                totals[2] += int(size)
            statuses[status] = statuses.get(status, 0) + 1
    return ips, statuses, bad


def normal_lines(ips, statuses, bad):
    """``ip<TAB>ip<TAB>requests<TAB>errors<TAB>bytes``, ``status<TAB>code<TAB>requests``, ``bad<TAB>n``, sorted."""
    lines = [f"ip\t{ip}\t{r}\t{e}\t{b}\n" for ip, (r, e, b) in ips.items()]
    lines += [f"status\t{code}\t{n}\n" for code, n in statuses.items()]
    lines.append(f"bad\t{bad}\n")
    return sorted(lines)


if __name__ == "__main__":
    procs = int(sys.argv[2]) if sys.argv[1] == "--procs" else 1
    output, paths = sys.argv[3], sys.argv[4:]
    jobs = []
    for path in paths:
        size = os.path.getsize(path)
        step = max(1, -(-size // procs))
        jobs += [(path, s, min(size, s + step)) for s in range(0, size, step)]
    ips, statuses, bad = {}, {}, 0
    results = Pool(procs).imap_unordered(analyse, jobs) if procs > 1 else map(analyse, jobs)
    for part_ips, part_statuses, part_bad in results:
        for ip, (r, e, b) in part_ips.items():
            totals = ips.setdefault(ip, [0, 0, 0])
            totals[0] += r
            totals[1] += e
            totals[2] += b
        for status, n in part_statuses.items():
            statuses[int(status)] = statuses.get(int(status), 0) + n
        bad += part_bad
    with open(output, "w", encoding="utf-8") as out:
        out.writelines(normal_lines(ips, statuses, bad))
