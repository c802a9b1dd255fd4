"""``mrjob.compat.jobconf_from_env``: the Hadoop job settings a task sees in its environment."""

from __future__ import annotations

import os

#: the names one setting has had across Hadoop versions
_SAME = (("map.input.file", "mapreduce.map.input.file"), ("map.input.start", "mapreduce.map.input.start"),
         ("map.input.length", "mapreduce.map.input.length"), ("mapred.task.id", "mapreduce.task.attempt.id"),
         ("mapred.job.id", "mapreduce.job.id"), ("mapred.task.partition", "mapreduce.task.partition"))


def jobconf_from_env(variable: str, default: str | None = None) -> str | None:
    """A setting's value (``map.input.file``: the file of the line being mapped), or ``default``."""
    names = [variable] + [name for pair in _SAME if variable in pair for name in pair if name != variable]
    for name in names:
        value = os.environ.get(name.replace(".", "_"))
        if value is not None:
            return value
    return default
