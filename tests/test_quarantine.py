"""Bad records: skipped, counted by reason, quarantined with file and line; limits."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler
from mr_luigi.engine.config import validate
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output

WORD = re.compile(r"[a-z0-9']+")


def make_inputs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    a = [f"good line {i} alpha" if i % 50 else f"BAD line {i}" for i in range(1, 601)]
    a[99] = "x" * 10_000 + " boom"  # a long line on which the map raises KeyError
    b = [f"other {i} beta" if i % 97 else f"BAD {i}" for i in range(1, 301)]
    paths = []
    for name, lines in (("a.txt", a), ("b.txt", b)):
        path = folder / name
        path.write_text("\r\n".join(lines) + "\r\n")
        paths.append(path)
    return paths


def expected_bad(paths: list[Path]) -> list[tuple[str, int, str]]:
    """(file, line number, reason) of every bad line, found by reading the files here."""
    bad = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("BAD"):
                bad.append((str(path), number, "unparsable_line"))
            elif "boom" in line:
                bad.append((str(path), number, "map_function raised KeyError"))
    return bad


def run(paths, out, **changes):
    values = dict(job_name="quarantine", map_function=jobs.strict_map, reduce_function=jobs.total,
                  combine_function=jobs.total, input_files=[str(p) for p in paths], output_dir=str(out),
                  num_reduce_tasks=2, max_retries=0, split_size_mb=0.004, max_bad_records=100,
                  skip_exceptions=["KeyError"])
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    return scheduler.execute_job(JobConfig(**values)), scheduler.last_result


def quarantined(out: Path) -> list[dict]:
    return quarantined_in(out / "_bad_records")


def quarantined_in(folder: Path) -> list[dict]:
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def test_bad_records_are_skipped_counted_and_quarantined_with_their_line(tmp_path):
    paths = make_inputs(tmp_path)
    ok, result = run(paths, tmp_path / "out")
    assert ok, result.failures
    expected = expected_bad(paths)
    good = Counter()
    bad_lines = {(f, n) for f, n, _ in expected}
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (str(path), number) not in bad_lines:
                good.update(WORD.findall(line.lower()))
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == good

    records = quarantined(tmp_path / "out")
    assert sorted((r["file"], r["line"], r["reason"]) for r in records) == sorted(expected)
    assert result.manifest["counters"]["bad_records"] == dict(Counter(reason for _, _, reason in expected))
    assert result.manifest["bad_records"]["total"] == len(expected)
    long = next(r for r in records if r["reason"] == "map_function raised KeyError")
    assert long["raw_truncated"] and len(long["raw"]) == 4096 and long["error"] == "'boom'"
    sample = next(r for r in records if r["reason"] == "unparsable_line")
    assert sample["raw"].startswith("BAD") and sample["error"] == "line starts with BAD"
    assert result.manifest["task_counts"]["map"] > 2, "line numbers must be right in splits that start mid-file"


def test_a_count_limit_fails_the_job_naming_counts_and_folder(tmp_path):
    paths = make_inputs(tmp_path)
    ok, result = run(paths, tmp_path / "out", max_bad_records=5, split_size_mb=1)
    assert not ok
    message = " ".join(result.failures.values())
    assert "too many bad records" in message and "max_bad_records = 5" in message
    (kept,) = (tmp_path / "out" / "_work").glob("*/bad_records")
    assert f"They are in {kept}/" in message
    assert len(quarantined_in(kept)) >= 6, "what was found is kept for a person to read"
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    assert not (tmp_path / "out" / "_bad_records").exists(), "a failed job publishes nothing"


def test_a_fraction_limit_is_checked_over_the_whole_job(tmp_path):
    paths = make_inputs(tmp_path)
    total_bad = len(expected_bad(paths))
    ok, result = run(paths, tmp_path / "under", max_bad_records=(total_bad + 1) / 900)
    assert ok, result.failures
    ok, result = run(paths, tmp_path / "over", max_bad_records=(total_bad - 1) / 900)
    assert not ok
    message = " ".join(result.failures.values())
    assert f"too many bad records: {total_bad} of 900 input records" in message
    assert "unparsable_line" in message


def test_a_limit_of_zero_fails_on_the_first_bad_record_with_file_and_line(tmp_path):
    paths = make_inputs(tmp_path)
    ok, result = run(paths, tmp_path / "out", max_bad_records=0, split_size_mb=1)
    assert not ok
    message = " ".join(result.failures.values())
    first_bad = {f: n for f, n, _ in reversed(expected_bad(paths))}
    assert re.search(rf"{re.escape(str(paths[0]))}:{first_bad[str(paths[0])]}\b", message) or \
        re.search(rf"{re.escape(str(paths[1]))}:{first_bad[str(paths[1])]}\b", message), message


@pytest.mark.parametrize("value", [1.5, -1, "10", True])
def test_max_bad_records_must_be_a_count_or_a_fraction(tmp_path, value):
    path = tmp_path / "in.txt"
    path.write_text("a\n")
    config = JobConfig(job_name="j", map_function=jobs.count_words, reduce_function=jobs.total,
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), max_bad_records=value)
    with pytest.raises(ConfigError, match="max_bad_records"):
        validate(config)


def test_a_stricter_limit_is_a_new_job_not_an_old_success(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("good words\n" * 1000 + "BAD line\n")
    lenient, result = run([path], tmp_path / "out", max_bad_records=0.01, split_size_mb=1)
    assert lenient, result.failures
    before = (tmp_path / "out" / "final_output.txt").read_bytes()
    strict, result = run([path], tmp_path / "out", max_bad_records=0, split_size_mb=1)
    assert not strict
    assert re.search(r"bad record at .*in\.txt:1001: unparsable_line", " ".join(result.failures.values()))
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == before, "the lenient run's results stay as they were"


def test_the_limit_is_exclusive_a_count_at_the_limit_passes(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("good words\n" * 97 + "BAD line\n" * 3)
    assert run([path], tmp_path / "at_count", max_bad_records=3, split_size_mb=1)[0]
    assert not run([path], tmp_path / "over_count", max_bad_records=2, split_size_mb=1)[0]
    assert run([path], tmp_path / "at_share", max_bad_records=0.03, split_size_mb=1)[0]
    assert not run([path], tmp_path / "over_share", max_bad_records=0.029, split_size_mb=1)[0]


def test_the_limit_counts_the_bad_records_of_every_map_and_reduce_together(tmp_path):
    """One bad line in each of three maps and one skipped key in a reduce: four in all, each task well under the limit."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text("apple pear\n" * 50 + "BAD line\n")
    paths = sorted(folder.iterdir())

    def go(out: str, limit: int):
        return run(paths, tmp_path / out, reduce_function=jobs.skip_key_reduce, combine_function=None,
                   max_bad_records=limit, split_size_mb=0.0005)

    ok, result = go("at_limit", 4)
    assert ok, result.failures
    assert result.manifest["task_counts"]["map"] >= 3
    assert result.manifest["bad_records"]["total"] == 4
    assert counts_from_output(tmp_path / "at_limit" / "final_output.txt") == {"apple": 150}
    ok, result = go("over_limit", 3)
    assert not ok
    message = " ".join(result.failures.values())
    assert "too many bad records: 4" in message and "unwanted_key: 1" in message and "unparsable_line: 3" in message
    assert not (tmp_path / "over_limit" / "_SUCCESS").exists()


def test_the_too_many_message_lists_reasons_by_count_then_name():
    from mr_luigi.engine.quarantine import BadRecordLimit, too_many_message

    counts = {"b_reason": 2, "a_reason": 2, "c_reason": 1_500}
    assert too_many_message(counts, None, BadRecordLimit(count=3), Path("/q")) == (
        "too many bad records: 1,504, over max_bad_records = 3; by reason: c_reason: 1,500, a_reason: 2, b_reason: 2. "
        "They are in /q/; fix the input or the parser, or raise max_bad_records")
    assert too_many_message({"x": 3}, 12_000, BadRecordLimit(fraction=0.0001), Path("/q")).startswith(
        "too many bad records: 3 of 12,000 input records (0.03%), over max_bad_records = 0.0001 (0.01% of input records); ")
    assert str(BadRecordLimit(fraction=0.0)) == "max_bad_records = 0.0 (0% of input records)"


def test_a_bad_line_is_kept_whole_up_to_the_limit_and_cut_past_it():
    from mr_luigi.engine.quarantine import raw_fields

    assert raw_fields("x" * 4096) == {"raw": "x" * 4096, "raw_truncated": False}
    assert raw_fields("x" * 4097) == {"raw": "x" * 4096, "raw_truncated": True}


def test_a_bad_record_reads_as_its_reason_and_detail():
    from mr_luigi import BadRecord

    assert str(BadRecord("unparsable_line", "no tab")) == "unparsable_line: no tab"
    assert str(BadRecord("unparsable_line")) == "unparsable_line"
    assert (BadRecord("r", "d").reason, BadRecord("r", "d").detail) == ("r", "d")


def test_a_share_of_zero_fails_on_one_bad_record_and_a_share_counts_from_one():
    from mr_luigi.engine.quarantine import BadRecordLimit

    assert BadRecordLimit(fraction=0.0).exceeded(1, 100)
    assert BadRecordLimit(fraction=0.001).exceeded(1, 100)  # 1 > 0.1
    assert not BadRecordLimit(fraction=0.01).exceeded(1, 100)  # 1 is not over 1.0
    assert not BadRecordLimit(fraction=0.5).exceeded(0, 0)


def test_bad_lines_are_kept_as_readable_utf8_whatever_their_characters(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("good line\nBAD café ✓ 東京\n", encoding="utf-8")
    ok, _ = run([path], tmp_path / "out", split_size_mb=1)
    assert ok
    (kept,) = (tmp_path / "out" / "_bad_records").glob("*.jsonl")
    assert "BAD café ✓ 東京" in kept.read_text(encoding="utf-8"), "written as the characters, not \\u escapes"


def test_with_no_bad_records_allowed_the_first_fails_the_job_with_its_place_reason_and_detail(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join("good words here\n" for _ in range(3000)) + "BAD line\n")
    ok, result = run([path], tmp_path / "out", max_bad_records=0, split_size_mb=0.01)
    assert not ok
    (failure,) = result.failures.values()
    assert failure.endswith(f"bad record at {path}:3001: unparsable_line: line starts with BAD (max_bad_records = 0 fails on "
                            "the first one; raise it to skip bad records)"), failure


def test_a_bug_in_a_split_that_starts_mid_file_names_the_files_own_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"line {i} fine\n" if i != 2345 else "line boom\n" for i in range(1, 3001)))
    ok, result = run([path], tmp_path / "out", max_bad_records=0, split_size_mb=0.01, skip_exceptions=[])
    assert not ok
    (failure,) = result.failures.values()
    assert failure == f"map_function raised KeyError: 'boom' ({path}:2345)", failure


def test_an_invalid_key_in_a_split_that_starts_mid_file_names_the_files_own_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"line {i}\n" if i != 2345 else "once again\n" for i in range(1, 3001)))
    ok, result = run([path], tmp_path / "out", map_function=jobs.nan_key_map, combine_function=None, max_bad_records=0,
                     split_size_mb=0.01)
    assert not ok
    (failure,) = result.failures.values()
    assert failure.endswith(f"(emitted by map_function for {path}:2345)"), failure


def test_a_bad_record_without_detail_fails_a_zero_limit_naming_only_its_reason(tmp_path):
    from mr_luigi.engine.quarantine import BadRecordLimit, Quarantine
    from mr_luigi.errors import RecordError

    quarantine = Quarantine(tmp_path, "map", 0, BadRecordLimit.from_config(0))
    with pytest.raises(RecordError) as error:
        quarantine.add("in.txt:7", "empty_line", "", {"line": 7})
    assert str(error.value) == ("bad record at in.txt:7: empty_line (max_bad_records = 0 fails on the first one; raise it "
                                "to skip bad records)")


def test_a_limit_passed_only_by_all_maps_together_fails_the_job_naming_the_folder(tmp_path):
    """Three bad lines in each of two files, a limit of 5: each map is within it, the job is not, and the
    check that adds the maps' counts names where the six are kept."""
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for name in ("a.txt", "b.txt"):
        path = folder / name
        path.write_text("".join(f"BAD {i}\n" if i % 10 == 0 else f"good {i}\n" for i in range(1, 31)))
        paths.append(path)
    ok, result = run(paths, tmp_path / "out", max_bad_records=5, split_size_mb=0.0002)
    assert not ok
    message = " ".join(result.failures.values())
    (kept,) = (tmp_path / "out" / "_work").glob("*/bad_records")
    assert re.search(rf"too many bad records: 6 of 60 input records \(10\.00%\), over max_bad_records = 5; "
                     rf"by reason: \w+: 6\. They are in {re.escape(str(kept))}/", message), message
    assert len(quarantined_in(kept)) == 6


def test_a_stray_bad_records_folder_in_the_output_is_replaced_by_the_jobs_own(tmp_path):
    """A _bad_records folder no job's manifest or journal accounts for (copied there, or left by an older
    version) must not be reported as this job's bad records."""
    stray = tmp_path / "out" / "_bad_records"
    stray.mkdir(parents=True)
    (stray / "map-00000.jsonl").write_text(json.dumps({"reason": "stale", "line": 7}) + "\n")
    path = tmp_path / "in.txt"
    path.write_text("good words\n" * 10)
    ok, result = run([path], tmp_path / "out", split_size_mb=1)
    assert ok, result.failures
    assert not stray.exists()
    stray.mkdir()
    (stray / "map-00000.jsonl").write_text(json.dumps({"reason": "stale", "line": 7}) + "\n")
    path.write_text("good words\n" * 10 + "BAD line\n")
    ok, result = run([path], tmp_path / "out", split_size_mb=1)
    assert ok, result.failures
    assert [(r["reason"], r["line"]) for r in quarantined(tmp_path / "out")] == [("unparsable_line", 11)]
