"""The map loops of every kind of map (per line, with its record, a batch), with a reduce and map-only.

Each kind runs the same map on the same messy inputs: splits that start
mid-file, a line that is not UTF-8, lines that are bad records, a hot key
(longer than the in-mapper combiner's fold), CRLF and an empty file. The
expected pairs, line counts and bad lines are computed here from the input
bytes; the statistics in the manifest must say exactly what happened.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler, read_output
from tests import jobs_for_tests as jobs

KINDS = {"line": jobs.tagged_words, "record": jobs.tagged_words_with_record, "batch": jobs.tagged_words_batch,
         "batch-result": jobs.tagged_words_batch_result}


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    big = b"".join((f"hot hot hot w{n % 13} line{n}" + (" BAD" if n % 97 == 5 else "") + ("\r\n" if n % 4 else "\n")).encode()
                   for n in range(3000))
    (folder / "a.txt").write_bytes(big)
    (folder / "b.txt").write_bytes(b"caf\xe9 latin\nok line\n" + "naïve hot\n".encode())
    (folder / "c.txt").write_bytes(b"")
    return sorted(folder.iterdir())


def expected(inputs: list[Path]) -> tuple[list[tuple[str, int]], list[str], list[str], int]:
    """The pairs in input order, the bad lines (file:line) by BAD, the undecodable ones, and the line count."""
    pairs, bad, undecodable, lines = [], [], [], 0
    for path in inputs:
        for number, raw in enumerate(path.read_bytes().splitlines(), 1):
            lines += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                undecodable.append(f"{path}:{number}")
                continue
            if "BAD" in line:
                bad.append(f"{path}:{number}")
            else:
                pairs += [(word, 1) for word in line.split()]
    return pairs, bad, undecodable, lines


def run(inputs, out, kind, **changes) -> dict:
    values = dict(job_name=f"kinds-{kind}", map_function=KINDS[kind], input_files=[str(p) for p in inputs],
                  output_dir=str(out), num_reduce_tasks=0, split_size_mb=0.01, max_retries=0, max_bad_records=1000)
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(JobConfig(**values)), scheduler.last_result.describe_failure()
    return scheduler.last_result.manifest


def bad_records(out: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((out / "_bad_records").glob("*.jsonl")) for line in f.read_text().splitlines()]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_map_only_job_of_each_kind_counts_exactly_what_it_did(kind, inputs, tmp_path):
    pairs, bad, undecodable, lines = expected(inputs)
    manifest = run(inputs, tmp_path / "out", kind)
    assert manifest["task_counts"]["map"] > 2, "the big file is cut into splits that start mid-file"
    assert list(read_output(tmp_path / "out" / "final_output.txt")) == pairs
    totals = manifest["totals"]
    assert totals["input_records"] == lines
    assert totals["map_output_records"] == totals["output_records"] == len(pairs)
    assert totals["bad_records"] == len(bad) + len(undecodable)
    records = bad_records(tmp_path / "out")
    assert sorted(r["where"] if "where" in r else f"{r['file']}:{r['line']}" for r in records) == sorted(bad + undecodable)
    assert manifest["counters"]["tagged"]["lines"] == lines - len(bad) - len(undecodable)  # each good line once
    assert totals["input_bytes"] == sum(p.stat().st_size for p in inputs)
    names = sorted(f.name for f in (tmp_path / "out" / "_bad_records").iterdir())
    assert names and all(re.fullmatch(r"map-\d{5}\.jsonl", name) for name in names), names
    for task in manifest["tasks"]:  # each map's bad records in its own file, as many as it counted
        index = int(task["task"].split()[-1].split("/")[0])
        assert task["output_bytes"] == (tmp_path / "out" / f"part-{index:05d}").stat().st_size, task["task"]
        kept = tmp_path / "out" / "_bad_records" / f"map-{index:05d}.jsonl"
        assert task["bad_records"] == (len(kept.read_text().splitlines()) if kept.exists() else 0), task["task"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_map_only_job_reads_undecodable_lines_when_told(kind, inputs, tmp_path):
    manifest = run(inputs, tmp_path / "out", kind, decode_errors="replace")
    pairs, bad, undecodable, lines = expected(inputs)
    assert manifest["totals"]["bad_records"] == len(bad)
    assert manifest["decode_errors"]["lines"] == len(undecodable) == 1
    got = list(read_output(tmp_path / "out" / "final_output.txt"))
    assert ("caf\ufffd", 1) in got and len(got) == len(pairs) + 2


@pytest.mark.parametrize("combine", [True, False])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_map_of_each_kind_before_a_reduce_counts_its_pairs_and_folds(kind, combine, inputs, tmp_path):
    pairs, bad, undecodable, lines = expected(inputs)
    manifest = run(inputs, tmp_path / "out", kind, num_reduce_tasks=2, reduce_function=jobs.total,
                   combine_function=jobs.total if combine else None)
    counts = Counter()
    for word, one in pairs:
        counts[word] += one
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(counts)
    totals = manifest["totals"]
    assert totals["input_records"] == lines
    assert totals["map_output_records"] == len(pairs)
    assert totals["bad_records"] == len(bad) + len(undecodable)
    if combine:
        assert totals["combine_input_records"] == len(pairs)
        # each map folds its keys to one record per key (one spill each here)
        maps = manifest["task_counts"]["map"]
        assert len(counts) <= totals["combine_output_records"] <= min(len(counts) * maps, len(pairs) - counts["hot"] + maps)
    assert manifest["counters"]["tagged"]["lines"] == lines - len(bad) - len(undecodable)


@pytest.mark.parametrize("combine", [True, False])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_map_of_each_kind_spills_within_a_small_budget_and_keeps_its_bad_lines_where_they_are(kind, combine, inputs,
                                                                                                  tmp_path):
    pairs, bad, undecodable, lines = expected(inputs)
    combiner = jobs.keyed_total if combine else None
    manifest = run(inputs, tmp_path / "out", kind, num_reduce_tasks=2, reduce_function=jobs.keyed_total,
                   combine_function=combiner, map_memory_mb=0.02, split_size_mb=0.05)
    counts = Counter()
    for word, one in pairs:
        counts[word] += one
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == dict(counts)
    totals = manifest["totals"]
    if not kind.startswith("batch"):  # a batch map's buffer is checked once per 64 KiB block: these splits are one
        assert totals["spills"] > 2 * manifest["task_counts"]["map"], totals  # 3,000 distinct words in 20 KB
    assert totals["input_records"] == lines and totals["map_output_records"] == len(pairs)
    records = bad_records(tmp_path / "out")
    assert sorted(f"{r['file']}:{r['line']}" for r in records) == sorted(bad + undecodable)
    offsets = {}
    for path in inputs:
        offset = 0
        for number, raw in enumerate(path.read_bytes().split(b"\n"), 1):
            offsets[f"{path}:{number}"] = offset
            offset += len(raw) + 1
    assert all(r["offset"] == offsets[f"{r['file']}:{r['line']}"] for r in records), records


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_nan_key_from_a_map_of_each_kind_fails_the_job_naming_where(kind, inputs, tmp_path):
    path = inputs[0].parent / "d.txt"
    path.write_text("fine words\nthen NAN here\n")
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name=f"nan-{kind}", map_function=KINDS[kind], reduce_function=jobs.total,
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0)
    assert not scheduler.execute_job(config)
    failure = scheduler.last_result.describe_failure()
    where = f"lines from {path} at byte 0" if kind.startswith("batch") else f"{path}:2"
    assert re.search(r"key nan: NaN is not equal to itself.*" + re.escape(f"(emitted by map_function for {where})"),
                     failure), failure


def test_a_map_only_map_reports_its_progress_after_each_file_of_its_split(tmp_path):
    from mr_luigi.engine.phases.map import run_map_only
    from mr_luigi.engine.plan import make_plan

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):  # small files, packed into one split
        (folder / f"f{i}.txt").write_text("".join(f"w{n} BAD\n" if n == i else f"w{n}\n" for n in range(10 + i)))
    plan = make_plan(JobConfig(job_name="progress", map_function=jobs.tagged_words, input_files=[str(folder)],
                               output_dir=str(tmp_path / "out"), num_reduce_tasks=0, max_bad_records=10))
    assert plan.num_maps == 1
    reports = []
    out = tmp_path / "map"
    out.mkdir()
    stats = run_map_only(plan, 0, out, progress=lambda done, detail: reports.append((done, detail)))
    big = tmp_path / "big.txt"  # and a map of a split that starts mid-file: its own bytes
    big.write_text("".join(f"w{n}\n" for n in range(20000)))
    cut = make_plan(JobConfig(job_name="progress2", map_function=jobs.tagged_words, input_files=[str(big)],
                              output_dir=str(tmp_path / "out2"), num_reduce_tasks=0, split_size_mb=0.03))
    (segment,) = cut.splits[1].segments
    assert segment.start > 0
    (tmp_path / "map2").mkdir()
    middle = []
    run_map_only(cut, 1, tmp_path / "map2", progress=lambda done, detail: middle.append(done))
    assert middle == [segment.end - segment.start]
    expected, done, lines = [], 0, 0
    for i, path in enumerate(sorted(folder.iterdir())):
        done += path.stat().st_size
        lines += 10 + i
        expected.append((done, f"{lines:,} lines, {i + 1:,} bad records"))
    assert reports == expected
    assert stats["input_records"] == lines and stats["bad_records"] == 4


def test_a_corrupt_compressed_input_of_a_map_only_job_is_named(tmp_path):
    path = tmp_path / "in.txt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 this is not deflate data at all")
    scheduler = MapReduceScheduler(1)
    job = JobConfig(job_name="corrupt", map_function=jobs.tagged_words, input_files=[str(path)],
                    output_dir=str(tmp_path / "out"), num_reduce_tasks=0, max_retries=0)
    assert not scheduler.execute_job(job)
    assert f"cannot read input {str(path)!r}: " in scheduler.last_result.describe_failure()


def test_a_key_python_cannot_hash_fails_naming_the_line_without_a_hint(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("one\n")
    scheduler = MapReduceScheduler(1)
    job = JobConfig(job_name="hash", map_function=jobs.key_with_a_bad_hash, reduce_function=jobs.total,
                    input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0)
    assert not scheduler.execute_job(job)
    failure = scheduler.last_result.describe_failure()
    assert re.search(re.escape(f"map_function failed on {path}:1: TypeError: __hash__ method should return an integer")
                     + r"$", failure, re.MULTILINE), failure


@pytest.mark.parametrize("kind", ["line", "record"])
def test_a_split_of_many_small_files_is_checked_against_its_budget_in_every_file(kind, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):  # 40 files in one split, 100 new words each
        (folder / f"f{i:02d}.txt").write_text("".join(f"u{i}x{n} v{i}x{n}\n" for n in range(50)))
    manifest = run(sorted(folder.iterdir()), tmp_path / "out", kind, num_reduce_tasks=2, reduce_function=jobs.total,
                   map_memory_mb=0.05, split_size_mb=1)
    assert manifest["task_counts"]["map"] == 1
    expected = {f"{c}{i}x{n}": 1 for i in range(40) for n in range(50) for c in "uv"}
    assert dict(read_output(tmp_path / "out" / "final_output.txt")) == expected
    assert manifest["totals"]["spills"] >= 5, manifest["totals"]  # 4,000 keys in 50 KB, checked in each file
