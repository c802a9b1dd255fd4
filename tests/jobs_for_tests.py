"""User functions for tests, importable by name from worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import regex

import mr_luigi

WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*")


def words(text: str) -> list[str]:
    """The words of lower-cased text, as README's word count defines them (one regex, unlike the tests' reference)."""
    return [w.replace("’", "'") for w in WORD.findall(text)]


def count_words(line):
    for word in words(line.lower()):
        yield word, 1


def split_words(line):
    """Words as whitespace separates them: non-ASCII letters stay in the words."""
    for word in line.split():
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


def type_partitioner(key, num_partitions):
    """str keys to partition 0, all others to the last: each part sorts, but the parts cannot be merged."""
    return 0 if isinstance(key, str) else num_partitions - 1


def one_partition(key, num_partitions):
    return 0


def nan_key_map(line):
    """A NaN key for the second line (a float parsed from text, as a real parser might produce)."""
    yield (float("nan") if "again" in line else len(line)), 1


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
    found = words(line.lower())
    increment_counter("parse", "words", len(found))
    return [(w, 1) for w in found]


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
    for word in words(line.lower()):
        yield ("words", word), 1
    yield ("lengths", len(line)), 1


def named_pair_keys_map(line):
    """One named output whose keys are pairs: (first letter, length) of each word."""
    for word in words(line.lower()):
        yield ("shapes", word[0], len(word)), 1


def long_words_map(line):
    """Plain str keys of two characters or more: not (name, key) tuples, though each can be indexed like one."""
    for word in words(line.lower()):
        if len(word) > 1:
            yield word, 1


def unsafe_name_map(line):
    """(name, key) pairs whose name is no file name."""
    for word in words(line.lower()):
        yield ("../" + word, word), 1


def one_item_tuple_map(line):
    """Tuples of one item: a name with no key."""
    for word in words(line.lower()):
        yield (word,), 1


def param_map(line):
    """Counts only words of the length given in params['length']."""
    wanted = job_params()["length"]
    return [(w, 1) for w in words(line.lower()) if len(w) == wanted]


def as_record(key, values):
    return {"word": key, "count": sum(values)}


# -- a two-step job ------------------------------------------------------------

import heapq  # noqa: E402
from itertools import chain  # noqa: E402

import luigi  # noqa: E402

from mr_luigi import JobConfig, parse_output_line  # noqa: E402
from mr_luigi.api.steps import MultiStepJob  # noqa: E402


def top_map(line):
    word, count = parse_output_line(line)
    yield "top", [(-count, word)]


def top_reduce(key, values):
    return heapq.nsmallest(job_params()["n"], chain.from_iterable(values))


class TopWords(MultiStepJob):
    """Counts words, then keeps the n most frequent (ties by word)."""

    input_path = luigi.Parameter()
    output_dir = luigi.Parameter()
    n = luigi.IntParameter(default=3)

    def result_dir(self):
        return Path(self.output_dir)

    def steps(self):
        counts = JobConfig(job_name="counts", map_function=count_words, reduce_function=total, combine_function=total,
                           input_files=[self.input_path], output_dir=f"{self.output_dir}/counts", num_reduce_tasks=2,
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
    return Counter(words("\n".join(lines).lower())).items()


@batch_map
def batch_not_pairs(lines):
    return [len(lines)]


from collections import Counter  # noqa: E402


def not_pairs_map(line):
    """Yields bare words, not (key, value) pairs."""
    yield from words(line.lower())


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
    for word in words(line.lower()):
        yield LocalThing(word), 1


# -- failures of user code -------------------------------------------------------

PRICES = {"apple": 3, "pear": 5}


def price_of(word):
    return PRICES[word]  # a KeyError for any other word: a bug in the user's code, not bad data


def buggy_map(line):
    """Looks every word up in PRICES: a KeyError on lines with other words."""
    return [(word, price_of(word)) for word in line.split()]


def skip_key_reduce(key, values):
    """Skips the key 'pear' as a bad record, sums the others."""
    if key == "pear":
        raise BadRecord("unwanted_key", "pears are not counted")
    return sum(values)


def buggy_reduce(key, values):
    if key == "pear":
        raise ZeroDivisionError("reduce bug")
    return sum(values)


def bad_record_combiner(key, values):
    raise BadRecord("not_allowed", "a combiner cannot skip")


def counting_batch_map_failing_on_boom(lines):
    """Counts the lines of each call; a batch holding 'boom' fails (then each line is retried alone)."""
    increment_counter("calls", "lines", len(lines))
    if any("boom" in line for line in lines):
        raise BadRecord("boom", "boom line")
    return [(w, 1) for line in lines for w in words(line.lower())]


counting_batch_map_failing_on_boom = batch_map(counting_batch_map_failing_on_boom)


class CountThenPublish(MultiStepJob):
    """A one-step job whose publish() can be made to fail, or whose result_dir() is a str."""

    input_path = luigi.Parameter()
    output_dir = luigi.Parameter()
    fail_publish = luigi.BoolParameter(default=False)
    max_retries = luigi.IntParameter(default=1)

    def result_dir(self):
        return self.output_dir  # a str: allowed

    def steps(self):
        return [JobConfig(job_name="counts", map_function=count_words, reduce_function=total, combine_function=total,
                          input_files=[self.input_path], output_dir=f"{self.output_dir}/counts", num_reduce_tasks=1,
                          max_retries=self.max_retries)]

    def publish(self, manifests):
        if self.fail_publish:
            with open(Path(self.output_dir) / "publish_attempts", "a") as fh:
                fh.write("attempt\n")
            raise RuntimeError("publish failed")
        return []


def nan_or_length_map(line):
    """NaN for lines that say "nan" (as float(word) would give), else the line's length."""
    yield (float("nan") if line.startswith("nan") else len(line)), 1


def decimal_length_map(line):
    from decimal import Decimal

    yield Decimal(len(line)), 1


def length_record(key, values):
    return {"length": str(key), "count": sum(values)}


def set_constant_map(line):
    """Its code holds a frozenset constant, whose order differs between processes."""
    for word in line.split():
        if word in {"alpha", "beta", "gamma", "delta"}:
            yield word, 1


def line_map(line):
    yield line, 1


def mean_or_nan(key, values):
    """NaN for the key 'end' (as 0/0 in numpy would give), else the sum."""
    total_ = sum(values)
    return float("nan") if key == "end" else total_


def named_mean_or_nan(key, values):
    """mean_or_nan for named outputs: NaN for the key ('words', 'end')."""
    total_ = sum(values)
    return float("nan") if key == ("words", "end") else total_


def first_letter_and_length_map(line):
    """Tuple keys: (first letter, length) of each word."""
    for word in line.split():
        yield (word[0], len(word)), 1


@batch_map
def batch_split_words(lines):
    """split_words over a batch of lines: one pair per word, as the per-line map gives."""
    return [(word, 1) for line in lines for word in line.split()]


@batch_map
def batch_line_map(lines):
    return [(line, 1) for line in lines]


@batch_map
def batch_nan_key_map(lines):
    """A NaN key for a line reading 'nan', words otherwise."""
    return [(float("nan") if line == "nan" else line, 1) for line in lines]


@batch_map
def batch_strict_map(lines):
    """strict_map over a batch: BadRecord for a line starting with BAD, KeyError for one holding 'boom'."""
    return [pair for line in lines for pair in strict_map(line)]


def slow_count_words(line):
    """count_words, SLOW_MAP_S seconds (default 0.1) per line: a map long enough for another worker to join."""
    import time

    time.sleep(float(os.environ.get("SLOW_MAP_S", "0.1")))
    return count_words(line)


def keyed_total(key, values):
    """total, refusing a key that is not a str: shows a combiner called without its key."""
    if not isinstance(key, str):
        raise TypeError(f"combiner called with key {key!r}")
    return sum(values)


from mr_luigi import map_with_record  # noqa: E402


@map_with_record
def where_map(line, record):
    """Each line under its own key, path:line, with its byte offset and text."""
    yield f"{record.path}:{record.line}", [record.offset, line]


def the_only_value(key, values):
    (value,) = values
    return value


@map_with_record
def lines_per_file_map(line, record):
    yield record.path, 1


from mr_luigi import pair_reducer  # noqa: E402


@pair_reducer
def count_and_length(key, values):
    """None for a word starting with z; its count if seen twice or more; always its length under a key of its own.

    A word starting with q is a bad record, raised after one pair was yielded (which must not be written)."""
    n = sum(values)
    if key.startswith("z"):
        return
    if n >= 2:
        yield key, n
    if key.startswith("q"):
        raise BadRecord("q words are refused")
    yield f"len:{key}", len(key)


@pair_reducer
def count_into_named_outputs(key, values):
    """With named outputs: every word's count in "words", words of 4 letters or more in "long" (their length), and
    words with an 'x' in "x.words" (a name with a dot); a word starting with q yields a pair, then is a bad record."""
    n = sum(values)
    yield ("words", key), n
    if key.startswith("q"):
        raise BadRecord("q words are refused")
    if len(key) >= 4:
        yield ("long", key), len(key)
    if "x" in key:
        yield ("x.words", key), n


@pair_reducer
def yields_triples(key, values):
    yield key, 1, 2


@pair_reducer
def returns_a_number(key, values):
    return sum(values)


def upper_words(line):
    """A map-only job's map: each word upper-cased, with its length; a line with 'skip' gives nothing."""
    if "skip" in line:
        return
    for word in line.split():
        yield word.upper(), len(word)


def _stop_words_of(path: Path) -> frozenset:
    return frozenset(path.read_text(encoding="utf-8").split())


def count_words_but_stop_words(line):
    """Word count without the words listed in the job's side file ``stop.txt`` (read once per task)."""
    path = mr_luigi.job_file("stop.txt")
    if _stop_cache.get("path") != path:
        _stop_cache.update(path=path, words=_stop_words_of(path))
    stop = _stop_cache["words"]
    for word in words(line.lower()):
        if word not in stop:
            yield word, 1


_stop_cache: dict = {}


# Hooks (map_init / map_final / combine_init / reduce_init / reduce_final): state kept per task in module globals,
# the way a function-based job keeps it. Several tasks run one after another in one process, so a missing
# init would carry one task's state into the next.
_in_mapper: dict = {}


def in_mapper_init():
    _in_mapper.clear()


def in_mapper_count(line):
    for word in words(line.lower()):
        _in_mapper[word] = _in_mapper.get(word, 0) + 1
    return ()


def in_mapper_final():
    yield from _in_mapper.items()


def nan_key_final():
    """A map_final hook giving a key that cannot be ordered (NaN)."""
    yield float("nan"), 1


def extra_totals_final():
    """Two pairs per map task, one of a key the inputs hold too: mixed with a batch map's running sums."""
    yield from [("the", 1000), ("extra-key", 5)]


_reduced: dict = {"keys": 0}


def reduced_keys_init():
    _reduced["keys"] = 0


def total_counting_keys(key, values):
    _reduced["keys"] += 1
    return sum(values)


def reduced_keys_final():
    yield "~keys reduced by this task", _reduced["keys"]


def log_combine_init():
    """Appends a line to the file $HOOK_LOG, to count the tasks that prepared the combiner."""
    with open(os.environ["HOOK_LOG"], "a") as fh:
        fh.write(f"{os.getpid()}\n")


def failing_init():
    raise RuntimeError("model file missing")


def combine_init_failing_after_the_maps():
    """Appends to $HOOK_LOG like log_combine_init, and raises once the $HOOK_MAPS maps have called it: in a shuffle."""
    with open(os.environ["HOOK_LOG"], "a+") as fh:
        fh.write(f"{os.getpid()}\n")
        fh.seek(0)
        if len(fh.read().splitlines()) > int(os.environ["HOOK_MAPS"]):
            raise RuntimeError("no state for the merge")


def final_not_pairs():
    return ["just a string"]


def key_comma_value(line):
    """``key,value`` lines: the value as an int when it is one, else the text."""
    key, _, value = line.partition(",")
    yield key, int(value) if value.lstrip("-").isdigit() else value


def values_as_seen(key, values):
    return list(values)


def values_checked_as_streamed(key, values):
    """(count, first, last, whether each value was >= the one before), without holding the values."""
    count, first, last, ordered = 0, None, None, True
    for value in values:
        if count and value < last:
            ordered = False
        if not count:
            first = value
        count, last = count + 1, value
    return [count, first, last, ordered, type(values).__name__ != "list"]


@mr_luigi.file_map
def json_document_tags(path):
    """A whole-file map: each input is one JSON document (over several lines); counts its tags."""
    import json

    with open(path, encoding="utf-8") as fh:
        document = json.load(fh)
    for tag in document["tags"]:
        yield tag, 1


@mr_luigi.file_map
def gzipped_json_tags(path):
    import gzip
    import json

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for tag in json.load(fh)["tags"]:
            yield tag, 1


@mr_luigi.file_map
def file_map_not_pairs(path):
    return [path]


# A two-step job with typed records: word counts, then the words grouped by their count.
def by_count(word, count):
    if type(count) is not int:  # the records of the step before keep their Python types
        raise TypeError(f"expected an int count, got {count!r}")
    yield count, word


def sorted_words(count, words_):
    return sorted(words_)


@mr_luigi.pair_reducer
def top_three(key, pairs):
    """Key None, values (count, word): the three most frequent words, ties by word."""
    for count, word in sorted(pairs, key=lambda p: (-p[0], p[1]))[:3]:
        yield word, count


@mr_luigi.pair_reducer
def to_top(count, words_):
    for word in words_:
        yield None, (count, word)


def fail_once_reduce(key, values):
    """A sum that fails on its first call while $FAIL_ONCE_MARKER does not exist (and creates it)."""
    marker = Path(os.environ["FAIL_ONCE_MARKER"])
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("injected reduce failure")
    return sorted(values)


def by_count_rejecting_z(word, count):
    if word.startswith("z"):
        raise mr_luigi.BadRecord("a z-word")
    yield count, word


# The same map three ways (per line, with its record, a batch): each line counted, a line with BAD a bad record.
def _tagged(line):
    if "BAD" in line:
        raise mr_luigi.BadRecord("tagged_bad", "the line says BAD")
    if "NAN" in line:
        return [(float("nan"), 1)]
    mr_luigi.increment_counter("tagged", "lines")
    return [(word, 1) for word in line.split()]


def tagged_words(line):
    return _tagged(line)


@mr_luigi.map_with_record
def tagged_words_with_record(line, record):
    return _tagged(line)


@batch_map
def tagged_words_batch(lines):
    return [pair for line in lines for pair in _tagged(line)]


@batch_map
def tagged_words_batch_result(lines):
    """The batch map that names its bad lines in a BatchResult instead of raising (and being mapped line by line)."""
    pairs, bad = [], {}
    for index, line in enumerate(lines):
        try:
            pairs.extend(_tagged(line))
        except mr_luigi.BadRecord as exc:
            bad[index] = exc
    return mr_luigi.BatchResult(pairs, bad)


# Batch maps whose results the named "sum" aggregation adds up without a call per value.
@batch_map
def key_counts_words(lines):
    """Each word of the batch once per occurrence (KeyCounts); a batch holding 'boom' fails (then each line alone)."""
    if any("boom" in line for line in lines):
        raise ValueError("boom in batch")
    return mr_luigi.KeyCounts(words("\n".join(lines).lower()))


@batch_map
def key_counts_words_and_nan(lines):
    """key_counts_words, and a NaN key once per batch: a key no job may use (it is not equal to itself)."""
    return mr_luigi.KeyCounts([*words("\n".join(lines).lower()), float("nan")])


@batch_map
def word_lengths_mapping(lines):
    """A mapping of subtotals: each word's summed length in the batch."""
    totals = {}
    for word in words("\n".join(lines).lower()):
        totals[word] = totals.get(word, 0) + len(word)
    return totals


@batch_map
def nan_key_counts(lines):
    return mr_luigi.KeyCounts([float("nan")] + lines)


@mr_luigi.pair_reducer
def word_total_pairs(word, counts):
    yield word, sum(counts)


def by_count_named(word, count):
    """(odd|even, count) -> word: a named output per parity of the count."""
    yield ("odd" if count % 2 else "even", count), word


@batch_map
def word_count_and_length(lines):
    """Each word of the batch -> (occurrences, summed length): a tuple that "sum" adds element by element."""
    totals = {}
    for word in words("\n".join(lines).lower()):
        n, size = totals.get(word, (0, 0))
        totals[word] = (n + 1, size + len(word))
    return totals


@batch_map
def word_count_length_and_vowels(lines):
    """Each word of the batch -> (occurrences, summed length, summed vowels): a triple "sum" adds element by element."""
    totals = {}
    for word in words("\n".join(lines).lower()):
        n, size, vowels = totals.get(word, (0, 0, 0))
        totals[word] = (n + 1, size + len(word), vowels + sum(word.count(v) for v in "aeioué"))
    return totals


@batch_map
def word_count_length_vowels_and_one(lines):
    """Each word of the batch -> (occurrences, summed length, summed vowels, occurrences again): a 4-tuple for "sum"."""
    totals = {}
    for word in words("\n".join(lines).lower()):
        n, size, vowels, again = totals.get(word, (0, 0, 0, 0))
        totals[word] = (n + 1, size + len(word), vowels + sum(word.count(v) for v in "aeioué"), again + 1)
    return totals


@batch_map
def shape_by_first_line(lines):
    """One key whose subtotal's shape follows the block's first line: ``int``, ``pair``, ``triple`` or ``text``."""
    return {"k": {"int": 1, "pair": (1, 2), "triple": (1, 2, 3), "text": "one"}[lines[0].split()[0]]}


def word_count_and_length_per_line(line):
    return [(word, (1, len(word))) for word in words(line.lower())]


def add_pairs(key, values):
    """The Python spelling of "sum" over (count, length) tuples."""
    n = size = 0
    for a, b in values:
        n += a
        size += b
    return n, size


def mixed_tuple_lengths(line):
    return [("k", (1, 2) if len(line) % 2 else (1, 2, 3))]


@batch_map
def words_rejecting_digits(lines):
    """Word counts of the batch; a line holding a digit is named as a bad line (or as a ValueError, with 'raise')."""
    counted, bad = [], {}
    for index, line in enumerate(lines):
        mr_luigi.increment_counter("calls", "lines seen")
        if any(ch.isdigit() for ch in line):
            bad[index] = (ValueError(f"digit in {line!r}") if "raise" in line else
                          mr_luigi.BadRecord("has_digit", f"a digit in line {index} of the batch"))
            continue
        counted.extend(words(line.lower()))
    if len(lines) == 1:
        mr_luigi.increment_counter("calls", "single lines")
    return mr_luigi.BatchResult(mr_luigi.KeyCounts(counted), bad)


@batch_map
def bad_line_out_of_range(lines):
    return mr_luigi.BatchResult([], {len(lines): mr_luigi.BadRecord("x", "y")})


# A later step's map that fails on the record of a word starting with "z", each in its own way.
def by_count_value_error_for_z(word, count):
    if word.startswith("z"):
        raise ValueError(f"no z please: {word}")
    return [(count, word)]


def by_count_nan_for_z(word, count):
    return [(float("nan") if word.startswith("z") else count, word)]


def by_count_not_pairs_for_z(word, count):
    return [count] if word.startswith("z") else [(count, word)]


def by_count_config_error_for_z(word, count):
    if word.startswith("z"):
        raise mr_luigi.ConfigError("params.z", "told to stop")
    return [(count, word)]


@mr_luigi.file_map
def json_tags_rejecting_empty(path):
    """Each document's tags; a document without tags is a bad record (a BadRecord naming why)."""
    import json

    with open(path, encoding="utf-8") as fh:
        tags = json.load(fh)["tags"]
    if not tags:
        raise mr_luigi.BadRecord("no_tags", f"{len(tags)} tags")
    return [(tag, 1) for tag in tags]


@mr_luigi.file_map
def file_map_not_iterable(path):
    return 5


@mr_luigi.file_map
def file_map_many_keys(path):
    """2,000 distinct keys per file (some shared between files): a map of many files must spill."""
    number = int(path.rsplit("doc", 1)[1].split(".")[0])
    return [(f"key{number * 1000 + i}", 1) for i in range(2000)]



def failing_final():
    raise RuntimeError("could not flush the totals")
    yield  # a generator, as final hooks are


class HashNotAnInt:
    """A key whose __hash__ gives a string: Python refuses it in C, in the map loop's own frame."""

    def __hash__(self):
        return "not an int"


def key_with_a_bad_hash(line):
    return [(HashNotAnInt(), 1)]


def parity_of_count(word, count):
    """A later step's map with two hot keys: each word of the step before under the parity of its count."""
    return [("odd" if count % 2 else "even", 1)]


@batch_map
def words_rejecting_digits_failing_on_boom(lines):
    """words_rejecting_digits, but a batch of several lines holding 'boom' raises: its lines are mapped one by one."""
    if len(lines) > 1 and any("boom" in line for line in lines):
        raise ValueError("boom in a batch")
    return words_rejecting_digits(lines)


def word_and_count_line(key, values):
    """A reduce whose value is a finished line of text (output_format = "lines")."""
    return f"{key} occurs {sum(values)} times"


def count_as_number(key, values):
    return sum(values)


class Unreadable:
    """A value that pickles but refuses to be unpickled: a record the next step cannot read back."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __setstate__(self, state):
        raise ValueError("this record cannot be read back")


def total_unreadable(key, values):
    return Unreadable(sum(values))


def bare_word_for_bad(line):
    """Pairs for every line but one starting ``BAD``, for which a bare word: output the engine cannot unpack."""
    if line.startswith("BAD"):
        yield "oops"
    else:
        yield line.split()[0], 1


@batch_map
def batch_strict_generator(lines):
    """batch_strict_map as a generator: its pairs come while it runs, and it raises part way through a bad batch."""
    for line in lines:
        yield from strict_map(line)


def accented_final():
    """A reduce_final hook's line of non-ASCII text, once per reduce task."""
    yield "größe der teile", "ä"
