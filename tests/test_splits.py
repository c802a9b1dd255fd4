"""Input splits: every line is read exactly once, whatever the split size."""

from __future__ import annotations

import bz2
import gzip
import random
from contextlib import closing
from pathlib import Path

import pytest

from mr_luigi.errors import InputError
from mr_luigi.io.splits import LineNumbers, Segment, plan_splits, read_blocks, read_lines
from tests.conftest import reference_lines


def _read_all(paths: list[Path], split_size: int) -> list[str]:
    lines = []
    for split in plan_splits(paths, split_size):
        for segment in split.segments:
            lines.extend(line for _, _, line in read_lines(segment))
    return lines


def reference_positions(path: Path, data: bytes) -> list[tuple[int, int, str]]:
    """``(line number, offset of its first byte, text)`` of every line of a file, worked out here from its bytes:
    LF ends a line, a CR before it goes too, a BOM at the start of the file is not text."""
    found, offset = [], 0
    pieces = data.split(b"\n")
    for number, piece in enumerate(pieces, 1):
        last = number == len(pieces)
        if last and piece == b"":
            break
        raw = piece[3:] if number == 1 and piece.startswith(b"\xef\xbb\xbf") else piece
        raw = raw[:-1] if not last and raw.endswith(b"\r") else raw
        found.append((number, offset, raw.decode("utf-8", "replace")))
        offset += len(piece) + 1
    return found


def expected_segments(path: Path, data: bytes, split_size: int) -> list[tuple[str, int, int, str]]:
    """What reading each segment must give: the lines that start in it, numbered from 1 within it."""
    expected = []
    for split in plan_splits([path], split_size):
        for segment in split.segments:
            mine = [(offset, text) for _, offset, text in reference_positions(path, data) if segment.start <= offset < segment.end]
            expected += [(segment.path, n, offset, text) for n, (offset, text) in enumerate(mine, 1)]
    return expected


CASES = {
    "lf": b"alpha\nbeta\ngamma\n",
    "crlf": b"alpha\r\nbeta\r\n\r\ngamma\r\n",
    "no_final_newline": b"one\ntwo\nthree",
    "bom": b"\xef\xbb\xbffirst\nsecond\n",
    "blank_lines": b"\n\n\nx\n\n",
    "long_line": b"short\n" + b"y" * 5000 + b"\nafter\n",
    "single_long_line": b"z" * 3000,
    "empty": b"",
    "lone_cr": b"a\rb\nc\r\n",
    # an undecodable byte sends a block down the line-by-line path: CRLF endings there, and a last line without one
    "crlf_undecodable_no_final_newline": b"a\r\nb\xff\r\nc\r\nd\r\ne",
    "undecodable_last_line_ends_in_cr": b"x\xff\r\ny\r\nz\r",
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("split_size", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_every_line_exactly_once(tmp_path, name, split_size):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(CASES[name])
    assert _read_all([path], split_size) == reference_lines(CASES[name])


def test_split_boundary_inside_crlf_pair(tmp_path):
    data = b"ab\r\ncd\r\nef\r\n"
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    cr = data.index(b"\r")
    for boundary in (cr, cr + 1, cr + 2):
        segments = [Segment(str(path), 0, boundary, len(data)), Segment(str(path), boundary, len(data), len(data))]
        lines = [line for s in segments for _, _, line in read_lines(s)]
        assert lines == ["ab", "cd", "ef"], boundary


def test_many_files_and_sizes_give_the_same_lines(tmp_path):
    paths = []
    for i, data in enumerate(CASES.values()):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(data)
        paths.append(path)
    expected = [line for data in CASES.values() for line in reference_lines(data)]
    for size in (1, 4, 13, 100, 10_000):
        assert _read_all(paths, size) == expected


def test_small_files_are_packed_into_few_splits(tmp_path):
    paths = []
    for i in range(200):
        path = tmp_path / f"small{i:03d}.txt"
        path.write_bytes(b"x" * 99 + b"\n")
        paths.append(path)
    splits = plan_splits(paths, 2000)
    assert len(splits) == 10
    assert sorted(s.path for split in splits for s in split.segments) == sorted(map(str, paths))


def test_large_file_is_cut_into_ranges(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"0123456789\n" * 1000)
    splits = plan_splits([path], 2000)
    assert len(splits) == 5  # the fewest pieces of at most 1.25 x 2000 bytes: 11000 / 2500 = 4.4
    ranges = [(s.start, s.end) for split in splits for s in split.segments]
    assert ranges[0][0] == 0 and ranges[-1][1] == 11000
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert max(end - start for start, end in ranges) <= 2500


@pytest.mark.parametrize("size, pieces", [(4001, 2), (5000, 2), (5001, 3), (2501, 2), (2500, 1)])
def test_a_file_a_few_bytes_over_whole_splits_is_not_cut_into_a_sliver(tmp_path, size, pieces):
    """Eight 50 MB files with a 25 MB split size are 16 maps, not 16 and some slivers of a few bytes."""
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (size - 1) + b"\n")
    ranges = [(s.start, s.end) for split in plan_splits([path], 2000) for s in split.segments]
    assert len(ranges) == pieces
    assert max(end - start for start, end in ranges) <= 2500
    assert min(end - start for start, end in ranges) >= size // pieces


def test_the_last_piece_of_a_cut_file_is_packed_with_the_small_files_after_it(tmp_path):
    """A 2,501-byte file is cut in two halves of about 1,250 bytes: the second half and a 10-byte file
    after it fit in one 2,000-byte split (what counts is each piece's length, not where it starts)."""
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_bytes(b"x" * 2500 + b"\n")
    small.write_bytes(b"123456789\n")
    splits = plan_splits([big, small], 2000)
    assert [[(Path(s.path).name, s.start, s.end) for s in split.segments] for split in splits] == [
        [("big.txt", 0, 1251)], [("big.txt", 1251, 2501), ("small.txt", 0, 10)]]

@pytest.mark.parametrize("opener, suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")])
def test_compressed_files_are_one_streamed_split(tmp_path, opener, suffix):
    data = b"\xef\xbb\xbfone\r\ntwo\n" * 500
    path = tmp_path / f"log{suffix}"
    with opener(path, "wb") as fh:
        fh.write(data)
    splits = plan_splits([path], 10)
    assert len(splits) == 1
    assert _read_all([path], 10) == reference_lines(data)


def test_file_that_changed_size_is_an_input_error(tmp_path):
    path = tmp_path / "growing.txt"
    path.write_bytes(b"a\nb\n")
    (split,) = plan_splits([path], 100)
    path.write_bytes(b"a\nb\nc\n")
    with pytest.raises(InputError) as raised:
        list(read_lines(split.segments[0]))
    assert str(raised.value) == (f"input {str(path)!r} changed size while the job ran (4 bytes when planned, 6 now); "
                                 "inputs must not change during a job: re-run it on a stable copy")


def test_line_number_of_an_offset(tmp_path):
    path = tmp_path / "n.txt"
    data = b"l1\nl2\r\nl3\nl4\n"
    path.write_bytes(data)
    read = list(read_lines(Segment(str(path), 0, len(data), len(data))))
    assert [(number, line) for number, _, line in read] == [(1, "l1"), (2, "l2"), (3, "l3"), (4, "l4")]
    numbers = LineNumbers(str(path))
    assert [numbers.number(offset) for _, offset, _ in read] == [1, 2, 3, 4]
    numbers.close()


def test_the_file_line_of_a_line_in_a_mid_file_segment_is_counted_from_the_start_of_the_file(tmp_path):
    """Without a counter of its own (``numbers``) too: the reader's number is the segment's, the file's is counted here."""
    from mr_luigi.io.splits import file_line

    data = b"".join(b"\n" if i % 4 == 0 else f"line {i}\r\n".encode() for i in range(1, 60))
    path = tmp_path / "n.txt"
    path.write_bytes(data)
    segments = [s for split in plan_splits([path], 100) for s in split.segments]
    assert len(segments) > 3
    for segment in segments:
        for number, offset, _ in read_lines(segment):
            expected = data[:offset].count(b"\n") + 1
            assert file_line(segment, number, offset) == expected, (segment, number)
    with closing(LineNumbers(str(path))) as numbers:  # one counter for a segment's lines, as a map keeps
        last = segments[-1]
        assert [file_line(last, n, o, numbers) for n, o, _ in read_lines(last)] == \
            [data[:o].count(b"\n") + 1 for _, o, _ in read_lines(last)]


def test_an_input_that_cannot_be_opened_is_named_with_why(tmp_path):
    from mr_luigi.io.splits import _open

    missing = tmp_path / "gone.txt"
    with pytest.raises(InputError) as raised:
        _open(Segment(str(missing), 0, 10, 10))
    assert str(raised.value) == f"cannot read input {str(missing)!r}: No such file or directory"


def test_splits_are_numbered_in_order(tmp_path):
    paths = []
    for name, size in (("a.txt", 50), ("b.txt", 500), ("c.txt", 20), ("d.txt", 20)):
        (tmp_path / name).write_bytes(b"x" * (size - 1) + b"\n")
        paths.append(tmp_path / name)
    splits = plan_splits(paths, 100)
    assert len(splits) > 4
    assert [split.index for split in splits] == list(range(len(splits)))


def test_auto_split_size_depends_on_data_size_only():
    from mr_luigi.io.splits import auto_split_size

    mib = 1 << 20
    assert auto_split_size(0) == mib
    assert auto_split_size(40 * mib) == 5 * mib
    assert auto_split_size(40 * mib + 1) == 5 * mib + 1  # a whole number of bytes, rounded up: 8 splits at most
    assert auto_split_size(100_000 * mib) == 64 * mib
    # past 2,000 x 64 MiB the splits grow instead of the task count: a terabyte in 2,000 splits, rounded up
    assert auto_split_size(1 << 40) == -(-(1 << 40) // 2000)


def _tiles_every_file(splits, sizes: dict[str, int]) -> None:
    """Each file's segments, in order, cover it from byte 0 to its end with no gap or overlap."""
    seen: dict[str, list[tuple[int, int]]] = {}
    for split in splits:
        for segment in split.segments:
            seen.setdefault(segment.path, []).append((segment.start, segment.end))
    assert set(seen) == set(sizes)
    for path, ranges in seen.items():
        ranges.sort()
        assert all(type(start) is int and type(end) is int for start, end in ranges), ranges  # byte offsets to seek to
        assert ranges[0][0] == 0 and ranges[-1][1] == sizes[path]
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_automatic_splits_stay_within_what_the_scheduler_handles(tmp_path):
    # Sparse files: a terabyte of input costs no disk, and planning reads only sizes.
    from mr_luigi.io.splits import plan_auto_splits

    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:
        fh.truncate(1 << 40)
    splits = plan_auto_splits([huge])
    assert 1000 <= len(splits) <= 2000  # 64 MiB splits would be 16,384 tasks
    _tiles_every_file(splits, {str(huge): 1 << 40})

    # 3,000 files of 1 GiB: with 1.5 GiB splits none pack together (3,000 maps), so the size grows again
    many = []
    for i in range(3000):
        path = tmp_path / f"f{i:04d}.txt"
        with open(path, "wb") as fh:
            fh.truncate(1 << 30)
        many.append(path)
    assert len(plan_auto_splits(many[:2000])) == 2000  # exactly the bound (1 GiB splits, a file each): kept as planned
    splits = plan_auto_splits(many)
    assert len(splits) <= 2000
    _tiles_every_file(splits, {str(p): 1 << 30 for p in many})

    # and a 64 GiB file among them is still cut when the size grows
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(64 << 30)
    splits = plan_auto_splits([*many, big])
    assert len(splits) <= 2000
    assert len([s for split in splits for s in split.segments if s.path == str(big)]) > 10
    _tiles_every_file(splits, {**{str(p): 1 << 30 for p in many}, str(big): 64 << 30})


def test_automatic_splits_of_store_objects_keep_their_store_in_every_round():
    """3,000 objects of 1 GiB: planned from their listed sizes in two rounds, each segment knowing its store."""
    from mr_luigi.io.remote import Store
    from mr_luigi.io.splits import plan_auto_splits

    store = Store(endpoint_url="http://127.0.0.1:9")  # never asked: the sizes were listed already
    sizes = {f"s3://bucket/f{i:04d}.txt": 1 << 30 for i in range(3000)}
    splits = plan_auto_splits(list(sizes), store=store, sizes=sizes)
    assert len(splits) <= 2000
    assert all(segment.store is store for split in splits for segment in split.segments)
    _tiles_every_file(splits, sizes)


def _blocks_all(paths: list[Path], split_size: int, block_size: int) -> list[tuple[str, int, int, str]]:
    found = []
    for split in plan_splits(paths, split_size):
        for segment in split.segments:
            for block in read_blocks(segment, block_size=block_size):
                found += [(segment.path, n, o, line) for (n, o), line in zip(block.positions(), block.lines, strict=True)]
    return found


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("split_size, block_size", [(1, 1), (2, 3), (5, 2), (7, 64), (64, 5), (1 << 20, 1 << 16)])
def test_blocks_hold_the_same_lines_and_offsets_as_read_lines(tmp_path, name, split_size, block_size):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(CASES[name])
    assert [line for _, _, _, line in _blocks_all([path], split_size, block_size)] == reference_lines(CASES[name])
    expected = expected_segments(path, CASES[name], split_size)
    assert _blocks_all([path], split_size, block_size) == expected
    assert [(s.path, *read) for split in plan_splits([path], split_size) for s in split.segments for read in read_lines(s)] == expected


def test_blocks_and_lines_of_random_bytes_are_what_the_bytes_say(tmp_path):
    rng = random.Random(11)
    pieces = [b"a", b"bb", b"\r\n", b"\n", b"\r", b"\xe2\x82", b"\xff", "é".encode(), b"x" * 40, b"\xef\xbb\xbf"]
    for trial in range(40):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        path = tmp_path / f"r{trial}.txt"
        path.write_bytes(data)
        for split_size in (1, 3, 16, 1000):
            for block_size in (1, 4, 4096):
                expected = expected_segments(path, data, split_size)
                assert _blocks_all([path], split_size, block_size) == expected, (data, split_size, block_size)
                lines = [(s.path, *read) for split in plan_splits([path], split_size) for s in split.segments for read in read_lines(s)]
                assert lines == expected, (data, split_size)


def test_line_numbers_of_offsets_in_any_order(tmp_path):
    """The line of each offset, counted here from the bytes; offsets going back start the count again."""
    data = b"".join(b"\n" if i % 11 == 0 else f"line {i}{' x' * (i % 5)}\r\n".encode() if i % 3 else f"line {i}\n".encode()
                    for i in range(1, 400))  # empty lines too: the byte at such an offset is its newline
    path = tmp_path / "n.txt"
    path.write_bytes(data)
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A][:-1]  # the first byte of each line
    numbers = LineNumbers(str(path))
    order = list(range(0, len(starts), 7)) + [3, 2, 250, 0, 398, 398, 1, 10, 21, 10]
    try:
        for index in order:
            assert numbers.number(starts[index]) == index + 1, index
            if data[starts[index]] != 0x0A:
                assert numbers.number(starts[index] + 1) == index + 1, "an offset inside a line is that line"
    finally:
        numbers.close()
    numbers.close()  # closing twice is harmless


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("ending", ["\n", ""], ids=["newline_at_end", "no_newline_at_end"])
def test_blocks_of_several_lines_give_each_line_its_own_position_and_count_every_line(tmp_path, codec, ending):
    """Blocks big enough for several lines (positions found from the block, not one line per block), a last line with
    or without its newline: the same (number, offset, line) as the line reader, and the last block ends at the last line."""
    from mr_luigi.io.decoding import Decoding

    text = "".join(f"line {n}\n" for n in range(1, 60)) + "the end" + ending
    path = tmp_path / "in.txt"
    path.write_bytes(text.encode(codec))
    decoding = Decoding.from_config(codec, "strict")
    segment = Segment(str(path), 0, path.stat().st_size, path.stat().st_size)
    expected = [((number, offset), line) for number, offset, line in read_lines(segment, decoding)]
    assert len(expected) == 60
    blocks = list(read_blocks(segment, decoding, block_size=64))
    assert len(blocks) > 2 and all(len(block.lines) > 1 for block in blocks[:-1])
    assert [(p, line) for b in blocks for p, line in zip(b.positions(), b.lines, strict=True)] == expected
    assert blocks[-1].last_number == 60
    for block in blocks:  # each block's own first and last line numbers (the map counts its input by them)
        assert (block.number, block.offset) == block.positions()[0]
        assert block.last_number == block.positions()[-1][0]
    if codec != "utf-8":  # a wide file's blocks are cut by characters, once they hold block_size of them
        chars = [sum(len(line) + 1 for line in b.lines) for b in blocks]
        assert all(size >= 64 and size - len(b.lines[-1]) - 1 < 64 for size, b in zip(chars[:-1], blocks)), chars


def test_a_file_a_little_over_the_split_size_is_not_cut(tmp_path):
    """Eight nearly equal files, each a few bytes over a split: eight maps, not sixteen halves. A quarter over is cut."""
    from mr_luigi.io.splits import plan_splits

    sizes = {"a.txt": 1200, "b.txt": 1250, "c.txt": 1260, "d.txt": 2600}
    paths = []
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * (size - 1) + b"\n")
        paths.append(tmp_path / name)
    splits = plan_splits(paths, 1000)
    pieces = {Path(s.path).name: [] for split in splits for s in split.segments}
    for split in splits:
        for s in split.segments:
            pieces[Path(s.path).name].append((s.start, s.end))
    assert pieces["a.txt"] == [(0, 1200)] and pieces["b.txt"] == [(0, 1250)]
    assert len(pieces["c.txt"]) == 2 and len(pieces["d.txt"]) == 3
    assert all(sum(e - s for s, e in pieces[n]) == size for n, size in sizes.items())
