"""What a running task offers the user's functions: the job's params and counters.

User functions keep plain signatures (``map_function(line)``); settings that
shape them, such as which JSON field holds the user, come from the job
config's ``params`` table and are read with :func:`job_params`.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from mr_luigi.engine import counters

_params: Mapping[str, Any] = MappingProxyType({})


def job_params() -> Mapping[str, Any]:
    """The ``params`` of the running job's config (read-only; empty outside a job)."""
    return _params


@contextmanager
def running(params: Mapping[str, Any]) -> Iterator[dict[tuple[str, str], int]]:
    """Run a task's work with the job's params set; yield its counters as they fill."""
    global _params
    previous, _params = _params, MappingProxyType(dict(params))
    try:
        with counters.collecting() as collected:
            yield collected
    finally:
        _params = previous
