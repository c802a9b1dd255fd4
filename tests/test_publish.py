"""One output folder, one job: the publishing lock and the journal of an interrupted publish."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from mr_luigi.engine.faults import ENV
from mr_luigi.io.publish import JOURNAL_NAME, LOCK_NAME, Journal, output_lock
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, reference_word_count



def _hold(folder: str, log: str, seconds: float) -> None:
    with output_lock(Path(folder)):
        with open(log, "a") as fh:
            fh.write(f"in {os.getpid()}\n")
        time.sleep(seconds)
        with open(log, "a") as fh:
            fh.write(f"out {os.getpid()}\n")


def test_the_lock_lets_one_process_in_at_a_time_and_leaves_no_file(tmp_path):
    log = tmp_path / "log"
    procs = [multiprocessing.Process(target=_hold, args=(str(tmp_path / "out"), str(log), 0.2)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
    events = log.read_text().split("\n")[:-1]
    assert len(events) == 8
    for i in range(0, 8, 2):  # every "in" is followed by the same process's "out"
        assert events[i].startswith("in ") and events[i + 1] == "out " + events[i][3:], events
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_the_journal_undoes_an_interrupted_publish(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n")
    first = Journal(out, "job-a")
    for name in ("part-00000", "words.txt"):
        first.add(name)
        (out / name).write_text("written by an interrupted publish\n")
    first.add("_bad_records")
    (out / "_bad_records").mkdir()
    (out / "_bad_records" / "map-00000.jsonl").write_text("{}\n")
    first.add("final_output.txt")  # listed, never written
    assert Journal(out, "job-b").undo_interrupted() == ["part-00000", "words.txt", "_bad_records"]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def config(inputs: list[Path], out: Path, **changes) -> JobConfig:
    values = dict(job_name="words", map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total,
                  input_files=[str(p) for p in inputs], output_dir=str(out), num_reduce_tasks=2, max_retries=0)
    values.update(changes)
    return JobConfig(**values)


def test_a_different_job_removes_what_an_interrupted_publish_left(tmp_path, monkeypatch, caplog):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nbeta\n")
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:middle")  # the named job stops after writing its first output
    named = config([src], out, map_function=jobs.named_map, named_outputs=True, num_reduce_tasks=5)
    assert not MapReduceScheduler(1).execute_job(named)
    assert (out / "lengths.txt").exists() and (out / JOURNAL_NAME).exists() and not (out / "_SUCCESS").exists()
    monkeypatch.delenv(ENV)
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(config([src], out))
    assert "words: removed 1 output(s) of an interrupted publish: lengths.txt" in [r.getMessage() for r in caplog.records]
    published = sorted(p.name for p in out.iterdir() if p.name != "_work")  # _work: the failed job's intermediates
    assert published == ["_SUCCESS", "_report.html", "final_output.txt", "part-00000", "part-00001"]
    assert counts_from_output(out / "final_output.txt") == reference_word_count([src])
    caplog.clear()
    other = Journal(out, "job-a")  # another job's publish, interrupted after two outputs
    for name in ("part-00007", "words.txt"):
        other.add(name)
        (out / name).write_text("written by an interrupted publish\n")
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(config([src], out, num_reduce_tasks=3))
    assert "words: removed 2 output(s) of an interrupted publish: part-00007, words.txt" in [
        r.getMessage() for r in caplog.records]
    assert not (out / "part-00007").exists() and not (out / "words.txt").exists()


def test_a_job_whose_folder_another_job_took_meanwhile_fails_naming_it(tmp_path):
    from mr_luigi.engine.phases.final import run_final_step
    from mr_luigi.engine.plan import make_plan

    src = tmp_path / "in.txt"
    src.write_text("alpha beta\n")
    out = tmp_path / "out"
    kept = config([src], out, keep_intermediate=True, work_dir=str(tmp_path / "work"))
    assert MapReduceScheduler(1).execute_job(kept)
    plan = make_plan(kept)
    (out / "_SUCCESS").unlink()
    other = config([src], out, num_reduce_tasks=3)
    assert MapReduceScheduler(1).execute_job(other)
    before = (out / "final_output.txt").read_bytes()
    from mr_luigi.errors import OutputTaken

    with pytest.raises(OutputTaken, match=rf"'{out}' holds the results of another job \(words-\w+, published while this job ran; they differ in "
                                          r"num_reduce_tasks\), not of this one"):
        run_final_step(plan)
    assert (out / "final_output.txt").read_bytes() == before


def test_a_rerun_of_the_job_with_other_settings_replaces_its_earlier_results(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nBAD line\nbeta\n")
    out = tmp_path / "out"
    first = config([src], out, map_function=jobs.strict_map, num_reduce_tasks=3, max_bad_records=1)
    assert MapReduceScheduler(1).execute_job(first)
    assert (out / "part-00002").exists() and (out / "_bad_records").is_dir()
    (out / "notes.txt").write_text("the user's own file\n")
    second = config([src], out, num_reduce_tasks=2)
    assert MapReduceScheduler(1).execute_job(second)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "_report.html", "final_output.txt", "notes.txt",
                                                      "part-00000", "part-00001"]
    assert counts_from_output(out / "final_output.txt") == reference_word_count([src])


def test_a_job_of_another_name_is_refused_before_it_runs(tmp_path):
    from mr_luigi import ConfigError

    src = tmp_path / "in.txt"
    src.write_text("alpha beta\n")
    out = tmp_path / "out"
    assert MapReduceScheduler(1).execute_job(config([src], out))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ConfigError, match=rf"'{out}' holds the results of another job \(words-\w+; they differ in job_name\)"):
        MapReduceScheduler(1).execute_job(config([src], out, job_name="other"))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_filesystem_without_locks_publishes_unlocked_with_a_warning(tmp_path, monkeypatch, caplog):
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with output_lock(tmp_path / "out"):
        inside = True
    assert inside and not (tmp_path / "out" / LOCK_NAME).exists()
    assert "cannot lock" in caplog.text and "would not be detected" in caplog.text


@pytest.mark.parametrize("point", ["parts", "middle", "writing", "commit"])
def test_a_map_only_publish_interrupted_at_each_point_is_undone_and_the_rerun_is_identical(tmp_path, monkeypatch, point):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"alpha beta w{i}\n" for i in range(4000)))
    clean = tmp_path / "clean"
    job = dict(map_function=jobs.count_words, reduce_function=None, combine_function=None, num_reduce_tasks=0,
               split_size_mb=0.02)
    assert MapReduceScheduler(2).execute_job(config([src], clean, **job))
    parts = sorted(p.name for p in clean.glob("part-*"))
    assert len(parts) > 2
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, f"final:0:1:raise:{point}")
    assert not MapReduceScheduler(2).execute_job(config([src], out, **job))
    assert not (out / "_SUCCESS").exists() and (out / JOURNAL_NAME).exists()
    published = sorted(p.name for p in out.iterdir() if p.name != "_work")
    assert not any("tmp" in name for name in published), published  # nothing half-written under any name
    if point == "parts":
        assert published == [JOURNAL_NAME, "part-00000"]
    elif point in ("middle", "writing"):
        assert published == sorted([JOURNAL_NAME, *parts])
    monkeypatch.delenv(ENV)
    assert MapReduceScheduler(2).execute_job(config([src], out, **job))
    for name in [*parts, "final_output.txt"]:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
    assert not (out / JOURNAL_NAME).exists()


def test_a_kept_work_folder_loses_only_what_killed_attempts_left(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nbeta gamma\n" * 50)
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:start")  # every task but the final step done, the work folder kept
    job = config([src], out, keep_intermediate=True)
    assert not MapReduceScheduler(1).execute_job(job)
    monkeypatch.delenv(ENV)
    work = next(p for p in (out / "_work").iterdir() if p.is_dir())
    kept = sorted(p.relative_to(work) for p in work.rglob("*"))
    (work / "map_output" / "part-luigi-tmp-1234").write_text("half a file")
    (work / "map-luigi-tmp-99").mkdir()
    (work / "map-luigi-tmp-99" / "inside").write_text("a killed attempt's folder")
    assert MapReduceScheduler(1).execute_job(job)
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == kept


def test_a_rerun_removes_the_named_outputs_the_earlier_run_wrote_and_says_so(tmp_path, caplog):
    import logging

    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nbeta\n")
    out = tmp_path / "out"
    named = config([src], out, map_function=jobs.named_map, named_outputs=True)
    assert MapReduceScheduler(1).execute_job(named)
    earlier = json.loads((out / "_SUCCESS").read_text())
    assert {"words.txt", "lengths.txt"} <= set(earlier["outputs"])
    with caplog.at_level(logging.INFO, logger="luigi-interface"):
        assert MapReduceScheduler(1).execute_job(config([src], out))
    assert sorted(p.name for p in out.iterdir() if p.name != "_work") == ["_SUCCESS", "_report.html", "final_output.txt",
                                                                          "part-00000", "part-00001"]
    assert f"words: replaced the results of the earlier run {earlier['job_id']}" in [r.getMessage() for r in caplog.records]


def test_a_map_only_publish_interrupted_before_success_leaves_nothing_behind_for_the_next_job(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"alpha beta w{i}\n" for i in range(2000)))
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:commit")  # every output published, _SUCCESS not yet written
    map_only = config([src], out, reduce_function=None, combine_function=None, num_reduce_tasks=0, split_size_mb=0.01)
    assert not MapReduceScheduler(2).execute_job(map_only)
    parts = sorted(p.name for p in out.glob("part-*"))
    assert (out / "final_output.txt").exists() and len(parts) > 1 and not (out / "_SUCCESS").exists(), parts
    monkeypatch.delenv(ENV)
    named = config([src], out, map_function=jobs.named_map, named_outputs=True, num_reduce_tasks=1)
    assert MapReduceScheduler(1).execute_job(named)
    assert sorted(p.name for p in out.iterdir() if p.name != "_work") == ["_SUCCESS", "_report.html", "lengths.txt",
                                                                          "words.txt"]


def test_a_publish_with_a_reduce_interrupted_before_success_leaves_nothing_behind_for_the_next_job(tmp_path, monkeypatch):
    """Everything but _SUCCESS published (part files, final_output.txt, the bad records), then another
    job in the folder that writes none of those names: the journal's list is what removes them."""
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nBAD line\nbeta gamma\n" * 20)
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:commit")
    first = config([src], out, map_function=jobs.strict_map, num_reduce_tasks=3, max_bad_records=100)
    assert not MapReduceScheduler(1).execute_job(first)
    assert sorted(p.name for p in out.iterdir() if p.name != "_work") == [
        "_bad_records", JOURNAL_NAME, "_report.html", "final_output.txt", "part-00000", "part-00001", "part-00002"]
    monkeypatch.delenv(ENV)
    src.write_text("alpha beta\nbeta gamma\n" * 20)
    named = config([src], out, map_function=jobs.named_map, named_outputs=True, num_reduce_tasks=1)
    assert MapReduceScheduler(1).execute_job(named)
    assert sorted(p.name for p in out.iterdir() if p.name != "_work") == ["_SUCCESS", "_report.html", "lengths.txt",
                                                                          "words.txt"]

def test_a_publish_with_a_reduce_interrupted_between_two_part_files_is_undone_by_the_rerun(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"alpha beta w{i}\n" for i in range(300)))
    clean = tmp_path / "clean"
    assert MapReduceScheduler(1).execute_job(config([src], clean, num_reduce_tasks=3))
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:parts")  # part-00000 published, part-00001 not yet
    assert not MapReduceScheduler(1).execute_job(config([src], out, num_reduce_tasks=3))
    assert sorted(p.name for p in out.iterdir() if p.name != "_work") == [JOURNAL_NAME, "part-00000"]
    assert (out / "part-00000").read_bytes() == (clean / "part-00000").read_bytes()
    monkeypatch.delenv(ENV)
    assert MapReduceScheduler(1).execute_job(config([src], out, num_reduce_tasks=3))
    names = sorted(p.name for p in clean.iterdir() if p.name not in ("_SUCCESS", "_report.html"))
    assert sorted(p.name for p in out.iterdir() if p.name not in ("_SUCCESS", "_report.html")) == names
    for name in names:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name

def test_a_named_output_job_interrupted_while_writing_stops_in_its_first_output(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("alpha beta\nbeta gamma\n")
    out = tmp_path / "out"
    monkeypatch.setenv(ENV, "final:0:1:raise:writing")
    named = config([src], out, map_function=jobs.named_map, named_outputs=True)
    assert not MapReduceScheduler(1).execute_job(named)
    # the outputs come in name order (lengths, words): the first was stopped half-written, so none is published
    assert sorted(p.name for p in out.iterdir() if p.name not in ("_work", JOURNAL_NAME)) == []


def test_a_named_output_is_never_written_twice_when_lines_come_out_of_order(tmp_path):
    from mr_luigi.engine.phases.final import _write_named_outputs
    from mr_luigi.errors import StorageError

    out = tmp_path / "out"
    out.mkdir()
    merged = iter([(("a", 1), "a\t1\n"), (("b", 1), "b\t1\n"), (("a", 2), "a\t2\n")])  # "a" comes back after "b"
    with pytest.raises(StorageError, match="named output 'a' are not together"):
        _write_named_outputs(out, merged, Journal(out, "job"), lambda point: None)
    assert (out / "a.txt").read_text() == "a\t1\n"  # written once, never replaced by the second run of "a"
