"""Multi-step jobs with typed records (``JobConfig(steps=[Step(...), ...])``).

Each later step's map gets the records the step before reduced, with their
Python types (the test maps raise on a count that is not an ``int``); only
the last step writes text. Expectations are computed here from the input
lines with ``collections.Counter`` and sorting.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, Step, load_config
from mr_luigi.engine import plan as plan_module
from mr_luigi.engine.plan import make_plan, plan_of_task
from mr_luigi.io.records import read_run
from tests import jobs_for_tests as jobs
from tests.conftest import read_tsv, reference_word_count

LINES = ["the cat and the hat", "Zebra zoo zap, the END", "東京 the cat", "", "and so on and on", "zz top"]


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i in range(3):
        path = folder / f"t{i}.txt"
        path.write_text("\n".join(LINES[(i + j) % len(LINES)] for j in range(30 + i)) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def words_by_count(paths) -> dict[int, list[str]]:
    grouped = defaultdict(list)
    for word, count in reference_word_count(paths).items():
        grouped[count].append(word)
    return {count: sorted(words) for count, words in grouped.items()}


def two_steps(inputs, out, **fields) -> JobConfig:
    base = dict(job_name="bycount", input_files=[str(p) for p in inputs], output_dir=str(out), num_reduce_tasks=3,
                split_size_mb=0.0005, max_retries=0,
                steps=[Step(map_function=jobs.count_words, combine_function=jobs.total, reduce_function=jobs.total),
                       Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words, num_reduce_tasks=2)])
    base.update(fields)
    return JobConfig(**base)


def run(job: JobConfig, workers: int = 2) -> dict:
    scheduler = MapReduceScheduler(workers)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    return scheduler.last_result.manifest


def test_the_second_step_reads_the_first_steps_typed_records(inputs, tmp_path):
    manifest = run(two_steps(inputs, tmp_path / "out"))
    out = tmp_path / "out"
    assert dict(read_tsv(out / "final_output.txt")) == words_by_count(inputs)
    assert sorted(p.name for p in out.glob("part-*")) == ["part-00000", "part-00001"]  # the last step's partitions
    assert manifest["totals"]["input_records"] == sum(len(p.read_text().splitlines()) for p in inputs)
    assert [s["job_name"] for s in manifest["steps"]] == ["bycount.step1", "bycount"]
    assert manifest["steps"][1]["totals"]["input_records"] == len(reference_word_count(inputs))
    assert not (out / "_work").exists()  # every step's intermediates removed


def test_three_steps_with_a_step_without_map_and_a_pair_reducer(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out", steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total),
        Step(map_function=jobs.by_count, reduce_function=jobs.to_top, num_reduce_tasks=4),
        Step(reduce_function=jobs.top_three, num_reduce_tasks=1),  # no map: the records pass as they are
    ])
    run(job)
    counts = reference_word_count(inputs)
    expected = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:3]
    assert read_tsv(tmp_path / "out" / "final_output.txt") == [tuple(wc) for wc in expected]


def test_a_map_only_last_step_writes_the_records_it_maps(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out", steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total, num_reduce_tasks=2),
        Step(map_function=jobs.by_count, num_reduce_tasks=0),
    ])
    run(job)
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert Counter((count, word) for count, word in rows) == Counter((c, w) for w, c in reference_word_count(inputs).items())


def test_a_rerun_resumes_at_the_step_that_failed(inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("FAIL_ONCE_MARKER", str(tmp_path / "failed-once"))
    job = two_steps(inputs, tmp_path / "out", keep_intermediate=True, steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total),
        Step(map_function=jobs.by_count, reduce_function=jobs.fail_once_reduce, num_reduce_tasks=1),
    ])
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(job)
    assert "injected reduce failure" in scheduler.last_result.describe_failure()
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    plan_module._plans.clear()  # a new process, as a re-run is
    manifest = run(job, workers=1)
    per_task = manifest["attempts"]["per_task"]
    assert {t: n for t, n in per_task.items() if t.startswith("step1/")} and all(
        n == 1 for t, n in per_task.items() if t.startswith("step1/")), per_task
    assert per_task["step2/reduce-00000"] == 2
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == words_by_count(inputs)


def test_bad_records_of_a_later_step_are_published_with_the_step_in_their_name(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out", max_bad_records=50, steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total),
        Step(map_function=jobs.by_count_rejecting_z, reduce_function=jobs.sorted_words),
    ])
    manifest = run(job)
    counts = reference_word_count(inputs)
    rejected = sorted(w for w in counts if w.startswith("z"))
    assert rejected, "the inputs need z-words"
    files = list((tmp_path / "out" / "_bad_records").glob("*.jsonl"))
    assert files and all(f.name.startswith("step2-map-") for f in files)
    bad = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert sorted(json.loads(b["key"].replace("'", '"')) for b in bad) == rejected
    assert manifest["bad_records"]["total"] == len(rejected)
    kept = defaultdict(list)
    for word, count in counts.items():
        if not word.startswith("z"):
            kept[count].append(word)
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == {c: sorted(ws) for c, ws in kept.items()}


def test_a_task_of_any_step_is_planned_from_its_parameters(inputs, tmp_path):
    last = make_plan(two_steps(inputs, tmp_path / "out"))
    first = last.previous
    assert first is not None and first.step == (1, 2) and last.step == (2, 2)
    plan_module._plans.clear()
    rebuilt = plan_of_task(first.job_id, first.spec)
    assert rebuilt.job_id == first.job_id and rebuilt.writes_records and not rebuilt.reads_records
    assert plan_of_task(last.job_id, last.spec).reads_records


def test_a_later_steps_id_follows_the_steps_before(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out")
    other_first = two_steps(inputs, tmp_path / "out", steps=[
        Step(map_function=jobs.split_words, reduce_function=jobs.total),
        Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words, num_reduce_tasks=2)])
    assert make_plan(job).job_id != make_plan(other_first).job_id
    single = JobConfig(job_name="bycount", map_function=jobs.count_words, reduce_function=jobs.total,
                       input_files=job.input_files, output_dir=job.output_dir, num_reduce_tasks=3, split_size_mb=0.0005)
    assert make_plan(single).job_id != make_plan(two_steps(inputs, tmp_path / "out", steps=job.steps[:1])).job_id


def test_how_the_last_step_writes_its_lines_leaves_the_steps_before_as_they_were(inputs, tmp_path):
    """An earlier step's records do not depend on the job's output format or named outputs: only the last step re-runs."""
    tsv = make_plan(two_steps(inputs, tmp_path / "out"))
    for fields in ({"output_format": "jsonl"}, {"named_outputs": True}):
        other = make_plan(two_steps(inputs, tmp_path / "out", **fields))
        assert other.job_id != tsv.job_id, fields
        assert [s.job_id for s in other.steps()[:-1]] == [s.job_id for s in tsv.steps()[:-1]], fields
        assert (other.steps()[0].config.output_format, other.steps()[0].config.named_outputs) == ("tsv", False)


COUNT = "tests.jobs_for_tests:count_words"
TOTAL = "tests.jobs_for_tests:total"


@pytest.mark.parametrize("fields, message", [
    ({"map_function": COUNT}, "map_function: a job with steps gives its functions in each step: move it into a step"),
    ({"steps": [Step(reduce_function=jobs.total)]},
     "steps[0].map_function: missing: the first step's map reads the input lines"),
    ({"steps": [Step(map_function=jobs.count_words), Step(map_function=jobs.by_count, reduce_function=jobs.total)]},
     "steps[0].reduce_function: missing: every step but the last needs one (its reduced records are the next step's input)"),
    ({"steps": [{"map_function": COUNT, "reduce_function": TOTAL}, {"mapper": "tests.jobs_for_tests:by_count"}]},
     "steps[1].mapper: unknown step field (did you mean 'map_function'?)"),
    ({"steps": [{"map_function": COUNT, "reducers": TOTAL}]},
     "steps[0].reducers: unknown step field (did you mean 'reduce_init'?)"),  # difflib's nearest
    ({"steps": [{"map_function": COUNT, "zzz": 1}]},
     "steps[0].zzz: unknown step field; a step has: map_function, reduce_function, combine_function, partitioner, "
     "num_reduce_tasks, sort_values, map_init, map_final, combine_init, reduce_init, reduce_final"),
    ({"steps": [Step(map_function=jobs.count_words, reduce_function=jobs.total), 7]},
     "steps[1]: expected a Step or a table of step fields, got 7"),
    ({"steps": "not a list"}, "steps: expected a list of steps, got 'not a list'"),
    ({"steps": []}, "map_function: missing: every job needs it (or steps, each with its map)"),
])
def test_a_wrong_step_is_a_config_error_naming_it(inputs, tmp_path, fields, message):
    with pytest.raises(ConfigError) as caught:
        make_plan(two_steps(inputs, tmp_path / "out", **fields))
    assert str(caught.value) == message
    assert caught.value.field == message.split(":")[0]


def test_a_step_function_that_cannot_be_imported_is_named_with_its_step(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out", steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total),
                                                    Step(map_function="tests.jobs_for_tests:nothing_here")])
    with pytest.raises(ConfigError, match=r"^steps\[1\]\.map_function: module 'tests.jobs_for_tests' has no attribute"):
        make_plan(job)


def test_a_last_step_without_a_reduce_is_map_only_by_itself(inputs, tmp_path):
    """num_reduce_tasks left out: the job's count is for steps that reduce; a last step without a reduce has none."""
    last = make_plan(two_steps(inputs, tmp_path / "out", steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total), Step(map_function=jobs.by_count)]))
    assert last.map_only and last.previous.num_partitions == 3


def test_named_outputs_and_the_output_format_are_the_last_steps(inputs, tmp_path):
    """A first step with a pair reducer (refused with named outputs) and a last step writing (name, key) keys."""
    job = two_steps(inputs, tmp_path / "out", named_outputs=True, steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.word_total_pairs),
        Step(map_function=jobs.by_count_named, reduce_function=jobs.sorted_words, num_reduce_tasks=1)])
    run(job)
    counts = reference_word_count(inputs)
    expected = defaultdict(list)
    for word, count in counts.items():
        expected[count].append(word)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.txt")) == ["even.txt", "odd.txt"]
    odd = dict(read_tsv(tmp_path / "out" / "odd.txt"))
    assert odd == {c: sorted(ws) for c, ws in expected.items() if c % 2}


def test_steps_in_a_toml_config(inputs, tmp_path):
    path = tmp_path / "job.toml"
    path.write_text("""
job_name = "bycount"
input_files = ["in/*.txt"]
output_dir = "out"
num_reduce_tasks = 2

[[steps]]
map_function = "tests.jobs_for_tests:count_words"
reduce_function = "tests.jobs_for_tests:total"

[[steps]]
map_function = "tests.jobs_for_tests:by_count"
reduce_function = "tests.jobs_for_tests:sorted_words"
num_reduce_tasks = 1
""")
    run(load_config(path))
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == words_by_count(inputs)


def test_a_map_only_last_step_counts_and_quarantines_the_records_it_reads(inputs, tmp_path):
    job = two_steps(inputs, tmp_path / "out", max_bad_records=50, keep_intermediate=True, steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total, num_reduce_tasks=2),
        Step(map_function=jobs.by_count_rejecting_z, num_reduce_tasks=0),
    ])
    manifest = run(job)
    counts = reference_word_count(inputs)
    kept = [(c, w) for w, c in counts.items() if not w.startswith("z")]
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert sorted(rows) == sorted(kept)
    last = manifest["steps"][1]["totals"]
    assert last["input_records"] == len(counts) and last["map_output_records"] == len(kept)
    assert last["bad_records"] == len(counts) - len(kept) > 0
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("step2-map-*.jsonl")
           for line in f.read_text().splitlines()]
    assert sorted(b["key"] for b in bad) == sorted(repr(w) for w, _ in counts.items() if w.startswith("z"))
    for b in bad:  # the step before's records file, the record's number in it (from 1), its key
        assert re.fullmatch(r".*/reduce_output/part-\d{5}/records", b["file"]), b
        records = list(read_run(Path(b["file"])))
        assert repr(records[b["record"] - 1][0]) == b["key"] and repr(records[b["record"] - 1][1]) == b["raw"], b


def test_a_later_step_reads_empty_partitions_of_the_step_before(tmp_path):
    """Two distinct words over eight partitions: most of step 2's maps read an empty file, and count 0 records."""
    path = tmp_path / "in.txt"
    path.write_text("alpha beta alpha\n" * 50)
    job = JobConfig(job_name="sparse", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0, steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total, num_reduce_tasks=8),
        Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words, num_reduce_tasks=8)])
    manifest = run(job)
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == {100: ["alpha"], 50: ["beta"]}
    step2 = manifest["steps"][1]
    assert step2["task_counts"]["map"] == 8 and step2["totals"]["input_records"] == 2
    maps = [t for t in manifest["tasks"] if t["task"].startswith("sparse map ")]
    assert sorted(t["input_records"] for t in maps) == [0] * 6 + [1, 1]
    assert sum(t["map_output_records"] for t in maps) == 2


# -- a later step's map failing on a record of the step before: each way, word for word -------------------------


def _step1_record(tmp_path: Path, key) -> tuple[str, int, object]:
    """Independently: the step-1 records file holding ``key``, its number there (from 1) and its value."""
    for path in sorted(tmp_path.rglob("part-*/records")):
        for number, (k, value) in enumerate(read_run(path), 1):
            if k == key:
                return str(path), number, value
    raise AssertionError(f"{key!r} is in no records file")


def _failing_second_step(tmp_path: Path, map_function, **fields) -> JobConfig:
    path = tmp_path / "in.txt"
    path.write_text("alpha beta zulu alpha\ngamma alpha beta\n")
    return JobConfig(job_name="zstep", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0,
                     num_reduce_tasks=2, keep_intermediate=True,
                     steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total),
                            Step(map_function=map_function, reduce_function=jobs.sorted_words)], **fields)


@pytest.mark.parametrize("map_function, skip, reason, error", [
    (jobs.by_count_rejecting_z, [], "a z-word", ""),
    (jobs.by_count_value_error_for_z, ["ValueError"], "map_function raised ValueError", "no z please: zulu"),
])
def test_a_record_a_later_map_rejects_is_kept_with_where_it_was(tmp_path, map_function, skip, reason, error):
    run(_failing_second_step(tmp_path, map_function, skip_exceptions=skip, max_bad_records=1))
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == {3: ["alpha"], 2: ["beta"], 1: ["gamma"]}
    bad = [json.loads(line) for f in (tmp_path / "out" / "_bad_records").glob("*.jsonl") for line in f.read_text().splitlines()]
    path, number, value = _step1_record(tmp_path, "zulu")
    assert bad == [{"file": path, "record": number, "key": "'zulu'", "raw": repr(value), "raw_truncated": False,
                    "reason": reason, "error": error}]


def _failure(tmp_path: Path, map_function, **fields) -> str:
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(_failing_second_step(tmp_path, map_function, **fields))
    assert not (tmp_path / "out" / "final_output.txt").exists()
    return scheduler.last_result.describe_failure()


def test_a_record_rejected_under_max_bad_records_0_fails_naming_the_record(tmp_path):
    failure = _failure(tmp_path, jobs.by_count_rejecting_z, max_bad_records=0)
    path, number, _ = _step1_record(tmp_path, "zulu")
    assert f"bad record at {path} record {number} (key 'zulu'): a z-word (max_bad_records = 0 fails on " \
           "the first one; raise it to skip bad records)" in failure, failure


def test_an_exception_of_a_later_map_fails_the_job_naming_the_record(tmp_path):
    failure = _failure(tmp_path, jobs.by_count_value_error_for_z)
    path, number, _ = _step1_record(tmp_path, "zulu")
    assert f"map_function raised ValueError: no z please: zulu ({path} record {number} (key 'zulu'))" in failure, failure


def test_a_nan_key_from_a_later_map_fails_naming_the_record(tmp_path):
    failure = _failure(tmp_path, jobs.by_count_nan_for_z)
    path, number, _ = _step1_record(tmp_path, "zulu")
    assert re.search(r"key nan: NaN is not equal to itself.*" + re.escape(f" (emitted by map_function for {path} record "
                                                                           f"{number} (key 'zulu'))"), failure), failure


def test_a_later_map_giving_no_pairs_fails_naming_the_record(tmp_path):
    failure = _failure(tmp_path, jobs.by_count_not_pairs_for_z)
    path, number, _ = _step1_record(tmp_path, "zulu")
    assert re.search(re.escape(f"map_function failed on {path} record {number} (key 'zulu'): TypeError: ") + r".*"
                     + re.escape("(map_function must return or yield (key, value) pairs)"), failure), failure


def test_an_error_of_mr_luigis_own_raised_in_a_later_map_is_passed_on_as_it_is(tmp_path):
    failure = _failure(tmp_path, jobs.by_count_config_error_for_z)
    assert "params.z: told to stop" in failure and "map_function raised" not in failure, failure


def test_records_of_the_step_before_that_cannot_be_read_fail_the_later_map_with_their_own_error(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("alpha beta\n")
    job = JobConfig(job_name="unreadable", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0,
                    num_reduce_tasks=1, steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total_unreadable),
                                               Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words)])
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(job)
    failure = scheduler.last_result.describe_failure()
    step1 = re.escape(str(tmp_path / "out" / "_work"))
    assert re.search(rf"RecordError: {step1}/unreadable\.step1-\w+/\S+: the records at byte 0 cannot be read back: "
                     r"ValueError: this record cannot be read back \(a key or value whose class cannot be unpickled here: "
                     r"its module is not importable, or it refuses its state\)", failure), failure
    assert "TypeError" not in failure
    assert not (tmp_path / "out" / "final_output.txt").exists()


@pytest.mark.parametrize("combine", [True, False])
def test_a_later_steps_hot_keys_are_folded_with_their_key_or_spilled_within_the_budget(tmp_path, combine):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"w{i} " * (1 + i % 3) + "\n" for i in range(3000)))
    job = JobConfig(job_name="parity", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0,
                    map_memory_mb=0.01,
                    steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total, num_reduce_tasks=2),
                           Step(map_function=jobs.parity_of_count, combine_function=jobs.keyed_total if combine else None,
                                reduce_function=jobs.keyed_total, num_reduce_tasks=1)])
    manifest = run(job)
    counts = reference_word_count([path])
    parity = Counter("odd" if n % 2 else "even" for n in counts.values())
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == dict(parity)
    step2, maps = manifest["steps"][1]["totals"], manifest["steps"][1]["task_counts"]["map"]
    assert step2["input_records"] == step2["map_output_records"] == len(counts)
    if combine:
        assert step2["combine_input_records"] == len(counts)
        assert step2["combine_output_records"] <= 2 * step2["spills"]  # two keys per run
    else:
        assert step2["spills"] > 2 * maps, step2  # 1,500 values a map in 10 KB


def test_a_task_is_planned_once_per_process_and_a_changed_step_is_named_with_its_new_id(inputs, tmp_path):
    from mr_luigi import JobChanged
    from mr_luigi.engine.plan import record_identity

    last = make_plan(two_steps(inputs, tmp_path / "out"))
    first = last.previous
    plan_module._plans.clear()
    assert plan_of_task(first.job_id, first.spec) is plan_of_task(first.job_id, first.spec)  # planned once
    record_identity(first)  # what a job's first task keeps in its work folder
    inputs[1].write_text(inputs[1].read_text() + "one more line\n")
    plan_module._plans.clear()
    replanned = make_plan(two_steps(inputs, tmp_path / "out")).previous
    assert replanned.job_id != first.job_id
    with pytest.raises(JobChanged) as caught:
        plan_of_task(first.job_id, first.spec)
    assert str(caught.value).startswith(f"job {first.job_id} is planned here as {replanned.job_id}: it differs in input "
                                        f"{str(inputs[1])!r} changed ("), str(caught.value)
    assert str(caught.value).endswith("; every worker of a job needs the same inputs, code and settings")


def test_a_later_step_whose_step_before_changed_names_both_ids_of_that_step(inputs, tmp_path):
    from mr_luigi import JobChanged
    from mr_luigi.engine.plan import record_identity

    last = make_plan(two_steps(inputs, tmp_path / "out"))
    record_identity(last)
    inputs[0].write_text(inputs[0].read_text() + "another line\n")
    plan_module._plans.clear()
    now = make_plan(two_steps(inputs, tmp_path / "out"))
    assert now.previous.job_id != last.previous.job_id
    with pytest.raises(JobChanged) as caught:
        plan_of_task(last.job_id, last.spec)
    assert str(caught.value) == (f"job {last.job_id} is planned here as {now.job_id}: it differs in the step before "
                                 f"({last.previous.job_id} -> {now.previous.job_id}); every worker of a job needs the "
                                 "same inputs, code and settings")


def test_a_job_with_steps_is_described_step_by_step(inputs, tmp_path):
    """The line the job logs when it starts: its inputs, then each step's id and tasks; a later step reads records."""
    last = make_plan(two_steps(inputs, tmp_path / "out", split_size_mb=None, num_reduce_tasks=4))
    first = last.previous
    assert (first.num_maps, first.num_partitions, last.num_maps, last.num_partitions) == (1, 4, 4, 2)  # small files: packed
    assert [split.index for split in last.splits] == [0, 1, 2, 3]  # one per partition of the step before
    assert last.describe() == (f"job bycount: 3 input file(s), 2 steps: {first.job_id}: 3 input file(s), 1 map task(s), "
                               f"4 shuffle and 4 reduce task(s); {last.job_id}: the step before's records, 4 map task(s), "
                               "2 shuffle and 2 reduce task(s)")


def test_a_changed_job_without_a_record_here_says_it_cannot_say_what_changed(inputs, tmp_path):
    from mr_luigi import JobChanged

    first = make_plan(two_steps(inputs, tmp_path / "out")).previous
    inputs[0].write_text(inputs[0].read_text() + "another line\n")
    plan_module._plans.clear()
    with pytest.raises(JobChanged) as caught:
        plan_of_task(first.job_id, first.spec)
    assert ": its inputs, code or settings differ (no record of the job here to say which); every worker" \
           in str(caught.value), str(caught.value)


def test_a_job_level_field_wrong_in_a_job_with_steps_is_named_as_itself(inputs, tmp_path):
    with pytest.raises(ConfigError) as caught:
        make_plan(two_steps(inputs, tmp_path / "out", max_retries=-1))
    assert str(caught.value) == "max_retries: must be 0 or more, got -1" and caught.value.field == "max_retries"


def test_an_empty_list_of_steps_is_refused_by_step_configs_itself(inputs, tmp_path):
    from mr_luigi.engine.config import step_configs

    with pytest.raises(ConfigError, match=r"^steps: expected a list of steps, got \[\]$"):
        step_configs(two_steps(inputs, tmp_path / "out", steps=[]))


def test_an_empty_function_name_in_a_job_with_steps_is_no_function(inputs, tmp_path):
    """"" is how a TOML file leaves a function out: at the top, in a later step's map, in a step's reduce."""
    last = make_plan(two_steps(inputs, tmp_path / "out", map_function="", steps=[
        Step(map_function=jobs.count_words, reduce_function=jobs.total), Step(map_function="", reduce_function="")]))
    assert last.resolved.map_function.__name__ == "pass_records" and last.map_only
    with pytest.raises(ConfigError, match=r"^steps\[0\]\.reduce_function: missing"):
        make_plan(two_steps(inputs, tmp_path / "out", steps=[Step(map_function=jobs.count_words, reduce_function=""),
                                                            Step(map_function=jobs.by_count)]))


def test_a_step_reducing_more_records_than_a_write_batch_counts_and_passes_on_each(tmp_path):
    """5,000 words in one partition: the records file is written in several batches of 2,048."""
    path = tmp_path / "in.txt"
    path.write_text("".join(f"w{i} w{i % 7}\n" for i in range(5000)))
    job = JobConfig(job_name="many", input_files=[str(path)], output_dir=str(tmp_path / "out"), max_retries=0,
                    steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total, num_reduce_tasks=1),
                           Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words, num_reduce_tasks=1)])
    manifest = run(job)
    counts = reference_word_count([path])
    assert len(counts) == 5000
    first, second = (step["totals"] for step in manifest["steps"])
    assert first["output_records"] == second["input_records"] == 5000
    assert dict(read_tsv(tmp_path / "out" / "final_output.txt")) == words_by_count([path])


def test_a_changed_step_of_a_job_whose_name_has_dashes_is_named_and_a_strange_id_falls_back_to_the_last_step(
        inputs, tmp_path):
    from mr_luigi import JobChanged
    from mr_luigi.engine.plan import record_identity

    first = make_plan(two_steps(inputs, tmp_path / "out", job_name="by-count-2")).previous
    record_identity(first)
    inputs[2].write_text(inputs[2].read_text() + "more\n")
    plan_module._plans.clear()
    now = make_plan(two_steps(inputs, tmp_path / "out", job_name="by-count-2"))
    with pytest.raises(JobChanged, match=rf"^job {re.escape(first.job_id)} is planned here as {re.escape(now.previous.job_id)}:"):
        plan_of_task(first.job_id, first.spec)
    with pytest.raises(JobChanged, match=rf"^job no-such-job-0123456789ab is planned here as {re.escape(now.job_id)}:"):
        plan_of_task("no-such-job-0123456789ab", first.spec)
