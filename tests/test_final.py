"""The final step's checks of the output folder (mr_luigi/engine/phases/final.py): the words of OutputTaken.

The manifests of other jobs are written here by hand: another job's name
and identity, or no identity at all.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler, OutputTaken
from mr_luigi.api.job import Job
from mr_luigi.api.runner import build_job
from mr_luigi.engine.faults import ENV
from mr_luigi.engine.phases.final import check_output_free, check_previous_results, remove_leftovers
from mr_luigi.engine.plan import make_plan
from mr_luigi.io.atomic import TMP_MARKER
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, read_tsv, reference_word_count
from tests.test_runner import make_config


@pytest.fixture
def plan(tmp_path):
    (tmp_path / "in.txt").write_text("a b\n")
    return make_plan(JobConfig(job_name="words", map_function=jobs.count_words, reduce_function=jobs.total,
                               input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out")))


def leave_results(plan, **manifest):
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    (plan.output_dir / "_SUCCESS").write_text(json.dumps({"job_name": "other", "job_id": "other-0123456789ab", **manifest}))


def test_another_jobs_results_are_refused_naming_the_job_the_difference_and_the_way_out(plan):
    leave_results(plan, identity={**plan.identity, "job_name": "other"})
    with pytest.raises(ConfigError) as caught:
        check_previous_results(plan)
    assert str(caught.value) == (
        f"output_dir: {str(plan.output_dir)!r} holds the results of another job (other-0123456789ab; they differ in "
        f"job_name), not of this one ({plan.job_id}): remove that folder or choose another output_dir "
        "(mr-luigi run --force replaces them)")


def test_results_without_an_identity_differ_in_config_code_or_inputs(plan):
    leave_results(plan)
    with pytest.raises(ConfigError, match=re.escape("(other-0123456789ab; they differ in config, code or inputs)")):
        check_previous_results(plan)


def test_forced_they_are_what_the_job_replaces(plan):
    leave_results(plan)
    assert check_previous_results(plan, force=True) == "other-0123456789ab"


def test_results_published_while_the_job_ran_fail_it_without_the_force_hint(plan):
    leave_results(plan, identity={**plan.identity, "num_reduce_tasks": 9})
    with pytest.raises(OutputTaken) as caught:
        check_output_free(plan, replaces=None)
    assert str(caught.value) == (
        f"{str(plan.output_dir)!r} holds the results of another job (other-0123456789ab, published while this job ran; "
        f"they differ in num_reduce_tasks), not of this one ({plan.job_id}): remove that folder or choose another "
        "output_dir")
    assert check_output_free(plan, replaces="other-0123456789ab")["job_id"] == "other-0123456789ab"


def test_forced_over_results_whose_manifest_lists_no_outputs_the_job_replaces_them(plan):
    """A ``_SUCCESS`` of JSON without ``outputs`` (another tool's, or hand-made): forced, the job still publishes."""
    leave_results(plan)
    (plan.output_dir / "notes.txt").write_text("not listed, so not ours to remove")
    build_job(Job.of(plan, force=True), workers=1, local_scheduler=True)
    assert json.loads((plan.output_dir / "_SUCCESS").read_text())["job_id"] == plan.job_id
    assert read_tsv(plan.output_dir / "final_output.txt") == [("a", 1), ("b", 1)]
    assert (plan.output_dir / "notes.txt").read_text() == "not listed, so not ours to remove"


def test_leftovers_of_killed_attempts_are_removed_nested_or_already_gone(tmp_path, monkeypatch):
    """``*-luigi-tmp-*`` files and folders go, at any depth, even when another process removed one first."""
    work = tmp_path / "work"
    (work / "map-00000").mkdir(parents=True)
    (work / "map-00000" / "output").write_text("kept")
    (work / f"map-00001{TMP_MARKER}1" / f"inner{TMP_MARKER}2").mkdir(parents=True)
    (work / f"map-00001{TMP_MARKER}1" / f"inner{TMP_MARKER}2" / f"run{TMP_MARKER}3").write_text("half")
    (work / "map-00000" / f"output{TMP_MARKER}4").write_text("half")
    real_rglob = type(work).rglob

    def listed_with_one_already_removed(self, pattern):
        yield from real_rglob(self, pattern)
        yield self / f"gone{TMP_MARKER}5"  # listed, then removed by another process before this one got to it

    monkeypatch.setattr(type(work), "rglob", listed_with_one_already_removed)
    remove_leftovers(work)
    monkeypatch.undo()
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == ["map-00000", "map-00000/output"]


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
@pytest.mark.parametrize("change", ["a line added", "a line removed"])
def test_a_reduce_output_changed_before_the_final_step_fails_it_naming_the_file(tmp_path, monkeypatch, change, sealed):
    """The final step puts lines in key order by the keys file the reducer wrote beside them: a part file
    changed since cannot be, and the job fails naming it and the way out instead of publishing it (its keys
    counted through the seal check when MR_LUIGI_SECRET is set)."""
    if sealed:
        monkeypatch.setenv("MR_LUIGI_SECRET", "final-test-secret-0123456789")
    (tmp_path / "in.txt").write_text("".join(f"w{n % 40} x{n % 7}\n" for n in range(500)))
    config = make_config([tmp_path / "in.txt"], tmp_path / "out", num_reduce_tasks=2, max_retries=0)
    monkeypatch.setenv(ENV, "final:*:*:raise:start")
    assert not MapReduceScheduler(2).execute_job(config)
    part = next((tmp_path / "out" / "_work").glob("*/reduce_output/part-00001/part-00001"))
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines + ["planted\t1\n"] if change == "a line added" else lines[1:]))
    monkeypatch.delenv(ENV)
    scheduler = MapReduceScheduler(2)
    assert not scheduler.execute_job(config)
    expected = len(lines) + (1 if change == "a line added" else -1)
    assert re.search(rf"StorageError: {re.escape(str(part))} does not match its keys file \({expected} lines, {len(lines)} keys\): "
                     rf"it was changed after the reduce wrote it; remove {re.escape(str(part.parent))} and run the job again",
                     scheduler.last_result.describe_failure())
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    # the way out it names
    shutil.rmtree(part.parent)
    assert MapReduceScheduler(2).execute_job(config)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count([tmp_path / "in.txt"])


def test_the_writing_fault_point_finds_exactly_the_first_line_written_under_a_temporary_name(tmp_path):
    """``writing`` is documented as "half written": one line in the temporary file, none under the final name."""
    from mr_luigi.engine.phases.final import _write_lines

    path = tmp_path / "final_output.txt"
    lines = [(i, f"k{i}\t{i}\n") for i in range(5)]
    seen = []

    def inject(point):
        temporary = [p.read_text() for p in tmp_path.iterdir() if p.name.startswith(path.name + TMP_MARKER)]
        seen.append((point, temporary, path.exists()))

    assert _write_lines(path, iter(lines), inject) == 5
    assert seen == [("writing", ["k0\t0\n"], False)]
    assert path.read_text() == "".join(line for _, line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final_output.txt"]


def run_where_removing_fails(config: JobConfig, monkeypatch, caplog) -> None:
    """Run the job to success while every file ``shutil.rmtree`` removes refuses to go.

    ``shutil.rmtree`` unlinks by a folder's descriptor; nothing else the engine does here passes one.
    """
    unlink = os.unlink

    def refuse_in_rmtree(path, *args, **kwargs):
        if kwargs.get("dir_fd") is not None:
            raise PermissionError(1, "Operation not permitted", os.fspath(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refuse_in_rmtree)
    with caplog.at_level(logging.INFO, logger="luigi-interface.mr_luigi"):
        assert MapReduceScheduler(1).execute_job(config)
    monkeypatch.undo()


def test_intermediates_that_cannot_all_be_removed_leave_the_published_job_a_success(tmp_path, monkeypatch, caplog):
    """Removing the work folder comes after _SUCCESS: a file in it that will not go is left, the job stands."""
    (tmp_path / "in.txt").write_text("a b\nb c\n")
    config = JobConfig(job_name="words", map_function=jobs.count_words, reduce_function=jobs.total,
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"), work_dir=str(tmp_path / "work"))
    run_where_removing_fails(config, monkeypatch, caplog)
    logged = [r.getMessage() for r in caplog.records]
    assert [m for m in logged if m.startswith("Job words succeeded")] and "words: another worker finished this job" not in logged
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count([tmp_path / "in.txt"])
    assert json.loads((tmp_path / "out" / "_SUCCESS").read_text())["job_name"] == "words"
    assert list((tmp_path / "work").rglob("*")), "the files that would not go are still there"


@pytest.mark.parametrize("where", ["output folder", "kept work folder"])
def test_leftovers_that_cannot_be_removed_do_not_fail_the_job(tmp_path, monkeypatch, caplog, where):
    """A killed attempt's temporary folder is removed when the job publishes; one that will not go is left
    (its name says what it is), and the job publishes all the same."""
    (tmp_path / "in.txt").write_text("a b\nb c\n")
    config = JobConfig(job_name="words", map_function=jobs.count_words, reduce_function=jobs.total, max_retries=0,
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"),
                       work_dir=str(tmp_path / "work"), keep_intermediate=where == "kept work folder")
    monkeypatch.setenv(ENV, "final:0:1:raise:start")  # every task done but the final step
    assert not MapReduceScheduler(1).execute_job(config)
    monkeypatch.delenv(ENV)
    folder = tmp_path / "out" if where == "output folder" else next((tmp_path / "work").iterdir())
    leftover = folder / f"part-00000{TMP_MARKER}0123456789ab"
    leftover.mkdir(parents=True)
    (leftover / "half").write_text("a killed attempt's file")
    run_where_removing_fails(config, monkeypatch, caplog)
    assert "words: another worker finished this job" not in [r.getMessage() for r in caplog.records]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count([tmp_path / "in.txt"])
    assert (leftover / "half").exists()
