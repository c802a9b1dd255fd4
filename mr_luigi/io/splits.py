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
import codecs
import gzip
import io
import math
import os
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Sequence

from mr_luigi.errors import InputChanged, InputError, UnreadableInput
from mr_luigi.io import remote
from mr_luigi.io.decoding import UTF8, Decoding, wide_encoding_hint
from mr_luigi.io.remote import Store, is_url

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
    #: how to reach the object store, for an ``s3://`` path (see :mod:`mr_luigi.io.remote`)
    store: Store | None = None

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
#: The most map tasks an automatic split size plans. Luigi's scheduler pays for
#: every task and edge of the graph on each call a worker makes, so a run's
#: scheduling grows with the square of its tasks: 2,000 no-op tasks took 19-59 s
#: to schedule here, 16,000 (a terabyte in 64 MiB splits) would take hours.
MAX_AUTO_MAPS = 2000


def auto_split_size(total_bytes: int) -> int:
    """The default split size: about 8 splits, each between 1 and 64 MiB, and never more than ``MAX_AUTO_MAPS``.

    Eight splits keep two to four workers busy (a straggler costs at most an
    eighth of the map phase) while 64 MiB splits keep task counts low for
    large inputs; past 125 GiB of input, splits grow beyond 64 MiB so that
    the plan stays within what the scheduler handles. It depends on the data
    alone, never on the machine, so every worker host plans the same tasks.
    """
    eighth = min(MAX_AUTO_SPLIT, max(MIN_AUTO_SPLIT, -(-total_bytes // AUTO_SPLITS)))
    return max(eighth, -(-total_bytes // MAX_AUTO_MAPS))


def input_size(path: Path | str, store: Store | None = None) -> int:
    """The size of a local file or of an object."""
    return remote.size(path, store) if isinstance(path, str) and is_url(path) and store else os.path.getsize(path)


def plan_auto_splits(paths: Sequence[Path | str], splittable: bool = True, store: Store | None = None,
                     sizes: dict[str, int] | None = None) -> list[Split]:
    """Splits of :func:`auto_split_size`, grown until there are at most ``MAX_AUTO_MAPS`` of them.

    Files that do not pack evenly (many just over half a split) can make up
    to twice as many splits as bytes / split size; each round grows the size
    by the ratio still over, so a few rounds at most.
    """
    sizes = sizes or {str(p): input_size(p, store) for p in paths}
    split_size = auto_split_size(sum(sizes.values()))
    splits = plan_splits(paths, split_size, splittable, store, sizes)
    while len(splits) > MAX_AUTO_MAPS:
        split_size = -(-split_size * len(splits) // MAX_AUTO_MAPS)
        splits = plan_splits(paths, split_size, splittable, store, sizes)
    return splits


#: A file is cut only when it is this much larger than the split size: eight files of nearly equal size, a few
#: bytes over a split each, stay eight maps rather than sixteen halves (a map costs a spill and a process).
CUT_ABOVE = 1.25


def plan_splits(paths: Sequence[Path | str], split_size: int, splittable: bool = True, store: Store | None = None,
                sizes: dict[str, int] | None = None) -> list[Split]:
    """Cut files into splits of about ``split_size`` bytes each, none over ``CUT_ABOVE`` times that.

    A file two split sizes and a few bytes long is two splits, not two and a
    sliver of a third.

    Compressed files, and every file when the encoding is not byte-oriented
    (``splittable`` false, see :mod:`mr_luigi.io.decoding`), are one segment each.
    """
    pieces: list[Segment] = []
    for path in paths:
        size = sizes[str(path)] if sizes else input_size(path, store)
        where = store if is_url(path) else None
        if size == 0 or not splittable or str(path).endswith(COMPRESSED_SUFFIXES) or size <= split_size * CUT_ABOVE:
            pieces.append(Segment(str(path), 0, size, size, where))
            continue
        count = math.ceil(size / (split_size * CUT_ABOVE))  # pieces of at most CUT_ABOVE split sizes, as above
        step = math.ceil(size / count)
        pieces.extend(Segment(str(path), s, min(s + step, size), size, where) for s in range(0, size, step))
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


#: Called for a line that does not decode: ``(line number in segment, byte offset, raw bytes)``;
#: returns the text to map, or None to skip the line (see :mod:`mr_luigi.io.decoding`).
Undecodable = Callable[[int, int, bytes], "str | None"]


def replace_undecodable(encoding: str) -> Undecodable:
    """The simplest handler: undecodable bytes become U+FFFD."""
    return lambda number, offset, raw: raw.decode(encoding, "replace")


def read_lines(segment: Segment, decoding: Decoding = UTF8, undecodable: Undecodable | None = None) -> Iterator[tuple[int, int, str]]:
    """Yield ``(number, offset, line)`` for each line of a segment.

    ``number`` counts the segment's lines from 1 (the line number in the file
    when the segment starts the file), ``offset`` is the line's first byte in
    the (decompressed) file. A UTF-8 byte-order mark at the start of a file
    is dropped, and the line ending (LF or CRLF) is removed. A line that does
    not decode goes to ``undecodable`` (default: replace the bad bytes).
    """
    if not decoding.splittable:
        yield from _read_wide_lines(segment, decoding, undecodable)
        return
    encoding = decoding.encoding
    undecodable = undecodable or replace_undecodable(encoding)
    with _open(segment) as fh:
        pos, end = _first_line_start(fh, segment), segment.end if not segment.compressed else math.inf
        _check_not_wide(fh, segment, decoding)
        first = pos == 0 and encoding == "utf-8"
        number = 0
        for raw in fh:
            if pos >= end:
                break
            offset = pos
            pos += len(raw)
            number += 1
            if first:
                first = False
                if raw.startswith(_BOM):
                    raw = raw[3:]
            if raw[-1:] == b"\n":
                raw = raw[:-2] if raw[-2:-1] == b"\r" else raw[:-1]
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                text = undecodable(number, offset, raw)
                if text is None:
                    continue
            yield number, offset, text


@dataclass
class Block:
    """Whole lines of a segment, read and decoded at once (see :func:`read_blocks`)."""

    number: int  #: the segment line number of the block's first line
    offset: int  #: the byte offset of the block's first line
    raw: bytes  #: the block's bytes, to find a line's offset when one is reported
    lines: list[str]
    #: lines read, those skipped as undecodable included
    count: int
    #: (number, offset) of each line, when not simply consecutive lines of ``raw``
    where: list[tuple[int, int]] | None = None

    @property
    def last_number(self) -> int:
        return self.number + self.count - 1

    def positions_of(self, indexes: list[int]) -> list[tuple[int, int]]:
        """``(number, offset)`` of some of the block's lines (sorted indexes), found in C, not line by line."""
        if self.where is not None:
            return [self.where[i] for i in indexes]
        if not indexes:
            return []
        # ends[j]: the bytes of lines 0..j without their newlines
        ends = list(accumulate(map(len, self.raw.split(b"\n", indexes[-1]))))
        return [(self.number + i, self.offset + (ends[i - 1] + i if i else 0)) for i in indexes]

    def positions(self) -> list[tuple[int, int]]:
        """``(number, offset)`` of each line of the block."""
        if self.where is not None:
            return self.where
        positions, offset = [], self.offset
        for number, piece in enumerate(self.raw.split(b"\n"), self.number):
            positions.append((number, offset))
            offset += len(piece) + 1
        return positions[: len(self.lines)]


def read_blocks(segment: Segment, decoding: Decoding = UTF8, undecodable: Undecodable | None = None,
                block_size: int = 65536) -> Iterator[Block]:
    """Yield blocks of whole lines of a segment: the same lines as :func:`read_lines`.

    For batch map functions: a block is read, decoded and split into lines in
    C, with no Python work per line, unless it holds a line that does not
    decode; then its lines are decoded one by one.
    """
    if not decoding.splittable:
        yield from _wide_blocks(_read_wide_lines(segment, decoding, undecodable), block_size)
        return
    undecodable = undecodable or replace_undecodable(decoding.encoding)
    with _open(segment) as fh:
        pos, end = _first_line_start(fh, segment), segment.end if not segment.compressed else math.inf
        _check_not_wide(fh, segment, decoding)
        carry = b""
        number = 1
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
            skip = 3 if pos == 0 and decoding.encoding == "utf-8" and data.startswith(_BOM) else 0
            block = _decode_block(number, pos, data, skip, decoding.encoding, undecodable)
            yield block
            number += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            pos += len(data)
            if last or not chunk:
                return


def _decode_block(number: int, pos: int, data: bytes, skip: int, encoding: str, undecodable: Undecodable) -> Block:
    try:
        lines = _split_lines(data[skip:].decode(encoding))
        return Block(number, pos, data, lines, len(lines))
    except UnicodeDecodeError:
        pass
    lines, where = [], []
    offset = pos
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    for n, piece in enumerate(pieces, number):
        raw = piece[skip:] if offset == pos else piece
        raw = raw[:-1] if raw.endswith(b"\r") and (n - number < len(pieces) - 1 or data.endswith(b"\n")) else raw
        try:
            text: str | None = raw.decode(encoding)
        except UnicodeDecodeError:
            text = undecodable(n, offset, raw)
        if text is not None:
            lines.append(text)
            where.append((n, offset))
        offset += len(piece) + 1
    return Block(number, pos, data, lines, len(pieces), where)


def _split_lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _check_not_wide(fh: BinaryIO, segment: Segment, decoding: Decoding) -> None:
    """Fail on a file that looks like UTF-16 or UTF-32 while read with a byte-oriented encoding."""
    head = fh.peek(4096)[:4096] if hasattr(fh, "peek") else b""
    hint = wide_encoding_hint(head)
    if hint is not None:
        raise UnreadableInput(f"input {segment.path!r} looks like {hint}, but the job reads it as {decoding.encoding}: "
                           f"set encoding = \"utf-16\" (or the file's own encoding) in the job config")


#: Stands for undecodable bytes in a wide encoding's text: a lone surrogate never decodes from valid input.
_MARK = "\ud800"
_MARK_ERRORS = "mr_luigi.mark"


def _mark(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return _MARK, error.end


def _read_wide_lines(segment: Segment, decoding: Decoding, undecodable: Undecodable | None) -> Iterator[tuple[int, int, str]]:
    """Lines of a file in a multi-byte encoding (UTF-16, UTF-32), decoded as a stream.

    Such a file is one segment. Offsets count characters of the decoded text;
    a line with undecodable bytes goes to ``undecodable`` with its bytes
    encoded back as well as they can be.
    """
    try:
        codecs.lookup_error(_MARK_ERRORS)
    except LookupError:
        codecs.register_error(_MARK_ERRORS, _mark)
    undecodable = undecodable or replace_undecodable(decoding.encoding)
    with _open(segment) as fh, io.TextIOWrapper(fh, encoding=decoding.encoding, errors=_MARK_ERRORS, newline="\n") as text:
        pos = 0
        for number, line in enumerate(text, 1):
            offset = pos
            pos += len(line)
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            if _MARK in line:
                raw = line.replace(_MARK, "\ufffd").encode(decoding.encoding, "replace")
                replaced = undecodable(number, offset, raw)
                if replaced is None:
                    continue
                line = line.replace(_MARK, "\ufffd")
            yield number, offset, line


def _wide_blocks(lines: Iterator[tuple[int, int, str]], block_size: int) -> Iterator[Block]:
    """Group the lines of a wide-encoded file into blocks of about ``block_size`` characters."""
    batch: list[str] = []
    where: list[tuple[int, int]] = []
    size = 0
    for number, offset, line in lines:
        batch.append(line)
        where.append((number, offset))
        size += len(line) + 1
        if size >= block_size:
            yield Block(where[0][0], where[0][1], b"", batch, where[-1][0] - where[0][0] + 1, where)
            batch, where, size = [], [], 0
    if batch:
        yield Block(where[0][0], where[0][1], b"", batch, where[-1][0] - where[0][0] + 1, where)


def _first_line_start(fh: BinaryIO, segment: Segment) -> int:
    """Seek to the first line that starts in the segment (at or after its start); return its offset."""
    pos = segment.start
    if pos > 0:
        fh.seek(pos - 1)
        pos += len(fh.readline()) - 1
    return pos


def _open(segment: Segment) -> BinaryIO:
    path = segment.path
    if segment.store is not None:
        return _open_object(segment)
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
        raise InputChanged(
            f"input {path!r} changed size while the job ran ({segment.file_size} bytes when planned, {size} now); "
            "inputs must not change during a job: re-run it on a stable copy"
        )
    return fh


def _open_object(segment: Segment) -> BinaryIO:
    """An object of the store, read with ranged GETs; a compressed one streamed through its decompressor."""
    assert segment.store is not None
    fh = remote.open_input(segment.path, segment.store)
    if fh.size != segment.file_size:
        fh.close()
        raise InputChanged(f"input {segment.path!r} changed size while the job ran ({segment.file_size} bytes when "
                           f"planned, {fh.size} now); inputs must not change during a job: re-run it on a stable copy")
    if segment.path.endswith(".gz"):
        return gzip.open(fh, "rb")  # type: ignore[return-value]
    if segment.path.endswith(".bz2"):
        return bz2.open(fh, "rb")  # type: ignore[return-value]
    return fh


class LineNumbers:
    """Line numbers of increasing offsets in one file, counted incrementally.

    Bad records are reported with their line number; counting newlines from
    the start of the file for each would be quadratic, so this keeps the file
    open and counts only the bytes between one offset and the next.
    """

    def __init__(self, path: str, store: Store | None = None) -> None:
        self.path = path
        self.store = store
        self._fh: BinaryIO | None = None
        self._pos = 0
        self._line = 1

    def number(self, offset: int) -> int:
        if offset < self._pos:  # an earlier offset: start again
            self.close()
        if self._fh is None:
            self._fh = _open(Segment(self.path, 0, offset, input_size(self.path, self.store), self.store))
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


def file_line(segment: Segment, number: int, offset: int, numbers: LineNumbers | None = None) -> int | str:
    """The line number in its file of a segment's line ``number`` at byte ``offset``.

    The reader's count is the file's when the segment starts the file (always
    so for compressed and wide-encoded files); otherwise newlines are counted
    from the start of the file (slow: for errors and bad records only).
    """
    if segment.start == 0:
        return number
    own = numbers is None
    numbers = numbers or LineNumbers(segment.path, segment.store)
    try:
        return numbers.number(offset)
    except (OSError, EOFError, ValueError):
        return f"byte {offset}"
    finally:
        if own:
            numbers.close()
