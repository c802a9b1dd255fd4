"""Input encodings: explicit, validated, and never silently mangled."""

from __future__ import annotations

import codecs

import pytest

from mr_luigi import ConfigError
from mr_luigi.io.decoding import Decoding, wide_encoding_hint
from mr_luigi.errors import UnreadableInput
from mr_luigi.io.splits import Segment, plan_splits, read_blocks, read_lines


@pytest.mark.parametrize("encoding, splittable", [("utf-8", True), ("UTF8", True), ("utf-8-sig", True), ("latin-1", True),
                                                  ("cp1252", True), ("utf-16", False), ("utf-16-le", False),
                                                  ("utf-32", False), ("utf-7", False), ("iso2022_jp", False)])
def test_which_encodings_can_be_cut_into_byte_ranges(encoding, splittable):
    assert Decoding.from_config(encoding, "strict").splittable is splittable


@pytest.mark.parametrize("encoding, errors, field", [("klingon", "strict", "encoding"), ("", "strict", "encoding"),
                                                     ("utf-8", "ignore", "decode_errors"), (8, "strict", "encoding")])
def test_bad_settings_are_config_errors(encoding, errors, field):
    with pytest.raises(ConfigError, match=f"^{field}: "):
        Decoding.from_config(encoding, errors)


@pytest.mark.parametrize("head", [codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), "plain ascii text here".encode("utf-16-le"),
                                  "plain ascii text here".encode("utf-32-be"), codecs.BOM_UTF32_LE])
def test_wide_text_is_recognised(head):
    assert wide_encoding_hint(head) is not None


@pytest.mark.parametrize("head", [b"plain text\n" * 10, "caf\u00e9 na\u00efve".encode("utf-8") * 5, b"", b"a\x00b\nc d e f g h i j k\n"])
def test_byte_oriented_text_is_not_mistaken_for_wide(head):
    assert wide_encoding_hint(head) is None


@pytest.mark.parametrize("reader", [read_lines, read_blocks], ids=["lines", "blocks"])
def test_a_utf16_file_read_as_utf8_is_refused_naming_the_encoding(tmp_path, reader):
    path = tmp_path / "wide.txt"
    path.write_bytes("line one\nline two\n".encode("utf-16"))
    with pytest.raises(UnreadableInput) as caught:
        list(reader(Segment(str(path), 0, path.stat().st_size, path.stat().st_size)))
    assert str(caught.value) == (f"input {str(path)!r} looks like UTF-16 (it starts with the byte-order mark FF FE), but the "
                                 "job reads it as utf-8: set encoding = \"utf-16\" (or the file's own encoding) in the job "
                                 "config")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_wide_files_are_one_split_and_read_line_by_line(tmp_path, codec):
    text = "\ufeffBOM only at the start\r\nsecond \u00e9\u4e2d\U0001f600\nthird without newline"
    path = tmp_path / "wide.txt"
    path.write_bytes(text.encode(codec))
    decoding = Decoding.from_config(codec, "strict")
    (split,) = plan_splits([path], 8, decoding.splittable)
    (segment,) = split.segments
    lines = list(read_lines(segment, decoding))
    expected = ["BOM only at the start", "second \u00e9\u4e2d\U0001f600", "third without newline"]
    assert [line for _, _, line in lines] == expected
    assert [number for number, _, _ in lines] == [1, 2, 3]
    blocks = list(read_blocks(segment, decoding, block_size=10))
    assert [line for block in blocks for line in block.lines] == expected
    assert [n for block in blocks for n, _ in block.positions()] == [1, 2, 3]


def test_undecodable_lines_go_to_the_handler_with_their_number(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"good\nbad \xff\ngood again\n\xc3\n")
    seen = []

    def skip(number, offset, raw):
        seen.append((number, offset, raw))
        return None

    segment = Segment(str(path), 0, path.stat().st_size, path.stat().st_size)
    assert [(n, line) for n, _, line in read_lines(segment, Decoding(), skip)] == [(1, "good"), (3, "good again")]
    assert seen == [(2, 5, b"bad \xff"), (4, 22, b"\xc3")]
    seen.clear()
    blocks = list(read_blocks(segment, Decoding(), skip))
    assert [(p, line) for b in blocks for p, line in zip(b.positions(), b.lines)] == [((1, 0), "good"), ((3, 11), "good again")]
    assert seen == [(2, 5, b"bad \xff"), (4, 22, b"\xc3")]
    assert max(b.last_number for b in blocks) == 4


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_an_undecodable_line_of_a_wide_file_goes_to_the_handler_with_its_number(tmp_path, codec):
    """A lone surrogate in UTF-16 (or an out-of-range unit in UTF-32): that line only, by number; the others read on.

    In a wide-encoded file (one split, read as a stream) offsets count characters, not bytes."""
    bad = {"utf-16-le": b"\x00\xd8", "utf-16-be": b"\xd8\x00", "utf-32-le": b"\x00\x00\x11\x00"}[codec]
    data = "first\n".encode(codec) + "ab".encode(codec) + bad + "cd\r\nlast\n".encode(codec)
    path = tmp_path / "wide.txt"
    path.write_bytes(data)
    decoding = Decoding.from_config(codec, "strict")
    segment = Segment(str(path), 0, len(data), len(data))
    seen = []

    def skip(number, offset, raw):
        seen.append((number, offset, raw))
        return None

    assert list(read_lines(segment, decoding, skip)) == [(1, 0, "first"), (3, 13, "last")]
    assert seen == [(2, 6, "ab\ufffdcd".encode(codec))]
    assert list(read_lines(segment, decoding)) == [(1, 0, "first"), (2, 6, "ab\ufffdcd"), (3, 13, "last")]
    blocks = list(read_blocks(segment, decoding, block_size=4))
    assert [(p, line) for b in blocks for p, line in zip(b.positions(), b.lines)] == [((1, 0), "first"), ((2, 6), "ab\ufffdcd"),
                                                                                      ((3, 13), "last")]


@pytest.mark.parametrize("batch", [False, True], ids=["line_map", "batch_map"])
def test_a_utf16_job_counts_every_line_and_word(tmp_path, batch):
    """Several blocks of a UTF-16 file through a whole job: its counters and output, from the text written here."""
    from collections import Counter

    from mr_luigi import JobConfig, MapReduceScheduler
    from tests.conftest import read_tsv

    lines = [f"zeile {i % 97} straße {'東京 ' * (i % 3)}ende" for i in range(30_000)]
    path = tmp_path / "wide.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-16"))
    config = JobConfig(job_name="wide", map_function="tests.jobs_for_tests:" + ("batch_split_words" if batch else "split_words"),
                       reduce_function="tests.jobs_for_tests:total", combine_function="tests.jobs_for_tests:total",
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), encoding="utf-16", num_reduce_tasks=2)
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config), scheduler.last_result.failures
    expected = Counter(word for line in lines for word in line.split())
    assert read_tsv(tmp_path / "out" / "final_output.txt") == sorted(expected.items())
    totals = scheduler.last_result.manifest["counters"]["mr_luigi"]
    assert totals["input_records"] == 30_000 and totals["map_output_records"] == sum(expected.values())


@pytest.mark.parametrize("batch", [False, True], ids=["line_map", "batch_map"])
def test_an_undecodable_line_of_a_utf16_job_is_a_bad_record_of_either_map(tmp_path, batch):
    """decode_errors = "strict" with room for bad records: the line is set aside by number, not mapped as replaced text."""
    import json
    from collections import Counter

    from mr_luigi import JobConfig, MapReduceScheduler
    from tests.conftest import read_tsv

    lines = [f"zeile {i % 7} ende" for i in range(3000)]
    data = b"".join((line + "\n").encode("utf-16-le") for line in lines[:1234]) + "kaputt ".encode("utf-16-le") + \
        b"\x00\xd8" + "\n".encode("utf-16-le") + b"".join((line + "\n").encode("utf-16-le") for line in lines[1234:])
    path = tmp_path / "wide.txt"
    path.write_bytes(data)
    config = JobConfig(job_name="wide", map_function="tests.jobs_for_tests:" + ("batch_split_words" if batch else "split_words"),
                       reduce_function="tests.jobs_for_tests:total", input_files=[str(path)], output_dir=str(tmp_path / "out"),
                       encoding="utf-16-le", decode_errors="strict", max_bad_records=1, num_reduce_tasks=2)
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config), scheduler.last_result.failures
    assert read_tsv(tmp_path / "out" / "final_output.txt") == sorted(Counter(w for line in lines for w in line.split()).items())
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [(b["file"], b["line"], b["reason"]) for b in bad] == [(str(path), 1235, "undecodable")]
