"""A job's config as plain JSON: what a task parameter carries to any process or host.

Luigi rebuilds a task from its string parameters wherever it runs it: in
the worker that scheduled it, in a dynamic dependency, in an assistant
worker on another host. So a task of a job carries the job's *spec*, its
config as canonical JSON (user functions as ``module:qualname`` references,
paths absolute), and the job id; whoever parses them plans the job again
from the spec and checks that the job id comes out the same (see
:func:`mr_luigi.engine.plan.plan_of_task`).

A config whose functions or params have no such plain form (a lambda, a
closure, a ``functools.partial``, a set in ``params``) still runs, in the
process that planned it and the task processes Luigi forks from it: its
spec says why it cannot travel further, and that is the error another
process gets.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mr_luigi.io.remote import is_url
from mr_luigi.engine.config import (
    FIELD_NAMES,
    FUNCTION_FIELDS,
    STEP_FIELDS,
    JobConfig,
    Step,
    function_ref,
    resolve_function,
)
from mr_luigi.errors import ConfigError

#: the key of a spec that cannot be rebuilt elsewhere: why not
NOT_PORTABLE = "not_portable"


def spec_of(config: JobConfig) -> str:
    """The config as canonical JSON (sorted keys, no spaces)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in FIELD_NAMES:
        value = getattr(config, name)
        if name in FUNCTION_FIELDS:
            value = _function_spec(name, value, problems)
        elif name in ("output_dir", "work_dir") and value:
            value = _absolute(value)
        elif name in ("input_files", "files"):
            value = [_absolute(p) for p in ([value] if isinstance(value, (str, os.PathLike)) else value)]
        elif name == "params":
            value = _params_spec(value, problems)
        elif name == "steps":
            value = [_step_spec(i, step, problems) for i, step in enumerate(value)] if isinstance(value, (list, tuple)) else value
        elif isinstance(value, tuple):
            value = list(value)
        values[name] = value
    if problems:
        values[NOT_PORTABLE] = "; ".join(problems)
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


def config_of(spec: str) -> JobConfig:
    """The JobConfig a spec stands for (raises ConfigError for a spec that cannot travel)."""
    try:
        values = json.loads(spec)
    except ValueError as exc:
        raise ConfigError("spec", f"not a job spec ({exc}): {spec[:80]!r}") from None
    if not isinstance(values, dict) or "job_name" not in values:
        raise ConfigError("spec", f"not a job spec: {spec[:80]!r}")
    why = values.pop(NOT_PORTABLE, None)
    if why:
        raise ConfigError(
            "spec", f"job {values['job_name']!r} can only run in the process that planned it: {why}. Define the "
                    "functions at module level and keep params to JSON values to run its tasks in other processes")
    return JobConfig(**{k: v for k, v in values.items() if k in FIELD_NAMES})


def _step_spec(index: int, step: Any, problems: list[str]) -> Any:
    """A step as a plain table of its fields, functions as references."""
    if isinstance(step, Step):
        step = {name: getattr(step, name) for name in STEP_FIELDS}
    if not isinstance(step, dict):
        return step  # validation names it
    return {name: _function_spec(f"steps[{index}].{name}", value, problems) if name in FUNCTION_FIELDS else value
            for name, value in step.items()}


def _absolute(path: Any) -> Any:
    if not isinstance(path, (str, os.PathLike)):
        return path  # validation names it
    if is_url(path):
        return path
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _function_spec(name: str, fn: Any, problems: list[str]) -> Any:
    if fn is None or isinstance(fn, str):
        return fn
    ref = function_ref(fn)
    try:
        found = resolve_function(ref, name)
    except ConfigError:
        found = None
    if found is not fn:
        problems.append(f"{name} {ref} cannot be imported by that name")
    return ref


def _params_spec(params: Any, problems: list[str]) -> Any:
    try:
        plain = json.loads(json.dumps(params, sort_keys=True))
    except (TypeError, ValueError):
        plain = None
    if plain != params:
        problems.append("params are not plain JSON values")
        return repr(params)
    return plain

