"""Word count: how often each word occurs in a set of text files.

A word (README, "Word count") is a maximal run of letters, marks and digits
(Unicode categories L*, M*, N*) in the line lower-cased with ``str.lower()``;
a single apostrophe (``'`` or ``’``) between two of them stays in the word,
written ``'``. So ``café``, ``naïve``, ``straße``, ``don't`` and
``rock'n'roll`` are one word each, ``'tis`` is ``tis`` and ``_`` separates
words. Run it with::

    luigi --module pipelines.word_count WordCount --local-scheduler
    luigi --module pipelines.word_count WordCount --input 'books/*.txt' --output-dir out --local-scheduler
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator

import regex

from mr_luigi import ConfigFileJob, KeyCounts, batch_map

#: An ASCII line's words: its letters are a-z once lower-cased, and it has no ’.
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
#: Any other line's: the ``regex`` module knows Unicode categories (``re`` has no \p{M}).
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*")


def words(text: str) -> list[str]:
    """The words of lower-cased text, in order (see the module's docstring)."""
    if text.isascii():
        return _ASCII_WORD.findall(text)
    found = _WORD.findall(text)
    return [word.replace("’", "'") for word in found] if "’" in text else found


def word_count_map(line: str) -> Iterator[tuple[str, int]]:
    """Emit ``(word, 1)`` for each word of a line.

    ``findall`` is the fastest way through an ordinary line; a line of
    megabytes (a file with no line breaks) is scanned word by word instead,
    so that its words are never all held in one list.
    """
    lower = line.lower()
    if len(lower) < _LONG_LINE:
        for word in _ASCII_WORD.findall(lower) if lower.isascii() else words(lower):
            yield word, 1
    else:
        pattern = _ASCII_WORD if lower.isascii() else _WORD
        for match in pattern.finditer(lower):
            yield match.group().replace("’", "'"), 1


#: Lines at least this long (characters) are scanned word by word.
_LONG_LINE = 1 << 20


@batch_map
def word_count_batch_map(lines: list[str]) -> KeyCounts:
    """The same counts as :func:`word_count_map`, over a batch of lines at once: WordCount's map.

    One regex over the joined batch, in C; a word cannot span the joining
    newline, so the words are exactly those of the per-line map. Each counts
    one: with ``combine_function = "sum"`` the map counts them into its
    buffer with ``collections``' own C loop, so no Python code runs per word
    (``benchmarks/compare.py`` measures both maps).
    """
    return KeyCounts(words("\n".join(lines).lower()))


def word_count_reduce(word: str, counts: Iterable[int]) -> int:
    """Sum a word's counts (also the combiner: a sum of partial sums is the sum)."""
    return sum(counts)


class WordCount(ConfigFileJob):
    """Counts words; defaults to the bundled sample and ``configs/word_count.toml``."""

    defaults = {
        "job_name": "word_count",
        "map_function": word_count_batch_map,
        "reduce_function": "sum",
        "combine_function": "sum",
    }
    default_config_file = Path(__file__).resolve().parent.parent / "configs" / "word_count.toml"
