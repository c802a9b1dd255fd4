"""What a running task offers the user's functions: the job's params, side files and counters.

User functions keep plain signatures (``map_function(line)``); settings that
shape them, such as which JSON field holds the user, come from the job
config's ``params`` table and are read with :func:`job_params`; files they
read besides the inputs are declared in ``files`` and opened through
:func:`job_file`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from mr_luigi.engine import counters
from mr_luigi.errors import ConfigError

_params: Mapping[str, Any] = MappingProxyType({})
_files: Mapping[str, Path] | None = None


def job_params() -> Mapping[str, Any]:
    """The ``params`` of the running job's config (read-only; empty outside a job)."""
    return _params


def job_file(name: str) -> Path:
    """The path of the running job's side file ``name`` (a file named in the config's ``files``).

    It is the job's own copy, with the content the job id was made from;
    the file is read there rather than where the config names it, so that
    an edit during the run cannot reach some tasks and not others.
    """
    if _files is None:
        raise ConfigError("files", f"job_file({name!r}) is called outside a running job's task")
    try:
        return _files[name]
    except KeyError:
        known = ", ".join(sorted(_files)) or "none"
        raise ConfigError("files", f"job_file({name!r}): the job declares no side file of that name (its files: "
                                   f"{known}); add it to the config's files") from None


@contextmanager
def running(params: Mapping[str, Any], files: Mapping[str, Path] | None = None) -> Iterator[dict[tuple[str, str], int]]:
    """Run a task's work with the job's params and side files set; yield its counters as they fill."""
    global _params, _files
    previous = _params, _files
    _params, _files = MappingProxyType(dict(params)), MappingProxyType(dict(files or {}))
    try:
        with counters.collecting() as collected:
            yield collected
    finally:
        _params, _files = previous
