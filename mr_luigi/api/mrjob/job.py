"""``mrjob.job.MRJob``: the base class of an mrjob job, as mr_luigi runs it.

A job defines ``mapper``, ``combiner``, ``reducer`` (and their ``*_init`` and
``*_final`` hooks, ``mapper_raw``, ``mapper_cmd``, ``mapper_pre_filter``) or
``steps()``; options with ``configure_args`` (``add_passthru_arg``,
``add_file_arg``), read as ``self.options``; protocols, ``FILES`` and
``SORT_VALUES`` as class attributes. ``MRJob.run()`` hands the job to the
``mr-luigi mrjob`` command that loaded the file (see :mod:`.runner`). Each task makes its own instance, as each
mrjob task process does, so state kept on ``self`` is per task.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any, Iterable

from mr_luigi.api.mrjob.protocol import JSONProtocol, RawValueProtocol
from mr_luigi.api.mrjob.step import MRStep, NotSupported
from mr_luigi.engine import counters

logger = logging.getLogger("luigi-interface.mr_luigi")

#: the methods that make a job's single step when it does not define steps()
_STEP_METHODS = ("mapper", "mapper_init", "mapper_final", "mapper_raw", "combiner", "combiner_init", "combiner_final",
                 "reducer", "reducer_init", "reducer_final")
#: methods that return a shell command for the step
_COMMAND_METHODS = ("mapper_cmd", "mapper_pre_filter", "combiner_cmd", "combiner_pre_filter", "reducer_cmd",
                    "reducer_pre_filter")
#: runners mr_luigi stands in for
LOCAL_RUNNERS = ("local", "inline", None)


class RunRequested(BaseException):
    """``MRJob.run()`` was called: the ``mr-luigi mrjob`` command that runs the file as a script catches it.

    A ``BaseException``, so that a job file's own ``except Exception`` cannot
    swallow it on its way out.
    """

    def __init__(self, job_class: type[MRJob], argv: list[str]) -> None:
        super().__init__(f"{job_class.__name__}.run(): run this file with `mr-luigi mrjob FILE [ARGS...]`")
        self.job_class = job_class
        self.argv = argv


class MRJob:
    """Subclass it and define ``mapper``/``combiner``/``reducer`` or ``steps()``, as with mrjob."""

    INPUT_PROTOCOL: type = RawValueProtocol
    INTERNAL_PROTOCOL: type = JSONProtocol
    OUTPUT_PROTOCOL: type = JSONProtocol
    FILES: list[str] = []
    DIRS: list[str] = []
    ARCHIVES: list[str] = []
    SORT_VALUES: bool | None = None
    JOBCONF: dict[str, Any] = {}
    PARTITIONER: str | None = None
    HADOOP_INPUT_FORMAT: str | None = None
    HADOOP_OUTPUT_FORMAT: str | None = None
    LIBJARS: list[str] = []

    def __init__(self, args: list[str] | None = None) -> None:
        self._passthru_dests: list[str] = []
        self._file_dests: list[str] = []
        self.arg_parser = argparse.ArgumentParser(prog=type(self).__name__, allow_abbrev=False)
        self._add_runner_args()
        self.configure_args()
        self._args = list(args or [])
        self.options = self.arg_parser.parse_args(self._args)
        self.load_args(self._args)

    # -- options --------------------------------------------------------------

    def _add_runner_args(self) -> None:
        """What mrjob's command line takes besides the job's own arguments (mr_luigi reads some of them)."""
        add = self.arg_parser.add_argument
        add("args", nargs="*", help="input paths")
        add("-r", "--runner", default=None, help="local or inline (mr_luigi runs the job either way)")
        add("-o", "--output-dir", dest="output_dir", default=None, help="where the output goes")
        add("--no-output", dest="no_output", action="store_true", help="(ignored: the output is in --output-dir)")
        add("-c", "--conf-path", dest="conf_paths", action="append", default=None, help="(ignored)")
        add("--no-conf", dest="conf_paths", action="store_const", const=[], help="(ignored)")
        add("-D", "--jobconf", dest="jobconf", action="append", default=[], help="(ignored)")
        add("--workers", type=int, default=None, help="mr_luigi: tasks run at once (default: the CPU count, at most 4)")
        add("--scheduler-url", default=None, help="mr_luigi: a luigid to run under (default: the local scheduler)")
        add("--work-dir", default=None, help="mr_luigi: where intermediates go (default: <output-dir>/_work)")
        add("--num-reducers", dest="num_reducers", type=int, default=None, help="mr_luigi: reduce tasks per step")
        for mode in ("--mapper", "--combiner", "--reducer", "--spark"):
            add(mode, action="store_true", help=argparse.SUPPRESS)
        add("--step-num", type=int, default=None, help=argparse.SUPPRESS)

    def configure_args(self) -> None:
        """Add the job's own arguments here (``add_passthru_arg``, ``add_file_arg``)."""

    def load_args(self, args: list[str]) -> None:
        """Called with the arguments once they are parsed into ``self.options``."""

    def add_passthru_arg(self, *args: Any, **kwargs: Any) -> None:
        """An argument every task of the job sees in ``self.options``."""
        self._passthru_dests.append(self.arg_parser.add_argument(*args, **kwargs).dest)

    def add_file_arg(self, *args: Any, **kwargs: Any) -> None:
        """An argument naming a file every task reads: the file is shipped with the job (see ``files``)."""
        kwargs.pop("type", None)
        self._file_dests.append(self.arg_parser.add_argument(*args, **kwargs).dest)

    def pass_arg_through(self, opt_str: str) -> None:
        """Let one of the runner's options through to the tasks (they see every option here)."""

    # -- protocols ------------------------------------------------------------

    def input_protocol(self) -> Any:
        return self.INPUT_PROTOCOL()

    def internal_protocol(self) -> Any:
        return self.INTERNAL_PROTOCOL()

    def output_protocol(self) -> Any:
        return self.OUTPUT_PROTOCOL()

    # -- steps ----------------------------------------------------------------

    def steps(self) -> list[MRStep]:
        """The job's steps: by default one, made of the step methods the job defines."""
        kwargs: dict[str, Any] = {name: getattr(self, name) for name in _STEP_METHODS if self._defines(name)}
        for name in _COMMAND_METHODS:
            if self._defines(name):
                command = getattr(self, name)()
                if command is not None:
                    kwargs[name] = command
        if not kwargs:
            raise NotSupported(f"job {type(self).__name__}", "it defines no mapper, reducer or steps()")
        return [MRStep(**kwargs)]

    def _defines(self, name: str) -> bool:
        return getattr(type(self), name, None) is not getattr(MRJob, name, None)

    def mapper(self, key: Any, value: Any) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def mapper_init(self) -> None:
        raise NotImplementedError

    def mapper_final(self) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def mapper_raw(self, input_path: str, input_uri: str) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def combiner(self, key: Any, values: Iterable[Any]) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def combiner_init(self) -> None:
        raise NotImplementedError

    def combiner_final(self) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def reducer(self, key: Any, values: Iterable[Any]) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def reducer_init(self) -> None:
        raise NotImplementedError

    def reducer_final(self) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def mapper_cmd(self) -> str | None:
        return None

    def mapper_pre_filter(self) -> str | None:
        return None

    def combiner_cmd(self) -> str | None:
        return None

    def combiner_pre_filter(self) -> str | None:
        return None

    def reducer_cmd(self) -> str | None:
        return None

    def reducer_pre_filter(self) -> str | None:
        return None

    # -- inside a task ----------------------------------------------------------

    def increment_counter(self, group: str, counter: str, amount: int = 1) -> None:
        """Add to a counter: shown in the job's summary, manifest and report, summed over tasks."""
        counters.increment_counter(group, counter, amount)

    def set_status(self, msg: str) -> None:
        """mrjob's task status line: logged here."""
        logger.debug("%s: %s", type(self).__name__, msg)

    # -- running ----------------------------------------------------------------

    @classmethod
    def run(cls) -> None:
        """Hand the job and the command line to ``mr-luigi mrjob``, which loaded this file and runs it."""
        import sys

        raise RunRequested(cls, sys.argv[1:])

    def make_runner(self) -> Any:
        raise NotSupported("make_runner()", "run the job with `mr-luigi mrjob FILE INPUT...`, or as a Luigi task "
                                            "(mr_luigi.MRJobTask)")

    @classmethod
    def mr_job_script(cls) -> str | None:
        import inspect

        return inspect.getsourcefile(cls)
