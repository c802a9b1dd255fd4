"""Luigi's settings and worker fixes that a job needs, applied once per process where a run starts.

Importing mr_luigi changes nothing in Luigi. Defining a job class (what a
pipeline module does when the ``luigi`` command imports it, before the
command reads its ``[retcode]`` settings and makes its worker and
scheduler), building a job's task, ``MapReduceScheduler.execute_job`` and
the ``mr-luigi`` command call :func:`prepare`, which fills in the defaults of
:mod:`~mr_luigi.engine.luigi_settings` and installs the fixes of
:mod:`~mr_luigi.engine.luigi_patches`.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

import luigi
import luigi.interface

from mr_luigi.engine import interrupts, luigi_command, luigi_patches, luigi_settings
from mr_luigi.engine.plan import JobPlan

logger = logging.getLogger("luigi-interface.mr_luigi")
#: the Luigi release the fixes were written for and tested with
WRITTEN_FOR = "3.8"
_prepared = False


def prepare() -> None:
    """Apply the settings and fixes, once; say at DEBUG which Luigi they meet."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    luigi_settings.apply_defaults()
    luigi_patches.apply()
    version = getattr(luigi, "__version__", "unknown")
    fits = "" if version.startswith(WRITTEN_FOR + ".") else f" (written for Luigi {WRITTEN_FOR}.x: check them against this one)"
    logger.debug("mr_luigi: Luigi %s: default settings and worker fixes applied%s", version, fits)


class RootTask:
    """The base of a job's root task (a MapReduce job, a multi-step job): where a run starts.

    A pipeline module defines its jobs when the ``luigi`` command imports it,
    before the command reads its ``[retcode]`` settings and makes its worker,
    so defining a job class (outside mr_luigi) prepares Luigi, and so does
    building one. Under the ``luigi`` command, a Ctrl-C then reports how far
    the job's steps got (see :mod:`mr_luigi.engine.interrupts`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__module__.startswith("mr_luigi."):
            prepare()
        super().__init_subclass__(**kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        prepare()
        super().__init__(*args, **kwargs)
        if luigi_command.under_luigi_command():
            interrupts.install_for_luigi_command(self.plans_so_far, clean=luigi.interface.core().local_scheduler)

    def plans_so_far(self) -> Iterable[JobPlan]:
        """The plans of the job's steps made so far (for the line an interrupted command prints)."""
        raise NotImplementedError
