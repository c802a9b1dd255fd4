"""Batch map functions: same results as a per-line map, bad lines found one by one."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler, read_output
from mr_luigi.engine.mapping import is_batch_map
from pipelines.word_count import word_count_batch_map, word_count_map
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count, reference_words

WORD = re.compile(r"[a-z0-9']+")


def run(inputs, out, **changes):
    values = dict(job_name="batch", map_function=jobs.batch_count_words, reduce_function=jobs.total,
                  combine_function=jobs.total, input_files=[str(p) for p in inputs], output_dir=str(out),
                  num_reduce_tasks=3, max_retries=0, split_size_mb=0.05)
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    ok = scheduler.execute_job(JobConfig(**values))
    return ok, scheduler.last_result


@pytest.mark.parametrize("combiner", [jobs.total, None])
def test_a_batch_map_gives_the_per_line_result(tmp_path, messy_inputs, combiner):
    ok, result = run(messy_inputs, tmp_path / "out", combine_function=combiner, map_memory_mb=0.01)
    assert ok, result.failures
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(messy_inputs)
    assert result.manifest["totals"]["input_records"] == sum(len(p.read_bytes().splitlines()) for p in messy_inputs)


def test_the_word_count_batch_map_matches_the_line_map():
    lines = ["It's a Whale's tale,", "", "  naïve CAFÉ 42 o’clock", "the the THE", "'tis dogs' rock'n'roll a_b"]
    assert is_batch_map(word_count_batch_map) and not is_batch_map(word_count_map)
    expected = Counter(w for line in lines for w in reference_words(line))
    assert Counter(word for word, _ in word_count_batch_map(lines)) == expected  # KeyCounts: each word (word, 1)
    assert Counter(w for line in lines for w, _ in word_count_map(line)) == expected


def test_a_failing_batch_is_retried_line_by_line(tmp_path):
    path = tmp_path / "in.txt"
    lines = [f"word{i % 7} line {i}" if i % 1000 != 500 else f"boom {i}" for i in range(5000)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "failed", max_bad_records=10, split_size_mb=1)
    assert not ok, "a ValueError is a bug, not a bad record, unless skip_exceptions names it"
    assert result.failures == {"batch map 0/1": f"map_function raised ValueError: boom in batch ({path}:501)"}
    ok, result = run([path], tmp_path / "out", max_bad_records=10, split_size_mb=1, skip_exceptions=["ValueError"])
    assert ok, result.failures
    good = Counter(w for line in lines if "boom" not in line for w in WORD.findall(line))
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == good
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert sorted(r["line"] for r in bad) == [i + 1 for i, line in enumerate(lines) if "boom" in line]


def test_a_batch_map_returning_non_pairs_is_a_clear_error(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a\nb\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_not_pairs)
    assert not ok
    (failure,) = result.failures.values()
    try:  # what unpacking such an item raises, found here rather than written down
        key, value = 2
    except TypeError as exc:
        expected = f"{type(exc).__name__}: {exc}"
    assert f"must return (key, value) pairs: {expected} (lines from {path} at byte 0)" in failure, failure


def test_a_batch_maps_in_mapper_combining_calls_the_combiner_with_each_key(tmp_path):
    """A word seen 64+ times in one block is folded in the map; the combiner gets its key each time."""
    path = tmp_path / "in.txt"
    path.write_text("hot cold\n" * 500 + "hot\n" * 100)
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_split_words, combine_function=jobs.keyed_total)
    assert ok, result.failures
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"hot": 600, "cold": 500})


def test_counters_of_a_failed_batch_are_not_counted_twice(tmp_path):
    path = tmp_path / "in.txt"
    lines = [f"w{i % 5} line" if i % 700 != 350 else "boom" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.counting_batch_map_failing_on_boom, max_bad_records=10,
                     split_size_mb=1)
    assert ok, result.failures
    counters = result.manifest["counters"]
    assert counters["calls"]["lines"] == len(lines), "each line counted once, failed batches included"
    assert counters["bad_records"] == {"boom": lines.count("boom")}


@pytest.mark.parametrize("combiner", [jobs.total, None], ids=["combiner", "no_combiner"])
def test_a_batch_map_with_a_hot_key_counts_every_pair_and_spills_within_its_budget(tmp_path, combiner):
    """One key on every line (folded 64 values at a time with a combiner), many others: exact counters, several spills."""
    path = tmp_path / "in.txt"
    lines = [f"the w{i % 5000} the x{i}" for i in range(40_000)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_split_words, combine_function=combiner,
                     map_memory_mb=0.2, split_size_mb=2, num_reduce_tasks=2)
    assert ok, result.failures
    words = Counter(w for line in lines for w in line.split())
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == words
    totals = result.manifest["counters"]["mr_luigi"]
    assert totals["input_records"] == 40_000 and totals["map_output_records"] == sum(words.values())
    assert totals["spills"] > 2 * result.manifest["task_counts"]["map"], "the 0.2 MB budget makes each map spill"


def test_a_batch_map_key_that_cannot_be_a_key_fails_naming_the_lines(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a\nb\nnan\nc\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_nan_key_map, combine_function=None)
    assert not ok
    (failure,) = result.failures.values()
    assert "NaN is not equal to itself" in failure and f"(emitted by map_function for lines from {path} at byte 0)" in failure


def test_undecodable_lines_in_a_batch_map_are_strict_by_default_and_counted_when_replaced(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"".join(b"caf\xe9 %d\n" % i if i == 2500 else b"word %d\n" % i for i in range(1, 3001)))
    ok, result = run([path], tmp_path / "strict", map_function=jobs.batch_split_words, max_bad_records=0)
    assert not ok
    (failure,) = result.failures.values()
    assert f"{path}:2500" in failure, failure
    ok, result = run([path], tmp_path / "replaced", map_function=jobs.batch_split_words, decode_errors="replace")
    assert ok, result.failures
    assert result.manifest["counters"]["mr_luigi"]["input_records"] == 3000
    assert result.manifest["decode_errors"]["lines"] == 1
    assert counts_from_output(tmp_path / "replaced" / "final_output.txt")["caf\ufffd"] == 1


def test_a_batch_map_that_is_a_generator_and_raises_part_way_maps_that_batch_line_by_line(tmp_path):
    """The pairs a generator gave before it raised are not kept: the whole batch is mapped again, one line at a time."""
    path = tmp_path / "in.txt"
    lines = [f"good w{i % 50}" if i % 700 else f"BAD {i}" for i in range(1, 5001)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_strict_generator, max_bad_records=100)
    assert ok, result.failures
    expected = Counter(w for line in lines if not line.startswith("BAD") for w in line.lower().split())
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert sorted(r["line"] for r in bad) == [n for n in range(1, 5001) if n % 700 == 0]


def test_bad_lines_of_a_batch_map_in_splits_that_start_mid_file_have_their_file_line(tmp_path):
    path = tmp_path / "in.txt"
    lines = [f"good {i}" if i % 700 else f"BAD {i}" for i in range(1, 5001)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.batch_strict_map, combine_function=None,
                     max_bad_records=100, split_size_mb=0.005)
    assert ok, result.failures
    assert result.manifest["task_counts"]["map"] > 3
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert sorted(r["line"] for r in bad) == [n for n in range(1, 5001) if n % 700 == 0]
    assert result.manifest["counters"]["mr_luigi"]["input_records"] == 5000


@pytest.mark.parametrize("function", [jobs.bare_word_for_bad, jobs.batch_strict_map])
def test_a_line_failing_the_job_in_a_split_that_starts_mid_file_is_named_by_its_file_line(tmp_path, function):
    """The error names the line's number in its file, not in its split: counted from the start of the file."""
    path = tmp_path / "in.txt"
    lines = [f"good {i}" for i in range(1, 5001)]
    lines[4199] = "BAD 4200"
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=function, combine_function=None, max_bad_records=0,
                     split_size_mb=0.005)
    assert not ok and result.manifest is None
    failure = result.describe_failure()
    assert int(re.search(r"batch map (\d+)/\d+", failure)[1]) > 0, failure  # one file: a later map's split starts mid-file
    assert f"{path}:4200" in failure and f"{path}:4200" == re.search(rf"{re.escape(str(path))}:\d+", failure)[0], failure


# -- map_with_record: where each line came from ---------------------------------------------------------------


def _positions(path: Path) -> dict[str, list]:
    """Independently: every line of a file as path:line -> [byte offset, text] (BOM dropped, CR LF or LF ends)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    found, offset = {}, 0
    pieces = data.split(b"\n")
    for number, raw in enumerate(pieces, 1):
        if number == len(pieces) and raw == b"":
            break
        text = raw[:-1] if raw.endswith(b"\r") else raw
        if number == 1 and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:]
        found[f"{path}:{number}"] = [offset, text.decode("utf-8")]
        offset += len(raw) + 1
    return found


@pytest.mark.parametrize("combiner", [jobs.the_only_value, None])
def test_a_map_with_record_gets_each_lines_file_line_and_offset(tmp_path, combiner):
    """Splits that start mid-file, small files packed together, a .gz file, CRLF, a BOM, non-ASCII, an empty file."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [f"line {n} caf\u00e9 {'x' * (n % 37)}" for n in range(1, 3001)]
    (folder / "big.txt").write_bytes(b"\xef\xbb\xbf" + "".join(r + ("\r\n" if n % 5 == 0 else "\n") for n, r in enumerate(rows)).encode())
    for i in range(40):
        (folder / f"small{i:02d}.txt").write_text("".join(f"s{i} {j}\n" for j in range(i % 4)) + (f"s{i} last" if i % 3 else ""))
    with gzip.open(folder / "packed.txt.gz", "wt") as fh:
        fh.write("".join(f"gz {n}\n" for n in range(500)))
    (folder / "empty.txt").write_text("")
    expected = {}
    for path in sorted(folder.iterdir()):
        expected.update(_positions(path))
    ok, result = run([folder], tmp_path / "out", map_function=jobs.where_map, reduce_function=jobs.the_only_value,
                     combine_function=combiner, split_size_mb=0.01)
    assert ok, result.failures
    assert result.manifest["task_counts"]["map"] > 5, "splits start mid-file"
    got = dict(read_output(tmp_path / "out" / "final_output.txt"))
    assert got == expected


def test_a_count_of_lines_per_file_from_the_record(tmp_path):
    paths = []
    for i, lines in enumerate([0, 1, 7, 2500]):
        path = tmp_path / f"f{i}.txt"
        path.write_text("".join(f"{i} {n}\n" for n in range(lines)))
        paths.append(path)
    ok, result = run(paths, tmp_path / "out", map_function=jobs.lines_per_file_map, split_size_mb=0.005)
    assert ok, result.failures
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == {str(p): n for p, n in zip(paths, [0, 1, 7, 2500]) if n}


def test_a_map_cannot_be_both_a_batch_map_and_a_map_with_record(tmp_path):
    from mr_luigi import ConfigError, batch_map, map_with_record
    from mr_luigi.engine.config import validate

    both = batch_map(map_with_record(lambda lines, record: []))
    (tmp_path / "in.txt").write_text("a\n")
    config = JobConfig(job_name="both", map_function=both, reduce_function=jobs.total, input_files=[str(tmp_path / "in.txt")],
                       output_dir=str(tmp_path / "out"))
    with pytest.raises(ConfigError) as raised:
        validate(config)
    assert str(raised.value) == ("map_function: a function cannot be both a batch_map and a map_with_record: each says what "
                                 "the map is called with (a list of lines, a line and its record, a file's path); use one "
                                 "of them")


# -- BatchResult: a batch map names its bad lines and keeps the rest ---------------------------------------------


def _lines_at(path: Path) -> dict[int, int]:
    """Independently: each line's number -> its byte offset in the file."""
    offsets, offset = {}, 0
    for number, raw in enumerate(path.read_bytes().split(b"\n")[:-1], 1):
        offsets[number] = offset
        offset += len(raw) + 1
    return offsets


def test_bad_lines_named_in_a_batch_result_are_quarantined_where_they_are_and_the_batch_counts(tmp_path):
    path = tmp_path / "in.txt"
    # bad: the first line (a block's first: its offset is the block's) and every 97th
    lines = [f"alpha beta {'x' * (i % 50)}" if i % 97 and i > 1 else f"bad {i} line" for i in range(1, 6001)]
    path.write_text("\n".join(lines) + "\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.words_rejecting_digits, combine_function="sum",
                     reduce_function="sum", max_bad_records=100, split_size_mb=0.05)
    assert ok, result.failures
    assert result.manifest["task_counts"]["map"] > 2  # splits that start mid-file among them
    good = [line for line in lines if not any(ch.isdigit() for ch in line)]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter(w for line in good for w in reference_words(line))
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    offsets = _lines_at(path)
    assert sorted((r["line"], r["offset"], r["raw"]) for r in bad) == [
        (n, offsets[n], lines[n - 1]) for n in range(1, 6001) if n % 97 == 0 or n == 1]
    assert {r["reason"] for r in bad} == {"has_digit"}
    counters = result.manifest["counters"]
    assert counters["calls"]["lines seen"] == 6000  # each line once: no batch was mapped again line by line
    assert "single lines" not in counters["calls"]
    assert counters["mr_luigi"]["input_records"] == 6000
    assert result.manifest["totals"]["bad_records"] == 6000 // 97 + 1


def test_an_exception_named_in_a_batch_result_fails_the_task_unless_skipped(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("one two\nraise 7 here\nthree\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.words_rejecting_digits, combine_function=None)
    assert not ok
    failure = result.describe_failure()
    assert "ValueError: digit in 'raise 7 here'" in failure and f"{path}:2" in failure, failure
    ok, result = run([path], tmp_path / "out2", map_function=jobs.words_rejecting_digits, combine_function=None,
                     skip_exceptions=["ValueError"], max_bad_records=1)
    assert ok, result.failures
    assert counts_from_output(tmp_path / "out2" / "final_output.txt") == Counter({"one": 1, "two": 1, "three": 1})


def test_a_batch_result_naming_a_line_the_batch_does_not_have_is_a_clear_error(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a\nb\n")
    ok, result = run([path], tmp_path / "out", map_function=jobs.bad_line_out_of_range, combine_function=None)
    assert not ok
    assert re.search(r"returned a BatchResult whose bad_lines maps 2 to .*: expected a line's index in the batch "
                     rf"\(0 to 1\) and an exception such as BadRecord \(lines from {re.escape(str(path))} at byte 0\)",
                     result.describe_failure()), result.describe_failure()


def test_a_map_only_batch_map_is_called_once_per_block_and_its_bad_lines_are_kept(tmp_path):
    path = tmp_path / "in.txt"
    # bad: the first line (a block's first: its offset is the block's) and every 97th
    lines = [f"alpha beta {'x' * (i % 50)}" if i % 97 and i > 1 else f"bad {i} line" for i in range(1, 6001)]
    path.write_text("\n".join(lines) + "\n")  # about 200 KB in one split: several 64 KiB blocks
    ok, result = run([path], tmp_path / "out", map_function=jobs.words_rejecting_digits, combine_function=None,
                     reduce_function=None, num_reduce_tasks=0, max_bad_records=100, split_size_mb=1)
    assert ok, result.failures
    good = [line for line in lines if not any(ch.isdigit() for ch in line)]
    expected = [(w, 1) for line in good for w in reference_words(line)]
    assert list(read_output(tmp_path / "out" / "final_output.txt")) == expected
    counters = result.manifest["counters"]
    assert counters["calls"]["lines seen"] == 6000 and "single lines" not in counters["calls"]
    totals = result.manifest["totals"]
    assert totals["map_output_records"] == totals["output_records"] == len(expected)
    assert totals["input_records"] == 6000 and totals["bad_records"] == 6000 // 97 + 1
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    offsets = _lines_at(path)
    assert sorted((r["line"], r["offset"]) for r in bad) == [(n, offsets[n]) for n in range(1, 6001) if n % 97 == 0 or n == 1]


@pytest.mark.parametrize("map_only", [False, True], ids=["with a reduce", "map-only"])
def test_a_batch_mapped_again_line_by_line_keeps_the_bad_lines_its_result_names(tmp_path, map_only):
    path = tmp_path / "in.txt"
    lines = [f"alpha boom {i}" if i % 50 == 0 else f"beta gamma{'' if i % 7 else ' 7'}" for i in range(1, 1001)]
    path.write_text("\n".join(lines) + "\n")
    shape = dict(reduce_function=None, num_reduce_tasks=0) if map_only else {}
    ok, result = run([path], tmp_path / "out", map_function=jobs.words_rejecting_digits_failing_on_boom,
                     combine_function=None, max_bad_records=1000, **shape)
    assert ok, result.failures
    good = [line for line in lines if not any(ch.isdigit() for ch in line)]
    got = Counter()
    for word, count in read_output(tmp_path / "out" / "final_output.txt"):  # one line per pair when map-only
        got[word] += count
    assert got == Counter(w for line in good for w in reference_words(line))
    bad = [json.loads(line) for p in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in p.read_text().splitlines()]
    offsets = _lines_at(path)
    assert sorted((r["line"], r["offset"], r["raw"]) for r in bad) == [
        (n, offsets[n], lines[n - 1]) for n in range(1, 1001) if any(ch.isdigit() for ch in lines[n - 1])]
    assert result.manifest["counters"]["calls"]["single lines"] >= 1000  # the batch failed: each line went alone
