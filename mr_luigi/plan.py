"""The plan of a job: its validated config, its splits and where each file goes.

A plan is computed once, before any task runs, and is what every task of the
job holds. Its ``job_id`` is a digest of everything that decides the results
(functions, inputs with their sizes and times, partition count, split size,
output folder), so intermediates of an earlier, different job are never
mistaken for this job's, and two jobs never share a work folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import types
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from mr_luigi import faults
from mr_luigi.config import JobConfig, ResolvedConfig, validate
from mr_luigi.splits import Split, auto_split_size, plan_splits

FORMAT_VERSION = 2  # 2: without a combiner, intermediate records are (key, [values])


def part_name(partition: int) -> str:
    """The name of a partition's files: ``part-00003``."""
    return f"part-{partition:05d}"


@dataclass(frozen=True, eq=False)
class JobPlan:
    """A validated job: config, splits, identity and file layout.

    Two plans are equal when their ``job_id`` is: Luigi hashes and compares
    task parameters, and the id already stands for everything in the plan.
    """

    resolved: ResolvedConfig
    splits: tuple[Split, ...]
    job_id: str
    #: each input's (size, mtime_ns) when planned: a map checks its input still matches
    input_stats: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobPlan) and other.job_id == self.job_id

    def __hash__(self) -> int:
        return hash(self.job_id)

    def __repr__(self) -> str:
        # Luigi formats parameter values into messages; a plan of thousands
        # of splits must not be spelled out each time (it cost seconds).
        return f"JobPlan({self.job_id})"

    @property
    def config(self) -> JobConfig:
        return self.resolved.config

    @property
    def name(self) -> str:
        return self.config.job_name

    @property
    def num_maps(self) -> int:
        return len(self.splits)

    @property
    def num_partitions(self) -> int:
        return self.config.num_reduce_tasks

    @property
    def output_dir(self) -> Path:
        return self.resolved.output_dir

    @cached_property
    def job_dir(self) -> Path:
        """This job's own folder of intermediates."""
        return self.resolved.work_dir / self.job_id

    def map_dir(self, index: int) -> Path:
        return self.job_dir / "map_output" / f"map-{index:05d}"

    def reduce_input_dir(self, partition: int) -> Path:
        return self.job_dir / "reduce_input" / part_name(partition)

    def reduce_output_dir(self, partition: int) -> Path:
        return self.job_dir / "reduce_output" / part_name(partition)

    @property
    def success_path(self) -> Path:
        return self.output_dir / "_SUCCESS"

    def describe(self) -> str:
        return (
            f"job {self.name} ({self.job_id}): {len(self.resolved.input_paths)} input file(s), "
            f"{self.num_maps} map task(s), {self.num_partitions} shuffle and {self.num_partitions} reduce task(s)"
        )


_known_plans: dict[str, JobPlan] = {}
_plan_sources: list[Callable[[], Any]] = []


def known_plan(job_id: str) -> JobPlan | None:
    """A plan this process has made, by its job id, asking the plan sources if needed.

    Luigi rebuilds tasks from their string parameters (dynamic dependencies,
    the central scheduler); a plan parameter is its job id, found here.
    """
    if job_id not in _known_plans:
        for source in list(_plan_sources):
            try:
                source()
            except Exception:  # a source that cannot plan yet (its input is missing)
                continue
            if job_id in _known_plans:
                break
    return _known_plans.get(job_id)


def add_plan_source(source: Callable[[], Any]) -> None:
    """Register a callable that makes (and so registers) a plan on demand."""
    _plan_sources.append(source)


def make_plan(config: JobConfig) -> JobPlan:
    """Validate a config and plan its splits (raises ConfigError)."""
    faults.check_environment()
    resolved = validate(config)
    if config.split_size_mb is None:
        split_size = auto_split_size(sum(p.stat().st_size for p in resolved.input_paths))
    else:
        split_size = max(1, int(config.split_size_mb * 1024 * 1024))
    input_stats = {str(p): file_identity(p) for p in resolved.input_paths}
    splits = tuple(plan_splits(resolved.input_paths, split_size))
    plan = JobPlan(resolved, splits, f"{config.job_name}-{_digest(resolved, splits, input_stats)}", input_stats)
    _known_plans[plan.job_id] = plan
    return plan


def file_identity(path: str | Path) -> tuple[int, int]:
    """What tells that a file changed: its size and modification time (ns)."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _digest(resolved: ResolvedConfig, splits: tuple[Split, ...], input_stats: dict[str, tuple[int, int]]) -> str:
    config = resolved.config
    identity: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "job_name": config.job_name,
        "functions": {
            name: [ref, _code_fingerprint(getattr(resolved, name))] for name, ref in sorted(resolved.function_refs.items())
        },
        "inputs": [[path, size, mtime] for path, (size, mtime) in input_stats.items()],
        "splits": [[[s.path, s.start, s.end] for s in split.segments] for split in splits],
        "num_reduce_tasks": config.num_reduce_tasks,
        "output_dir": str(resolved.output_dir),
        "params": config.params,
        "named_outputs": config.named_outputs,
        "output_format": config.output_format,
    }
    blob = json.dumps(identity, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _code_fingerprint(fn: Any) -> str:
    """A digest of a function's byte code, so an edited function is a new job."""
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return ""
    h = hashlib.sha256()
    _feed_code(h, code)
    return h.hexdigest()[:12]


def _feed_code(h: "hashlib._Hash", code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())
