"""An mrjob job as an mr_luigi job: its config, ``MRJob.run()``, and :class:`MRJobTask` for Luigi pipelines.

:func:`job_config` turns a job class and its command line into a
:class:`~mr_luigi.JobConfig` with one :class:`~mr_luigi.Step` per
``MRStep``, whose functions are those of :mod:`.runtime`. The job file is
one of the job's side files, so its content is part of the job id (an
edited job never answers with an old result), and so are ``FILES`` and the
files of ``add_file_arg`` options. The output is what mrjob writes: each
line of the last step encoded with the job's output protocol.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import luigi

from mr_luigi.api.job import MapReduceJob
from mr_luigi.api.mrjob import shim
from mr_luigi.api.mrjob.job import LOCAL_RUNNERS, MRJob
from mr_luigi.api.mrjob.runtime import PARAMS_KEY
from mr_luigi.api.mrjob.step import NOT_SUPPORTED, MRStep, NotSupported
from mr_luigi.engine.config import JobConfig, Step
from mr_luigi.errors import ConfigError

RUNTIME = "mr_luigi.api.mrjob.runtime"
#: class attributes of Hadoop features mr_luigi has no use for: a job that sets them is refused
_HADOOP_ONLY = ("DIRS", "ARCHIVES", "HADOOP_INPUT_FORMAT", "HADOOP_OUTPUT_FORMAT", "PARTITIONER", "LIBJARS")
#: command-line options that say how to run the job, not what it computes: left out of what the tasks see
_RUNNER_OPTIONS = {"-r": 1, "--runner": 1, "-o": 1, "--output-dir": 1, "--no-output": 0, "-c": 1, "--conf-path": 1,
                   "--no-conf": 0, "-D": 1, "--jobconf": 1, "--workers": 1, "--scheduler-url": 1, "--work-dir": 1}


def parse_job(cls: type[MRJob], args: Sequence[str]) -> MRJob:
    """The job made from its command line; a wrong command line is a ConfigError with argparse's message."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return cls(list(args))
    except SystemExit as exc:
        message = err.getvalue().strip().splitlines()
        if exc.code in (0, None):  # --help: argparse printed it
            print(err.getvalue(), end="")
            raise
        raise ConfigError("mrjob", f"{cls.__name__} {' '.join(args)}: {message[-1] if message else 'bad arguments'}") from None


def job_config(cls: type[MRJob], args: Sequence[str], *, script: str | None = None, input_files: Sequence[str] = (),
               output_dir: str | None = None, **fields: Any) -> JobConfig:
    """The mr_luigi config of an mrjob job class run with ``args`` (its mrjob command line)."""
    job = parse_job(cls, args)
    options = job.options
    if options.runner not in LOCAL_RUNNERS:
        raise NotSupported(f"-r {options.runner}", "mr_luigi runs the job on Luigi (a local or central scheduler): "
                                                   "leave out -r, or use -r local")
    for name in _HADOOP_ONLY:
        if getattr(cls, name):
            raise NotSupported(f"{cls.__name__}.{name}", "it is a Hadoop feature; mr_luigi reads and writes plain files")
    steps = job.steps()
    _check_steps(steps)
    script = os.path.abspath(script or inspect.getsourcefile(cls) or "")
    inputs = list(input_files) or list(options.args)
    if not inputs:
        raise ConfigError("input_files", "no input given: name the input files after the job's options")
    if "-" in inputs:
        raise NotSupported("reading standard input ('-')", "name input files")
    output = output_dir or options.output_dir
    if not output:
        raise ConfigError("output_dir", "missing: give --output-dir DIR")
    files, file_args = _files(cls, job, script)
    params = {PARAMS_KEY: {"script": script, "class": cls.__name__, "args": task_args(args), "file_args": file_args}}
    values: dict[str, Any] = dict(job_name=cls.__name__, input_files=inputs, output_dir=output, output_format="lines",
                                  decode_errors="latin-1",
                                  steps=[_step(i, s, i == len(steps) - 1, bool(cls.SORT_VALUES), options.num_reducers)
                                         for i, s in enumerate(steps)],
                                  params=params, files=files)
    if options.work_dir:
        values["work_dir"] = options.work_dir
    values.update(fields)
    return JobConfig(**values)


def _check_steps(steps: Sequence[Any]) -> None:
    if not steps:
        raise NotSupported("a job without steps", "define a mapper, a reducer or steps()")
    for number, step in enumerate(steps):
        if not isinstance(step, MRStep):
            raise NotSupported(f"step {number} ({type(step).__name__})", "only MRStep steps run on mr_luigi")
        for key, why in NOT_SUPPORTED.items():
            if step.has(key):
                raise NotSupported(f"step {number}'s {key}", why)
        if number and any(step.has(k) for k in ("mapper_raw", "mapper_cmd", "mapper_pre_filter")):
            raise NotSupported(f"step {number}'s mapper_raw/mapper_cmd/mapper_pre_filter",
                               "only a first step reads files; a later step reads the step before's records")


def _step(index: int, step: MRStep, last: bool, sort_values: bool, reducers: int | None) -> Step:
    """One MRStep as an mr_luigi Step of :mod:`.runtime` functions."""
    fn = f"{RUNTIME}:step.s{index}."
    reads_files = any(step.has(k) for k in ("mapper_raw", "mapper_cmd", "mapper_pre_filter"))
    has_mapper = step.has("mapper") or step.has("mapper_init") or step.has("mapper_final")
    if index == 0:
        map_function: str | None = fn + ("raw_mapper" if reads_files else "text_mapper")
    else:
        map_function = fn + "step_mapper" if has_mapper or (last and not step.has("reducer")) else None
    has_reducer = step.has("reducer") or step.has("reducer_init") or step.has("reducer_final") or not last
    return Step(
        map_function=map_function,
        map_init=fn + "map_init" if map_function else None,
        map_final=fn + "map_final" if step.has("mapper_final") else None,
        combine_function=fn + "combiner" if step.has("combiner") else None,
        combine_init=fn + "combine_init" if step.has("combiner") else None,
        reduce_function=fn + "reducer" if has_reducer else None,
        reduce_init=fn + "reduce_init" if has_reducer else None,
        reduce_final=fn + "reduce_final" if step.has("reducer_final") else None,
        num_reduce_tasks=(reducers or None) if has_reducer else 0,
        sort_values=sort_values and has_reducer,
    )


def _files(cls: type[MRJob], job: MRJob, script: str) -> tuple[list[str], dict[str, str]]:
    """The job's side files (its own file, ``FILES``, file options) and the name each file option has in a task."""
    files = [script]
    for entry in cls.FILES:
        path, _, rename = str(entry).partition("#")
        if rename and rename != os.path.basename(path):
            raise NotSupported(f"FILES entry {entry!r}", "a file keeps its own name in mr_luigi's tasks")
        files.append(os.path.join(os.path.dirname(script), path))
    file_args = {}
    for dest in job._file_dests:
        value = getattr(job.options, dest, None)
        if value:
            files.append(os.path.abspath(value))
            file_args[dest] = os.path.basename(value)
    return files, file_args


def task_args(args: Sequence[str]) -> list[str]:
    """The command line a task's job instance is made from: the job's own options, not how it is run."""
    kept: list[str] = []
    skip = 0
    for arg in args:
        if skip:
            skip -= 1
            continue
        name = arg.split("=", 1)[0]
        if name in _RUNNER_OPTIONS:
            skip = 0 if "=" in arg else _RUNNER_OPTIONS[name]
            continue
        kept.append(arg)
    return kept


# -- running -------------------------------------------------------------------

#: runs a job's config and returns the exit code (``mr-luigi mrjob`` shows progress on the way)
Launcher = Callable[[JobConfig, argparse.Namespace], int]


def run_from_command_line(cls: type[MRJob], argv: Sequence[str], script: str | None = None,
                          launcher: Launcher | None = None) -> int:
    """Run an mrjob job class with its command line; return the exit code (2 for a bad command line or job)."""
    from mr_luigi.api.runner import MapReduceScheduler

    try:
        config = job_config(cls, argv, script=script)
        options = parse_job(cls, argv).options
    except ConfigError as exc:
        print(f"mr-luigi: ConfigError: {exc}", file=sys.stderr)
        return 2
    if launcher is not None:
        return launcher(config, options)
    scheduler = MapReduceScheduler(options.workers)
    return 0 if scheduler.execute_job(config) else 1


class MRJobTask(MapReduceJob):
    """An mrjob job file as a node of a Luigi pipeline: its map, shuffle and reduce tasks, its output as ``output()``.

    ``job`` is the job file (``path/to/mr_job.py``, or ``path:ClassName`` when it
    holds several jobs), ``job_args`` its command-line options. The inputs are
    ``job_args``' paths, or else the files of ``requires()``' outputs (a
    finished mr_luigi job's output folder counts as its part files).
    """

    job: str = luigi.Parameter(description="the mrjob job file (path, or path:ClassName)")
    job_args: Any = luigi.ListParameter(default=(), description="the job's command-line options and inputs")
    output_dir: str = luigi.Parameter(description="where the output goes")

    def job_config(self) -> JobConfig:
        path, name = _script_and_class(str(self.job))
        cls = shim.job_class(path, name)
        inputs = [] if parse_job(cls, list(self.job_args)).options.args else _input_paths(self.input())
        return job_config(cls, list(self.job_args), script=path, input_files=inputs, output_dir=self.output_dir)


def _script_and_class(job: str) -> tuple[str, str | None]:
    """``path/to/mr_job.py`` or ``path/to/mr_job.py:ClassName`` (a path that exists as given is a path)."""
    if os.path.exists(job) or ":" not in job:
        return job, None
    path, _, name = job.rpartition(":")
    return path, name


def _input_paths(targets: Any) -> list[str]:
    paths = []
    for target in luigi.task.flatten(targets):
        folder = getattr(target, "folder", None)  # a JobOutput: the job's output folder (its part files)
        paths.append(str(folder) if isinstance(folder, Path) else target.path)
    return paths
