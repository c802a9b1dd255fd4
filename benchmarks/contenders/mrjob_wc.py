"""mrjob word count. ``--variant in-mapper`` sums in the mapper (mrjob's fast
idiom), ``plain`` emits every (word, 1) with no combiner."""

import re

from mrjob.job import MRJob

WORD = re.compile(r"[a-z0-9']+")


class MRWordCount(MRJob):
    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--variant", choices=["in-mapper", "plain"], default="in-mapper")

    def mapper_init(self):
        self.counts = {}

    def mapper(self, _, line):
        if self.options.variant == "plain":
            for word in WORD.findall(line.lower()):
                yield word, 1
        else:
            counts = self.counts
            for word in WORD.findall(line.lower()):
                counts[word] = counts.get(word, 0) + 1

    def mapper_final(self):
        yield from self.counts.items()

    def reducer(self, word, counts):
        yield word, sum(counts)


if __name__ == "__main__":
    MRWordCount.run()
