"""The final step's checks of the output folder (mr_luigi/engine/phases/final.py): the words of OutputTaken.

The manifests of other jobs are written here by hand: another job's name
and identity, or no identity at all.
"""

from __future__ import annotations

import json
import re

import pytest

from mr_luigi import ConfigError, JobConfig, OutputTaken
from mr_luigi.api.job import Job
from mr_luigi.api.runner import build_job
from mr_luigi.engine.phases.final import check_output_free, check_previous_results, remove_leftovers
from mr_luigi.engine.plan import make_plan
from mr_luigi.io.atomic import TMP_MARKER
from tests import jobs_for_tests as jobs
from tests.conftest import read_tsv


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
