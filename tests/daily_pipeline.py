"""A Luigi pipeline with a MapReduce job in the middle, as a user writes one (public API only).

FetchLogs(day) writes ``<root>/raw/<day>.txt``; DailyCount(day) counts its
words; Report(day) writes the day's most frequent word from the count's
``final_output.txt``. ``ThreeDays`` wraps three reports. Each FetchLogs run
appends a line to ``<root>/fetched.log``, so tests see what ran.
"""

from __future__ import annotations

import datetime
import random

import luigi

from mr_luigi import JobConfig, MapReduceJob, parse_output_line

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


def day_lines(day: datetime.date) -> list[str]:
    """The log of a day: a few hundred lines of words, different each day."""
    rng = random.Random(day.toordinal())
    return [" ".join(rng.choices(WORDS, weights=[6, 5, 4, 3, 2, 1], k=rng.randint(1, 8))) for _ in range(300)]


class FetchLogs(luigi.Task):
    day = luigi.DateParameter()
    root = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(f"{self.root}/raw/{self.day:%Y-%m-%d}.txt")

    def run(self) -> None:
        with self.output().open("w") as fh:
            fh.write("".join(line + "\n" for line in day_lines(self.day)))
        with open(f"{self.root}/fetched.log", "a") as log:
            log.write(f"{self.day:%Y-%m-%d}\n")


def words(line):
    for word in line.split():
        yield word, 1


def total(key, values):
    return sum(values)


class DailyCount(MapReduceJob):
    day = luigi.DateParameter()
    root = luigi.Parameter()

    def requires(self) -> FetchLogs:
        return FetchLogs(day=self.day, root=self.root)

    def job_config(self) -> JobConfig:
        return JobConfig(job_name="daily_count", map_function=words, reduce_function=total, combine_function=total,
                         input_files=[self.input().path], output_dir=f"{self.root}/counts/{self.day:%Y-%m-%d}",
                         num_reduce_tasks=2, split_size_mb=0.002)


class Report(luigi.Task):
    day = luigi.DateParameter()
    root = luigi.Parameter()

    def requires(self) -> DailyCount:
        return DailyCount(day=self.day, root=self.root)

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(f"{self.root}/reports/{self.day:%Y-%m-%d}.txt")

    def run(self) -> None:
        with self.input().open("r") as fh:  # the job's final_output.txt
            counts = [parse_output_line(line) for line in fh]
        word, count = max(counts, key=lambda kv: (kv[1], kv[0]))
        with self.output().open("w") as out:
            out.write(f"{word}\t{count}\n")


class ThreeDays(luigi.WrapperTask):
    start = luigi.DateParameter()
    root = luigi.Parameter()

    def requires(self) -> list[Report]:
        return [Report(day=self.start + datetime.timedelta(days=i), root=self.root) for i in range(3)]
