"""The plan of a job: its validated config, its splits and where each file goes.

A plan is made from a job's config: by the job's root task when it is
scheduled, and from a task's spec by any other process that runs one of the
job's tasks (see :func:`plan_of_task`), once per process. Its ``job_id`` is
a digest of everything that decides the results: the functions and the
user's code they reach (see :mod:`mr_luigi.engine.fingerprint`), the inputs
with their sizes, modification and change times and inode numbers, the
content of the side files (``files``), partition count, splits, output
folder, output format, params, and what counts as a bad record
(``max_bad_records``, ``skip_exceptions``, ``encoding``, ``decode_errors``).
So intermediates of an earlier, different
job are never mistaken for this job's, two jobs never share a work folder,
and a finished job's results are never the answer to an edited one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

from mr_luigi.engine import faults, side_files
from mr_luigi.engine.config import STEP_FIELDS, JobConfig, ResolvedConfig, step_configs, validate
from mr_luigi.engine.fingerprint import Fingerprint
from mr_luigi.engine.mapping import is_file_map
from mr_luigi.engine.spec import config_of, spec_of
from mr_luigi.errors import ConfigError, JobChanged
from mr_luigi.io import atomic, remote
from mr_luigi.io.remote import Store, is_url
from mr_luigi.io.seal import ENV as SECRET_ENV
from mr_luigi.io.seal import NETWORK_FILESYSTEMS, Seal, filesystem_type, from_environment
from mr_luigi.io.splits import MAX_AUTO_MAPS, Segment, Split, plan_auto_splits, plan_splits

logger = logging.getLogger(__name__)

# 2: without a combiner, intermediate records are (key, [values]);
# 3: bad records are kept in the work folder, reduces may skip keys
FORMAT_VERSION = 3


#: the file of records a step before the last leaves for the next step, in each reduce output folder
STEP_RECORDS = "records"


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
    #: the config as plain JSON (see :mod:`mr_luigi.engine.spec`): with the job id, what a task parameter carries
    spec: str = ""
    #: each input's identity when planned (see :func:`file_identity`): a map checks its input still matches
    input_stats: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    #: what the job id is a digest of (kept in the manifest, to say what differs from another job)
    identity: dict[str, Any] = field(default_factory=dict)
    #: in a multi-step job: the plan of the step before (whose records this step reads), and (this step, steps)
    previous: JobPlan | None = None
    step: tuple[int, int] | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobPlan) and other.job_id == self.job_id

    def __hash__(self) -> int:
        return hash(self.job_id)

    def __repr__(self) -> str:
        # Luigi formats parameter values into messages; a plan of thousands
        # of splits must not be spelled out each time (it cost seconds).
        return f"JobPlan({self.job_id})"

    @property
    def reads_records(self) -> bool:
        """A later step of a multi-step job: its maps read the step before's records, not lines."""
        return self.previous is not None

    @property
    def writes_records(self) -> bool:
        """A step before the last: its reduces write records for the next step, not text."""
        return self.step is not None and self.step[0] < self.step[1]

    def record_outputs(self) -> tuple[Path, ...]:
        """The files of records a step's reduces write, one per partition: the next step's inputs."""
        return tuple(self.reduce_output_dir(p) / STEP_RECORDS for p in range(self.num_partitions))

    def steps(self) -> list[JobPlan]:
        """The plans of the job's steps up to this one, first first (just this one for a one-step job)."""
        chain = [self]
        while chain[0].previous is not None:
            chain.insert(0, chain[0].previous)
        return chain

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
    def map_only(self) -> bool:
        """No shuffle and no reduce: each map writes its part file (see :func:`mr_luigi.engine.phases.map.run_map_only`)."""
        return self.resolved.map_only

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
    def quarantine_dir(self) -> Path:
        """Where the tasks keep their bad records until the final step publishes them."""
        return self.job_dir / "bad_records"

    @property
    def side_file_copies(self) -> dict[str, Path]:
        """Where the tasks read the side files (``files``): the job's copies of them."""
        return side_files.snapshot_paths(self.job_dir, self.resolved.side_files)

    @property
    def success_path(self) -> Path:
        """The manifest in the output folder (the staging folder, for an ``s3://`` output_dir)."""
        return self.output_dir / "_SUCCESS"

    @property
    def output_location(self) -> str:
        """Where the results are published, as a user names it: a folder, or an ``s3://`` URL."""
        return self.resolved.output_url or str(self.output_dir)

    def published(self, name: str) -> str:
        """Where the output ``name`` is published: ``s3://.../part-00000`` or a local path."""
        url = self.resolved.output_url
        return f"{url}/{name}" if url else str(self.output_dir / name)

    @cached_property
    def seal(self) -> Seal | None:
        """What tags and checks the intermediate records, from ``MR_LUIGI_SECRET`` (see :mod:`mr_luigi.io.seal`)."""
        return from_environment()

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        """What in this plan is legal but likely a mistake at this size: too many tasks to schedule, huge partitions."""
        found = []
        if len(self.splits) > MAX_AUTO_MAPS:  # only an explicit split_size_mb gets here (see plan_auto_splits)
            found.append(f"split_size_mb = {self.config.split_size_mb} plans {len(self.splits):,} map tasks: Luigi's "
                         f"scheduler slows with the square of a job's tasks (the automatic split size keeps to "
                         f"{MAX_AUTO_MAPS:,}); remove split_size_mb or raise it")
        input_bytes = sum(stat[0] for stat in self.input_stats.values())
        if not self.map_only and input_bytes > PARTITION_WARN_BYTES * self.num_partitions:
            share = input_bytes / self.num_partitions / (1 << 30)
            enough = -(-input_bytes // PARTITION_GOOD_BYTES)
            found.append(f"num_reduce_tasks = {self.num_partitions}: each reduce would sort about {share:,.0f} GiB "
                         f"(the input's size shared among them, before any combiner); num_reduce_tasks = {enough:,} "
                         f"gives about {PARTITION_GOOD_BYTES >> 30} GiB each")
        return tuple(found)

    def describe(self) -> str:
        """One line on the job (each step's, for a multi-step job)."""
        steps = self.steps()
        if len(steps) == 1:
            return f"job {self.name} ({self.job_id}): {self._describe_step()}"
        first = steps[0]
        return (f"job {self.name}: {len(first.resolved.input_paths)} input file(s), {len(steps)} steps: "
                + "; ".join(f"{step.job_id}: {step._describe_step()}" for step in steps))

    def _describe_step(self) -> str:
        reads = ("the step before's records" if self.reads_records
                 else f"{len(self.resolved.input_paths)} input file(s)")
        if self.map_only:
            return f"{reads}, {self.num_maps} map task(s), map-only"
        return f"{reads}, {self.num_maps} map task(s), {self.num_partitions} shuffle and {self.num_partitions} reduce task(s)"


#: a reduce partition fed by more input than this is worth a warning; the size suggested instead
PARTITION_WARN_BYTES = 16 << 30
PARTITION_GOOD_BYTES = 4 << 30

#: plans this process made, newest last, by job id: planning (globbing, hashing the code) is done once per process
_plans: OrderedDict[str, JobPlan] = OrderedDict()
_PLANS_KEPT = 256


def plan_of_task(job_id: str, spec: str) -> JobPlan:
    """The plan of a task's job, from the task's parameters: planned once per process, checked against the job id.

    A process that did not plan the job (an assistant worker, another host,
    a ``luigi.build`` of one task) plans it from the spec; if that gives
    another job id, something the id covers differs here, and the error
    names it when the job's work folder says what the job was.
    """
    plan = _plans.get(job_id)
    if plan is not None:
        return plan
    last = make_plan(config_of(spec))
    steps = last.steps()
    plan = next((step for step in steps if step.job_id == job_id), None)
    if plan is None:
        name = job_id.rsplit("-", 1)[0]
        plan = next((step for step in steps if step.name == name), last)
        raise JobChanged(f"job {job_id} is planned here as {plan.job_id}: {_what_changed(plan, job_id)}; "
                         "every worker of a job needs the same inputs, code and settings")
    return plan


def _what_changed(plan: JobPlan, job_id: str) -> str:
    try:
        before = json.loads((plan.resolved.work_dir / job_id / IDENTITY_FILE).read_text())
    except (OSError, ValueError):
        return "its inputs, code or settings differ (no record of the job here to say which)"
    return f"it differs in {identity_difference(before, plan.identity) or 'its splits'}"


#: a job's identity (see :func:`job_identity`), kept in its work folder by its first task
IDENTITY_FILE = "identity.json"


def record_identity(plan: JobPlan) -> None:
    """Keep the job's identity in its work folder, so that a worker that plans it otherwise can say what differs.

    The job's side files are copied there too, for every task to read (see
    :mod:`mr_luigi.engine.side_files`).
    """
    path = plan.job_dir / IDENTITY_FILE
    if not path.exists():
        with atomic.atomic_file(path) as tmp:
            tmp.write_text(json.dumps(plan.identity, sort_keys=True) + "\n")
    if plan.resolved.side_files:
        side_files.ship(plan.job_dir, plan.resolved.side_files, plan.identity["files"])


def make_plan(config: JobConfig) -> JobPlan:
    """Validate a config and plan its splits (raises ConfigError); for a multi-step job, the plan of its last step."""
    faults.check_environment()
    if config.steps:
        return _remember(_plan_steps(config))
    return _remember(_plan_job(validate(config), spec_of(config)))


def _plan_job(resolved: ResolvedConfig, spec: str, previous: JobPlan | None = None,
              step: tuple[int, int] | None = None) -> JobPlan:
    config = resolved.config
    if previous is not None:  # one map per partition of the step before, whatever the size (unknown yet)
        input_stats: dict[str, FileIdentity] = {}
        splits = tuple(Split(i, (Segment(str(path), 0, 0, 0),)) for i, path in enumerate(resolved.input_paths))
    else:
        store = resolved.store
        input_stats = {str(p): file_identity(p, store) for p in resolved.input_paths}
        sizes = {path: int(stat[0]) for path, stat in input_stats.items()}
        splittable = resolved.decoding.splittable and not is_file_map(resolved.map_function)  # a file map reads whole files
        if config.split_size_mb is None:
            splits = tuple(plan_auto_splits(resolved.input_paths, splittable, store, sizes))
        else:
            split_size = max(1, int(config.split_size_mb * 1024 * 1024))
            splits = tuple(plan_splits(resolved.input_paths, split_size, splittable, store, sizes))
    identity = job_identity(resolved, splits, input_stats)
    if _sealed(resolved):  # only then: the ids of other jobs stay what they were
        identity["sealed"] = True
    if step is not None:
        identity["step"] = list(step)
        identity["after"] = None if previous is None else previous.job_id
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return JobPlan(resolved, splits, f"{config.job_name}-{digest}", spec, input_stats, identity, previous, step)


def _sealed(resolved: ResolvedConfig) -> bool:
    """Whether the job seals its intermediates: ``MR_LUIGI_SECRET`` is set; it must be when the work folder is shared."""
    if from_environment() is not None:
        return True
    if resolved.work_url is not None:
        raise ConfigError("work_dir", f"{resolved.work_url} is on an object store every host writes: set {SECRET_ENV} to "
                                      "the same secret on every host, so that no worker unpickles records someone else "
                                      "could have put there (see the README, Running on several machines)")
    fstype = filesystem_type(resolved.work_dir)
    if fstype in NETWORK_FILESYSTEMS:
        raise ConfigError("work_dir", f"{resolved.work_dir} is on a shared filesystem ({fstype}): set {SECRET_ENV} to the "
                                      "same secret on every host, so that no worker unpickles records another machine's "
                                      "user could have written (see the README, Running on several machines)")
    return False


def _plan_steps(config: JobConfig) -> JobPlan:
    """Plan a multi-step job's steps in order, each after the one before (see :class:`mr_luigi.JobConfig` ``steps``)."""
    spec = spec_of(config)
    configs = step_configs(config)
    plan = None
    for i, step_config in enumerate(configs):
        try:
            resolved = validate(step_config, None if plan is None else plan.record_outputs())
        except ConfigError as exc:
            field = exc.field if exc.field.startswith("steps[") or not _is_step_field(exc.field) else f"steps[{i}].{exc.field}"
            raise ConfigError(field, exc.message, exc.source) from None
        plan = _plan_job(resolved, spec, plan, (i + 1, len(configs)))
    assert plan is not None
    return plan


def _is_step_field(name: str) -> bool:
    return name in STEP_FIELDS


def _remember(plan: JobPlan) -> JobPlan:
    for step in plan.steps():
        if step.job_id not in _plans:  # said once per process, not once per task
            for warning in step.warnings:
                logger.warning("%s: warning: %s", step.name, warning)
        _plans[step.job_id] = step
        _plans.move_to_end(step.job_id)
    while len(_plans) > _PLANS_KEPT:
        _plans.popitem(last=False)
    return plan


#: size, modification time (ns), inode number, status change time (ns); for an object: size and ETag
FileIdentity = tuple[Any, ...]


def file_identity(path: str | Path, store: Store | None = None) -> FileIdentity:
    """What tells that a file changed.

    Size and modification time miss a file replaced by one of the same size
    and time (``cp -p``, ``rsync -a``, ``tar x``, ``touch -r``); those give it
    a new inode or a new change time, which nothing can set back. An object
    on a store has its size and ETag, which changes with its content.
    """
    if store is not None and is_url(path):
        return remote.identity(str(path), store)
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns


def describe_change(before: Sequence[int], after: Sequence[int]) -> str:
    """What differs between two :func:`file_identity` values, in words."""
    etag = isinstance(after[1], str)  # an object on a store: (size, ETag)
    if before[0] != after[0]:
        return f"size {before[0]:,} -> {after[0]:,} bytes" + (
            ", modification time changed" if before[1] != after[1] and not etag else "")
    if etag:
        return "rewritten: same size, another ETag"
    if before[1] != after[1]:
        return "modification time changed"
    if len(before) > 2 and before[2] != after[2]:
        return "replaced by another file of the same size and time (new inode)"
    return "rewritten or touched: same size and modification time, but its status change time moved"


def job_identity(resolved: ResolvedConfig, splits: tuple[Split, ...], input_stats: dict[str, FileIdentity]) -> dict[str, Any]:
    """Everything that decides a job's results, as plain JSON values: the job id is its digest."""
    config = resolved.config
    code = Fingerprint()
    identity: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "job_name": config.job_name,
        "functions": {
            name: [ref, code.digest(getattr(resolved, name), name)] for name, ref in sorted(resolved.function_refs.items())
        },
        "inputs": [[path, *stat] for path, stat in input_stats.items()],
        "splits": [[[s.path, s.start, s.end] for s in split.segments] for split in splits],
        "num_reduce_tasks": config.num_reduce_tasks,
        "output_dir": resolved.output_url or str(resolved.output_dir),  # the URL: not this host's staging folder
        "params": code.digest(dict(config.params), "params"),
        "named_outputs": config.named_outputs,
        "output_format": config.output_format,
        "max_bad_records": repr(config.max_bad_records),
        "skip_exceptions": sorted(f"{t.__module__}.{t.__qualname__}" for t in resolved.skip_types),
        "encoding": [resolved.decoding.encoding, resolved.decoding.errors],
    }
    if config.sort_values:  # only then: the ids of other jobs stay what they were
        identity["sort_values"] = True
    if resolved.side_files:  # only then: the ids of jobs without side files stay what they were
        identity["files"] = side_files.identity(resolved.side_files)
    identity["code"] = dict(sorted(code.modules.items()))
    return identity


def identity_difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What differs between two jobs' identities, in words ("" if nothing does)."""
    old_inputs = {row[0]: row[1:] for row in before.get("inputs", [])}
    new_inputs = {row[0]: row[1:] for row in after.get("inputs", [])}
    for path, stat in new_inputs.items():
        if path in old_inputs and old_inputs[path] != stat:
            return f"input {path!r} changed ({describe_change(old_inputs[path], stat)})"
    if set(old_inputs) != set(new_inputs):
        added, gone = sorted(set(new_inputs) - set(old_inputs)), sorted(set(old_inputs) - set(new_inputs))
        return f"other inputs ({len(added)} added, {len(gone)} gone, e.g. {(added or gone)[0]!r})"
    for name in sorted(set(before) | set(after)):
        if name in ("inputs", "splits") or before.get(name) == after.get(name):
            continue
        if name == "sealed":
            return f"whether {SECRET_ENV} is set"  # read after "it differs in" / "they differ in"
        if name == "after":  # a later step's: the id of the step it reads
            return f"the step before ({before.get(name)} -> {after.get(name)})"
        if isinstance(before.get(name), dict) and isinstance(after.get(name), dict):
            keys = sorted(k for k in set(before[name]) | set(after[name]) if before[name].get(k) != after[name].get(k))
            return f"{name}: {', '.join(keys)}" + (" (source edited)" if name == "code" else "")
        return name
    return "splits" if before.get("splits") != after.get("splits") else ""
