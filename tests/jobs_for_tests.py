"""User functions for tests, importable by name from worker processes."""

from __future__ import annotations

import os
import re
from pathlib import Path

WORD = re.compile(r"[a-z0-9']+")


def count_words(line):
    for word in WORD.findall(line.lower()):
        yield word, 1


def total(key, values):
    return sum(values)


def fail_once_map(line):
    """Fails the first time any map task runs; needs FAIL_ONCE_MARKER set to a path."""
    marker = Path(os.environ["FAIL_ONCE_MARKER"])
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("injected failure on the first attempt")
    return count_words(line)


def fail_on_poison_map(line):
    """Fails on a line containing POISON while the POISON_MARKER file exists."""
    if "POISON" in line and Path(os.environ["POISON_MARKER"]).exists():
        raise ValueError("poisoned line")
    return count_words(line)


def returns_int_map(line):
    return 42


def length_key_map(line):
    """Integer keys: line lengths (checks numeric, not text, key order)."""
    yield len(line), 1


def mixed_key_map(line):
    yield (len(line) if line.startswith("n") else line), 1


def first_letter_partitioner(key, num_partitions):
    return ord(key[0]) % num_partitions if key else 0


def bad_partitioner(key, num_partitions):
    return num_partitions


from mr_luigi import ConfigFileJob  # noqa: E402


class FlakyCount(ConfigFileJob):
    """A command-line job whose first map attempt fails (see fail_once_map)."""

    defaults = {"job_name": "flaky", "map_function": fail_once_map, "reduce_function": total, "num_reduce_tasks": 2,
                "max_bad_records": 0}  # the injected fault fails the task instead of being quarantined


def broken_combiner(key, values):
    raise ZeroDivisionError("combiner bug")


# -- counters and bad records ---------------------------------------------------

from mr_luigi import BadRecord, increment_counter, job_params  # noqa: E402


def counting_map(line):
    """Counts lines and words in user counters; fails once first if FAIL_ONCE_MARKER is set."""
    increment_counter("parse", "lines")
    marker = os.environ.get("FAIL_ONCE_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise RuntimeError("injected failure after counting")
    words = WORD.findall(line.lower())
    increment_counter("parse", "words", len(words))
    return [(w, 1) for w in words]


def strict_map(line):
    """Rejects lines starting with BAD as unparsable and lines holding 'boom' with an error."""
    if line.startswith("BAD"):
        raise BadRecord("unparsable_line", "line starts with BAD")
    if "boom" in line:
        raise KeyError("boom")
    return count_words(line)


def named_map(line):
    """Two named outputs: words, and line lengths (int keys under a name)."""
    yield ("words", "lines"), 1
    for word in WORD.findall(line.lower()):
        yield ("words", word), 1
    yield ("lengths", len(line)), 1


def param_map(line):
    """Counts only words of the length given in params['length']."""
    wanted = job_params()["length"]
    return [(w, 1) for w in WORD.findall(line.lower()) if len(w) == wanted]


def as_record(key, values):
    return {"word": key, "count": sum(values)}


# -- a two-step job ------------------------------------------------------------

import heapq  # noqa: E402
from itertools import chain  # noqa: E402

import luigi  # noqa: E402

from mr_luigi import JobConfig  # noqa: E402
from mr_luigi.steps import MultiStepJob  # noqa: E402


def top_map(line):
    word, count = line.split("\t")
    yield "top", [(-int(count), word)]


def top_reduce(key, values):
    return heapq.nsmallest(job_params()["n"], chain.from_iterable(values))


class TopWords(MultiStepJob):
    """Counts words, then keeps the n most frequent (ties by word)."""

    input = luigi.Parameter()
    output_dir = luigi.Parameter()
    n = luigi.IntParameter(default=3)

    def result_dir(self):
        return Path(self.output_dir)

    def steps(self):
        counts = JobConfig(job_name="counts", map_function=count_words, reduce_function=total, combine_function=total,
                           input_files=[self.input], output_dir=f"{self.output_dir}/counts", num_reduce_tasks=2,
                           split_size_mb=0.002, max_retries=0)
        top = JobConfig(job_name="top", map_function=top_map, reduce_function=top_reduce, combine_function=top_reduce,
                        input_files=[f"{self.output_dir}/counts/final_output.txt"], output_dir=f"{self.output_dir}/top",
                        num_reduce_tasks=1, params={"n": self.n}, split_size_mb=0.001, max_retries=0)
        return [counts, top]

    def publish(self, manifests):
        return [str(Path(m["config"]["output_dir"]) / m["outputs"][-1]) for m in manifests]


# -- batch maps -------------------------------------------------------------------

from mr_luigi import batch_map  # noqa: E402


@batch_map
def batch_count_words(lines):
    """Per-batch word counts; rejects a batch holding a line with 'boom' (then each line alone)."""
    if any("boom" in line for line in lines):
        raise ValueError("boom in batch")
    return Counter(WORD.findall("\n".join(lines).lower())).items()


@batch_map
def batch_not_pairs(lines):
    return [len(lines)]


from collections import Counter  # noqa: E402


def not_pairs_map(line):
    """Yields bare words, not (key, value) pairs."""
    yield from WORD.findall(line.lower())


def unhashable_key_map(line):
    yield [line], 1


class LocalThing:
    """A key type that pickle cannot store: its instances refuse to be pickled."""

    def __init__(self, text):
        self.text = text

    def __hash__(self):
        return hash(self.text)

    def __eq__(self, other):
        return isinstance(other, LocalThing) and other.text == self.text

    def __lt__(self, other):
        return self.text < other.text

    def __reduce__(self):
        raise TypeError(f"cannot pickle LocalThing({self.text!r})")

    def __repr__(self):
        return f"LocalThing({self.text!r})"


def unpicklable_key_map(line):
    for word in WORD.findall(line.lower()):
        yield LocalThing(word), 1
