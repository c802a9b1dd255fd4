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

    defaults = {"job_name": "flaky", "map_function": fail_once_map, "reduce_function": total, "num_reduce_tasks": 2}


def broken_combiner(key, values):
    raise ZeroDivisionError("combiner bug")
