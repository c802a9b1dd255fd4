"""Multi-step jobs: a chain of MapReduce steps, each reading what the one before wrote.

A :class:`MultiStepJob` lists its steps as job configs whose inputs name the
previous step's output files. A step cannot be planned before those files
exist, so each step is a :class:`StepTask` that requires the previous step,
plans itself when it runs, and hands its map, shuffle and reduce tasks to
Luigi as dynamic dependencies. Every step is its own sub-graph with its own
``_SUCCESS`` manifest: a re-run skips the finished steps and resumes at the
first incomplete one.

    class TopWords(MultiStepJob):
        output_dir = luigi.Parameter()

        def steps(self):
            counts = JobConfig(job_name="counts", ..., output_dir=f"{self.output_dir}/counts")
            top = JobConfig(job_name="top", ..., input_files=[f"{self.output_dir}/counts/final_output.txt"],
                            output_dir=f"{self.output_dir}/top")
            return [counts, top]
"""

from __future__ import annotations

import logging
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import luigi
import luigi.interface

from mr_luigi.api.job import JobOutput
from mr_luigi.engine import failures, interrupts, luigi_command, report
from mr_luigi.engine.attempts import RetriesOfJob
from mr_luigi.engine.config import JobConfig, finished_job_manifest
from mr_luigi.engine.luigi_setup import RootTask
from mr_luigi.engine.phases.final import check_previous_results, run_final_step
from mr_luigi.engine.plan import JobPlan, make_plan
from mr_luigi.engine.tasks import last_tasks
from mr_luigi.errors import ConfigError
from mr_luigi.io import remote
from mr_luigi.io.atomic import atomic_directory
from mr_luigi.io.publish import publish_to_store
from mr_luigi.io.remote import Store, is_url, location

logger = logging.getLogger("luigi-interface.mr_luigi")

#: the folder of a job's bad records, in its output folder
BAD_RECORDS = "_bad_records"


class JobParameter(luigi.Parameter):
    """A step's multi-step job, serialised as that job's task id."""

    def serialize(self, x: Any) -> str:
        return x.task_id if isinstance(x, luigi.Task) else str(x)

    def parse(self, x: str) -> Any:
        raise luigi.parameter.ParameterException("a step cannot be started on its own: run its multi-step job")


class StepTask(RetriesOfJob, luigi.Task):
    """One MapReduce step of a :class:`MultiStepJob`, planned when it runs."""

    task_namespace = "mr_luigi"
    job: MultiStepJob = JobParameter()
    index: int = luigi.IntParameter()

    @property
    def config(self) -> JobConfig:
        return self.job.step_configs[self.index]

    def job_max_retries(self) -> int:
        return self.config.max_retries

    def on_failure(self, exception: BaseException) -> str:
        return failures.task_error(f"{type(self.job).__name__} step {self.index} ({self.config.job_name})", exception)

    def plan(self) -> JobPlan:
        return make_plan(self.config)

    def requires(self) -> list[StepTask]:
        return [StepTask(job=self.job, index=self.index - 1)] if self.index else []

    def complete(self) -> bool:
        if any(not step.complete() for step in self.requires()):
            return False
        try:
            return JobOutput(self.plan()).exists()
        except ConfigError:
            return False

    def run(self) -> Iterator[list[luigi.Task]]:
        plan = self.plan()
        replaces = self.job.previous_results.get(plan.output_location)
        if check_previous_results(plan) not in (None, replaces):
            replaces = None  # published since the job started: the final step fails naming it
        yield last_tasks(plan)
        with interrupts.stoppable():
            run_final_step(plan, replaces)


def _output_dir(config: JobConfig) -> str:
    return location(config.output_dir)


def _store_of(config: JobConfig) -> Store | None:
    return Store.from_config(config.s3) if config.s3 else None


def _finished_job_id(config: JobConfig) -> str | None:
    where = _output_dir(config)
    manifest = report.manifest_at(where, _store_of(config)) if is_url(where) else finished_job_manifest(Path(where))
    return None if manifest is None or "job_id" not in manifest else manifest["job_id"]


class MultiStepJob(RootTask, RetriesOfJob, luigi.Task):
    """A job made of MapReduce steps; subclass and define :meth:`steps`.

    The job's own output is a ``_SUCCESS`` manifest in :meth:`result_dir`
    listing the steps' job ids and their summed counters; :meth:`publish`
    may first copy the steps' results there. The steps' bad records are
    gathered into ``<result_dir>/_bad_records/``, each file named after its
    step.

    ``result_dir`` and the steps' output folders may be ``s3://`` URLs
    (build them with :func:`mr_luigi.location`): :meth:`publish` then
    writes into :meth:`output_folder`, a local staging folder put to the
    store after it, ``_SUCCESS`` last, and reads each step's results from
    :meth:`step_folder`, a local copy.
    """

    def steps(self) -> list[JobConfig]:
        raise NotImplementedError(f"{type(self).__name__} must define steps()")

    def result_dir(self) -> str | Path:
        """Where the job's manifest (and what :meth:`publish` copies) goes (a str or a Path)."""
        raise NotImplementedError(f"{type(self).__name__} must define result_dir()")

    def publish(self, manifests: list[dict[str, Any]]) -> list[str]:
        """Copy the steps' results into :meth:`output_folder`; return their names."""
        return []

    def output_folder(self) -> Path:
        """The local folder :meth:`publish` writes into: ``result_dir``, or its staging folder when it is a URL."""
        where = self._result_location()
        return remote.cache_folder(where) / "_output" if is_url(where) else Path(where)

    def step_folder(self, manifest: dict[str, Any]) -> Path:
        """A local folder holding a finished step's published results (a copy, when they are on a store)."""
        where = manifest["config"]["output_dir"]
        if not is_url(where):
            return Path(where)
        folder = remote.cache_folder(self._result_location()) / "_downloads" / manifest["job_name"]
        shutil.rmtree(folder, ignore_errors=True)
        store = self._store() or Store()
        for name in [*manifest.get("outputs", []), BAD_RECORDS]:
            if name == BAD_RECORDS and not manifest.get("bad_records", {}).get("total"):
                continue
            remote.download(f"{where}/{name}", folder / name, store)
        return folder

    def _result_location(self) -> str:
        return location(self.result_dir())

    def _store(self) -> Store | None:
        return _store_of(self.step_configs[0])

    @cached_property
    def step_configs(self) -> list[JobConfig]:
        configs = self.steps()
        if not configs:
            raise ConfigError("steps", "a multi-step job needs at least one step")
        return configs

    @cached_property
    def previous_results(self) -> dict[str, str | None]:
        """Each step's output folder -> the job id of the results there when this job was first checked."""
        return {_output_dir(c): _finished_job_id(c) for c in self.step_configs}

    def _check_first_step(self) -> None:
        """Plan the first step once (its inputs exist): a wrong config fails before anything runs."""
        if not self.__dict__.get("_first_step_checked"):
            self.previous_results  # noqa: B018 - what the output folders hold before this job runs
            check_previous_results(make_plan(self.step_configs[0]))
            self._first_step_checked = True

    def job_max_retries(self) -> int:  # of publish()
        return max(config.max_retries for config in self.step_configs)

    def on_failure(self, exception: BaseException) -> str:
        return failures.task_error(f"{type(self).__name__} publish", exception)

    def _result_dir(self) -> Path:
        return self.output_folder()

    def requires(self) -> StepTask:
        return StepTask(job=self, index=len(self.step_configs) - 1)

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self._result_dir() / "_SUCCESS"))

    def complete(self) -> bool:
        try:
            self._check_first_step()
        except ConfigError as exc:
            if not luigi_command.under_luigi_command():
                raise
            luigi_command.exit_for_config_error(exc)
        last = self.requires()
        if not last.complete():
            return False
        manifest = report.manifest_at(self._result_location(), self._store())
        return manifest is not None and [s["job_id"] for s in manifest.get("steps", [])] == self._step_ids()

    def _publish_bad_records(self, manifests: list[dict[str, Any]]) -> bool:
        """Gather every step's bad records into ``<result_dir>/_bad_records/``, named after their step.

        Nothing is gathered when the result folder is a step's own output
        folder: that step's ``_bad_records/`` is already there, and the
        other steps' files would change a folder that step published.
        """
        if self._result_location() in [location(m["config"]["output_dir"]) for m in manifests]:
            return False
        folders = [self.step_folder(m) if is_url(m["config"]["output_dir"]) else Path(m["config"]["output_dir"])
                   for m in manifests]
        found = [(m["job_name"], path) for m, folder in zip(manifests, folders) if (folder / BAD_RECORDS).is_dir()
                 for path in sorted((folder / BAD_RECORDS).glob("*.jsonl"))]
        target = self.output_folder() / BAD_RECORDS
        shutil.rmtree(target, ignore_errors=True)
        if not found:
            return False
        with atomic_directory(target) as tmp:
            for step, path in found:
                shutil.copyfile(path, tmp / f"{step}-{path.name}")
        return True

    def plans_so_far(self) -> Iterator[JobPlan]:
        """The plans of the steps whose inputs exist (for the interrupted line)."""
        for config in self.step_configs:
            try:
                yield make_plan(config)
            except ConfigError:
                return

    def _step_ids(self) -> list[str]:
        return [make_plan(config).job_id for config in self.step_configs]

    def run(self) -> None:
        with interrupts.stoppable():
            self._publish()

    def _publish(self) -> None:
        started = time.time()
        manifests = []
        for config in self.step_configs:
            plan = make_plan(config)
            manifest = report.published_manifest(plan)
            assert manifest is not None, f"step {config.job_name} has no manifest"
            manifests.append(manifest)
        root = self.output_folder()
        root.mkdir(parents=True, exist_ok=True)
        outputs = self.publish(manifests)
        if self._publish_bad_records(manifests):
            outputs = [*outputs, BAD_RECORDS]
        where = self._result_location()
        combined = report.combined_manifest(type(self).__name__, manifests, where)
        report.write_html_report(root / report.HTML_REPORT, combined)
        manifest = {
            "job_name": type(self).__name__,
            "status": "SUCCESS",
            "steps": [{"job_name": m["job_name"], "job_id": m["job_id"], "output_dir": m["config"]["output_dir"],
                       "duration_s": m["duration_s"]} for m in manifests],
            "outputs": [*outputs, report.HTML_REPORT],
            "counters": combined["counters"],
            "bad_records": combined["bad_records"],
            "input_records": manifests[0].get("totals", {}).get("input_records", 0),
            "duration_s": round(time.time() - combined["start_time"], 3),
            "publish_duration_s": round(time.time() - started, 3),
        }
        report.write_manifest(root / "_SUCCESS", manifest)
        if is_url(where):
            earlier = (report.manifest_at(where, self._store()) or {}).get("outputs", [])
            publish_to_store(root, where, self._store() or Store(), manifest["outputs"], [*earlier, BAD_RECORDS])
            for folder in (root, remote.cache_folder(where) / "_downloads"):  # staging, and the steps' results copied
                shutil.rmtree(folder, ignore_errors=True)
        logger.info(report.steps_summary_line(manifest, where))
