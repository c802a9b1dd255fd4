"""The root task of a job, which users subclass: :class:`MapReduceJob`.

A subclass says what to compute by returning a :class:`JobConfig` from
:meth:`MapReduceJob.job_config`; it is a normal Luigi task otherwise, with
parameters, ``requires`` and ``output``, so it can be run with ``luigi
--module ...``, required by other tasks, or watched in Luigi's web UI.
:class:`ConfigFileJob` adds the usual command-line parameters (``--config``,
``--input``, ``--output-dir``, ``--num-reduce-tasks``, ``--max-retries``).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import luigi
from luigi.cmdline_parser import CmdlineParser

from mr_luigi import atomic, attempts, phases, report
from mr_luigi.config import JobConfig, config_from_mapping, config_from_values, read_config_file
from mr_luigi.errors import ConfigError, StorageError
from mr_luigi.plan import JobPlan, make_plan
from mr_luigi.tasks import PlanParameter, attempt_of, reduce_tasks

logger = logging.getLogger("luigi-interface.mr_luigi")
_announced: set[str] = set()


class JobOutput(luigi.LocalTarget):
    """The ``_SUCCESS`` manifest of a job: it exists only when every output does.

    A manifest left by a different job (other config or inputs) does not count.
    """

    def __init__(self, plan: JobPlan) -> None:
        super().__init__(str(plan.success_path))
        self.job_id = plan.job_id

    def exists(self) -> bool:
        manifest = report.read_manifest(Path(self.path))
        return manifest is not None and manifest.get("job_id") == self.job_id


class MapReduceJob(luigi.Task):
    """A whole MapReduce job as one Luigi task; subclass and define job_config()."""

    def job_config(self) -> JobConfig:
        """The config of this job, built from the task's parameters."""
        raise NotImplementedError(f"{type(self).__name__} must define job_config()")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = self._checked_plan()

    def _make_plan(self) -> JobPlan:
        return make_plan(self.job_config())

    def _checked_plan(self) -> JobPlan:
        try:
            plan = self._make_plan()
            check_previous_results(plan)
            return plan
        except ConfigError as exc:
            if CmdlineParser.get_instance() is None:
                raise
            # Under the luigi command, a traceback from inside Luigi would hide
            # the one line the user needs: print it and exit non-zero.
            print(f"mr_luigi: ConfigError: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    @property
    def retry_count(self) -> int:  # read by Luigi's worker: total attempts
        return self.plan.config.max_retries + 1

    def requires(self) -> list[luigi.Task]:
        self._announce()
        return reduce_tasks(self.plan)

    def _announce(self) -> None:
        """Log the job's shape once per process (requires() runs after Luigi set up logging)."""
        plan = self.plan
        if plan.job_id in _announced:
            return
        _announced.add(plan.job_id)
        logger.info("Starting MapReduce job: %s", plan.describe())
        logger.info("Created %d map tasks", plan.num_maps)
        logger.info("Created %d shuffle tasks depending on %d map tasks", plan.num_partitions, plan.num_maps)
        logger.info("Created %d reduce tasks", plan.num_partitions)

    def output(self) -> JobOutput:
        return JobOutput(self.plan)

    def run(self) -> None:
        run_final_step(self.plan)
        tracking = getattr(self, "set_tracking_url", None)  # attached by Luigi's worker
        if tracking is not None:
            tracking((self.plan.output_dir / report.HTML_REPORT).as_uri())


def run_final_step(plan: JobPlan) -> dict[str, Any]:
    """The job's last task, as one logged attempt (with its fault hooks).

    Another worker may finish the same job first (two root tasks of one job,
    say ``mr-luigi run`` on one host and ``luigi --module`` on another): its
    manifest then stands, and this step succeeds without redoing it.
    """
    finished = _finished_manifest(plan)
    if finished is None:
        with attempt_of(plan, FINAL_TASK, "final", 0) as (_, inject):
            try:
                return finish_job(plan, inject)
            except OSError as exc:
                finished = _finished_manifest(plan)  # it removed the intermediates this step was reading
                if finished is None:
                    raise StorageError(f"{plan.name} final step: file error: {exc}") from exc
    logger.info("%s: another worker finished this job", plan.name)
    return finished


def _finished_manifest(plan: JobPlan) -> dict[str, Any] | None:
    manifest = report.read_manifest(plan.success_path)
    return manifest if manifest is not None and manifest.get("job_id") == plan.job_id else None


FINAL_TASK = "final"


def finish_job(plan: JobPlan, inject: Callable[[str], None] = lambda point: None) -> dict[str, Any]:
    """The final step: publish outputs, write the manifest, remove intermediates.

    The manifest is written last, after every output it lists: until it is
    there, the job is incomplete and a re-run does this step again.
    """
    started = time.time()
    final_lines, outputs = phases.write_final_outputs(plan, inject)
    manifest = report.build_manifest(plan, report.collect_task_stats(plan), final_lines, outputs, started,
                                     attempts.summary(plan.job_dir, running=FINAL_TASK))
    report.write_html_report(plan.output_dir / report.HTML_REPORT, manifest)
    inject("commit")
    report.write_manifest(plan.success_path, manifest)
    if plan.config.keep_intermediate:
        remove_leftovers(plan.job_dir)
    else:
        remove_intermediates(plan)
    logger.info(report.summary(manifest, plan.output_dir))
    return manifest


def remove_leftovers(folder: Path) -> None:
    """Delete what killed attempts left in a kept work folder (``*-luigi-tmp-*``)."""
    for path in sorted(folder.rglob(f"*{atomic.TMP_MARKER}*"), reverse=True):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_previous_results(plan: JobPlan) -> None:
    """Refuse to overwrite the finished results of a different job."""
    manifest = report.read_manifest(plan.success_path)
    if manifest is not None and manifest.get("job_id") != plan.job_id:
        raise ConfigError(
            "output_dir",
            f"{str(plan.output_dir)!r} holds the results of another job ({manifest.get('job_id')}; "
            "its config or inputs differ): remove that folder or choose another output_dir",
        )


def remove_intermediates(plan: JobPlan) -> None:
    """Delete the job's work folder, and the work dir itself when it is left empty."""
    shutil.rmtree(plan.job_dir, ignore_errors=True)
    try:
        plan.resolved.work_dir.rmdir()
    except OSError:
        pass


class PlannedJob(MapReduceJob):
    """A job run from a ready :class:`JobPlan` (the Python API's root task)."""

    plan_param: JobPlan = PlanParameter()

    def _make_plan(self) -> JobPlan:
        return self.plan_param

    def job_config(self) -> JobConfig:
        return self.plan_param.config


_FLAG_HINTS = {"input_files": "give --input or set it in the config file", "output_dir": "give --output-dir or set it in the config file"}


class ConfigFileParams:
    """The command-line parameters of a job configured by defaults and a TOML file.

    Later sources win: the class's :attr:`defaults`, then the config file
    (``--config``, or :attr:`default_config_file` if it exists), then the
    parameters given on the command line.
    """

    defaults: ClassVar[dict[str, Any]] = {}
    default_config_file: ClassVar[Path | None] = None

    config = luigi.OptionalPathParameter(default=None, description="TOML job config (overrides the pipeline's defaults)")
    input = luigi.OptionalParameter(default=None, description="input file, folder or glob (overrides the config)")
    output_dir = luigi.OptionalParameter(default=None, description="output folder (overrides the config)")
    num_reduce_tasks = luigi.OptionalIntParameter(default=None, description="number of reduce partitions")
    max_retries = luigi.OptionalIntParameter(default=None, description="retries of a failed task within one run")

    def config_values(self) -> dict[str, Any]:
        """The merged config fields, not yet validated."""
        values = dict(self.defaults)
        values["params"] = dict(self.defaults.get("params", {}))
        config_file = self.config or self.default_config_file
        if config_file is not None and (self.config or Path(config_file).exists()):
            from_file = read_config_file(config_file)
            values["params"].update(from_file.pop("params", {}))
            values.update(from_file)
        overrides = {
            "input_files": self.input,
            "output_dir": self.output_dir,
            "num_reduce_tasks": self.num_reduce_tasks,
            "max_retries": self.max_retries,
        }
        values.update(config_from_mapping({k: v for k, v in overrides.items() if v is not None}))
        return values


class ConfigFileJob(ConfigFileParams, MapReduceJob):
    """A MapReduce job configured by defaults, a TOML file and the command line."""

    def job_config(self) -> JobConfig:
        return config_from_values(self.config_values(), hints=_FLAG_HINTS)
