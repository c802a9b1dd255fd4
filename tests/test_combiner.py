"""What a combiner does, checked where it does it: in each map and in each shuffle merge.

Final outputs are the same with or without a combiner, so these tests read
the per-task counters of the manifest. Every input line holds the whole
vocabulary once, so any map that reads at least one line sees every word,
and a shuffle merging the runs of several maps sees each key once per map:
skipping the combiner anywhere shows in the counts.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from tests.conftest import counts_from_output

VOCABULARY = [f"w{n}" for n in range(60)]
LINES_PER_FILE = 400


def make_inputs(folder: Path, files: int = 4) -> list[Path]:
    rng = random.Random(5)
    folder.mkdir()
    for f in range(files):
        lines = []
        for _ in range(LINES_PER_FILE):
            words = VOCABULARY[:]
            rng.shuffle(words)
            lines.append(" ".join(words))
        (folder / f"t{f}.txt").write_text("\n".join(lines) + "\n")
    return sorted(folder.iterdir())


def run(tmp_path: Path, combine: bool, **fields) -> dict:
    make_inputs(tmp_path / "in")
    config = JobConfig(job_name="combined", map_function="tests.jobs_for_tests:count_words",
                       reduce_function="tests.jobs_for_tests:total",
                       combine_function="tests.jobs_for_tests:total" if combine else None,
                       input_files=[str(tmp_path / "in")], output_dir=str(tmp_path / "out"),
                       split_size_mb=0.05, num_reduce_tasks=3, **fields)
    assert MapReduceScheduler(2).execute_job(config)
    out = tmp_path / "out"
    assert counts_from_output(out / "final_output.txt") == {w: 4 * LINES_PER_FILE for w in VOCABULARY}
    return json.loads((out / "_SUCCESS").read_text())


def tasks(manifest: dict, phase: str) -> list[dict]:
    return [t for t in manifest["tasks"] if t["phase"] == phase]


def lines_of(path: Path) -> int:
    return path.read_bytes().count(b"\n")


@pytest.mark.parametrize("memory", [None, 0.002], ids=["one_run_per_map", "several_runs_per_map"])
def test_each_map_emits_each_key_once_per_run_with_a_combiner(tmp_path, memory):
    fields = {} if memory is None else {"map_memory_mb": memory}
    manifest = run(tmp_path, combine=True, **fields)
    maps = tasks(manifest, "map")
    assert len(maps) >= 4, "several maps, so that shuffles merge runs of several"
    for task in maps:
        assert task["combine_input_records"] == task["map_output_records"] == len(VOCABULARY) * task["input_records"]
        # each run (spill) holds every key of the vocabulary once, folded
        assert task["combine_output_records"] == len(VOCABULARY) * task["spills"], task
        assert task["combine_output_records"] < task["combine_input_records"]
    if memory is not None:
        assert any(task["spills"] > 1 for task in maps), "the tiny budget should make maps spill more than once"


@pytest.mark.parametrize("fan_in", [64, 2], ids=["one_merge", "merge_passes"])
def test_each_shuffle_emits_each_of_its_keys_once_with_a_combiner(tmp_path, fan_in):
    manifest = run(tmp_path, combine=True, merge_fan_in=fan_in)
    shuffles = sorted(tasks(manifest, "shuffle"), key=lambda t: t["task"])
    assert len(shuffles) == 3
    if fan_in == 2:
        assert all(t["merge_passes"] > 0 for t in shuffles)
    for p, task in enumerate(shuffles):
        assert task["map_pieces"] > 1, "the shuffle merges the runs of several maps"
        assert task["shuffle_output_records"] == lines_of(tmp_path / "out" / f"part-{p:05d}"), task
        # every run holds every key of the partition, so each run a merge pass writes holds each of them once
        pieces, runs_written = task["map_pieces"], 0
        while pieces > fan_in:
            runs_written, pieces = runs_written + pieces // fan_in, -(-pieces // fan_in)
        assert task["merge_pass_records"] == runs_written * task["shuffle_output_records"], task
    assert sum(t["shuffle_output_records"] for t in shuffles) == len(VOCABULARY)


def test_without_a_combiner_every_pair_is_shuffled(tmp_path):
    manifest = run(tmp_path, combine=False)
    assert "combine_input_records" not in manifest["counters"]["mr_luigi"]
    total_pairs = 4 * LINES_PER_FILE * len(VOCABULARY)
    assert sum(t["map_output_records"] for t in tasks(manifest, "map")) == total_pairs
    # a map groups a key's values in each run; nothing folds the groups of different runs
    runs = sum(t["spills"] for t in tasks(manifest, "map"))
    assert runs >= 4
    assert sum(t["shuffle_output_records"] for t in tasks(manifest, "shuffle")) == len(VOCABULARY) * runs
    reduces = tasks(manifest, "reduce")
    assert sum(t["reduce_input_groups"] for t in reduces) == len(VOCABULARY)


def test_a_failing_combiner_names_the_key_cut_at_200_characters():
    from mr_luigi.errors import UserCodeError
    from mr_luigi.engine.phases.combining import checked_combiner

    def broken(key, values):
        raise ZeroDivisionError("no")

    with pytest.raises(UserCodeError) as error:
        checked_combiner(broken)("k" * 300, iter([1, 2]))
    assert str(error.value) == f"combine_function raised ZeroDivisionError: no (key '{'k' * 199}...)"
    with pytest.raises(UserCodeError) as error:
        checked_combiner(broken)("k" * 198, iter([1, 2]))  # its repr is exactly 200 characters: kept whole
    assert str(error.value) == f"combine_function raised ZeroDivisionError: no (key '{'k' * 198}')"
    with pytest.raises(UserCodeError) as error:
        checked_combiner(broken)("k" * 199, iter([1, 2]))  # 201 characters: cut
    assert str(error.value) == f"combine_function raised ZeroDivisionError: no (key '{'k' * 199}...)"


def test_a_combiner_raising_bad_record_is_told_it_cannot_skip_naming_the_key():
    from mr_luigi import BadRecord
    from mr_luigi.errors import RecordError
    from mr_luigi.engine.phases.combining import checked_combiner

    def skipping(key, values):
        raise BadRecord("odd", "a value the combiner does not like")

    with pytest.raises(RecordError) as error:
        checked_combiner(skipping)("pear", iter([1, 2]))
    assert str(error.value) == ("combine_function raised BadRecord on key 'pear': a combiner sees part of a key's values "
                                "and cannot skip them; raise BadRecord in the map or reduce function")
