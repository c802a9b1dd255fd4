"""Per-task hooks (mr_luigi/engine/hooks.py): init before a task's first record, final after its last.

The jobs keep their state in module globals (tests/jobs_for_tests.py), and
Luigi runs several tasks one after another in one process here, so a hook
not called once per task shows as double counts. Expectations come from
``collections.Counter`` over the inputs (tests/conftest.reference_word_count).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler
from mr_luigi.engine.plan import make_plan
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, read_tsv, reference_word_count

LINES = ["the cat sat on the mat", "Der Hund läuft; the dog runs", "東京 is big, the city", "", "a b c a b a"]


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i in range(4):  # four files of ~40 lines: four map tasks with small splits
        path = folder / f"part{i}.txt"
        path.write_text("\n".join(LINES[(i + j) % len(LINES)] for j in range(40)) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def config(inputs: list[Path], tmp_path: Path, **fields) -> JobConfig:
    base = dict(job_name="hooks", map_function=jobs.count_words, reduce_function=jobs.total,
                input_files=[str(p) for p in inputs], output_dir=str(tmp_path / "out"), num_reduce_tasks=2,
                split_size_mb=0.0005, max_retries=0)
    base.update(fields)
    return JobConfig(**base)


def run(job: JobConfig) -> MapReduceScheduler:
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    return scheduler


def test_map_final_emits_the_in_mapper_totals_once_per_task(inputs, tmp_path):
    job = config(inputs, tmp_path, map_function=jobs.in_mapper_count, map_init=jobs.in_mapper_init,
                 map_final=jobs.in_mapper_final, combine_function=jobs.total)
    assert make_plan(job).num_maps >= 3
    run(job)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)


def test_without_map_init_the_state_of_one_task_leaks_into_the_next(inputs, tmp_path):
    """The check above can fail: the same job without its init hook counts words twice."""
    jobs.in_mapper_init()
    job = config(inputs, tmp_path, map_function=jobs.in_mapper_count, map_final=jobs.in_mapper_final)
    run(job)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") != reference_word_count(inputs)


def test_reduce_final_lines_come_after_each_partitions_lines(inputs, tmp_path):
    job = config(inputs, tmp_path, reduce_function=jobs.total_counting_keys, reduce_init=jobs.reduced_keys_init,
                 reduce_final=jobs.reduced_keys_final)
    manifest = run(job).last_result.manifest
    totals = manifest["totals"]
    expected = reference_word_count(inputs)
    out = tmp_path / "out"
    final = read_tsv(out / "final_output.txt")
    marker = "~keys reduced by this task"
    assert [key for key, _ in final[-2:]] == [marker, marker]
    assert Counter(dict(final[:-2])) == expected
    per_part = []
    for part in sorted(out.glob("part-*")):
        rows = read_tsv(part)
        assert rows[-1][0] == marker and all(key != marker for key, _ in rows[:-1])
        assert rows[-1][1] == len(rows) - 1  # the hook saw exactly this task's keys
        per_part.append(rows[-1][1])
    assert sum(per_part) == len(expected)
    assert totals["output_records"] == manifest["final_output_records"] == len(final)  # the hook's lines counted too
    assert totals["output_bytes"] == sum(part.stat().st_size for part in out.glob("part-*"))  # and their bytes


def test_combine_init_runs_once_in_every_task_that_combines(inputs, tmp_path, monkeypatch):
    log = tmp_path / "hook.log"
    monkeypatch.setenv("HOOK_LOG", str(log))
    job = config(inputs, tmp_path, combine_function=jobs.total, combine_init=jobs.log_combine_init)
    plan = make_plan(job)
    run(job)
    assert len(log.read_text().splitlines()) == plan.num_maps + plan.num_partitions
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)


def test_a_map_only_jobs_final_pairs_end_each_part_file(inputs, tmp_path):
    job = config(inputs, tmp_path, map_function=jobs.in_mapper_count, map_init=jobs.in_mapper_init,
                 map_final=jobs.in_mapper_final, reduce_function=None, num_reduce_tasks=0)
    plan = make_plan(job)
    manifest = run(job).last_result.manifest
    totals: Counter = Counter()
    pairs = 0
    for i in range(plan.num_maps):
        rows = read_tsv(tmp_path / "out" / f"part-{i:05d}")
        assert rows, f"map {i} wrote nothing"
        totals.update(dict(rows))
        pairs += len(rows)
    assert totals == reference_word_count(inputs)
    assert manifest["totals"]["map_output_records"] == manifest["totals"]["output_records"] == pairs


@pytest.mark.parametrize("hook, task", [("map_init", "map"), ("combine_init", "map"), ("map_final", "map"),
                                        ("reduce_init", "reduce"), ("reduce_final", "reduce")])
def test_a_failing_hook_fails_the_task_naming_the_hook_and_the_task(inputs, tmp_path, hook, task):
    """Each hook of a job with a reduce, failing in the first task that calls it (one worker runs the maps, then
    the shuffles, then the reduces, each in index order)."""
    failing = jobs.failing_final if hook.endswith("_final") else jobs.failing_init
    error = "could not flush the totals" if hook.endswith("_final") else "model file missing"
    extra = {"combine_function": jobs.total} if hook == "combine_init" else {}
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(inputs, tmp_path, **{hook: failing}, **extra))
    failures = scheduler.last_result.describe_failure()
    assert re.search(rf"{hook} raised RuntimeError: {error} \({task} \d\)", failures), failures
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_a_combine_init_failing_in_a_shuffle_fails_it_naming_the_hook_and_the_shuffle(inputs, tmp_path, monkeypatch):
    job = config(inputs, tmp_path, combine_function=jobs.total, combine_init=jobs.combine_init_failing_after_the_maps)
    monkeypatch.setenv("HOOK_LOG", str(tmp_path / "hook.log"))
    monkeypatch.setenv("HOOK_MAPS", str(make_plan(job).num_maps))
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(job)
    assert re.search(r"combine_init raised RuntimeError: no state for the merge \(shuffle [01]\)",
                     scheduler.last_result.describe_failure()), scheduler.last_result.describe_failure()
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_a_final_hook_that_yields_no_pairs_is_a_record_error(inputs, tmp_path):
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(inputs, tmp_path, reduce_final=jobs.final_not_pairs))
    assert "reduce_final must yield (key, value) tuples, got 'just a string'" in scheduler.last_result.describe_failure()


@pytest.mark.parametrize("fields, field, words", [
    ({"combine_init": jobs.log_combine_init}, "combine_init", "no combine_function"),
    ({"reduce_init": jobs.reduced_keys_init, "reduce_function": None, "num_reduce_tasks": 0}, "reduce_init", "map-only"),
    ({"reduce_final": jobs.reduced_keys_final, "named_outputs": True}, "reduce_final", "named_outputs"),
    ({"map_init": "tests.jobs_for_tests:no_such_hook"}, "map_init", "has no attribute"),
])
def test_a_hook_that_cannot_run_is_a_config_error(inputs, tmp_path, fields, field, words):
    with pytest.raises(ConfigError, match=words) as caught:
        make_plan(config(inputs, tmp_path, **fields))
    assert caught.value.field == field


def test_a_hook_is_part_of_the_job_id(inputs, tmp_path):
    plain = make_plan(config(inputs, tmp_path))
    hooked = make_plan(config(inputs, tmp_path, map_init=jobs.in_mapper_init))
    assert plain.job_id != hooked.job_id
    assert "map_init" in hooked.identity["functions"]


@pytest.mark.parametrize("hook", ["map_init", "map_final"])
def test_a_failing_hook_of_a_map_only_job_fails_it_naming_the_hook_and_the_map(inputs, tmp_path, hook):
    failing = {"map_init": jobs.failing_init, "map_final": jobs.failing_final}[hook]
    scheduler = MapReduceScheduler(1)
    job = config(inputs, tmp_path, reduce_function=None, num_reduce_tasks=0, **{hook: failing})
    assert not scheduler.execute_job(job)
    error = {"map_init": "RuntimeError: model file missing", "map_final": "RuntimeError: could not flush the totals"}[hook]
    assert f"{hook} raised {error} (map 0)" in scheduler.last_result.describe_failure()
    assert not (tmp_path / "out" / "_SUCCESS").exists()


@pytest.mark.parametrize("memory", [None, 0.001], ids=["one spill", "several spills"])
def test_map_final_pairs_join_a_batch_maps_running_sums(inputs, tmp_path, memory):
    """A batch map summed by the named "sum" (KeyCounts) keeps subtotals apart from the buffer; a map_final hook's pairs go
    to the buffer, so the last spill must merge both: counts and the pair count add up with and without the hook, also
    after earlier spills of the sums alone."""
    plain = config(inputs, tmp_path, map_function=jobs.key_counts_words, combine_function="sum", reduce_function="sum",
                   **({} if memory is None else {"map_memory_mb": memory}))
    without = run(plain).last_result.manifest["totals"]
    hooked = plain.replace(map_final=jobs.extra_totals_final, output_dir=str(tmp_path / "hooked"))
    maps = make_plan(hooked).num_maps
    assert maps >= 3
    with_hook = run(hooked).last_result.manifest["totals"]
    expected = reference_word_count(inputs) + Counter({"the": 1000 * maps, "extra-key": 5 * maps})
    assert counts_from_output(tmp_path / "hooked" / "final_output.txt") == expected
    assert with_hook["map_output_records"] == without["map_output_records"] + 2 * maps
    assert without["map_output_records"] == sum(reference_word_count(inputs).values())
    if memory is not None:
        assert with_hook["spills"] > maps, "the sums were spilled before the hook's pairs came"


@pytest.mark.parametrize("hooked", [False, True], ids=["sums alone", "sums and a map_final's pairs"])
def test_an_invalid_key_in_a_batch_maps_running_sums_fails_the_map(inputs, tmp_path, hooked):
    """The sums are checked when they are written: alone, or folded into a buffer a map_final hook filled, where only
    the keys the buffer does not hold yet are new."""
    extra = {"map_final": jobs.extra_totals_final} if hooked else {}
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(inputs[:1], tmp_path, map_function=jobs.key_counts_words_and_nan,
                                            combine_function="sum", reduce_function="sum", **extra))
    errors = list(scheduler.last_result.failures.values())
    assert errors and all(re.fullmatch(r"InvalidKey: key nan: NaN is not equal to itself, .* \(emitted by map_function, "
                                       r'a batch_map summed by combine_function = "sum"\)', e) for e in errors), errors


def test_an_invalid_key_from_map_final_fails_the_map_naming_the_hook(inputs, tmp_path):
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(config(inputs[:1], tmp_path, map_final=jobs.nan_key_final))
    errors = list(scheduler.last_result.failures.values())
    assert errors and all(re.fullmatch(r"InvalidKey: key nan: NaN is not equal to itself, .* \(emitted by map_final, map \d+\)", e)
                          for e in errors), errors
