"""The Python API: execute_job, retries, resume, failures and the manifest."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
from collections import Counter
from contextlib import contextmanager, nullcontext
from pathlib import Path

import luigi.task_register
import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, create_sample_data, read_output
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, read_tsv, reference_word_count


def make_config(inputs, out: Path, **changes) -> JobConfig:
    values = dict(
        job_name="test_job",
        map_function=jobs.count_words,
        reduce_function=jobs.total,
        combine_function=jobs.total,
        input_files=[str(p) for p in inputs],
        output_dir=str(out),
        num_reduce_tasks=3,
        max_retries=0,
        max_bad_records=0,  # a map exception fails the task (tests of retries and failures)
    )
    values.update(changes)
    return JobConfig(**values)


@pytest.fixture
def sample(tmp_path):
    return [Path(p) for p in create_sample_data(tmp_path / "in", num_files=4, lines_per_file=300)]


def test_create_sample_data_is_deterministic(tmp_path):
    a = create_sample_data(tmp_path / "a", 2, 50)
    b = create_sample_data(tmp_path / "b", 2, 50)
    assert [Path(p).read_bytes() for p in a] == [Path(p).read_bytes() for p in b]
    assert all(len(Path(p).read_text().splitlines()) == 50 for p in a)


@pytest.mark.parametrize("workers", [1, 2])
def test_execute_job_counts_words(tmp_path, sample, workers):
    scheduler = MapReduceScheduler(max_concurrent_tasks=workers)
    assert scheduler.execute_job(make_config(sample, tmp_path / "out", split_size_mb=0.002)) is True
    result = scheduler.last_result
    assert result.success and result.status == "SUCCESS"
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(sample)
    assert result.manifest_path == tmp_path / "out" / "_SUCCESS"


def test_manifest_records_the_job(tmp_path, sample):
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(make_config(sample, tmp_path / "out", split_size_mb=0.004))
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    expected = reference_word_count(sample)
    lines = sum(len(p.read_text().splitlines()) for p in sample)
    assert manifest["job_name"] == "test_job"
    assert manifest["config"]["map_function"] == "tests.jobs_for_tests:count_words"
    assert [i["bytes"] for i in manifest["inputs"]] == [p.stat().st_size for p in sample]
    maps = manifest["task_counts"]["map"]
    assert maps > 1 and manifest["task_counts"]["reduce"] == 3
    assert len(manifest["tasks"]) == maps + 6
    assert all(t["duration_s"] >= 0 for t in manifest["tasks"])
    totals = manifest["totals"]
    assert totals["input_records"] == lines
    assert totals["input_bytes"] == sum(p.stat().st_size for p in sample)
    assert totals["map_output_records"] == sum(expected.values())
    assert totals["reduce_input_groups"] == len(expected) == manifest["final_output_records"]
    assert manifest["end_time"] >= manifest["start_time"]
    assert scheduler.last_result.totals == totals


def test_retry_within_one_call(tmp_path, sample, monkeypatch):
    monkeypatch.setenv("FAIL_ONCE_MARKER", str(tmp_path / "marker"))
    scheduler = MapReduceScheduler(1)
    config = make_config(sample, tmp_path / "out", map_function=jobs.fail_once_map, max_retries=1)
    assert scheduler.execute_job(config) is True
    assert scheduler.last_result.status == "SUCCESS_WITH_RETRY"
    assert (tmp_path / "marker").exists()
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(sample)


def test_no_retry_fails_and_names_task_and_exception(tmp_path, sample, monkeypatch, caplog):
    monkeypatch.setenv("FAIL_ONCE_MARKER", str(tmp_path / "marker"))
    scheduler = MapReduceScheduler(2)
    config = make_config(sample, tmp_path / "out", map_function=jobs.fail_once_map, max_retries=0)
    with caplog.at_level(logging.INFO, logger="luigi-interface"):  # whatever level an earlier luigi.build left it at
        assert scheduler.execute_job(config) is False
    failures = scheduler.last_result.failures
    assert list(failures) == ["test_job map 0/1"]
    assert "RuntimeError: injected failure on the first attempt" in failures["test_job map 0/1"]
    assert str(sample[0]) + ":1" in failures["test_job map 0/1"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "test_job map 0/1" in logged and "injected failure on the first attempt" in logged
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_rerun_after_failure_redoes_only_missing_tasks(tmp_path, sample, monkeypatch):
    poison = tmp_path / "in" / "poison.txt"
    poison.write_text("clean line\nPOISON here\n")
    marker = tmp_path / "poison-on"
    marker.write_text("")
    monkeypatch.setenv("POISON_MARKER", str(marker))
    inputs = sample + [poison]
    config = make_config(inputs, tmp_path / "out", map_function=jobs.fail_on_poison_map, split_size_mb=0.003, keep_intermediate=True, work_dir=str(tmp_path / "work"))
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config) is False
    (job_dir,) = (tmp_path / "work").iterdir()
    done_before = {p.name: json.loads((p / "stats.json").read_text())["start"] for p in (job_dir / "map_output").iterdir()}
    assert len(done_before) >= 2  # the other maps finished despite the failure

    marker.unlink()
    # As a new process would: Luigi must build the job's tasks afresh, not hand back the instances it cached.
    luigi.task_register.Register.clear_instance_cache()
    assert scheduler.execute_job(JobConfig(**dataclasses.asdict(config))) is True
    maps = {p.name: json.loads((p / "stats.json").read_text())["start"] for p in (job_dir / "map_output").iterdir()}
    assert len(maps) == len(done_before) + 1
    assert all(maps[name] == start for name, start in done_before.items())
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    per_task = json.loads((tmp_path / "out" / "_SUCCESS").read_text())["attempts"]["per_task"]
    (failed,) = {f"map-{name[4:]}" for name in maps} - {f"map-{name[4:]}" for name in done_before}
    assert per_task[failed] == 2
    assert all(n == 1 for task, n in per_task.items() if task != failed), per_task


def test_completed_job_is_not_run_again(tmp_path, sample):
    config = make_config(sample, tmp_path / "out")
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config)
    before = (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns
    assert scheduler.execute_job(config)
    assert (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns == before


def test_output_of_another_job_is_not_overwritten(tmp_path, sample):
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(make_config(sample, tmp_path / "out"))
    final = (tmp_path / "out" / "final_output.txt").read_bytes()
    with pytest.raises(ConfigError, match="holds the results of another job"):
        scheduler.execute_job(make_config(sample, tmp_path / "out", job_name="another_job"))
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == final


def test_integer_keys_sort_as_numbers(tmp_path):
    src = tmp_path / "lines.txt"
    src.write_text("".join("x" * n + "\n" for n in (0, 2, 9, 10, 100, 10, 2, 33)))
    assert MapReduceScheduler(1).execute_job(make_config([src], tmp_path / "out", map_function=jobs.length_key_map))
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert [int(k) for k, _ in rows] == [0, 2, 9, 10, 33, 100]
    assert Counter({int(k): int(v) for k, v in rows}) == Counter([0, 2, 9, 10, 100, 10, 2, 33])


def test_custom_partitioner_decides_the_partition(tmp_path, sample):
    config = make_config(sample, tmp_path / "out", partitioner=jobs.first_letter_partitioner)
    assert MapReduceScheduler(1).execute_job(config)
    for p in range(3):
        keys = [k for k, _ in read_tsv(tmp_path / "out" / f"part-{p:05d}")]
        assert all(ord(k[0]) % 3 == p for k in keys)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(sample)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"map_function": jobs.returns_int_map}, r"in\.txt:1: TypeError: .*must return or yield \(key, value\) pairs"),
        ({"map_function": jobs.returns_int_map}, r"^RecordError: map_function failed on .*in\.txt:1: TypeError: 'int' object is not iterable "
                                                 r"\(map_function must return or yield \(key, value\) pairs\)$"),
        ({"map_function": jobs.not_pairs_map}, r"^RecordError: map_function failed on .*in\.txt:1: ValueError: .*unpack.* "
                                               r"\(map_function must return or yield \(key, value\) pairs\)$"),
        ({"map_function": jobs.unhashable_key_map}, r"^RecordError: map_function failed on .*in\.txt:1: TypeError: unhashable type: 'list' "
                                                    r"\(keys must be hashable: use a tuple, not a list, dict or set\)$"),
        ({"map_function": jobs.mixed_key_map, "combine_function": None, "num_reduce_tasks": 1}, r"keys .* \(str\) and .* \(int\) cannot be ordered|keys .* \(int\) and .* \(str\) cannot be ordered"),
        ({"partitioner": jobs.bad_partitioner}, r"partitioner returned 3 for key"),
        ({"combine_function": jobs.broken_combiner}, r"combine_function raised ZeroDivisionError: combiner bug \(key '\w+'\)"),
    ],
)
def test_bad_user_functions_fail_with_a_clear_error(tmp_path, changes, message):
    src = tmp_path / "in.txt"
    src.write_text("apple\nnine\npear\napple\n")
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(make_config([src], tmp_path / "out", **changes)) is False
    (error,) = scheduler.last_result.failures.values()
    assert __import__("re").search(message, error), error


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
def test_keys_of_two_types_in_different_parts_fail_the_final_step_naming_a_key_of_each(tmp_path, monkeypatch, sealed):
    """Each map gives keys of one type and each partition holds one type, so every map, shuffle and reduce sorts;
    only the final step's merge of the parts meets both (and reads their keys files through the seal check when
    MR_LUIGI_SECRET is set)."""
    if sealed:
        monkeypatch.setenv("MR_LUIGI_SECRET", "runner-test-secret-0123456789")
    words, numbers = tmp_path / "words.txt", tmp_path / "numbers.txt"
    words.write_text("apple\npear\n")
    numbers.write_text("nine\nno\n")  # mixed_key_map: a line starting with "n" gives its length
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(make_config([words, numbers], tmp_path / "out", map_function=jobs.mixed_key_map,
                                                 combine_function=None, num_reduce_tasks=2, partitioner=jobs.type_partitioner,
                                                 split_size_mb=0.00001))  # a map per file: never both types in one
    assert list(scheduler.last_result.failures) == ["test_job final step"]
    (error,) = scheduler.last_result.failures.values()
    assert error.startswith("RecordError: keys 'apple' (str) and 2 (int) cannot be ordered against each other: "), error


def test_a_finished_job_logs_its_summary_naming_where_its_results_are(tmp_path, sample, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(make_config(sample, out))
    counts = reference_word_count(sample)
    lines = sum(len(p.read_text().splitlines()) for p in sample)
    first_lines = [r.getMessage().split("\n")[0] for r in caplog.records]
    pattern = (rf"Job test_job succeeded in \d+\.\d\ds: {lines} input records, {sum(counts.values())} map outputs, "
               rf"{len(counts)} keys -> {re.escape(str(out))}/final_output\.txt")
    assert [line for line in first_lines if re.fullmatch(pattern, line)], first_lines

def test_a_run_with_other_settings_says_whose_results_it_replaces_and_why(tmp_path, sample, caplog):
    first = make_config(sample, tmp_path / "out")
    assert MapReduceScheduler(1).execute_job(first)
    earlier = json.loads((tmp_path / "out" / "_SUCCESS").read_text())["job_id"]
    second = dataclasses.replace(first, num_reduce_tasks=2)
    with caplog.at_level(logging.WARNING, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(second)
    assert (f"test_job: {tmp_path / 'out'} holds an earlier run's results ({earlier}; it differs in num_reduce_tasks); "
            "this run replaces them when it finishes") in [r.getMessage() for r in caplog.records]


def test_a_finished_job_run_again_is_not_said_to_replace_its_own_results(tmp_path, sample, caplog):
    config = make_config(sample, tmp_path / "out")
    assert MapReduceScheduler(1).execute_job(config)
    stamp = (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns
    with caplog.at_level(logging.WARNING, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(config)
    assert not [r.getMessage() for r in caplog.records if "results" in r.getMessage()]
    assert (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns == stamp  # nothing was run again


def test_a_final_step_of_a_job_already_finished_writes_nothing_not_even_its_work_folder(tmp_path, sample):
    """A second root task of the job (another worker's) reaches the final step after the first finished
    and removed the intermediates: it must not start an attempt, which would make the job folder again."""
    from mr_luigi.engine.phases.final import run_final_step
    from mr_luigi.engine.plan import make_plan

    config = make_config(sample, tmp_path / "out", work_dir=str(tmp_path / "work"))
    assert MapReduceScheduler(1).execute_job(config)
    assert not (tmp_path / "work").exists()
    listing = sorted(p.name for p in (tmp_path / "out").iterdir())
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert run_final_step(make_plan(config)) == manifest
    assert not (tmp_path / "work").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == listing

def test_a_final_step_finding_the_job_finished_by_another_worker_succeeds(tmp_path, sample, monkeypatch, caplog):
    from mr_luigi.engine.phases import final
    from mr_luigi.io import publish
    from mr_luigi.engine.phases.final import finish_job, run_final_step
    from mr_luigi.engine.plan import make_plan

    config = make_config(sample, tmp_path / "out", keep_intermediate=True, work_dir=str(tmp_path / "work"))
    assert MapReduceScheduler(2).execute_job(config)
    plan = make_plan(config)
    before = (tmp_path / "out" / "final_output.txt").read_bytes()
    # already finished: nothing is redone, nothing is written
    (tmp_path / "out" / "_SUCCESS").touch()
    stamp = (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns
    assert run_final_step(plan)["job_id"] == plan.job_id
    assert (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns == stamp
    # finished by another worker while this one waited for the output folder's lock
    (tmp_path / "out" / "_SUCCESS").unlink()
    real_lock = publish.output_lock

    published = {}

    @contextmanager
    def other_worker_holds_the_lock_first(folder):
        monkeypatch.setattr(publish, "output_lock", real_lock)
        other = finish_job(plan)
        published["stamp"] = (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns
        with real_lock(folder):
            yield
        assert other["job_id"] == plan.job_id

    monkeypatch.setattr(publish, "output_lock", other_worker_holds_the_lock_first)
    assert run_final_step(plan)["job_id"] == plan.job_id
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == before
    assert (tmp_path / "out" / "_SUCCESS").stat().st_mtime_ns == published["stamp"], "this worker published nothing again"
    # on a filesystem without working locks: the other worker's step removes the intermediates mid-way
    (tmp_path / "out" / "_SUCCESS").unlink()
    write = final.write_final_outputs
    monkeypatch.setattr(publish, "output_lock", lambda folder: nullcontext())

    def other_worker_finishes_first(plan, journal, inject):
        monkeypatch.setattr(final, "write_final_outputs", write)  # the other worker's step is an ordinary one
        finish_job(plan)
        shutil.rmtree(plan.job_dir)  # and it removed the intermediates
        return write(plan, journal, inject)

    monkeypatch.setattr(final, "write_final_outputs", other_worker_finishes_first)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert run_final_step(plan)["job_id"] == plan.job_id
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == before
    assert f"{plan.name}: another worker finished this job" in [r.getMessage() for r in caplog.records]


def test_a_pair_reducer_writes_none_one_or_many_pairs_per_key_in_key_order(tmp_path):
    src = tmp_path / "in.txt"
    words = "apple apple zebra quince quince banana cherry cherry cherry zoo kiwi".split()
    src.write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(len(words))) + "\n")
    counts = Counter(w for line in src.read_text().splitlines() for w in line.split())
    expected = []
    for word in sorted(counts):
        if word.startswith("z"):
            continue
        pairs = ([(word, counts[word])] if counts[word] >= 2 else []) + [(f"len:{word}", len(word))]
        if not word.startswith("q"):
            expected += pairs
    scheduler = MapReduceScheduler(2)
    config = make_config([src], tmp_path / "out", map_function=jobs.split_words, reduce_function=jobs.count_and_length,
                         combine_function=jobs.total, num_reduce_tasks=3, max_bad_records=5)
    assert scheduler.execute_job(config), scheduler.last_result.failures
    assert list(read_output(tmp_path / "out" / "final_output.txt")) == expected
    assert scheduler.last_result.manifest["bad_records"]["total"] == 1  # quince, with nothing of it written


@pytest.mark.parametrize("sealed", [False, True])
def test_a_pair_reducer_writes_named_outputs_each_in_key_order(tmp_path, monkeypatch, sealed):
    from mr_luigi.engine.phases import reduce as reduce_phase

    if sealed:
        monkeypatch.setenv("MR_LUIGI_SECRET", "a secret of sixteen characters or more")
    monkeypatch.setattr(reduce_phase, "NAMED_FLUSH_LINES", 5)  # a partition's lines go through the files per name
    flushes = tmp_path / "flushes.txt"  # the lines each flush found held, per output (written from the task processes)
    flush = reduce_phase._NamedPairOutput._flush

    def counted_flush(self):
        with open(flushes, "a") as fh:
            fh.write(f"{os.getpid()}-{id(self)} {sum(len(lines) for lines, _ in self.held_by_name.values())}\n")
        flush(self)

    monkeypatch.setattr(reduce_phase._NamedPairOutput, "_flush", counted_flush)
    src = tmp_path / "in.txt"
    words = [f"{prefix}{i}" for i in range(40) for prefix in ("ab", "x", "abcd", "qu", "zzzxz")]
    src.write_text("\n".join(" ".join(words[i:i + 7]) for i in range(0, len(words), 3)) + "\n")
    counts = Counter(w for line in src.read_text().splitlines() for w in line.split())
    kept = sorted(w for w in counts if not w.startswith("q"))
    expected = {"words": [(w, counts[w]) for w in kept], "long": [(w, len(w)) for w in kept if len(w) >= 4],
                "x.words": [(w, counts[w]) for w in kept if "x" in w]}
    scheduler = MapReduceScheduler(2)
    config = make_config([src], tmp_path / "out", map_function=jobs.split_words, reduce_function=jobs.count_into_named_outputs,
                         combine_function=jobs.total, num_reduce_tasks=3, named_outputs=True, max_bad_records=1000)
    assert scheduler.execute_job(config), scheduler.last_result.failures
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.txt")) == ["long.txt", "words.txt", "x.words.txt"]
    for name, pairs in expected.items():
        assert list(read_output(out / f"{name}.txt")) == pairs, name
    assert scheduler.last_result.manifest["bad_records"]["total"] == len([w for w in counts if w.startswith("q")])
    assert not list(tmp_path.rglob("named"))  # the lines per name were put together and removed
    assert scheduler.last_result.manifest["counters"]["mr_luigi"]["output_records"] == sum(map(len, expected.values()))
    held_by_output: dict[str, list[int]] = {}
    for line in flushes.read_text().splitlines():
        output, held = line.split()
        held_by_output.setdefault(output, []).append(int(held))
    assert len(held_by_output) == 3 and all(len(held) > 1 for held in held_by_output.values()), held_by_output
    for held in held_by_output.values():  # never more than 5 lines in memory: a flush at 5, the rest when closed
        assert held[:-1] == [5] * (len(held) - 1) and 0 <= held[-1] < 5, held_by_output


@pytest.mark.parametrize("reducer, message", [
    (jobs.yields_triples, r"reduce_function \(a pair_reducer\) must yield \(key, value\) tuples, got \('\w+', 1, 2\) for key '\w+'"),
    (jobs.returns_a_number, r"reduce_function \(a pair_reducer\) must yield \(key, value\) tuples, but returned \d+ for key '\w+'"),
])
def test_a_pair_reducer_that_does_not_give_pairs_fails_at_once_naming_the_key(tmp_path, reducer, message):
    src = tmp_path / "in.txt"
    src.write_text("a b b\n")
    scheduler = MapReduceScheduler(1)
    assert not scheduler.execute_job(make_config([src], tmp_path / "out", map_function=jobs.split_words, reduce_function=reducer,
                                                 num_reduce_tasks=1))
    (failure,) = scheduler.last_result.failures.values()
    assert failure.startswith("RecordError: ") and re.search(message, failure), failure
    assert scheduler.last_result.manifest is None and not (tmp_path / "out" / "final_output.txt").exists()


# -- map-only jobs ----------------------------------------------------------------------------------------------


def _map_only_config(inputs, out, **changes):
    values = dict(job_name="maponly", map_function=jobs.upper_words, input_files=[str(p) for p in inputs],
                  output_dir=str(out), num_reduce_tasks=0, split_size_mb=0.002, max_retries=0)
    values.update(changes)
    return JobConfig(**values)


def _expected_map_only(inputs) -> list[tuple]:
    """Every pair in input order: files in sorted order, lines in file order, words in line order."""
    pairs = []
    for path in sorted(inputs):
        for line in path.read_text().splitlines():
            if "skip" not in line:
                pairs += [(word.upper(), len(word)) for word in line.split()]
    return pairs


def test_a_map_only_job_writes_every_pair_in_input_order_one_part_file_per_map(tmp_path):
    inputs = []
    for i in range(3):
        path = tmp_path / f"in{i}.txt"
        path.write_text("".join(f"w{i} line{n} {'skip' if n % 7 == 0 else 'x' * (n % 5)}\n" for n in range(300)))
        inputs.append(path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00099").write_text("a stale part of an unfinished run with more maps\n")
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(_map_only_config(inputs, out)), scheduler.last_result.failures
    expected = _expected_map_only(inputs)
    assert list(read_output(out / "final_output.txt")) == expected
    manifest = scheduler.last_result.manifest
    maps = manifest["task_counts"]["map"]
    assert maps > 3 and manifest["task_counts"]["shuffle"] == manifest["task_counts"]["reduce"] == 0
    parts = sorted(out.glob("part-*"))
    assert [p.name for p in parts] == [f"part-{i:05d}" for i in range(maps)]
    assert [pair for part in parts for pair in read_output(part)] == expected
    assert {t["phase"] for t in manifest["tasks"]} == {"map"}
    assert manifest["totals"]["map_output_records"] == len(expected)


def test_a_map_only_job_with_a_record_map_and_a_batch_map(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"a{n} b\n" for n in range(2000)))
    assert MapReduceScheduler(1).execute_job(_map_only_config([path], tmp_path / "lines", map_function=jobs.where_map))
    got = list(read_output(tmp_path / "lines" / "final_output.txt"))
    offsets = [0]
    for line in path.read_text().splitlines()[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    assert got == [(f"{path}:{n}", [offsets[n - 1], f"a{n - 1} b"]) for n in range(1, 2001)]
    assert MapReduceScheduler(1).execute_job(_map_only_config([path], tmp_path / "batch", map_function=jobs.batch_split_words))
    assert list(read_output(tmp_path / "batch" / "final_output.txt")) == [(w, 1) for n in range(2000) for w in (f"a{n}", "b")]


@pytest.mark.parametrize("changes, message", [
    (dict(num_reduce_tasks=4), "^reduce_function: missing: every job needs one, except a map-only job"),
    (dict(reduce_function=jobs.total), "^num_reduce_tasks: 0 means a map-only job, which has no reduce_function"),
    (dict(combine_function=jobs.total), "^combine_function: a map-only job"),
    (dict(named_outputs=True), "^named_outputs: a map-only job cannot write named outputs yet"),
    (dict(num_reduce_tasks=-1), r"^num_reduce_tasks: must be 0 \(a map-only job\) or more, got -1"),
])
def test_what_a_map_only_job_cannot_have(tmp_path, changes, message):
    (tmp_path / "in.txt").write_text("a\n")
    with pytest.raises(ConfigError, match=message):
        MapReduceScheduler(1).execute_job(_map_only_config([tmp_path / "in.txt"], tmp_path / "out", **changes))
