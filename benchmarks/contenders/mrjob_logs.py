"""mrjob log analysis: what pipelines.log_analysis computes, with mrjob's ordinary combiner.

Every value is a [requests, errors, bytes] list summed element by element;
keys are ["ip", ip], ["status", code] and ["bad"].
"""

import re

from mrjob.job import MRJob

_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
LOG_LINE = re.compile(rf"(\S+) \S+ \S+ \[[^\]]+\] {_QUOTED} (\d{{3}}) (\d+|-)(?: {_QUOTED} {_QUOTED})?\s*")


class MRLogStats(MRJob):
    def mapper(self, _, line):
        found = LOG_LINE.fullmatch(line.rstrip("\n").removesuffix("\r"))
        if found is None:
            yield ["bad"], [1, 0, 0]
            return
        ip, status, size = found.groups()
        code = int(status)
        yield ["ip", ip], [1, 1 if code >= 400 else 0, 0 if size == "-" else int(size)]
        yield ["status", code], [1, 0, 0]

    def combiner(self, key, values):
        yield key, [sum(column) for column in zip(*values)]

    reducer = combiner


if __name__ == "__main__":
    MRLogStats.run()
