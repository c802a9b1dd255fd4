"""Input splits: how input files are cut into map tasks, and how a split is read.

A map task is costly to schedule in Luigi (milliseconds, growing with the
graph), so the number of map tasks follows the data size, not the file count:
a large file is cut into line-aligned byte ranges and small files are packed
together until a split holds about ``split_size`` bytes. A compressed file is
one split, streamed.

A line belongs to the split that holds its first byte: a reader starting at
byte ``s > 0`` skips through the first newline at or after ``s - 1``, and
reads every line that starts before its end, even past it. So no line is lost
or read twice, and CRLF pairs are never cut.
"""

from __future__ import annotations

import bz2
import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from mr_luigi.errors import InputError

COMPRESSED_SUFFIXES = (".gz", ".bz2")
_BOM = b"\xef\xbb\xbf"
_READ_BUFFER = 1 << 20


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start, end)`` of one input file (the whole file when compressed)."""

    path: str
    start: int
    end: int
    file_size: int

    @property
    def compressed(self) -> bool:
        return self.path.endswith(COMPRESSED_SUFFIXES)


@dataclass(frozen=True)
class Split:
    """The input of one map task: one or more segments, read in order."""

    index: int
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(s.end - s.start for s in self.segments)


MIN_AUTO_SPLIT = 1 << 20
MAX_AUTO_SPLIT = 64 << 20
AUTO_SPLITS = 8


def auto_split_size(total_bytes: int) -> int:
    """The default split size: about 8 splits, each between 1 and 64 MiB.

    Eight splits keep two to four workers busy (a straggler costs at most an
    eighth of the map phase) while 64 MiB splits keep task counts low for
    large inputs. It depends on the data alone, never on the machine, so
    every worker host plans the same tasks.
    """
    return min(MAX_AUTO_SPLIT, max(MIN_AUTO_SPLIT, -(-total_bytes // AUTO_SPLITS)))


def plan_splits(paths: Sequence[Path], split_size: int) -> list[Split]:
    """Cut files into splits of about ``split_size`` bytes each."""
    pieces: list[Segment] = []
    for path in paths:
        size = os.path.getsize(path)
        if size == 0 or str(path).endswith(COMPRESSED_SUFFIXES) or size <= split_size:
            pieces.append(Segment(str(path), 0, size, size))
            continue
        count = math.ceil(size / split_size)
        step = math.ceil(size / count)
        pieces.extend(Segment(str(path), s, min(s + step, size), size) for s in range(0, size, step))
    return _pack(pieces, split_size)


def _pack(pieces: list[Segment], split_size: int) -> list[Split]:
    """Group consecutive segments so that each split holds about split_size bytes."""
    splits: list[Split] = []
    current: list[Segment] = []
    held = 0
    for piece in pieces:
        length = piece.end - piece.start
        if current and held + length > split_size:
            splits.append(Split(len(splits), tuple(current)))
            current, held = [], 0
        current.append(piece)
        held += length
    if current:
        splits.append(Split(len(splits), tuple(current)))
    return splits


def read_lines(segment: Segment) -> Iterator[tuple[int, str]]:
    """Yield ``(byte_offset, line)`` for each line of a segment.

    Lines are decoded as UTF-8 (undecodable bytes become U+FFFD), a byte-order
    mark at the start of a file is dropped, and the line ending (LF or CRLF) is
    removed. Offsets count bytes of the decompressed stream.
    """
    with _open(segment) as fh:
        pos, end = _first_line_start(fh, segment), segment.end if not segment.compressed else math.inf
        first = pos == 0
        for raw in fh:
            if pos >= end:
                break
            offset = pos
            pos += len(raw)
            if first:
                first = False
                if raw.startswith(_BOM):
                    raw = raw[3:]
            if raw[-1:] == b"\n":
                raw = raw[:-2] if raw[-2:-1] == b"\r" else raw[:-1]
            yield offset, raw.decode("utf-8", "replace")


def read_blocks(segment: Segment, block_size: int = 65536) -> Iterator[tuple[int, bytes, list[str]]]:
    """Yield ``(byte_offset, raw_bytes, lines)`` for blocks of whole lines of a segment.

    The same lines as :func:`read_lines`, decoded a block at a time: for batch
    map functions, which need no per-line Python work at all. ``raw_bytes``
    are the block's bytes, to find a line's offset when one is reported.
    """
    with _open(segment) as fh:
        pos, end = _first_line_start(fh, segment), segment.end if not segment.compressed else math.inf
        carry = b""
        while pos < end:
            chunk = fh.read(block_size)
            data, carry = carry + chunk, b""
            if not data:
                return
            if chunk:  # whole lines only; the rest waits for the next read
                cut = data.rfind(b"\n")
                if cut < 0:  # a line longer than the block
                    carry = data
                    continue
                data, carry = data[: cut + 1], data[cut + 1 :]
            last = False
            if pos + len(data) > end:  # keep only the lines that start before the end
                cut = data.find(b"\n", int(end - pos) - 1)
                if cut >= 0:
                    data, last = data[: cut + 1], True
            skip = 3 if pos == 0 and data.startswith(_BOM) else 0
            yield pos, data, _split_lines(data[skip:])
            pos += len(data)
            if last or not chunk:
                return


def _first_line_start(fh: BinaryIO, segment: Segment) -> int:
    """Seek to the first line that starts in the segment (at or after its start); return its offset."""
    pos = segment.start
    if pos > 0:
        fh.seek(pos - 1)
        pos += len(fh.readline()) - 1
    return pos


def _split_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def line_offsets(offset: int, data: bytes) -> list[int]:
    """The byte offset of each line of a block from :func:`read_blocks`."""
    offsets = []
    for raw in data.split(b"\n"):
        offsets.append(offset)
        offset += len(raw) + 1
    return offsets


def _open(segment: Segment) -> BinaryIO:
    path = segment.path
    try:
        if path.endswith(".gz"):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        if path.endswith(".bz2"):
            return bz2.open(path, "rb")  # type: ignore[return-value]
        fh = open(path, "rb", buffering=_READ_BUFFER)
    except OSError as exc:
        raise InputError(f"cannot read input {path!r}: {exc.strerror or exc}") from None
    size = os.fstat(fh.fileno()).st_size
    if size != segment.file_size:
        fh.close()
        raise InputError(
            f"input {path!r} changed size while the job ran ({segment.file_size} bytes when planned, {size} now); "
            "inputs must not change during a job: re-run it on a stable copy"
        )
    return fh


def line_number(path: str, offset: int) -> int:
    """The 1-based line number of the line starting at ``offset`` (slow: for error messages)."""
    segment = Segment(path, 0, offset, os.path.getsize(path))
    count = 1
    with _open(segment) as fh:
        remaining = offset
        while remaining > 0:
            chunk = fh.read(min(remaining, _READ_BUFFER))
            if not chunk:
                break
            count += chunk.count(b"\n")
            remaining -= len(chunk)
    return count


class LineNumbers:
    """Line numbers of increasing offsets in one file, counted incrementally.

    Bad records are reported with their line number; counting newlines from
    the start of the file for each would be quadratic, so this keeps the file
    open and counts only the bytes between one offset and the next.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fh: BinaryIO | None = None
        self._pos = 0
        self._line = 1

    def number(self, offset: int) -> int:
        if offset < self._pos:  # an earlier offset: start again
            self.close()
        if self._fh is None:
            self._fh = _open(Segment(self.path, 0, offset, os.path.getsize(self.path)))
            self._pos, self._line = 0, 1
        while self._pos < offset:
            chunk = self._fh.read(min(offset - self._pos, _READ_BUFFER))
            if not chunk:
                break
            self._line += chunk.count(b"\n")
            self._pos += len(chunk)
        return self._line

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
