"""How the ``luigi`` command reports a job's config error: one line naming the field, exit code 2.

Luigi's worker turns an exception in a task's ``complete()`` into a logged
traceback and goes on scheduling; for a job whose config is wrong that
hides the one line the user needs. So a job's root task, asked whether it
is complete under the ``luigi`` command, ends the command here instead
(``mr-luigi`` reports the same errors in :func:`mr_luigi.ops.cli.main`).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from luigi.cmdline_parser import CmdlineParser

from mr_luigi.errors import ConfigError

#: the exit code of an invalid config (README, "Exit codes")
EXIT_CONFIG_ERROR = 2


def under_luigi_command() -> bool:
    """Whether this process is the ``luigi`` command (it parsed a task from its command line)."""
    return CmdlineParser.get_instance() is not None


def exit_for_config_error(exc: ConfigError) -> NoReturn:
    """Print ``mr_luigi: ConfigError: ...`` and exit 2."""
    print(f"mr_luigi: ConfigError: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIG_ERROR) from None
