"""The shuffle: a partition's runs read whole and sorted when they fit in memory, merged by a heap otherwise, alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler, read_output
from mr_luigi.engine.phases import shuffle


def word_at_line(line):
    """Each word with where it was: values whose order shows in the output."""
    number, text = line.split(":", 1)
    for position, word in enumerate(text.split()):
        yield word, f"{number}.{position}"


def joined(key, values):
    """Order-sensitive: the values in the order they arrive (also the combiner)."""
    return ",".join(values)


def write_lines(path: Path, count: int) -> list[tuple[int, list[str]]]:
    words = [f"w{i % 37}" for i in range(11)]
    lines = [(n, [words[(n * 7 + k) % len(words)] + ("" if k % 3 else "x") for k in range(n % 9)]) for n in range(count)]
    path.write_text("".join(f"{n}:{' '.join(ws)}\n" for n, ws in lines), encoding="utf-8")
    return lines


def run(src: Path, out: Path, **changes) -> dict:
    values = dict(job_name="shuffle_test", map_function=word_at_line, reduce_function=joined, input_files=[str(src)],
                  output_dir=str(out), num_reduce_tasks=3, max_retries=0, split_size_mb=0.004)
    values.update(changes)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(JobConfig(**values)), scheduler.last_result.failures
    return json.loads((out / "_SUCCESS").read_text())


def shuffles(manifest: dict) -> list[dict]:
    return [t for t in manifest["tasks"] if t["phase"] == "shuffle"]


@pytest.mark.parametrize("changes", [{}, {"combine_function": joined}, {"sort_values": True}],
                         ids=["no combiner", "order-sensitive combiner", "sort_values"])
def test_in_memory_and_merged_shuffles_give_the_same_values_in_the_same_order(tmp_path, monkeypatch, changes):
    src = tmp_path / "in.txt"
    lines = write_lines(src, 2000)
    in_memory = run(src, tmp_path / "in_memory", **changes)
    monkeypatch.setattr(shuffle, "_fits_in_memory", lambda pieces, memory_mb: False)
    merged = run(src, tmp_path / "merged", **changes)
    assert [t["merged_in_memory"] for t in shuffles(in_memory)] == [True] * 3
    assert [t["merged_in_memory"] for t in shuffles(merged)] == [False] * 3
    assert min(t["map_pieces"] for t in shuffles(in_memory)) > 5  # many maps' runs per partition
    result = (tmp_path / "in_memory" / "final_output.txt").read_bytes()
    assert result == (tmp_path / "merged" / "final_output.txt").read_bytes()
    # the independent expectation: values in input order (maps in split order, lines in order), or sorted
    expected: dict[str, list[str]] = {}
    for n, words in lines:
        for position, word in enumerate(words):
            expected.setdefault(word, []).append(f"{n}.{position}")
    if changes.get("sort_values"):
        expected = {word: sorted(values) for word, values in expected.items()}
    assert dict(read_output(tmp_path / "in_memory" / "final_output.txt")) == {w: ",".join(v) for w, v in expected.items()}
    if "combine_function" in changes:  # combined in the shuffle too: one record per word leaves it
        for manifest in (in_memory, merged):
            assert sum(t["shuffle_output_records"] for t in shuffles(manifest)) == len(expected)


def test_a_partition_over_half_the_budget_is_merged_not_read_whole(tmp_path):
    src = tmp_path / "in.txt"
    write_lines(src, 2000)
    manifest = run(src, tmp_path / "out", map_memory_mb=0.05)
    assert [t["merged_in_memory"] for t in shuffles(manifest)] == [False] * 3


def test_pieces_are_read_whole_up_to_half_the_budget_at_sixteen_bytes_in_memory_per_byte(tmp_path):
    run_file = tmp_path / "run"
    run_file.write_bytes(b"x" * 5000)
    budget_mb = 4096 * 16 * 2 / (1 << 20)  # half of it: 4,096 bytes of pickled records, 16 in memory each
    assert shuffle._fits_in_memory([(run_file, 0, 4096)], budget_mb)
    assert shuffle._fits_in_memory([(run_file, 1000, 3000), (run_file, 4904, None)], budget_mb)  # 2,000 + 96
    assert not shuffle._fits_in_memory([(run_file, 0, 4097)], budget_mb)
    assert not shuffle._fits_in_memory([(run_file, 0, 2000), (run_file, 2903, None)], budget_mb)  # 2,000 + 2,097


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
@pytest.mark.parametrize("memory_mb", [64, 0.002], ids=["sorted in memory", "merged"])
def test_keys_of_two_types_from_two_maps_fail_naming_both(tmp_path, monkeypatch, memory_mb, sealed):
    """Some maps emit str keys, others int keys, and the maps in between nothing at all (an empty piece)."""
    if sealed:  # the keys are named from the sealed runs too
        monkeypatch.setenv("MR_LUIGI_SECRET", "a secret of sixteen characters or more")
    src = tmp_path / "in.txt"
    src.write_text("".join(f"{n}:s{n}\n" for n in range(300)) + "".join(f"{n}:\n" for n in range(300))
                   + "".join(f"{n}:{n}\n" for n in range(300)))
    scheduler = MapReduceScheduler(1)
    config = JobConfig(job_name="mixed", map_function=typed_word_at_line, reduce_function=joined, input_files=[str(src)],
                       output_dir=str(tmp_path / "out"), max_retries=0, num_reduce_tasks=1, split_size_mb=0.001,
                       map_memory_mb=memory_mb)
    assert not scheduler.execute_job(config)
    (failure,) = scheduler.last_result.failures.values()
    assert re.search(r"keys '?\w+'? \((int|str)\) and '?\w+'? \((str|int)\) cannot be ordered", failure), failure
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def typed_word_at_line(line):
    """A number is an int key, anything else a str key: maps over the two halves of the file emit different types."""
    number, word = line.split(":", 1)
    if word:
        yield (int(word) if word.isdigit() else word), number


def under_none(line):
    """One key for every line, None: equal keys a merge never compares, though None < None is a TypeError."""
    number, _ = line.split(":", 1)
    yield None, number


def test_equal_keys_that_cannot_be_sorted_are_merged_in_order_instead(tmp_path):
    src = tmp_path / "in.txt"
    lines = write_lines(src, 600)
    manifest = run(src, tmp_path / "out", map_function=under_none, num_reduce_tasks=1)
    (task,) = shuffles(manifest)
    assert task["map_pieces"] >= 3 and task["merged_in_memory"] is False  # None < None: sorting them failed, so merged
    assert list(read_output(tmp_path / "out" / "final_output.txt")) == [(None, ",".join(str(n) for n, _ in lines))]


def test_a_merge_pass_seals_and_combines_its_runs_and_deletes_the_runs_it_merged(tmp_path):
    """Passes over more runs than the fan-in: each new run sealed and combined; a pass's runs go once merged again."""
    from collections import Counter

    from mr_luigi.io.records import read_run, write_run
    from mr_luigi.io.seal import Seal

    seal = Seal("test-secret-0123456789abcdef")
    maps = tmp_path / "maps"
    maps.mkdir()
    out = tmp_path / "shuffle"
    out.mkdir()
    runs = [sorted((f"k{(i * 7 + j) % 5}", 1) for j in range(40)) for i in range(5)]
    pieces = []
    for i, records in enumerate(runs):
        write_run(maps / f"run-{i}", records, seal)
        pieces.append((maps / f"run-{i}", 0, None))

    def total(key, values):
        return sum(values)

    first, written = shuffle._merge_pass(pieces, 2, total, False, out, 1, seal)
    assert written == 5 + 5  # two runs written, each holding the five keys once
    assert [p[0].name for p in first] == ["merge-001-00000", "merge-001-00001", "run-4"]  # the last one passes as it is
    for (path, _, _), group in zip(first[:2], (runs[0:2], runs[2:4])):
        expected = Counter(key for records in group for key, _ in records)  # every value is 1: a total is a count
        assert list(read_run(path, seal=seal)) == sorted(expected.items())  # one record per key: combined
        with pytest.raises(Exception):
            list(read_run(path))  # sealed: not readable as plain records
    second, written = shuffle._merge_pass(first, 2, total, False, out, 2, seal)
    assert written == 5
    assert [p[0].name for p in second] == ["merge-002-00000", "run-4"]
    assert sorted(p.name for p in out.iterdir()) == ["merge-002-00000"]  # the first pass's runs are gone
    assert sorted(p.name for p in maps.iterdir()) == [f"run-{i}" for i in range(5)]  # the maps' runs are not the shuffle's
    everything = Counter(key for records in runs[:4] for key, _ in records)
    assert list(read_run(second[0][0], seal=seal)) == sorted(everything.items())
