"""Shared fixtures: a clean Luigi between tests, and an independent word count."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import luigi.task_register
import pytest

# The reference tokenizer, written here and not imported from the pipeline.
REFERENCE_WORD = re.compile(r"[a-z0-9']+")


def reference_lines(data: bytes) -> list[str]:
    """Split raw file bytes into lines as a careful reader would: BOM, CRLF, bad bytes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def reference_word_count(paths: Iterable[Path]) -> Counter:
    counts: Counter = Counter()
    for path in paths:
        for line in reference_lines(Path(path).read_bytes()):
            counts.update(REFERENCE_WORD.findall(line.lower()))
    return counts


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """The key/value pairs of an output file, in file order."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        rows.append((key, value))
    return rows


def counts_from_output(path: Path) -> Counter:
    return Counter({key: int(value) for key, value in read_tsv(path)})


@pytest.fixture(autouse=True)
def fresh_luigi_registry():
    """Luigi caches task instances by parameters; tests must not share them."""
    luigi.task_register.Register.clear_instance_cache()
    yield
    luigi.task_register.Register.clear_instance_cache()


@pytest.fixture
def messy_inputs(tmp_path: Path) -> list[Path]:
    """Text files with what real files have: CRLF, a BOM, curly quotes, bad bytes."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "crlf.txt": b"Call me Ishmael.\r\nSome years ago - never mind how long\r\nthe whale's 'em ' tail\r\n",
        "bom.txt": b"\xef\xbb\xbfThe Book of Cats\nthe cat\xe2\x80\x99s whiskers \xe2\x80\x9cquoted\xe2\x80\x9d caf\xc3\xa9 \xc2\xa3 \xc5\x93uvre\n",
        "bad_utf8.txt": b"good words \xff\xfe bad bytes\nhalf \xe2\x80 sequence here\nend\n",
        "no_newline.txt": b"last line has no newline THE the The",
        "empty.txt": b"",
        "blank_lines.txt": b"\n\n\r\n  \n words   between\tblanks \n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(folder.iterdir())
